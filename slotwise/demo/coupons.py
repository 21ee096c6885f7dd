"""The demo store's coupons: codes Slotwise's sign-up webhook announces, redeemed once at checkout.

A real store learns a newsletter coupon the same way: Slotwise POSTs each
first sign-up to the store (``--webhook-url``) with the code and the offer
(the popup variant it answered), signed with HMAC-SHA256 of the body; the
store keeps the code with that offer's discount and takes it at checkout,
once. ``OFFERS`` are the store's own promotions, named like the variants of
the example rules' ``exit-coupon`` slot (slotwise/rules/examples/demo-popup.yaml).
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Offer:
    """A promotion: a share of the goods' value, or an amount off."""

    rate: Decimal = Decimal("0")
    amount: Decimal = Decimal("0")

    def discount(self, subtotal: Decimal) -> Decimal:
        """What it takes off an order of ``subtotal`` (never more than the order)."""
        off = (subtotal * self.rate).quantize(CENT, rounding=ROUND_HALF_UP) + self.amount
        return min(subtotal, off)


OFFERS: dict[str, Offer] = {
    "pct10": Offer(rate=Decimal("0.10")),
    "pct15": Offer(rate=Decimal("0.15")),
    "eur5": Offer(amount=Decimal("5.00")),
}
DEFAULT_OFFER = "pct10"
"""The offer of a code whose message named none (a sign-up from a preview link, say)."""


class CouponError(Exception):
    """A code checkout cannot take; the message is for the shopper."""


@dataclass(frozen=True)
class Coupon:
    code: str
    offer_id: str
    order_id: str | None

    @property
    def offer(self) -> Offer:
        return OFFERS.get(self.offer_id, OFFERS[DEFAULT_OFFER])


def normalize(code: str) -> str:
    return code.strip().upper()


def signature_ok(body: bytes, header: str | None, key: bytes) -> bool:
    """``X-Slotwise-Signature: sha256=<hex HMAC-SHA256 of the body>`` with the shared key."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(key, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip())


def add(conn: sqlite3.Connection, code: str, email: str, offer_id: str | None) -> bool:
    """Keep an announced code (a repeated message changes nothing); False if it was known."""
    offer = offer_id if offer_id in OFFERS else DEFAULT_OFFER
    cur = conn.execute("INSERT OR IGNORE INTO coupons(code, email, offer) VALUES (?, ?, ?)",
                       (normalize(code), email, offer))
    return cur.rowcount == 1


def find(conn: sqlite3.Connection, code: str) -> Coupon | None:
    row = conn.execute("SELECT code, offer, order_id FROM coupons WHERE code = ?", (normalize(code),)).fetchone()
    return Coupon(row["code"], row["offer"], row["order_id"]) if row else None


def usable(conn: sqlite3.Connection, code: str) -> Coupon:
    """The coupon for this code, or ``CouponError`` saying why it cannot be used."""
    coupon = find(conn, code)
    if coupon is None:
        raise CouponError(f"We do not know the coupon code {normalize(code)!r}: check it against your e-mail.")
    if coupon.order_id is not None:
        raise CouponError(f"The coupon code {coupon.code} was already used.")
    return coupon


def redeem(conn: sqlite3.Connection, coupon: Coupon, order_id: str) -> None:
    """Mark the code used by this order (inside the checkout's transaction)."""
    cur = conn.execute("UPDATE coupons SET order_id = ? WHERE code = ? AND order_id IS NULL", (order_id, coupon.code))
    if cur.rowcount != 1:
        raise CouponError(f"The coupon code {coupon.code} was already used.")
