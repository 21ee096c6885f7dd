"""Shopify's ``Default Title`` is no size, through the real proxy: the store's ``/products.json`` read with
the mapping docs/rules.md shows (``sizes.not_sizes``), then orders read from the thank-you page.

A product without options has one variant, ``Default Title``. Were it a size, buying it would make
``Default Title`` the visitor's preferred size in its category, and size prefill would stop working for
the category's sized products."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from agents import DESKTOP_UA
from polling import wait_for
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

ROOT = Path(__file__).resolve().parents[2]
FEED = json.loads((ROOT / "tests" / "rules" / "feeds" / "shopify_products.json").read_text(encoding="utf-8"))
SHOPIFY = next(block.split("```", 1)[0] for block in (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
               .split("#### `catalog.feed` in the store's own shape", 1)[1].split("```yaml\n")[1:]
               if "url: /products.json" in block)  # the section's Shopify mapping, wherever it stands
RULES = f"""catalog:
  product_pages: "/products/{{product}}"
{SHOPIFY}capture:
  events:
    - id: order
      event: purchase
      page: "/thanks/"
      within: "#order"
      fields: {{order_id: ".ref"}}
      lines: {{items: "tr", product: ".variant", size: ".size", qty: ".qty"}}
slots: []
"""


async def products(request: Request) -> Response:
    return JSONResponse(FEED if request.query_params.get("page") == "1" else {"products": []})


async def thanks(request: Request) -> Response:
    """``?order=o1&lines=43890002:M,43890020:`` (variant id:the size the order shows)."""
    rows = "".join(f'<tr><td class="variant">{variant}</td><td class="size">{size}</td><td class="qty">1</td></tr>'
                   for variant, size in (line.split(":") for line in request.query_params["lines"].split(",")))
    return HTMLResponse(f'<html><body><section id="order"><p class="ref">{request.query_params["order"]}</p>'
                        f"<table>{rows}</table></section></body></html>")


async def home(request: Request) -> Response:
    return HTMLResponse("<html><body><h1>Ridge</h1></body></html>")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("not-sizes")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    shop = Starlette(routes=[Route("/", home), Route("/products.json", products), Route("/thanks/", thanks)])
    with uvicorn_runner(shop) as upstream:
        settings = Settings(upstream=upstream.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as edge:
            wait_for(lambda: personalizer.feeds.count, what="the products.json feed")
            yield edge, personalizer


def test_buying_a_product_without_options_keeps_the_preferred_size(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    edge, personalizer = proxy
    assert (personalizer.feeds.count, personalizer.feeds.error) == (3, None)
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10) as browser:
        browser.get("/")
        visitor = browser.cookies["sw_vid"].split(".")[0]
        assert browser.get("/thanks/", params={"order": "o1", "lines": "43890002:M"}).status_code == 200
        assert sync(personalizer.store.get_profile(visitor)).preferred_sizes == {"t-shirts": "M"}
        # the one-size tee twice: its variant named alone, then with the "Default Title" the order shows
        browser.get("/thanks/", params={"order": "o2", "lines": "43890020:"})
        browser.get("/thanks/", params={"order": "o3", "lines": "43890020:Default Title"})
    profile = sync(personalizer.store.get_profile(visitor))
    assert [(p["order_id"], p["product"], p.get("size"), p["category"]) for p in profile.purchases] == [
        ("o1", "ridge-runner-tee", "M", "t-shirts"), ("o2", "ridge-pocket-tee", None, "t-shirts"),
        ("o3", "ridge-pocket-tee", None, "t-shirts")]
    assert profile.preferred_sizes == {"t-shirts": "M"}
