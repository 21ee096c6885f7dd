"""The cart: items per session in SQLite, priced from the catalog when read.

Prices are never stored in the cart, so a cart always shows today's price;
the order copies the unit price at checkout.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from .catalog import CURRENCY, Catalog, Product, format_price

MAX_QTY = 99


class CartError(ValueError):
    """A cart change the shop refuses (unknown product, sold-out size, bad quantity)."""


@dataclass(frozen=True)
class CartLine:
    product: Product
    size: str
    qty: int

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.qty

    @property
    def display_total(self) -> str:
        return format_price(self.line_total)


@dataclass(frozen=True)
class Cart:
    lines: tuple[CartLine, ...]

    @property
    def count(self) -> int:
        return sum(line.qty for line in self.lines)

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def display_total(self) -> str:
        return format_price(self.total)

    def to_json(self) -> dict[str, object]:
        """What GET /api/cart answers (prices as numbers, in CURRENCY)."""
        return {
            "items": [
                {
                    "product_id": line.product.id,
                    "name": line.product.name,
                    "category": line.product.category.name,
                    "category_slug": line.product.category_slug,
                    "size": line.size,
                    "qty": line.qty,
                    "unit_price": float(line.product.price),
                    "line_total": float(line.line_total),
                    "url": line.product.path,
                    "image": line.product.image_path,
                }
                for line in self.lines
            ],
            "count": self.count,
            "total": float(self.total),
            "currency": CURRENCY,
        }


def parse_qty(raw: object, *, allow_zero: bool = False) -> int:
    try:
        qty = int(str(raw).strip())
    except ValueError as exc:
        raise CartError("Quantity must be a whole number.") from exc
    low = 0 if allow_zero else 1
    if not low <= qty <= MAX_QTY:
        raise CartError(f"Quantity must be between {low} and {MAX_QTY}.")
    return qty


def validate_item(catalog: Catalog, product_id: str, size: str) -> Product:
    """The product, if ``size`` of it can be bought; else CartError."""
    product = catalog.product(product_id)
    if product is None:
        raise CartError("Unknown product.")
    if not size:
        raise CartError("Please choose a size.")
    if size not in product.sizes:
        raise CartError(f"{product.name} does not come in size {size}.")
    if size in product.sold_out:
        raise CartError(f"Size {size} of {product.name} is sold out.")
    return product


# --- database work (run through Database.read / Database.write) ---------------


def load(conn: sqlite3.Connection, catalog: Catalog, session_id: str | None) -> Cart:
    if not session_id:
        return Cart(())
    rows = conn.execute(
        "SELECT product_id, size, qty FROM cart_items WHERE session_id = ? ORDER BY added_at, rowid",
        (session_id,),
    ).fetchall()
    lines = []
    for row in rows:
        product = catalog.product(row["product_id"])
        if product is not None:  # a product dropped from the catalog just disappears
            lines.append(CartLine(product, row["size"], row["qty"]))
    return Cart(tuple(lines))


def add(conn: sqlite3.Connection, session_id: str, product_id: str, size: str, qty: int) -> None:
    conn.execute(
        """INSERT INTO cart_items(session_id, product_id, size, qty) VALUES (?, ?, ?, ?)
           ON CONFLICT(session_id, product_id, size) DO UPDATE SET qty = MIN(qty + excluded.qty, ?)""",
        (session_id, product_id, size, qty, MAX_QTY),
    )


def set_qty(conn: sqlite3.Connection, session_id: str, product_id: str, size: str, qty: int) -> None:
    if qty == 0:
        remove(conn, session_id, product_id, size)
        return
    conn.execute(
        "UPDATE cart_items SET qty = ? WHERE session_id = ? AND product_id = ? AND size = ?",
        (qty, session_id, product_id, size),
    )


def remove(conn: sqlite3.Connection, session_id: str, product_id: str, size: str) -> None:
    conn.execute(
        "DELETE FROM cart_items WHERE session_id = ? AND product_id = ? AND size = ?",
        (session_id, product_id, size),
    )
