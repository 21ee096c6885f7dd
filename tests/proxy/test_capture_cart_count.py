"""A mini basket read by its count only (``capture.cart`` without ``lines``), through the real proxy.

The count is the cart's truth only when the page shows it: a page whose basket
shows no count (a typo'd ``count`` selector, a theme that leaves the bubble out)
says nothing about the lines an add to cart recorded, and must not empty them.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync
from agents import DESKTOP_UA

RULES = """
catalog:
  product_pages: "/products/{product}"
capture:
  cart:
    within: "#cart-icon-bubble"
    count: ".cart-count-bubble span"
  events:
    - event: add_to_cart
      request: {method: POST, path: "/cart/add.js"}
      fields: {product: "json['items'][0]['id']", qty: "json['items'][0]['quantity']"}
      success: response.status == 200
slots: []
"""


async def page(request: Request) -> Response:
    shown = request.query_params.get("count")
    bubble = f'<div class="cart-count-bubble"><span>{shown}</span></div>' if shown is not None else ""
    return HTMLResponse(f'<!doctype html><html><body><header><a href="/cart" id="cart-icon-bubble">Cart {bubble}</a>'
                        f"</header><main><h1>Shop</h1></main></body></html>")


async def add(request: Request) -> Response:
    await request.json()
    return JSONResponse({"item_count": 1})


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("cart-count")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    shop = Starlette(routes=[Route("/", page), Route("/cart/add.js", add, methods=["POST"])])
    with uvicorn_runner(shop) as store:
        settings = Settings(upstream=store.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as server:
            yield server, personalizer


def cart_after(proxy: tuple[Any, SlotwisePersonalizer], next_page: str) -> list[str]:
    server, personalizer = proxy
    with httpx.Client(base_url=server.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as browser:
        browser.get("/?count=0")
        assert browser.post("/cart/add.js", json={"items": [{"id": 4102, "quantity": 1}]}).status_code == 200
        browser.get(next_page)
        visitor = browser.cookies["sw_vid"].split(".")[0]
    time.sleep(0.3)
    return [line["product"] for line in sync(personalizer.store.get_profile(visitor)).cart]


def test_a_page_that_shows_the_count_keeps_or_empties_the_cart(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    assert cart_after(proxy, "/?count=1") == ["4102"]
    assert cart_after(proxy, "/?count=0") == []


def test_a_basket_without_its_count_says_nothing_about_the_lines(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    assert cart_after(proxy, "/") == ["4102"]
