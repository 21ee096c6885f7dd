"""A mini basket that names each line by its variant (a child product), through the real proxy.

The store's feed (Shopify's ``/products.json``, mapped as docs/rules.md shows) makes each variant id a child
of its product in one size; the basket names the variant ids, as many themes' do. Recording a cart resolves
each child to its parent and size (``EventRecorder.resolve_lines``), so the profile holds
``ridge-runner-tee`` in ``S``: the basket read again on the next page must be compared as the same lines,
or every page view writes a cart event (a log record and a profile write) on the hot path. The basket is
read from the page's HTML (``capture.cart``) and from the store's JSON answer (``capture.cart`` with
``request``), on SQLite and on a real redis-server (``redis_url``), whose every product read is a round
trip: the comparison reads the catalog through the recorder's kept rows, no store call a page.
"""

from __future__ import annotations

import re
import time
from typing import Any, Iterator

import httpx
import pytest
from agents import DESKTOP_UA
from polling import wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from store_calls import store_calls
from test_capture_tag import Stack, vid
from test_feed_not_sizes import FEED, SHOPIFY

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

CARTS = {
    "page": """  cart:
    within: "#cart"
    lines: {items: "li.line", product: "@data-variant", qty: ".qty", price: ".price"}
""",
    "answer": """  cart:
    request: {method: GET, path: "/cart.js"}
    lines: {items: items, product: variant_id, qty: quantity, price: price}
    count: item_count
""",
}
CART_EVENT = re.compile(r'type\W{1,6}cart')  # a cart event appended to the log (SQLite's INSERT, Redis's script)
PRODUCT_READ = re.compile(r"FROM products|^HMGET \S*prod", re.I)  # a product row read (SQLite, Redis)


def rules(cart: str) -> str:
    return f"""catalog:
  product_pages: "/products/{{product}}"
  currency: EUR
{SHOPIFY}capture:
{CARTS[cart]}slots: []
"""


def _lines(request: Request) -> list[tuple[str, int, str]]:
    """``?lines=43890001:1:18.00,...``: (variant id, qty, unit price) of each basket line."""
    found = request.query_params.get("lines", "")
    return [(v, int(q), p) for v, q, p in (line.split(":") for line in found.split(",") if line)]


async def page(request: Request) -> Response:
    items = "".join(f'<li class="line" data-variant="{v}"><span class="qty">{q}</span><span class="price">€{p}</span></li>'
                    for v, q, p in _lines(request))
    return HTMLResponse(f'<!doctype html><html><body><header><div id="cart"><ul>{items}</ul></div></header>'
                        "<main><h1>Ridge</h1></main></body></html>")


async def cart_js(request: Request) -> Response:
    """A ``/cart.js`` as a theme's script reads it: each line's variant id, quantity and unit price."""
    lines = _lines(request)
    return JSONResponse({"item_count": sum(q for _, q, _ in lines), "items": [
        {"variant_id": int(v), "quantity": q, "price": round(float(p) * 100) / 100} for v, q, p in lines]})


async def products(request: Request) -> Response:
    return JSONResponse(FEED if request.query_params.get("page") == "1" else {"products": []})


@pytest.fixture(params=["page", "answer"])
def cart(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", "redis"])
def stack(request: pytest.FixtureRequest, cart: str, tmp_path: Any, uvicorn_runner: Any) -> Iterator[Stack]:
    (tmp_path / "rules.yaml").write_text(rules(cart), encoding="utf-8")
    store = request.getfixturevalue("redis_url") if request.param == "redis" else ""
    shop = Starlette(routes=[Route("/", page), Route("/cart.js", cart_js), Route("/products.json", products)])
    with uvicorn_runner(shop) as upstream:
        settings = Settings(upstream=upstream.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                            store=store, personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as edge:
            wait_for(lambda: personalizer.feeds.count, what="the products.json feed")
            yield Stack(edge, personalizer)


def show(browser: httpx.Client, cart: str, lines: str) -> None:
    """The visitor sees a page whose basket holds ``lines`` (``cart.js`` fetched, as a theme's script does)."""
    if cart == "answer":
        assert browser.get("/cart.js", params={"lines": lines}).status_code == 200
    else:
        assert browser.get("/", params={"lines": lines}).status_code == 200


def held(stack: Stack, visitor: str) -> list[tuple[str, str | None, int, float]]:
    return sorted((line["product"], line.get("size"), line["qty"], line["price"]) for line in stack.profile(visitor).cart)


def test_a_basket_of_variant_ids_is_written_once_not_on_every_page(stack: Stack, cart: str) -> None:
    with httpx.Client(base_url=stack.proxy.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as browser:
        browser.get("/")
        v = vid(browser)
        show(browser, cart, "43890001:1:18.00,43890002:2:18.00")
        assert held(stack, v) == [("ridge-runner-tee", "M", 2, 18.0), ("ridge-runner-tee", "S", 1, 18.0)]
        assert len(stack.log("cart", v)) == 1
        for _ in range(2):  # the same basket on the next pages
            with store_calls(stack) as calls:
                show(browser, cart, "43890002:2:18.00,43890001:1:18.00")
                time.sleep(0.3)  # what the proxy does after the answer is sent
            events = [call for call, writes in calls if writes and CART_EVENT.search(call)]
            reads = [call for call, _ in calls if PRODUCT_READ.search(call)]
            assert (events, reads) == ([], []), (events, reads)
        assert len(stack.log("cart", v)) == 1  # nothing new: nothing written
        show(browser, cart, "43890001:3:18.00,43890002:2:18.00")  # a change is still written
        assert held(stack, v) == [("ridge-runner-tee", "M", 2, 18.0), ("ridge-runner-tee", "S", 3, 18.0)]
        show(browser, cart, "43890001:3:15.00,43890002:2:18.00")  # and so is a new price (``_repriced``)
        assert held(stack, v) == [("ridge-runner-tee", "M", 2, 18.0), ("ridge-runner-tee", "S", 3, 15.0)]
        show(browser, cart, "43890001:3:15.00,43890002:2:18.00")
        assert len(stack.log("cart", v)) == 3

