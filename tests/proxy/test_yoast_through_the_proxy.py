"""Through the proxy: a WooCommerce store with Yoast SEO, its product facts in a graph of references.

A real store (``PageServer`` on 127.0.0.1) serves Yoast's schema graph (``tests/yoast_graph.py``): a
product page whose Product names its offers, brand and image by ``@id``, and a product category page
(a CollectionPage listing Product pieces) that no catalog pattern claims. The catalog learns the
product's price, stock, brand and image from the nodes the references name, and the category page
counts as no product's view.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import httpx
import pytest
from agents import DESKTOP_UA
from page_server import PageServer
from yoast_graph import IMAGE_URL, yoast_category, yoast_html, yoast_product

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

RULES = """
catalog:
  product_pages: "/product/{handle}/"
slots: []
"""
PAGES = {"/product/hoodie-with-logo/": yoast_html(yoast_product(), "Hoodie with Logo"),
         "/product-category/hoodies/": yoast_html(yoast_category(), "Hoodies")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("yoast")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with PageServer(PAGES) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield proxy, personalizer


def visit(proxy: Any, path: str, personalizer: SlotwisePersonalizer) -> Any:
    """A visitor's profile once the page's view is written (the store's writer, soon after the page)."""
    with httpx.Client(base_url=proxy.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as client:
        assert client.get(path).status_code == 200
        visitor = client.cookies["sw_vid"].split(".")[0]
    deadline = time.monotonic() + 3.0
    while (profile := sync(personalizer.store.get_profile(visitor))) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert profile is not None
    return profile


def test_the_catalog_learns_price_stock_brand_and_image_a_yoast_product_names_by_id(stack: tuple[Any, SlotwisePersonalizer]) -> None:
    proxy, personalizer = stack
    profile = visit(proxy, "/product/hoodie-with-logo/", personalizer)
    assert list(profile.products) == ["woo-hoodie-21"]
    deadline = time.monotonic() + 3.0
    while not (product := sync(personalizer.store.get_products(["woo-hoodie-21"])).get("woo-hoodie-21")) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert product is not None
    assert (product["price"], product["currency"], product["in_stock"]) == (59.9, "EUR", True)
    assert (product["brand"], product["image"]) == ("Fjell", IMAGE_URL)


def test_a_category_page_no_pattern_claims_is_no_products_view(stack: tuple[Any, SlotwisePersonalizer]) -> None:
    """Yoast's category page lists its products as Product pieces: it was taken for the first one's page."""
    proxy, personalizer = stack
    profile = visit(proxy, "/product-category/hoodies/", personalizer)
    assert dict(profile.products) == {}
    assert sync(personalizer.store.get_products(["21", "22"])) == {}
