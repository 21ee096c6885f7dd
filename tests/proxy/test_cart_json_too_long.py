"""A mini basket whose JSON list is too long to read (over ``MAX_JSON``), through the real proxy.

Its items are unknown, not none: the visitor's cart keeps the lines it had, as it
does when the tag leaves a list out of its extract (``lines_omitted``).
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.rules.extract import MAX_JSON
from slotwise.tag.testing import sync
from agents import DESKTOP_UA

RULES = """
catalog:
  product_pages: "/products/{product}"
capture:
  cart:
    within: "#cart"
    lines:
      items: {json: "script#cart-json", key: items}
      product: product_id
      qty: quantity
slots: []
"""


async def page(request: Request) -> Response:
    """``?note=N``: the cart's one line carries a note of N characters (past MAX_JSON: too long to read)."""
    line = {"product_id": 4102, "quantity": 1, "note": "x" * int(request.query_params.get("note", "0"))}
    cart = json.dumps({"items": [line]})
    return HTMLResponse(f'<!doctype html><html><body><div id="cart"><script type="application/json" id="cart-json">'
                        f"{cart}</script></div><main><h1>Shop</h1></main></body></html>")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("cart-json")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with uvicorn_runner(Starlette(routes=[Route("/", page)])) as store:
        settings = Settings(upstream=store.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as server:
            yield server, personalizer


def test_a_list_too_long_to_read_keeps_the_carts_lines(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    server, personalizer = proxy
    with httpx.Client(base_url=server.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as browser:
        browser.get("/")
        visitor = browser.cookies["sw_vid"].split(".")[0]
        time.sleep(0.3)
        assert [line["product"] for line in sync(personalizer.store.get_profile(visitor)).cart] == ["4102"]
        assert len(browser.get(f"/?note={MAX_JSON}").content) > MAX_JSON
    time.sleep(0.3)
    assert [line["product"] for line in sync(personalizer.store.get_profile(visitor)).cart] == ["4102"]
