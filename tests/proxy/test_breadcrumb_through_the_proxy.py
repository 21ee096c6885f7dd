"""Through the proxy: a product page whose category only its breadcrumb trail names (JSON-LD, or microdata).

A real store (uvicorn on 127.0.0.1) serves a Shopify-like product page: a
Product node without ``category`` and a ``BreadcrumbList``. The visitor's
profile and the catalog get the collection the trail names, as a category
page's URL names it, so browsing the product counts for that category.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from agents import DESKTOP_UA
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

RULES = """
catalog:
  product_pages: "/products/{product}"
  category_pages: "/collections/{category}"
slots: []
"""
PRODUCT = {"@context": "https://schema.org", "@type": "Product", "name": "Ridge Runner", "sku": "ridge-runner",
           "offers": {"@type": "Offer", "price": "129.00", "priceCurrency": "EUR"}}


async def product_page(request: Request) -> HTMLResponse:
    base = f"http://{request.headers['host']}"
    trail = {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
        {"@type": "ListItem", "position": 1, "name": "Home", "item": f"{base}/"},
        {"@type": "ListItem", "position": 2, "name": "Trail Shoes", "item": f"{base}/collections/trail-shoes"},
        {"@type": "ListItem", "position": 3, "name": "Ridge Runner", "item": f"{base}/products/ridge-runner"}]}
    if request.path_params["product"] == "merino-sock":  # a Magento-like page: its trail in microdata only
        return HTMLResponse(MICRODATA_PAGE.replace("BASE", base))
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(n)}</script>' for n in (PRODUCT, trail))
    return HTMLResponse(f"<!doctype html><html><head>{scripts}</head><body><h1>Ridge Runner</h1></body></html>")


MICRODATA_PAGE = """<!doctype html><html><head><title>Merino Sock</title></head><body>
<ul class="items" itemscope itemtype="https://schema.org/BreadcrumbList">
<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem"><a itemprop="item" href="BASE/">
<span itemprop="name">Home</span></a><meta itemprop="position" content="1"></li>
<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem"><a itemprop="item"
 href="BASE/collections/hiking-socks"><span itemprop="name">Hiking Socks</span></a><meta itemprop="position" content="2"></li>
<li itemprop="itemListElement" itemscope itemtype="https://schema.org/ListItem"><span itemprop="name">Merino Sock</span>
<meta itemprop="position" content="3"></li></ul>
<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Merino Sock</h1>
<meta itemprop="sku" content="merino-sock"><span itemprop="offers" itemscope itemtype="https://schema.org/Offer">
<meta itemprop="price" content="19.00"><meta itemprop="priceCurrency" content="EUR"></span></div></body></html>"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("breadcrumb")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with uvicorn_runner(Starlette(routes=[Route("/products/{product}", product_page)])) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield proxy, personalizer


@pytest.mark.parametrize(("product_id", "category", "name"), [
    ("ridge-runner", "trail-shoes", "Trail Shoes"),  # JSON-LD
    ("merino-sock", "hiking-socks", "Hiking Socks"),  # microdata
])
def test_the_product_counts_for_the_category_its_breadcrumb_names(stack: tuple[Any, SlotwisePersonalizer],
                                                                  product_id: str, category: str, name: str) -> None:
    proxy, personalizer = stack
    with httpx.Client(base_url=proxy.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as client:
        assert client.get(f"/products/{product_id}").status_code == 200
        visitor = client.cookies["sw_vid"].split(".")[0]
    deadline = time.monotonic() + 3.0
    while True:  # the view and the catalog are written by the store's writer, soon after the page
        profile = sync(personalizer.store.get_profile(visitor))
        product = sync(personalizer.store.get_products([product_id])).get(product_id)
        if (profile is not None and profile.categories and product) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert profile is not None and list(profile.categories) == [category]
    assert profile.products[product_id]["category"] == category
    assert product is not None and (product["category"], product["category_name"]) == (category, name)
