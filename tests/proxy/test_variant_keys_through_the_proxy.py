"""Through the proxy: a Shopify store's product views and its feed reads leave one size map in the catalog.

The shipped Shopify example behind the real proxy, the Dawn fixture (``tests/shopify_store``) upstream:
the proxy reads ``/products.json`` (each size's child keyed by the variant id an add to cart names) and
learns each viewed product from its ``structured_data`` JSON-LD, whose variants the example keys by the
variant id in their ``@id`` (``catalog.variant_id``). Keyed by SKU, each view rewrote the row's
``variants`` to SKUs and added a SKU child per size, and each feed read switched the map back.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from agents import DESKTOP_UA
from polling import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shopify_store"))  # the Dawn fixture

from shopify_shop import PRODUCTS, ShopifyShop, identity_environment  # noqa: E402

from slotwise.proxy.app import create_app  # noqa: E402
from slotwise.proxy.config import Settings  # noqa: E402
from slotwise.proxy.personalization.catalog_feed import FeedLoader  # noqa: E402
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer  # noqa: E402
from slotwise.rules import load_rules  # noqa: E402
from slotwise.tag.testing import sync  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples" / "shopify.yaml"
RAIN = PRODUCTS["rain-jacket"]
BY_VARIANT_ID = {v.options[0]: str(v.id) for v in RAIN.variants}  # what the feed writes: S -> 44001, ...
SKUS = [v.sku for v in RAIN.variants]
PAGE_IMAGE = "width=1920"  # structured_data's image URL; the feed's is its CDN's, without it


@pytest.fixture(scope="module", autouse=True)
def identity_secret() -> Iterator[str]:
    """The secret the example's signed customer id is checked with (``capture.customer.secret_env``)."""
    with identity_environment() as secret:
        yield secret


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer, str]]:
    data = tmp_path_factory.mktemp("variant-keys")
    with ShopifyShop() as shop:
        settings = Settings(upstream=shop.url, rules=str(EXAMPLE), data=str(data / "edge"), personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as edge:
            wait_for(lambda: personalizer.feeds.count, what="the store's /products.json")
            yield edge, personalizer, shop.url


def catalog(personalizer: SlotwisePersonalizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """The product's row, and the rows of its children by variant id and by SKU that exist."""
    rows = sync(personalizer.store.get_products([RAIN.handle, *BY_VARIANT_ID.values(), *SKUS]))
    return rows.pop(RAIN.handle), rows


def test_a_product_view_and_a_feed_read_agree_on_its_sizes(proxy: tuple[Any, SlotwisePersonalizer, str]) -> None:
    edge, personalizer, upstream = proxy
    row, children = catalog(personalizer)
    assert row["variants"] == BY_VARIANT_ID and "sizes" not in row  # the feed's, before any view
    rules = load_rules(EXAMPLE).catalog
    feed = FeedLoader(personalizer.store, upstream, time.time)
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10) as browser:
        for _ in range(2):
            assert browser.get(RAIN.url).status_code == 200
            row, children = wait_for(lambda: PAGE_IMAGE in (got := catalog(personalizer))[0]["image"] and got,
                                     what="the view learned")  # the page's image over the feed's
            assert row["variants"] == BY_VARIANT_ID and row["sizes"] == ["S", "M", "L"]
            assert sorted(children) == sorted(BY_VARIANT_ID.values())  # no child keyed by a SKU
            assert sync(feed.refresh(rules.feed, rules.feed_mapping, force=True)) == len(PRODUCTS)
            row, children = catalog(personalizer)
            assert PAGE_IMAGE not in row["image"]  # the feed wrote its facts again
            assert row["variants"] == BY_VARIANT_ID and sorted(children) == sorted(BY_VARIANT_ID.values())
