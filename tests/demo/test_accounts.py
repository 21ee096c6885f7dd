"""Log-in (with CSRF), sign-up, log-out, the account page, the session cookie, the newsletter."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from starlette.testclient import TestClient

from demo_helpers import add_to_cart, cookie_attrs, csrf_of, html, login
from slotwise.demo.app import create_app


def body_attrs(client: TestClient, path: str = "/") -> dict[str, str | None]:
    return dict(html(client.get(path)).css_first("body").attributes)


def test_login_form_markup(client: TestClient) -> None:
    response = client.get("/login")
    tree = html(response)
    assert tree.css_first("body").attributes["data-page"] == "login"
    form = tree.css_first('form.login[method="post"][action="/login"]')
    assert {i.attributes["name"] for i in form.css("input")} == {"csrf_token", "email", "password"}
    assert len(csrf_of(response)) == 64
    assert response.headers["set-cookie"].startswith("demo_session=")


def test_login_without_or_with_wrong_csrf_token_is_403(client: TestClient) -> None:
    token = csrf_of(client.get("/login"))
    credentials = {"email": "demo@example.com", "password": "demo"}
    assert client.post("/login", data=credentials, follow_redirects=False).status_code == 403
    wrong = {**credentials, "csrf_token": "0" * 64}
    assert client.post("/login", data=wrong, follow_redirects=False).status_code == 403
    with TestClient(client.app, base_url="http://shop.test") as other:  # a token from another session
        stolen = other.post("/login", data={**credentials, "csrf_token": token}, follow_redirects=False)
        assert stolen.status_code == 403
    assert "data-customer-id" not in body_attrs(client)


def test_login_success(client: TestClient) -> None:
    add_to_cart(client, "101", "40")
    before = client.cookies["demo_session"]
    response = login(client)
    assert response.status_code == 303
    assert response.headers["location"] == "http://shop.test/account"  # absolute, from the request
    assert client.cookies["demo_session"] != before  # session id rotated at log-in
    assert body_attrs(client)["data-customer-id"] == "c000001"
    account = client.get("/account")
    assert account.status_code == 200 and "demo@example.com" in account.text
    assert html(account).css_first("body").attributes["data-page"] == "account"


def test_wrong_password(client: TestClient) -> None:
    response = login(client, password="nope")
    assert response.status_code == 401 and "Wrong email or password" in response.text
    assert login(client, email="nobody@example.com").status_code == 401
    assert "data-customer-id" not in body_attrs(client)


def test_account_requires_login(client: TestClient) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_cart_survives_login_and_orders_show_on_account(client: TestClient, db: sqlite3.Connection) -> None:
    add_to_cart(client, "402", "M")
    login(client)
    assert client.get("/api/cart").json()["count"] == 1
    checkout = client.get("/checkout")
    assert html(checkout).css_first('input[name="email"]').attributes["value"] == "demo@example.com"
    location = client.post("/checkout", data={"name": "Demo", "email": "demo@example.com"}, follow_redirects=False).headers["location"]
    order_id = location.removeprefix("/order/")
    assert db.execute("SELECT customer_id FROM orders WHERE id = ?", (order_id,)).fetchone()[0] == "c000001"
    rows = html(client.get("/account")).css("tr.account-order")
    assert [r.attributes["data-order-id"] for r in rows] == [order_id]


def test_signup(client: TestClient, db: sqlite3.Connection) -> None:
    page = client.get("/signup")
    form = html(page).css_first('form.signup[method="post"][action="/signup"]')
    assert {i.attributes["name"] for i in form.css("input")} == {"csrf_token", "name", "email", "password"}
    data = {"name": "Grace", "email": "grace@example.com", "password": "hopper"}
    assert client.post("/signup", data=data).status_code == 403  # no token
    response = client.post("/signup", data={**data, "csrf_token": csrf_of(page)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "http://shop.test/account"
    row = db.execute("SELECT id, name, password_hash FROM customers WHERE email = 'grace@example.com'").fetchone()
    assert row["name"] == "Grace" and row["password_hash"].startswith("scrypt$") and "hopper" not in row["password_hash"]
    assert body_attrs(client)["data-customer-id"] == row["id"]

    with TestClient(client.app, base_url="http://shop.test") as other:
        token = csrf_of(other.get("/signup"))
        taken = other.post("/signup", data={**data, "csrf_token": token})
        assert taken.status_code == 409 and "already an account" in taken.text
        short = other.post("/signup", data={**data, "email": "g2@example.com", "password": "x", "csrf_token": token})
        assert short.status_code == 400
        assert login(other, "grace@example.com", "hopper").status_code == 303


def test_logout_needs_csrf_and_ends_the_session(client: TestClient) -> None:
    login(client)
    add_to_cart(client, "101", "40")
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    token = csrf_of(client.get("/"))  # the header's log-out form
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "data-customer-id" not in body_attrs(client)
    assert client.get("/api/cart").json()["count"] == 0


def test_session_cookie_attributes(client: TestClient) -> None:
    attrs = cookie_attrs(add_to_cart(client, "101", "40").headers["set-cookie"])
    assert "httponly" in attrs and attrs["samesite"].lower() == "lax" and attrs["path"] == "/"
    assert "domain" not in attrs


def test_cookie_domain(tmp_path: Path, images_dir: Path) -> None:
    app = create_app(tmp_path, cookie_domain="shop.test", images_dir=images_dir)
    with TestClient(app, base_url="http://www.shop.test") as c:
        attrs = cookie_attrs(add_to_cart(c, "101", "40").headers["set-cookie"])
        assert attrs["domain"] == "shop.test" and "httponly" in attrs


def test_tampered_cookie_is_a_new_visitor(client: TestClient) -> None:
    add_to_cart(client, "101", "40")
    value = client.cookies["demo_session"]
    client.cookies.clear()
    client.cookies.set("demo_session", ("y" if value.startswith("x") else "x") + value[1:])  # a changed first character
    assert client.get("/api/cart").json()["count"] == 0


def test_newsletter(client: TestClient, db: sqlite3.Connection) -> None:
    response = client.post("/newsletter", data={"email": "News@Example.com"})
    assert response.status_code == 200
    tree = html(response)
    assert tree.css_first("body").attributes["data-page"] == "newsletter"
    assert "Thank you" in tree.css_first("h1").text()
    assert db.execute("SELECT email FROM newsletter").fetchall()[0][0] == "news@example.com"
    again = client.post("/newsletter", data={"email": "news@example.com"}, headers={"accept": "application/json"})
    assert again.json() == {"ok": True, "email": "news@example.com", "new": False}
    assert client.post("/newsletter", data={"email": "not-an-email"}).status_code == 400
    assert db.execute("SELECT COUNT(*) FROM newsletter").fetchone()[0] == 1
