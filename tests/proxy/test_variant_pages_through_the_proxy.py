"""Through the proxy: a store with a page per variant (Google's "multi-page" product variants).

A real store (``PageServer`` on 127.0.0.1) serves each colour and size of a coat at its own URL, marked up
as Google's multi-page example (the variant's Product with its ProductGroup in ``isVariantOf``). A visitor views
two of them: the profile and the catalog know one product (the group's ``productGroupID``, as the rules'
``catalog.product_id`` says), viewed twice, each variant a size of it, none a product of its own; the
page's variant is ``page.product.viewed_size`` for the slots, behind the proxy and in tag-only ``/decide``
with the page's extract alike. Each variant's page was a product of its own: views and co-views split.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import httpx
import pytest
from agents import DESKTOP_UA
from google_variants import BLUE_L, GREEN_S, inline
from page_server import Page, PageServer

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

RULES = """
holdout: 0
catalog:
  product_pages: "/coat/{slug}"
  product_id: productGroupID
slots:
  - id: viewed-size
    pages: "/coat/*"
    selector: "h1"
    action: set-attribute
    attributes: {data-size: "{{ page.product.viewed_size }}"}
    when: page.product.viewed_size
    goal: add_to_cart
    variants: [{id: mark}]
"""


PAGES = {"/coat/green-small": inline(GREEN_S), "/coat/lightblue-large": inline(BLUE_L)}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("variant-pages")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with PageServer({path: Page(html) for path, html in PAGES.items()}) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as running:
            yield running, personalizer


def test_two_variants_pages_are_two_views_of_one_product(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    edge, personalizer = proxy
    with httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10) as client:
        pages = [client.get(path) for path in PAGES]
        visitor = str(client.cookies["sw_vid"]).split(".")[0]
        asked = client.get("/_sw/decide", params={"url": f"{edge.url}/coat/lightblue-large"})
        decided = client.post("/_sw/decide", json={"url": f"{edge.url}/coat/lightblue-large",
                                                   "extract": {"doc": PAGES["/coat/lightblue-large"].decode()}})
    assert [p.status_code for p in pages] == [200, 200]
    assert '<h1 data-size="small"' in pages[0].text and '<h1 data-size="large"' in pages[1].text
    # tag-only: the URL names no product (no {product}), so only the page can say which: the tag is asked for
    # its extract (it was told "complete" with no product, and never sent it), and then decides the same
    assert asked.status_code == 200 and (asked.json()["decisions"], asked.json()["complete"]) == ([], False)
    assert decided.status_code == 200 and decided.json()["complete"] is True
    assert [d["attributes"] for d in decided.json()["decisions"]] == [{"data-size": "large"}]
    skus = [GREEN_S["sku"], BLUE_L["sku"]]
    deadline = time.monotonic() + 5.0
    while True:  # the views and the catalog are written by the store's writer, soon after the pages
        profile = sync(personalizer.store.get_profile(visitor))
        rows = sync(personalizer.store.get_products(["44E01", *skus]))
        if (profile is not None and len(rows) == 3) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert profile is not None and list(profile.products) == ["44E01"]  # one product, not a product per variant
    row = rows["44E01"]
    assert row["name"] == "Wool winter coat" and not {"viewed_variant", "viewed_size", "variants"} & set(row)
    assert {sku: (rows[sku]["parent"], rows[sku]["size"]) for sku in skus} == {
        skus[0]: ("44E01", "small"), skus[1]: ("44E01", "large")}  # each variant a size of it
