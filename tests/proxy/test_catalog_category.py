"""A product page that names no category takes the catalog's, behind the proxy and in ``/decide`` alike.

A real store (``page_server`` on 127.0.0.1) serves a Shopify-like product page: JSON-LD without
``category``, no breadcrumb, ``/products/<handle>``; its product feed lists the product in ``Jackets``.
Through the real proxy (SQLite, or a real redis-server), the view is recorded under ``jackets``, a
slot ``when: page.category == 'jackets'`` applies and the size slot presets the size bought in
jackets; tag-only ``/decide`` with the page's extract gives the same decisions. A page that names
its category keeps it; a size's own page (a child row: ``parent``, no category) takes its parent's.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import ExitStack, contextmanager
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import httpx
import pytest
from agents import DESKTOP_UA
from page_server import Page, PageServer
from polling import wait_for
from real_parts import state_store

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.profile import Profile
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.store import open_store
from slotwise.tag.testing import sync

T = TypeVar("T")

RULES = """
holdout: 0
catalog:
  product_pages: "/products/{product}"
  feed: /feed.json
slots:
  - id: jackets-banner
    pages: "/products/{product}"
    selector: "p.banner"
    action: replace
    when: page.category == 'jackets'
    goal: add_to_cart
    html: '<p class="banner">Jackets week: {{ page.product.category_name }}</p>'
  - id: size-prefill
    pages: "/products/{product}"
    selector: "select#size"
    action: select-option
    when: page.category in visitor.preferred_size
    goal: add_to_cart
    variants:
      - id: preferred
        value: visitor.preferred_size[page.category]
"""
FEED = [{"id": "rain-jacket", "name": "Rain Jacket", "category": "Jackets"},
        {"id": "wind-shell", "name": "Wind Shell", "category": "Jackets"},
        {"id": "trail-cap", "name": "Trail Cap", "category": "Jackets"}]


def product_ld(name: str, handle: str, category: str | None = None) -> str:
    """The page's JSON-LD Product (Shopify's Dawn names no category), as the tag's extract carries it too."""
    node = {"@context": "https://schema.org", "@type": "Product", "name": name, "sku": handle,
            "offers": {"@type": "Offer", "price": "149.00", "priceCurrency": "EUR"}}
    if category:
        node["category"] = category
    return f'<script type="application/ld+json">{json.dumps(node)}</script>'


def product_page(ld: str) -> bytes:
    return (f'<!doctype html><html><head>{ld}</head><body><p class="banner">Free returns</p><h1>Product</h1>'
            '<select id="size"><option>S</option><option>M</option><option>L</option></select></body></html>').encode()


RAIN_LD = product_ld("Rain Jacket", "rain-jacket")
CAP_LD = product_ld("Trail Cap", "trail-cap", category="Hats")  # names its own: the page wins
ROUTES = {
    "/": Page(b"<!doctype html><html><body><h1>Shop</h1></body></html>"),
    "/products/rain-jacket": Page(product_page(RAIN_LD)),
    "/products/wind-shell": Page(product_page(product_ld("Wind Shell", "wind-shell"))),
    "/products/trail-cap": Page(product_page(CAP_LD)),
    "/products/rain-jacket-m": Page(product_page(product_ld("Rain Jacket M", "rain-jacket-m"))),
    "/feed.json": Page(json.dumps(FEED).encode(), headers=(("content-type", "application/json"),)),
}


class Stack:
    """The proxy, and what its store holds, read through a store object of the test's own (a Redis
    client belongs to one event loop: the server's is the proxy's)."""

    def __init__(self, proxy: Any, store: str, data: str) -> None:
        self.proxy, self.store, self.data = proxy, store, data

    def read(self, what: Callable[[Any], Awaitable[T]]) -> T:
        async def run() -> T:
            store = open_store(self.store, self.data)
            try:
                return await what(store)
            finally:
                await store.close()

        return sync(run())

    def product(self, product_id: str) -> dict[str, Any] | None:
        return self.read(lambda s: s.get_products([product_id])).get(product_id)

    def viewed(self, visitor: str) -> Profile:
        """The visitor's profile once it holds a page view (the store's writer records it soon after the page)."""
        return wait_for(lambda: (p := self.read(lambda s: s.get_profile(visitor))) and p.products and p,
                        timeout=5, what="the view recorded")


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("catalog-category")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with ExitStack() as running:
        store = state_store(request.param, running)
        shop = running.enter_context(PageServer(ROUTES))
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"), store=store,
                            personalize_budget_ms=5000)
        proxy = running.enter_context(uvicorn_runner(create_app(settings, SlotwisePersonalizer(settings))))
        running_stack = Stack(proxy, store, settings.data)
        wait_for(lambda: running_stack.product("rain-jacket"), timeout=10, what="the feed loaded")
        yield running_stack


@contextmanager
def browser(proxy: Any) -> Iterator[httpx.Client]:
    """A new visitor who bought a jacket in size M (the store's JS, as ``/_sw/events`` takes it)."""
    with httpx.Client(base_url=proxy.url, headers={"user-agent": DESKTOP_UA}, trust_env=False, timeout=10) as client:
        client.get("/")
        bought = {"type": "purchase", "event_id": uuid.uuid4().hex, "props": {"order_id": uuid.uuid4().hex, "lines": [
            {"product": "storm-shell", "category": "Jackets", "size": "M", "qty": 1, "price": 199.0}]}}
        assert client.post("/_sw/events", json={"events": [bought]}).status_code == 200
        yield client


def vid(client: httpx.Client) -> str:
    return str(client.cookies["sw_vid"]).split(".")[0]


def shown(html: str) -> dict[str, str | None]:
    """What the page shows of the two slots: the banner's text and the size selected."""
    banner = html.split('<p class="banner"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    size = next((o.split(">", 1)[1].split("<", 1)[0] for o in html.split("<option")[1:]
                 if "selected" in o.split(">", 1)[0]), None)
    return {"banner": banner, "size": size}


def decided(decisions: list[dict[str, Any]]) -> dict[str, str | None]:
    """What ``/decide``'s edits would show, as ``shown`` reads it from the proxy's page."""
    by_slot = {d["slot"]: d for d in decisions}
    banner = by_slot["jackets-banner"]["html"].split(">", 1)[1].split("<", 1)[0] if "jackets-banner" in by_slot \
        else "Free returns"
    return {"banner": banner, "size": by_slot["size-prefill"]["value"] if "size-prefill" in by_slot else None}


def test_a_product_page_without_a_category_takes_the_catalogs(stack: Stack) -> None:
    with browser(stack.proxy) as client:
        page = client.get("/products/rain-jacket")
        assert page.status_code == 200
        profile = stack.viewed(vid(client))
    assert profile.products["rain-jacket"]["category"] == "jackets"
    assert profile.categories["jackets"]["count"] == 1
    assert shown(page.text) == {"banner": "Jackets week: Jackets", "size": "M"}
    row = stack.product("rain-jacket")
    assert row is not None and (row["category"], row["price"]) == ("jackets", 149.0)  # the page's price learned


def test_decide_with_the_pages_extract_decides_as_the_proxy(stack: Stack) -> None:
    proxy = stack.proxy
    with browser(proxy) as client, browser(proxy) as tagged:
        behind_the_proxy = shown(client.get("/products/rain-jacket").text)
        answer = tagged.post("/_sw/decide", json={"url": f"{proxy.url}/products/rain-jacket",
                                                   "extract": {"doc": RAIN_LD}})
    assert answer.status_code == 200 and answer.json()["complete"] is True
    assert decided(answer.json()["decisions"]) == behind_the_proxy == {"banner": "Jackets week: Jackets", "size": "M"}


def test_a_change_of_the_catalogs_category_is_seen(stack: Stack) -> None:
    """The row's category is kept while the catalog's stamp holds: a feed that moves the product is
    followed (Redis: the stamp is read again within a second)."""
    with browser(stack.proxy) as client:
        assert shown(client.get("/products/wind-shell").text)["banner"] == "Jackets week: Jackets"
        stack.read(lambda s: s.upsert_products([{"id": "wind-shell", "category": "coats", "category_name": "Coats"}],
                                               time.time()))  # as the feed's next read would
        wait_for(lambda: shown(client.get("/products/wind-shell").text) == {"banner": "Free returns", "size": None},
                 timeout=5, what="the page to take the catalog's new category")
        visitor = vid(client)
    profile = wait_for(lambda: (p := stack.read(lambda s: s.get_profile(visitor))) and "coats" in p.categories and p,
                       timeout=5, what="a view recorded under the new category")
    assert profile.products["wind-shell"]["category"] == "coats"  # the product's latest view's


def test_a_sizes_own_page_takes_its_parents_category(stack: Stack) -> None:
    """A size that is a product of its own (Shopify's variant pages, a feed's child row: ``parent`` and
    ``size``, no category of its own) is in its parent's category: its page is a jackets page."""
    stack.read(lambda s: s.upsert_products([{"id": "rain-jacket-m", "parent": "rain-jacket", "size": "M"}], time.time()))
    with browser(stack.proxy) as client:
        page = client.get("/products/rain-jacket-m")
        profile = stack.viewed(vid(client))
    assert shown(page.text) == {"banner": "Jackets week: Jackets", "size": "M"}
    assert profile.products["rain-jacket-m"]["category"] == "jackets"
    row = stack.product("rain-jacket-m")
    assert row is not None and row["parent"] == "rain-jacket" and "category" not in row  # still a child, as it was


def test_a_page_that_names_its_category_keeps_it(stack: Stack) -> None:
    proxy = stack.proxy
    with browser(proxy) as client:
        page = client.get("/products/trail-cap")
        assert shown(page.text) == {"banner": "Free returns", "size": None}  # hats: no jackets banner, no size
        answer = client.post("/_sw/decide", json={"url": f"{proxy.url}/products/trail-cap", "extract": {"doc": CAP_LD}})
        assert decided(answer.json()["decisions"]) == {"banner": "Free returns", "size": None}
        profile = stack.viewed(vid(client))
    assert profile.products["trail-cap"]["category"] == "hats" and "jackets" not in profile.categories


def test_the_catalogs_category_costs_no_store_read_a_page(stack: Stack) -> None:
    """The row is read once per catalog stamp, not on every view: on Redis, a page that names no category
    asks for product rows (``HMGET``) no more often than one that names its own — five views in a row, while
    the catalog is unchanged, cost none. A first view teaches the catalog the page (a new stamp, which a
    worker sees within a second): the views are counted again until the catalog has settled, so the test
    holds whichever tests ran before it on its worker."""
    if not stack.store:
        pytest.skip("counts Redis commands (SQLite keeps its rows in the worker: no command to count)")
    import redis

    client = redis.Redis.from_url(stack.store)
    [stamp_key] = list(client.scan_iter(match="*catv"))

    def row_reads() -> int:
        return int(client.info("commandstats").get("cmdstat_hmget", {}).get("calls", 0))

    def reads_of_five_views(handle: str) -> int | None:
        """The row reads of five views of the page, or None when the catalog changed meanwhile."""
        stamp, before = client.get(stamp_key), row_reads()
        for _ in range(5):
            assert visitor.get(f"/products/{handle}").status_code == 200
        return row_reads() - before if client.get(stamp_key) == stamp else None

    reads = {}
    with browser(stack.proxy) as visitor:
        for handle in ("trail-cap", "rain-jacket"):
            visitor.get(f"/products/{handle}")  # a first view: the catalog may learn the page, and is read
            reads[handle] = wait_for(lambda: (n := reads_of_five_views(handle)) == 0 and [n], timeout=10,
                                     what=f"five views of {handle} without a row read")[0]
    client.close()
    assert reads == {"trail-cap": 0, "rain-jacket": 0}
