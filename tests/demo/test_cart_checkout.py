"""Cart and checkout: add, update, remove, order persisted with lines, confirmation markup."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from starlette.applications import Starlette
from starlette.testclient import TestClient

from demo_helpers import add_to_cart, html


def cart_lines(client: TestClient) -> list[dict[str, str]]:
    tree = html(client.get("/cart"))
    return [dict(row.attributes) for row in tree.css("table.cart tr.cart-line")]


def cart_count(client: TestClient, path: str = "/") -> str:
    return html(client.get(path)).css_first("a.cart-link span.cart-count").text()


def test_add_update_remove(client: TestClient) -> None:
    assert cart_count(client) == "0"
    response = add_to_cart(client, "101", "42", 2)
    assert response.status_code == 303 and response.headers["location"] == "/cart"
    add_to_cart(client, "101", "42", 1)  # same line: quantities add up
    add_to_cart(client, "701", "One size")
    lines = cart_lines(client)
    assert [(ln["data-product-id"], ln["data-size"], ln["data-qty"]) for ln in lines] == [
        ("101", "42", "3"), ("701", "One size", "1")
    ]
    assert lines[0]["data-category"] == "running-shoes" and lines[0]["data-price"] == "129.95"
    assert cart_count(client, "/c/bags") == "4"

    client.post("/cart/update", data={"product_id": "101", "size": "42", "qty": "1"})
    assert [ln["data-qty"] for ln in cart_lines(client)] == ["1", "1"]
    client.post("/cart/remove", data={"product_id": "701", "size": "One size"})
    assert [ln["data-product-id"] for ln in cart_lines(client)] == ["101"]
    client.post("/cart/update", data={"product_id": "101", "size": "42", "qty": "0"})
    assert cart_lines(client) == []
    assert "Your cart is empty" in client.get("/cart").text


def test_cart_rejects_bad_items(client: TestClient) -> None:
    sold_out = add_to_cart(client, "101", "38")  # size 38 of 101 is sold out
    assert sold_out.status_code == 400 and "sold out" in sold_out.text
    assert html(sold_out).css_first("main.product").attributes["data-product-id"] == "101"
    assert add_to_cart(client, "101", "").status_code == 400  # no size chosen
    assert add_to_cart(client, "101", "XL").status_code == 400  # not a shoe size
    assert add_to_cart(client, "101", "40", 0).status_code == 400
    assert add_to_cart(client, "99999", "40").status_code == 404
    assert cart_lines(client) == []


def test_api_cart_json(client: TestClient) -> None:
    assert client.get("/api/cart").json() == {"items": [], "count": 0, "total": 0.0, "currency": "EUR"}
    add_to_cart(client, "301", "M", 2)
    response = client.get("/api/cart")
    assert response.headers["cache-control"] == "no-cache"
    body = response.json()
    assert body["count"] == 2 and body["total"] == 39.9 and body["currency"] == "EUR"
    item = body["items"][0]
    assert (item["product_id"], item["size"], item["qty"], item["category_slug"]) == ("301", "M", 2, "t-shirts")
    as_json = client.post("/cart/add", data={"product_id": "302", "size": "S"}, headers={"accept": "application/json"})
    assert as_json.status_code == 200 and as_json.json()["count"] == 3


def test_checkout_persists_order_with_lines(client: TestClient, db: sqlite3.Connection) -> None:
    assert client.get("/checkout", follow_redirects=False).headers["location"] == "/cart"  # nothing to buy yet
    add_to_cart(client, "101", "42", 2)
    add_to_cart(client, "503", "W32")
    page = client.get("/checkout")
    assert html(page).css_first("body").attributes["data-page"] == "checkout"
    assert html(page).css_first('form.checkout[method="post"][action="/checkout"] input[name="email"]') is not None

    bad = client.post("/checkout", data={"name": "", "email": "nope"})
    assert bad.status_code == 400
    assert db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 0

    response = client.post("/checkout", data={"name": "Ada", "email": "Ada@Example.com"}, follow_redirects=False)
    assert response.status_code == 303
    order_id = response.headers["location"].removeprefix("/order/")
    order = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    assert order["name"] == "Ada" and order["email"] == "ada@example.com" and order["customer_id"] is None
    assert order["total_cents"] == 2 * 12995 + 9495 and order["currency"] == "EUR"
    lines = db.execute(
        "SELECT product_id, category_slug, size, qty, unit_price_cents FROM order_lines WHERE order_id = ? ORDER BY line_no",
        (order_id,),
    ).fetchall()
    assert [tuple(r) for r in lines] == [("101", "running-shoes", "42", 2, 12995), ("503", "jeans", "W32", 1, 9495)]
    assert cart_lines(client) == []  # the cart was emptied

    confirmation = client.get(f"/order/{order_id}")
    tree = html(confirmation)
    assert tree.css_first("body").attributes["data-page"] == "order"
    section = tree.css_first("section.order-confirmation")
    assert section.attributes["data-order-id"] == order_id
    assert Decimal(section.attributes["data-order-total"]) == Decimal("354.85")
    assert section.attributes["data-currency"] == "EUR"
    items = [dict(li.attributes) for li in section.css("li.order-line")]
    assert [(i["data-product-id"], i["data-category"], i["data-size"], i["data-qty"], i["data-price"]) for i in items] == [
        ("101", "running-shoes", "42", "2", "129.95"), ("503", "jeans", "W32", "1", "94.95")
    ]


def test_checkout_twice_creates_one_order(client: TestClient, db: sqlite3.Connection) -> None:
    add_to_cart(client, "801", "39–42")
    first = client.post("/checkout", data={"name": "Bo", "email": "bo@example.com"}, follow_redirects=False)
    second = client.post("/checkout", data={"name": "Bo", "email": "bo@example.com"}, follow_redirects=False)
    assert first.headers["location"].startswith("/order/")
    assert second.headers["location"] == "/cart"
    assert db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 1


def test_order_page_is_private(client: TestClient, app: Starlette) -> None:
    add_to_cart(client, "701", "One size")
    location = client.post("/checkout", data={"name": "Cy", "email": "cy@example.com"}, follow_redirects=False).headers["location"]
    assert client.get(location).status_code == 200
    with TestClient(app) as stranger:
        assert stranger.get(location).status_code == 404
