"""Capture through the real proxy: requests the store answered, and pages it served (``slotwise.proxy.personalization.capture``).

A tiny store (below) answers the way real ones do — a failed add to basket
redirects back to the product, a failed login shows the form again with 200,
a removal always redirects and says on the next page whether it worked — and
the proxy in front of it runs rules that say where each event is. Every test
asserts what lands in the log and the golden record, never how.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from slotwise.profile import hash_email
from slotwise.proxy.app import create_app
from slotwise.proxy.personalization.capture import MAX_BODY, PENDING_S
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.store.base import LogRecord
from slotwise.tag.testing import sync
from agents import DESKTOP_UA  # noqa: E402
from test_capture_tag import Stack as TagStack

UA = {"user-agent": DESKTOP_UA}

RULES = """
catalog:
  product_pages: "/p/{product}/"
  category_pages: "/c/{category}-{id:int}/"
  currency: EUR
capture:
  customer:
    pages: "/account/"
    id: ".profile @data-id"
    email: ".profile .email"
  cart:
    within: "#minicart"
    count: ".count"
    lines:
      items: "li"
      product: "a @href"
      size: ".size"
      qty: ".qty"
      total: ".price"
  events:
    - id: add-form
      event: add_to_cart
      request: {path: "/cart/add"}
      fields:
        product: form.variant or form.product or json.product
        qty: form.qty or json.qty
      success: response.location == '/cart/' or response.status == 201
    - id: add-api
      event: add_to_cart
      request: {method: [POST, PUT], path: "/api/{version}/lines/{product}", query: {via: "*"}}
      fields:
        product: params.product
        size: headers['x-size']
        qty: query.qty
        price: json.price
      success: response.ok and params.version == 'v2'
    - id: remove
      event: remove_from_cart
      request: {path: "/cart/remove"}
      fields: {product: form.line}
      confirm: {present: ".flash-ok"}
    - id: remove-quiet
      event: remove_from_cart
      request: {path: "/cart/delete"}
      fields: {product: form.line}
      confirm: {absent: ".flash-error"}
    - id: order
      event: purchase
      page: "/thanks/"
      within: "#order"
      fields: {order_id: ".ref", total: ".total"}
      lines: {items: "tr", product: "a @href", size: ".size", qty: ".qty", total: ".line-total"}
    - id: login
      event: login
      request: {path: "/login"}
      fields: {email: form.email}
      success: response.status == 303
    - id: signup
      event: signup
      request: {path: "/register"}
      fields: {email: form.email}
      success: response.status == 303
    - id: logout
      event: logout
      request: {path: "/logout"}
      success: response.location == '/'
    - id: newsletter
      event: newsletter
      request: {path: "/newsletter"}
      fields: {email: form.email}
      confirm: {present: ".flash-ok"}
slots:
  - id: banner
    pages: "/p/*/"
    selector: "h1"
    action: set-attribute
    attributes: {class: "sw"}
    goal: add_to_cart
"""


# -- the store ---------------------------------------------------------------------------------------------


def minicart(query: Any) -> str:
    """``?lines=1005:42:2,1013::1`` (product:size:qty), ``?count=3`` (count only), ``?empty=1``; ``?none=1``: no basket;
    ``&pounds=1``: the lines priced in GBP (8.50 a unit, the store's currency selector), else in EUR (10,00)."""
    if "none" in query:
        return ""
    if "empty" in query:
        return '<div id="minicart"><span class="count">0</span><p>Your basket is empty.</p></div>'
    if "count" in query:
        return f'<div id="minicart"><a href="/cart/">Basket (<span class="count">{query["count"]}</span>)</a></div>'
    items = []
    for part in filter(None, query.get("lines", "").split(",")):
        product, size, qty = part.split(":")
        size_html = f'<span class="size">Size: {size}</span>' if size else ""
        price = f"£{int(qty) * 8.5:.2f}" if "pounds" in query else f"{int(qty) * 10},00 €"
        items.append(f'<li><a href="/p/{product}/?v=1">P{product}</a>{size_html}<span class="qty">Qty: {qty}</span>'
                     f'<span class="price">{price}</span></li>')
    count = sum(int(p.split(":")[2]) for p in filter(None, query.get("lines", "").split(",")))
    return f'<div id="minicart"><span class="count">{count}</span><ul>{"".join(items)}</ul></div>'


def html(request: Request, body: str, status: int = 200) -> Response:
    flash = request.cookies.get("flash")
    note = f'<div class="flash flash-{flash}">{flash}</div>' if flash else ""
    page = (f"<!doctype html><html><head><title>Shop</title></head><body><header>{minicart(request.query_params)}"
            f"</header><main>{note}{body}</main></body></html>")
    response = HTMLResponse(page, status_code=status)
    if flash:
        response.delete_cookie("flash")
    return response


def redirect(url: str, flash: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie("flash", flash)
    return response


async def page(request: Request) -> Response:
    return html(request, "<h1>Page</h1><p>" + "content " * 20 + "</p>")


async def product(request: Request) -> Response:
    return html(request, f'<h1>Product {request.path_params["pid"]}</h1>')


async def thanks(request: Request) -> Response:
    order = request.query_params.get("order", "FJ-1")
    lines = ('<tr><td><a href="/p/1005/">Ridge</a></td><td class="size">42</td><td class="qty">1</td>'
             '<td class="line-total">119,00 €</td></tr>'
             '<tr><td><a href="/p/1019/">Socks</a></td><td class="size"></td><td class="qty">2</td>'
             '<td class="line-total">25,80 €</td></tr>')
    if request.query_params.get("broken"):
        lines = '<tr><td><a href="/about/">?</a></td></tr>'
    return html(request, f'<section id="order"><p class="ref">{order}</p><table>{lines}</table>'
                         f'<p class="total">149,70 €</p></section>')


async def account(request: Request) -> Response:
    """``?email=``, ``?id=``: who the store says is logged in (its customer id only, as a platform's template may)."""
    email, customer = request.query_params.get("email", ""), request.query_params.get("id", "")
    return html(request, f'<h1>My account</h1><dl class="profile" data-id="{customer}"><dd class="email">{email}</dd></dl>')


async def cart_add(request: Request) -> Response:
    if "json" in request.headers.get("content-type", ""):
        data = await request.json()
        if data.get("product") == "sold-out":
            return JSONResponse({"error": "sold out"}, status_code=422)
        return JSONResponse({"count": 1}, status_code=201)
    form = await request.form()
    if form.get("product") == "sold-out":
        return redirect(f"/p/{form.get('product')}/", "error")
    if form.get("product") == "boom":
        return PlainTextResponse("down", status_code=500)
    return redirect("/cart/", "ok")


async def api_lines(request: Request) -> Response:
    await request.body()
    return JSONResponse({"ok": True}, status_code=200)


async def cart_remove(request: Request) -> Response:
    form = await request.form()
    return redirect("/cart/", "error" if form.get("line") == "missing" else "ok")


async def login(request: Request) -> Response:
    form = await request.form()
    if form.get("password") != "right":
        return html(request, '<form class="login"><p class="form-error">Wrong e-mail or password.</p></form>')
    return redirect("/account/", "ok")


async def register(request: Request) -> Response:
    form = await request.form()
    return redirect("/account/") if form.get("password") else html(request, "<p class=form-error>Password?</p>")


async def logout(request: Request) -> Response:
    return redirect("/")


async def newsletter(request: Request) -> Response:
    form = await request.form()
    return redirect("/", "ok" if "@" in str(form.get("email", "")) else "error")


def shop_app() -> Starlette:
    return Starlette(routes=[
        Route("/", page), Route("/page", page), Route("/cart/", page), Route("/c/{key}/", page), Route("/p/{pid}/", product),
        Route("/thanks/", thanks), Route("/account/", account),
        Route("/cart/add", cart_add, methods=["POST"]), Route("/api/{version}/lines/{pid}", api_lines, methods=["POST", "PUT"]),
        Route("/cart/remove", cart_remove, methods=["POST"]), Route("/cart/delete", cart_remove, methods=["POST"]),
        Route("/login", login, methods=["POST"]), Route("/register", register, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]), Route("/newsletter", newsletter, methods=["POST"]),
    ])


# -- the stack -----------------------------------------------------------------------------------------------


class Clock:
    """Real time plus a jump the tests control (a confirmation that comes too late)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Stack(TagStack):
    """The proxy in front of the store, the clock it runs on; what the store holds read as ``TagStack``
    reads it (on Redis too)."""

    def __init__(self, proxy: Any, personalizer: SlotwisePersonalizer, clock: Clock) -> None:
        super().__init__(proxy, personalizer)
        self.clock = clock

    def client(self) -> httpx.Client:
        """A fresh browser: its own cookie jar; redirects are followed by hand, like the tests say."""
        return httpx.Client(base_url=self.proxy.url, headers=UA, follow_redirects=False, timeout=10)


def vid(client: httpx.Client) -> str:
    value = client.cookies.get("sw_vid")
    assert value, "no visitor cookie yet"
    return value.split(".")[0]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("capture-proxy")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    clock = Clock()
    with uvicorn_runner(shop_app()) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings, clock=clock)
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield Stack(proxy, personalizer, clock)


@pytest.fixture
def browser(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        client.get("/page?none=1")  # a first page: the visitor cookie
        yield client


def props(records: list[LogRecord]) -> list[dict[str, Any]]:
    return [r.data["props"] for r in records]


# -- requests: only what the store accepted ------------------------------------------------------------------


def test_a_form_post_the_store_accepted_is_an_add_to_cart(stack: Stack, browser: httpx.Client) -> None:
    r = browser.post("/cart/add", data={"product": "1005", "variant": "2011", "qty": "2"})
    assert (r.status_code, r.headers["location"]) == (303, "/cart/")
    (event,) = stack.log("add_to_cart", vid(browser))
    assert event.data["props"] == {"product": "2011", "qty": 2} and event.data["source"] == "proxy"
    (line,) = stack.profile(vid(browser)).cart
    assert line.pop("added") > 0  # when it went into the cart (the cart that waits reads it)
    assert line == {"product": "2011", "category": None, "size": None, "qty": 2, "price": 0.0}


@pytest.mark.parametrize("form", [{"product": "sold-out"}, {"product": "boom"}])
def test_a_failed_form_post_is_not_an_event(stack: Stack, browser: httpx.Client, form: dict[str, str]) -> None:
    r = browser.post("/cart/add", data=form)
    assert r.status_code in (303, 500)
    assert stack.log("add_to_cart", vid(browser)) == []
    assert not stack.profile(vid(browser)).cart


def test_a_json_body_and_a_json_failure(stack: Stack, browser: httpx.Client) -> None:
    assert browser.post("/cart/add", json={"product": "sold-out", "qty": 1}).status_code == 422
    assert browser.post("/cart/add", json={"product": 1013, "qty": 3}).status_code == 201
    assert props(stack.log("add_to_cart", vid(browser))) == [{"product": "1013", "qty": 3}]


def test_a_multipart_body(stack: Stack, browser: httpx.Client) -> None:
    r = browser.post("/cart/add", data={"product": "1014", "qty": "1"}, files={"note": ("note.txt", b"gift wrap", "text/plain")})
    assert r.status_code == 303
    assert props(stack.log("add_to_cart", vid(browser))) == [{"product": "1014", "qty": 1}]


def test_path_params_query_and_headers_in_expressions(stack: Stack, browser: httpx.Client) -> None:
    r = browser.put("/api/v2/lines/1007?via=app&qty=2&qty=5", json={"price": 99.5}, headers={"X-Size": "Size: 44"})
    assert r.status_code == 200
    assert props(stack.log("add_to_cart", vid(browser))) == [{"product": "1007", "size": "44", "qty": 2, "price": 99.5}]
    browser.put("/api/v1/lines/1007?via=app", json={})  # success says v2 only
    browser.put("/api/v2/lines/1007", json={})  # the query condition: ?via= must be there
    browser.get("/api/v2/lines/1007?via=app")  # not the method
    assert len(stack.log("add_to_cart", vid(browser))) == 1


def test_a_body_over_the_limit_is_not_read_and_said_once(stack: Stack, browser: httpx.Client,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    big = {"product": "1005", "qty": "1", "padding": "x" * (MAX_BODY + 10)}
    for _ in range(2):
        assert browser.post("/cart/add", data=big).status_code == 303  # the store still gets it all
    assert stack.log("add_to_cart", vid(browser)) == []
    said = [r for r in caplog.records if "over" in r.getMessage() and "not read" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in caplog.records]


def test_a_login_counts_only_when_the_store_said_yes(stack: Stack, browser: httpx.Client) -> None:
    r = browser.post("/login", data={"email": "lena@example.com", "password": "wrong"})
    assert r.status_code == 200 and stack.log("identify", vid(browser)) == []
    assert stack.profile(vid(browser)).email_hash is None
    assert browser.post("/login", data={"email": "Lena@Example.com", "password": "right"}).status_code == 303
    (event,) = stack.log("identify", vid(browser))
    assert event.data["props"] == {"email_hash": hash_email("lena@example.com")}  # hashed on arrival
    assert "lena@example.com" not in json.dumps(event.data).lower()
    assert stack.profile(vid(browser)).email_hash == hash_email("lena@example.com")


def test_a_sign_up_and_a_newsletter(stack: Stack, browser: httpx.Client) -> None:
    browser.post("/register", data={"email": "new@example.com", "password": ""})  # refused: form again
    assert stack.log("signup", vid(browser)) == []
    browser.post("/register", data={"email": "new@example.com", "password": "secret99"})
    assert [p["source"] for p in props(stack.log("signup", vid(browser)))] == ["signup"]
    browser.post("/newsletter", data={"email": "not-an-address"})
    browser.get("/")  # the page after says it failed: nothing
    browser.post("/newsletter", data={"email": "held.new@example.com"})
    held = stack.profile(vid(browser)).pending
    assert len(held) == 1 and "held.new@example.com" not in json.dumps(held)  # held until confirmed: hashed
    browser.get("/")
    assert [p["source"] for p in props(stack.log("signup", vid(browser)))] == ["signup", "newsletter"]
    assert stack.log("signup", vid(browser))[-1].data["props"]["email_hash"] == hash_email("held.new@example.com")


def test_logout_gives_the_browser_a_new_visitor(stack: Stack, browser: httpx.Client) -> None:
    before = vid(browser)
    browser.post("/login", data={"email": "out@example.com", "password": "right"})
    r = browser.post("/logout")
    assert r.status_code == 303
    after = vid(browser)
    assert after != before
    browser.get("/page?none=1")
    assert stack.profile(after) is None or stack.profile(after).email_hash is None  # the next person is not Lena
    assert stack.profile(before).email_hash == hash_email("out@example.com")


# -- confirmation on the next page --------------------------------------------------------------------------


def test_a_removal_counts_when_the_next_page_says_so(stack: Stack, browser: httpx.Client) -> None:
    browser.post("/cart/add", data={"product": "1005", "qty": "1"})
    browser.get("/cart/?none=1")
    r = browser.post("/cart/remove", data={"line": "missing"})
    assert r.status_code == 303 and stack.log("remove_from_cart", vid(browser)) == []  # not yet: held
    assert len(stack.profile(vid(browser)).pending) == 1
    browser.get("/cart/?none=1")  # flash-error: refuted
    assert stack.log("remove_from_cart", vid(browser)) == [] and stack.profile(vid(browser)).pending == []
    browser.post("/cart/remove", data={"line": "1005"})
    browser.get("/cart/?none=1")  # flash-ok: confirmed
    assert props(stack.log("remove_from_cart", vid(browser))) == [{"product": "1005"}]
    assert stack.profile(vid(browser)).cart == []
    browser.get("/cart/?none=1")
    assert len(stack.log("remove_from_cart", vid(browser))) == 1  # settled once


def test_confirm_absent(stack: Stack, browser: httpx.Client) -> None:
    browser.post("/cart/delete", data={"line": "missing"})
    browser.get("/cart/?none=1")
    browser.post("/cart/delete", data={"line": "1005"})
    browser.get("/cart/?none=1")
    assert props(stack.log("remove_from_cart", vid(browser))) == [{"product": "1005"}]


def test_a_confirmation_that_comes_too_late_does_not_count(stack: Stack, browser: httpx.Client) -> None:
    browser.post("/cart/remove", data={"line": "1005"})
    stack.clock.offset += PENDING_S + 1
    try:
        browser.get("/cart/?none=1")
    finally:
        stack.clock.offset -= PENDING_S + 1
    assert stack.log("remove_from_cart", vid(browser)) == [] and stack.profile(vid(browser)).pending == []


# -- pages: the order confirmation, the mini basket, the customer ---------------------------------------------


def test_a_reload_of_the_confirmation_is_not_a_second_purchase(stack: Stack, browser: httpx.Client) -> None:
    for _ in range(3):
        assert browser.get("/thanks/?order=FJ-777&none=1").status_code == 200
    (event,) = stack.log("purchase")[-1:]
    assert event.key == "order:FJ-777" and event.visitor == vid(browser) and event.data["source"] == "proxy"
    assert len([r for r in stack.log("purchase") if r.key == "order:FJ-777"]) == 1
    assert event.data["props"] == {"order_id": "FJ-777", "total": 149.7, "currency": "EUR", "lines": [
        {"product": "1005", "size": "42", "qty": 1, "price": 119.0}, {"product": "1019", "qty": 2, "price": 12.9}]}
    purchases = stack.profile(vid(browser)).purchases
    assert [(p["order_id"], p["product"], p["size"], p["channel"]) for p in purchases] == [
        ("FJ-777", "1005", "42", "online"), ("FJ-777", "1019", None, "online")]


def test_a_confirmation_that_names_no_product_records_nothing_and_says_so_once(
        stack: Stack, browser: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    for _ in range(2):
        browser.get("/thanks/?order=FJ-BAD&broken=1&none=1")
    assert not [r for r in stack.log("purchase") if "FJ-BAD" in r.key]
    said = [r.getMessage() for r in caplog.records if "FJ-BAD" in r.getMessage()]
    assert len(said) == 1 and "no order line names a product" in said[0]


def test_the_mini_basket_is_the_carts_truth(stack: Stack, browser: httpx.Client) -> None:
    v = vid(browser)
    browser.get("/page?lines=1005:42:2,1013::1")
    cart = stack.profile(v).cart
    assert [(line["product"], line["size"], line["qty"], line["price"]) for line in cart] == [("1005", "42", 2, 10.0), ("1013", None, 1, 10.0)]
    cart_events = len(stack.log("cart", v))
    browser.get("/page?lines=1005:42:2,1013::1")
    assert len(stack.log("cart", v)) == cart_events  # unchanged: nothing written
    browser.get("/page?none=1")  # a page without the basket says nothing about it
    assert len(stack.profile(v).cart) == 2
    browser.get("/page?count=4")  # a basket that shows only a count: not empty
    profile = stack.profile(v)
    assert profile.cart_hint == 4 or sum(line["qty"] for line in profile.cart) == 4
    browser.get("/page?empty=1")
    profile = stack.profile(v)
    assert profile.cart == [] and profile.cart_hint == 0


def test_the_same_basket_in_another_currency_is_written_again_once(stack: Stack, browser: httpx.Client) -> None:
    """The visitor switches the store's currency: the mini basket shows the same lines, each in pounds. The
    cart takes their prices and currency (the waiting cart and ``cart_value`` read them), once."""
    v = vid(browser)
    browser.get("/page?lines=1005:42:2")
    assert [(line["price"], line.get("currency")) for line in stack.profile(v).cart] == [(10.0, "EUR")]
    browser.get("/page?lines=1005:42:2&pounds=1")
    assert [(line["price"], line.get("currency")) for line in stack.profile(v).cart] == [(8.5, "GBP")]
    cart_events = len(stack.log("cart", v))
    browser.get("/page?lines=1005:42:2&pounds=1")
    assert len(stack.log("cart", v)) == cart_events  # unchanged: nothing written


def test_an_add_then_the_basket_page_is_one_line(stack: Stack, browser: httpx.Client) -> None:
    v = vid(browser)
    browser.post("/cart/add", data={"product": "1005", "qty": "2"})
    browser.get("/cart/?lines=1005::2")
    assert [(line["product"], line["qty"]) for line in stack.profile(v).cart] == [("1005", 2)]
    assert stack.log("cart", v) == []  # the add said it already


def test_the_account_page_names_the_customer_and_merges_their_devices(stack: Stack) -> None:
    with stack.client() as phone, stack.client() as laptop:
        phone.get("/c/jackets-1/?none=1")
        laptop.get("/c/socks-9/?none=1")
        phone_id, laptop_id = vid(phone), vid(laptop)
        phone.get("/account/?email=Kari@Example.com&none=1")
        laptop.get("/account/?email=kari@example.com&none=1")
        merged = stack.profile(laptop_id)
        assert merged is not None and merged.id == stack.profile(phone_id).id  # one golden record
        assert merged.email_hash == hash_email("kari@example.com")
        assert {"jackets", "socks"} <= set(merged.categories)
        assert {phone_id, laptop_id} <= set(merged.anonymous_ids)
        identifies = stack.log("identify", laptop_id)
        assert len(identifies) == 1 and identifies[0].data["source"] == "proxy"
        laptop.get("/account/?email=kari@example.com&none=1")
        assert len(stack.log("identify", laptop_id)) == 1  # known already: nothing new


def test_a_malformed_customer_is_logged_once_and_links_nothing(stack: Stack, browser: httpx.Client,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    for _ in range(2):
        browser.get("/account/?email=not-an-email&none=1")
    assert stack.profile(vid(browser)).email_hash is None and stack.log("identify", vid(browser)) == []
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("capture customer:")]
    assert len(said) == 1 and "e-mail" in said[0]


def test_an_add_to_cart_rewards_the_decision_it_follows(stack: Stack, browser: httpx.Client) -> None:
    from slotwise.proxy.operations.reporting import build_decision_log, read_all

    v = vid(browser)
    browser.get("/p/1005/?none=1")
    decisions = [r for r in sync(stack.personalizer.store.read_log(0, 100_000)) if r.kind == "decision" and r.visitor == v]
    assert len(decisions) == 1
    browser.post("/cart/add", data={"product": "1005", "qty": "1"})
    log = build_decision_log(sync(read_all(stack.personalizer.store)))
    (row,) = [row for row in log.rows if row.visitor == v]
    assert row.reward == 1.0


def test_a_count_only_basket_that_disagrees_with_the_lines_is_written_once(stack: Stack, browser: httpx.Client) -> None:
    """The store counts 4, the adds the proxy saw make 1: the count is the truth, written once, not on every page."""
    v = vid(browser)
    browser.post("/cart/add", data={"product": "1005", "qty": "1"})
    for _ in range(3):
        browser.get("/page?count=4")
    (event,) = stack.log("cart", v)
    assert event.data["props"] == {"lines": [], "count": 4}
    profile = stack.profile(v)
    assert profile.cart_hint == 4
    browser.get("/page?count=0")
    profile = stack.profile(v)
    assert (profile.cart, profile.cart_hint) == ([], 0) and len(stack.log("cart", v)) == 2


def test_the_same_product_with_and_without_a_size_in_the_cart(stack: Stack, browser: httpx.Client) -> None:
    """Lines that differ only by a missing size are compared without tripping over None < '42'."""
    v = vid(browser)
    browser.post("/cart/add", data={"product": "1005", "qty": "1"})
    browser.put("/api/v2/lines/1005?via=app", json={}, headers={"X-Size": "42"})
    r = browser.get("/page?lines=1005:42:1,1005::1")
    assert r.status_code == 200 and "sw_vid" not in r.headers.get("set-cookie", "")
    assert sorted((line["product"], line["size"] or "") for line in stack.profile(v).cart) == [("1005", ""), ("1005", "42")]
    assert stack.log("cart", v) == []  # the same lines: nothing to write (and no crash comparing them)
    assert "tag." in r.text  # personalized as usual: the page was not served fail-open


def test_json_sent_as_text_plain_is_read(stack: Stack, browser: httpx.Client) -> None:
    r = browser.post("/cart/add", content=b'{"product": 1016, "qty": 2}', headers={"content-type": "text/plain;charset=UTF-8"})
    assert r.status_code == 303  # the store read it as a form (no product): its answer still decides
    assert props(stack.log("add_to_cart", vid(browser))) == [{"product": "1016", "qty": 2}]


def test_an_accepted_post_that_names_no_product_records_nothing_and_is_said_once(
        stack: Stack, browser: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    for _ in range(3):
        assert browser.post("/cart/add", data={"qty": "1"}).status_code == 303
    assert stack.log("add_to_cart", vid(browser)) == []
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("capture add-form:")]
    assert said == ["capture add-form: add_to_cart: no product (read None)"]


def test_a_newsletter_form_names_nobody(stack: Stack) -> None:
    """A store subscribes any address it is given: the sign-up counts, but never opens someone else's profile."""
    with stack.client() as owner, stack.client() as other:
        owner.get("/c/jackets-1/?none=1")
        owner.post("/login", data={"email": "solveig@example.com", "password": "right"})
        other.get("/page?none=1")
        other.post("/newsletter", data={"email": "solveig@example.com"})
        other.get("/")  # flash-ok: the store took it
        (signup,) = stack.log("signup", vid(other))
        assert signup.data["props"]["source"] == "newsletter"
        profile = stack.profile(vid(other))
        assert profile.subscribed is True
        assert profile.id != stack.profile(vid(owner)).id and profile.email_hash is None
        assert "jackets" not in profile.categories
        with stack.client() as newcomer:
            newcomer.get("/page?none=1")
            newcomer.post("/newsletter", data={"email": "fresh-reader@example.com"})
            newcomer.get("/")
            assert stack.profile(vid(newcomer)).email_hash == hash_email("fresh-reader@example.com")  # nobody's yet


def test_a_pre_claimed_address_does_not_take_over_the_customer_who_logs_in(stack: Stack) -> None:
    """A browser claims an address through the tag before its owner ever came; the owner's login wins.

    The claimant loses the alias and the e-mail hash; nothing of the owner's
    (browsing, the login itself) reaches the claimant's profile or export.
    """
    with stack.client() as attacker, stack.client() as owner:
        attacker.get("/page?none=1")
        claim = {"type": "identify", "event_id": "claim-0001", "props": {"email": "ingrid@example.com"}}
        assert attacker.post("/_sw/events", json={"events": [claim]}).status_code == 200
        assert stack.profile(vid(attacker)).email_hash == hash_email("ingrid@example.com")  # nobody held it

        owner.get("/c/jackets-1/?none=1")
        assert owner.post("/login", data={"email": "ingrid@example.com", "password": "right"}).status_code == 303
        mine = stack.profile(vid(owner))
        assert mine.id == vid(owner) and mine.email_hash == hash_email("ingrid@example.com")
        assert "jackets" in mine.categories
        theirs = stack.profile(vid(attacker))
        assert theirs.id == vid(attacker) and theirs.email_hash is None and "jackets" not in theirs.categories
        export = sync(stack.personalizer.store.export_profile(vid(attacker)))
        assert f"email:{hash_email('ingrid@example.com')}" not in export["aliases"] and "jackets" not in json.dumps(export)


def test_another_customer_logging_in_on_a_shared_browser_gets_none_of_the_first_ones_history(stack: Stack) -> None:
    """A family computer: Liv logged in, then Ola (no logout the rules saw: a session that expired, a logout
    the rules do not describe). The store's page now names Ola: the browser becomes Ola's, and the two
    customers' golden records stay apart — neither sees the other's views."""
    with stack.client() as shared, stack.client() as olas_phone:
        olas_phone.get("/c/socks-9/?none=1")
        olas_phone.get("/account/?email=ola@example.com&none=1")
        shared.get("/account/?email=liv@example.com&none=1")
        shared.get("/c/jackets-1/?none=1")
        liv = stack.profile(vid(shared))
        assert liv.email_hash == hash_email("liv@example.com") and "jackets" in liv.categories

        shared.get("/account/?email=ola@example.com&none=1")  # Ola on the same browser
        shared.get("/c/hats-3/?none=1")
        ola = stack.profile(vid(shared))
        assert ola.email_hash == hash_email("ola@example.com") and ola.id == stack.profile(vid(olas_phone)).id
        assert {"socks", "hats"} <= set(ola.categories) and "jackets" not in ola.categories
        liv = sync(stack.personalizer.store.get_profile(f"email:{hash_email('liv@example.com')}"))
        assert liv is not None and liv.id != ola.id and "jackets" in liv.categories
        assert not {"socks", "hats"} & set(liv.categories)
        assert liv.email_hash == hash_email("liv@example.com")


def test_another_customer_logging_in_through_the_login_form_starts_a_new_visitor(stack: Stack) -> None:
    with stack.client() as shared:
        shared.get("/c/boots-4/?none=1")
        assert shared.post("/login", data={"email": "mats@example.com", "password": "right"}).status_code == 303
        mats_visitor = vid(shared)
        assert shared.post("/login", data={"email": "nora@example.com", "password": "right"}).status_code == 303
        assert vid(shared) != mats_visitor  # the browser is Nora's now, as after a logout
        shared.get("/c/scarves-5/?none=1")
        nora = stack.profile(vid(shared))
        mats = stack.profile(mats_visitor)
        assert nora.id != mats.id and nora.email_hash == hash_email("nora@example.com")
        assert set(nora.categories) == {"scarves"} and set(mats.categories) == {"boots"}
        assert mats.email_hash == hash_email("mats@example.com")


def test_the_customer_id_decides_who_the_page_names() -> None:
    """A customer whose CRM address (imported) is not the one on their web account is still themselves."""
    from slotwise.profile import Profile
    from slotwise.proxy.personalization.capture import names_another_person

    imported = Profile.new("customer:c7", 1.0)
    imported.customer_id, imported.email_hash = "c7", hash_email("old@example.com")
    assert not names_another_person(imported, "c7", hash_email("new@example.com"))
    assert names_another_person(imported, "c8", hash_email("old@example.com"))
    assert names_another_person(imported, None, hash_email("new@example.com"))
    assert not names_another_person(imported, None, hash_email("old@example.com"))
    assert not names_another_person(Profile.new("v1", 1.0), "c8", None)  # nobody yet: a login, not a switch


def test_a_first_page_that_names_the_customer_links_them(stack: Stack) -> None:
    for n in range(4):
        with stack.client() as fresh:
            fresh.get(f"/account/?email=first{n}@example.com&none=1")  # the browser's very first request
            profile = sync(stack.personalizer.store.get_profile(f"email:{hash_email(f'first{n}@example.com')}"))
            assert profile is not None and profile.id == vid(fresh), n
