"""A Shopify product's page and its ``/products.json`` key its sizes alike: the catalog row stays one map.

The feed keys each size's child by Shopify's variant id (what an add to cart names); the page's
``structured_data`` names each variant by its SKU and by its ``@id`` (``…?variant=<id>#variant``). The
example reads the variant id from the ``@id`` (``catalog.variant_id``): a product view and a feed read,
in either order, leave the row's ``variants`` the feed's map and no child row keyed by a SKU.
Real parts: the Dawn fixture over HTTP, the example rules, the proxy's page recorder and feed loader on
a SQLite store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from shopify_shop import PRODUCTS, ShopifyShop

from slotwise.proxy.personalization.catalog_feed import FeedLoader
from slotwise.proxy.personalization.pageviews import PageViewRecorder
from slotwise.rules import load_rules
from slotwise.rules.facts import page_facts
from slotwise.store.sqlite import SQLiteStore

EXAMPLE = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "shopify.yaml"
NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def shop() -> Iterator[ShopifyShop]:
    with ShopifyShop() as s:
        yield s


def by_variant_id(handle: str) -> dict[str, str]:
    """The sizes of a product with one option (Size) as the feed keys them: size -> variant id."""
    return {v.options[0]: str(v.id) for v in PRODUCTS[handle].variants}


@pytest.mark.parametrize("handle", ["rain-jacket", "down-jacket"], ids=["all-in-stock", "one-sold-out"])
def test_a_product_view_and_a_feed_read_write_one_size_map(shop: ShopifyShop, tmp_path: Path, handle: str) -> None:
    rules = load_rules(EXAMPLE)
    assert rules.catalog.feed is not None
    path = f"/products/{handle}"
    html = httpx.get(shop.url + path, trust_env=False).content
    page = page_facts(path, {}, html, rules, url=shop.url + path).product
    assert page is not None and dict(page["variants"]) == by_variant_id(handle)  # the page alone: the feed's ids
    skus = [v.sku for v in PRODUCTS[handle].variants]

    async def walk() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        store = SQLiteStore(tmp_path / "slotwise.db")
        try:
            views, feed = PageViewRecorder(store), FeedLoader(store, shop.url, lambda: NOW)
            seen = []
            for step in ("view", "feed", "view", "feed"):
                if step == "view":
                    await views.learn(page, NOW)
                else:
                    assert await feed.refresh(rules.catalog.feed, rules.catalog.feed_mapping, force=True) == 7
                rows = await store.get_products([handle, *skus, *by_variant_id(handle).values()])
                seen.append((rows.pop(handle), rows))
            return seen
        finally:
            await store.close()

    for row, children in asyncio.run(walk()):
        assert row["variants"] == by_variant_id(handle)
        assert set(children) == set(by_variant_id(handle).values())  # no child keyed by a SKU
        assert {child["size"] for child in children.values()} == set(by_variant_id(handle))
