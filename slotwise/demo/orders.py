"""Checkout: turn a session's cart into an order with lines, atomically.

Runs inside one write transaction, so a double-submitted checkout creates one
order and the second finds an empty cart.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from decimal import Decimal

from . import cart as cart_store
from . import coupons
from .catalog import CURRENCY, Catalog, format_price


class EmptyCart(Exception):
    """Checkout with nothing (buyable) in the cart."""


@dataclass(frozen=True)
class OrderLine:
    product_id: str
    product_name: str
    category_slug: str
    size: str
    qty: int
    unit_price: Decimal

    @property
    def price_str(self) -> str:
        return f"{self.unit_price:.2f}"

    @property
    def display_total(self) -> str:
        return format_price(self.unit_price * self.qty)


@dataclass(frozen=True)
class Order:
    id: str
    session_id: str
    customer_id: str | None
    name: str
    email: str
    total: Decimal  # what the shopper paid: the goods less the coupon's discount
    currency: str
    created_at: str
    lines: tuple[OrderLine, ...]
    coupon: str | None = None
    discount: Decimal = Decimal("0.00")

    @property
    def subtotal(self) -> Decimal:
        """The goods' value, before the coupon."""
        return self.total + self.discount

    @property
    def total_str(self) -> str:
        return f"{self.total:.2f}"

    @property
    def subtotal_str(self) -> str:
        return f"{self.subtotal:.2f}"

    @property
    def discount_str(self) -> str:
        return f"{self.discount:.2f}"

    @property
    def display_total(self) -> str:
        return format_price(self.total)

    @property
    def display_subtotal(self) -> str:
        return format_price(self.subtotal)

    @property
    def display_discount(self) -> str:
        return format_price(self.discount)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def place(
    conn: sqlite3.Connection,
    catalog: Catalog,
    session_id: str,
    customer_id: str | None,
    name: str,
    email: str,
    coupon_code: str = "",
) -> str:
    """Create the order from the cart, empty the cart, return the order id.

    A coupon code (``coupons.CouponError`` if it cannot be used) takes its
    offer's discount off and is used up by this order, in the same transaction.
    """
    cart = cart_store.load(conn, catalog, session_id)
    lines = [line for line in cart.lines if line.size not in line.product.sold_out]
    if not lines:
        raise EmptyCart()
    coupon = coupons.usable(conn, coupon_code) if coupon_code.strip() else None
    order_id = "o" + secrets.token_hex(6)
    subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    discount = coupon.offer.discount(subtotal) if coupon else Decimal("0.00")
    conn.execute(
        """INSERT INTO orders(id, session_id, customer_id, name, email, total_cents, currency, coupon, discount_cents)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (order_id, session_id, customer_id, name, email, _cents(subtotal - discount), CURRENCY,
         coupon.code if coupon else None, _cents(discount)),
    )
    if coupon is not None:
        coupons.redeem(conn, coupon, order_id)
    conn.executemany(
        """INSERT INTO order_lines(order_id, line_no, product_id, product_name, category_slug, size, qty, unit_price_cents)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            (order_id, no, line.product.id, line.product.name, line.product.category_slug, line.size, line.qty,
             _cents(line.product.price))
            for no, line in enumerate(lines, start=1)
        ],
    )
    conn.execute("DELETE FROM cart_items WHERE session_id = ?", (session_id,))
    return order_id


def _lines(conn: sqlite3.Connection, order_id: str) -> tuple[OrderLine, ...]:
    rows = conn.execute(
        "SELECT * FROM order_lines WHERE order_id = ? ORDER BY line_no", (order_id,)
    ).fetchall()
    return tuple(
        OrderLine(
            r["product_id"], r["product_name"], r["category_slug"], r["size"], r["qty"],
            Decimal(r["unit_price_cents"]) / 100,
        )
        for r in rows
    )


def _order(conn: sqlite3.Connection, row: sqlite3.Row) -> Order:
    return Order(
        id=row["id"],
        session_id=row["session_id"],
        customer_id=row["customer_id"],
        name=row["name"],
        email=row["email"],
        total=Decimal(row["total_cents"]) / 100,
        currency=row["currency"],
        created_at=row["created_at"],
        lines=_lines(conn, row["id"]),
        coupon=row["coupon"],
        discount=Decimal(row["discount_cents"]) / 100,
    )


def get(conn: sqlite3.Connection, order_id: str) -> Order | None:
    row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    return _order(conn, row) if row else None


def for_customer(conn: sqlite3.Connection, customer_id: str) -> list[Order]:
    rows = conn.execute(
        "SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC, rowid DESC", (customer_id,)
    ).fetchall()
    return [_order(conn, r) for r in rows]

