"""The demo store's coupons: announced by Slotwise's signed sign-up webhook, taken once at checkout."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from starlette.testclient import TestClient

from demo_helpers import add_to_cart, html
from slotwise.demo.app import create_app
from slotwise.demo.coupons import OFFERS

KEY = b"the-slotwise-signing-key"


@pytest.fixture
def shop(data_dir: Path, images_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data_dir, images_dir=images_dir, webhook_key=KEY), base_url="http://shop.test") as c:
        yield c


def announce(client: TestClient, code: str, offer: str | None = "pct15", key: bytes = KEY, **extra: Any) -> Any:
    """What Slotwise's outbox posts for a first sign-up (tag/outbox.py)."""
    message = {"id": "signup-1", "type": "signup", "email": "Ann@Example.com", "coupon": code,
               "decision_id": "d1", "ts": 1.0, **({"slot": "exit-coupon", "offer": offer} if offer else {}), **extra}
    body = json.dumps(message, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return client.post("/hooks/slotwise", content=body, headers={"content-type": "application/json",
                                                                 "x-slotwise-signature": signature})


def checkout(client: TestClient, coupon: str = "") -> Any:
    return client.post("/checkout", data={"name": "Ann", "email": "ann@example.com", "coupon": coupon},
                       follow_redirects=False)


def confirmation(client: TestClient, location: str) -> dict[str, str | None]:
    section = html(client.get(location)).css_first("section.order-confirmation")
    assert section is not None
    return dict(section.attributes)


def test_the_webhook_needs_the_signature_and_a_repeat_changes_nothing(shop: TestClient, data_dir: Path) -> None:
    assert announce(shop, "SW-AAAAAAAAAA-BBBBBB", key=b"someone-else").status_code == 401
    first = announce(shop, "SW-AAAAAAAAAA-BBBBBB")
    assert first.status_code == 200 and first.json() == {"coupon": "SW-AAAAAAAAAA-BBBBBB", "new": True}
    again = announce(shop, "SW-AAAAAAAAAA-BBBBBB")  # the outbox delivers at least once
    assert again.status_code == 200 and again.json()["new"] is False
    with sqlite3.connect(data_dir / "demo.db") as conn:
        assert conn.execute("SELECT code, email, offer FROM coupons").fetchall() == [
            ("SW-AAAAAAAAAA-BBBBBB", "ann@example.com", "pct15")]
        assert conn.execute("SELECT email FROM newsletter").fetchall() == [("ann@example.com",)]


def test_without_a_key_the_webhook_accepts_nothing(client: TestClient) -> None:
    assert announce(client, "SW-AAAAAAAAAA-BBBBBB").status_code == 403


def test_checkout_takes_the_offers_discount_once(shop: TestClient) -> None:
    announce(shop, "SW-AAAAAAAAAA-BBBBBB", "pct15")
    add_to_cart(shop, "101", "42", 2)
    page = html(shop.get("/checkout"))
    assert page.css_first('form.checkout input[name="coupon"]') is not None
    assert "Coupon code" in page.css_first("form.checkout").text()
    done = checkout(shop, " sw-aaaaaaaaaa-bbbbbb ")  # typed in lower case, with spaces
    assert done.status_code == 303
    order = confirmation(shop, done.headers["location"])
    subtotal = Decimal(order["data-order-subtotal"] or "")
    discount = (subtotal * Decimal("0.15")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert order["data-coupon"] == "SW-AAAAAAAAAA-BBBBBB"
    assert Decimal(order["data-discount"] or "") == discount > 0
    assert Decimal(order["data-order-total"] or "") == subtotal - discount
    add_to_cart(shop, "101", "42")
    used = checkout(shop, "SW-AAAAAAAAAA-BBBBBB")
    assert used.status_code == 400 and "already used" in used.text
    assert html(shop.get("/cart")).css("tr.cart-line"), "a refused checkout keeps the cart"


def test_an_unknown_code_is_refused_and_nothing_is_ordered(shop: TestClient, data_dir: Path) -> None:
    add_to_cart(shop, "101", "42")
    refused = checkout(shop, "SW-NOTKNOWN-XXXXXX")
    assert refused.status_code == 400 and "We do not know the coupon code" in refused.text
    assert html(refused).css_first('input[name="coupon"]').attributes["value"] == "SW-NOTKNOWN-XXXXXX"
    with sqlite3.connect(data_dir / "demo.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0


def test_an_order_without_a_coupon_says_it_had_none(shop: TestClient) -> None:
    add_to_cart(shop, "101", "42")
    order = confirmation(shop, checkout(shop).headers["location"])
    assert order["data-coupon"] == "" and Decimal(order["data-discount"] or "") == 0
    assert order["data-order-subtotal"] == order["data-order-total"]


def test_an_amount_off_is_never_more_than_the_order() -> None:
    assert OFFERS["eur5"].discount(Decimal("3.00")) == Decimal("3.00")
    assert OFFERS["eur5"].discount(Decimal("80.00")) == Decimal("5.00")
    assert OFFERS["pct10"].discount(Decimal("19.99")) == Decimal("2.00")


def test_a_code_without_an_offer_gets_the_default(shop: TestClient) -> None:
    announce(shop, "SW-CCCCCCCCCC-DDDDDD", offer=None)  # e.g. a sign-up from a preview link
    add_to_cart(shop, "101", "42")
    order = confirmation(shop, checkout(shop, "SW-CCCCCCCCCC-DDDDDD").headers["location"])
    subtotal = Decimal(order["data-order-subtotal"] or "")
    assert Decimal(order["data-discount"] or "") == (subtotal * Decimal("0.10")).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_a_demo_db_from_before_coupons_gets_the_new_columns(tmp_path: Path, images_dir: Path) -> None:
    data = tmp_path / "old"
    data.mkdir()
    with sqlite3.connect(data / "demo.db") as conn:
        conn.execute("""CREATE TABLE orders (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, customer_id TEXT,
                        name TEXT NOT NULL, email TEXT NOT NULL, total_cents INTEGER NOT NULL,
                        currency TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT (datetime('now')))""")
    with TestClient(create_app(data, images_dir=images_dir), base_url="http://shop.test") as client:
        add_to_cart(client, "101", "42")
        assert checkout(client).status_code == 303
