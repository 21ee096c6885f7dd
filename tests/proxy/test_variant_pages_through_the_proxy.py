"""Through the proxy: a store with a page per variant (Google's "multi-page" product variants).

A real store (``PageServer`` on 127.0.0.1) serves each colour and size of a coat at its own URL, marked up
as Google's multi-page example (the variant's Product with its ProductGroup in ``isVariantOf``). A visitor views
two of them: the profile and the catalog know one product (the group's ``productGroupID``, as the rules'
``catalog.product_id`` says), viewed twice, each variant a size of it, none a product of its own; the
page's variant is ``page.product.viewed_size`` for the slots, behind the proxy and in tag-only ``/decide``
with the page's extract alike. Each variant's page was a product of its own: views and co-views split.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Iterator

import httpx
import pytest
from agents import DESKTOP_UA
from google_variants import BLUE_L, GREEN_S, inline
from page_server import Page, PageServer

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.profile import Profile, add_to_cart, record_view
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
  - id: basket-waits
    pages: "/"
    selector: "div.promo"
    action: replace
    when: visitor.waiting_cart
    goal: purchase
    variants:
      - id: list
        html: >-
          <div class="promo">{% for i in visitor.waiting_cart %}<p data-size="{{ i.size }}" data-price="{{ i.price }}"
          data-was="{{ i.price_was }}" data-dropped="{{ i.price_dropped }}">{{ i.name }}</p>{% endfor %}</div>
"""
HOME = b'<html><body><h1>Coats</h1><div class="promo"></div></body></html>'


PAGES = {"/coat/green-small": inline(GREEN_S), "/coat/lightblue-large": inline(BLUE_L)}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("variant-pages")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with PageServer({"/": Page(HOME), **{path: Page(html) for path, html in PAGES.items()}}) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as running:
            yield running, personalizer


def client(edge: Any) -> httpx.Client:
    """A new visitor's browser."""
    return httpx.Client(base_url=edge.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10)


def visitor_of(browser: httpx.Client) -> str:
    return str(browser.cookies["sw_vid"]).split(".")[0]


def soon(read: Callable[[], Any]) -> Any:
    """``read()`` once it gives something: the views and the catalog are written by the store's writer, soon
    after the pages."""
    deadline = time.monotonic() + 5.0
    while not (found := read()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_a_cheap_sizes_page_is_no_price_drop_of_the_product(proxy: tuple[Any, SlotwisePersonalizer]) -> None:
    """The feed says the coat costs 49.99 (its large size's price, in a cart left yesterday); another visitor
    views the small size's page (39.99, the group names no price): the product's price stays 49.99, the cart
    that waits shows no drop, and the views saw no price of the product."""
    edge, personalizer = proxy
    sync(personalizer.store.upsert_products([{"id": "44E01", "name": "Wool winter coat", "price": 49.99,
                                              "currency": "USD", "in_stock": True}], time.time()))
    yesterday = time.time() - 86_400

    def left_in_the_cart(profile: Profile) -> None:
        record_view(profile, yesterday)
        add_to_cart(profile, {"product": "44E01", "size": "large", "qty": 1, "price": 49.99, "added": yesterday})

    with client(edge) as mine, client(edge) as other:
        mine.get("/")
        sync(personalizer.store.update_profile(visitor_of(mine), left_in_the_cart, yesterday))
        assert mine.get("/coat/lightblue-large").status_code == 200
        assert other.get("/coat/green-small").status_code == 200
        row = soon(lambda: (r := sync(personalizer.store.get_products(["44E01"]))["44E01"]).get("brand") and r)
        seen = soon(lambda: (p := sync(personalizer.store.get_profile(visitor_of(other)))) and p.products)
        home = mine.get("/").text
    assert (row["brand"], row["price"]) == ("Good brand", 49.99)  # the page taught the catalog, not a size's price
    assert seen["44E01"]["seen"]["price"] is None
    waiting = re.search(r"<p (data-size[^>]*)>", home)
    assert waiting and waiting.group(1).split() == ['data-size="large"', 'data-price="49.99"', 'data-was="None"',
                                                    'data-dropped="False"']


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
    assert profile.products["44E01"]["count"] == 2 and not {"viewed_variant", "viewed_size", "size"} & set(
        profile.products["44E01"])  # a view of the product: its size is the page's (docs/capture.md says why)
    row = rows["44E01"]
    assert row["name"] == "Wool winter coat" and not {"viewed_variant", "viewed_size", "variants"} & set(row)
    assert {sku: (rows[sku]["parent"], rows[sku]["size"]) for sku in skus} == {
        skus[0]: ("44E01", "small"), skus[1]: ("44E01", "large")}  # each variant a size of it
