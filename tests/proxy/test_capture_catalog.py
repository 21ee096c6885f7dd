"""The catalog a store's pages teach, and how events lean on it (``PageViewRecorder``, ``EventRecorder``).

A product page that offers sizes as child products teaches the parent and
each child; an add to cart or an order line that names a child is then
recorded as the parent in that size, with the parent's category, name and
price. A size is never a product of its own to recommend or rank.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from slotwise.proxy.personalization.pageviews import PageViewRecorder
from slotwise.store import open_store
from slotwise.tag.events import parse_event
from slotwise.tag.recorder import EventRecorder, Incoming
from slotwise.tag.testing import sync

RIDGE = {"id": "1005", "name": "Ridge Runner", "url": "/shop/product/1005-ridge-runner/", "image": "/static/img/1005.svg",
         "price": 119.0, "currency": "EUR", "category": "trail-shoes", "in_stock": True, "sizes": ("41", "42"),
         "variants": {"41": "2010", "42": "2011", "43": "2012"}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store("", str(tmp_path))
    yield s
    sync(s.close())


def incoming(raw: dict[str, Any]) -> Incoming:
    event, errors = parse_event(0, {**raw, "event_id": uuid.uuid4().hex, "ts": time.time()})
    assert event is not None, errors
    return Incoming(event, time.time(), event.event_id)


def test_a_product_page_teaches_the_product_and_its_sizes(store: Any) -> None:
    sync(PageViewRecorder(store, "shop.test").learn({**RIDGE, "url": "http://shop.test/shop/product/1005-ridge-runner/"}, time.time()))
    products = sync(store.get_products(["1005", "2011"]))
    assert products["1005"]["url"] == "/shop/product/1005-ridge-runner/"  # the store's own host made relative
    assert products["2011"] == {"id": "2011", "parent": "1005", "size": "42"}
    assert sync(store.popular("trail-shoes", 24)) == ["1005"]  # sizes are not products of the category


def test_a_child_product_is_recorded_as_its_parent_in_that_size(store: Any) -> None:
    sync(PageViewRecorder(store).learn(RIDGE, time.time()))
    recorder = EventRecorder(store)
    sync(recorder.record("v1", [incoming({"type": "add_to_cart", "props": {"product": "2011", "qty": 1}})],
                         time.time(), trusted=True, source="proxy"))
    (line,) = sync(store.get_profile("v1")).cart
    assert line.pop("added") > 0  # when it went into the cart (the cart that waits reads it)
    assert line == {"product": "1005", "category": "trail-shoes", "size": "42", "qty": 1, "price": 119.0,
                    "currency": "EUR"}  # the catalog's price, in its currency
    sync(recorder.record("v1", [incoming({"type": "purchase", "props": {"order_id": "o1", "lines": [
        {"product": "2010", "qty": 1}, {"product": "2011", "size": "44", "qty": 1, "price": 100.0}]}})],
        time.time(), trusted=True, source="proxy"))
    purchases = sync(store.get_profile("v1")).purchases
    assert [(p["product"], p["size"], p["price"], p["category"]) for p in purchases] == [
        ("1005", "41", 119.0, "trail-shoes"), ("1005", "44", 100.0, "trail-shoes")]  # what the line says wins


def test_an_unknown_child_stays_as_it_was_sent(store: Any) -> None:
    sync(EventRecorder(store).record("v2", [incoming({"type": "add_to_cart", "props": {"product": "9999"}})],
                                     time.time(), trusted=False))
    assert [line["product"] for line in sync(store.get_profile("v2")).cart] == ["9999"]


def test_a_trusted_identity_merges_a_claim_only_attaches(store: Any) -> None:
    recorder = EventRecorder(store)
    email = "jane@example.com"
    sync(recorder.record("laptop", [incoming({"type": "identify", "props": {"email": email}})], time.time(), trusted=True))
    sync(recorder.record("phone", [incoming({"type": "identify", "props": {"email": email}})], time.time(), trusted=True))
    assert sync(store.get_profile("phone")).id == sync(store.get_profile("laptop")).id
    sync(recorder.record("intruder", [incoming({"type": "identify", "props": {"email": email}}),
                                      incoming({"type": "identify", "props": {"customer_id": "c-new"}})],
                         time.time(), trusted=False))
    intruder = sync(store.get_profile("intruder"))
    assert intruder.id == "intruder" and intruder.email_hash is None  # never merged, never set
    assert intruder.customer_id == "c-new"  # an alias nobody held: attached


def test_capture_problems_are_logged_once_and_never_flood(caplog: pytest.LogCaptureFixture) -> None:
    """Reasons may carry what a browser sent: endlessly many distinct ones end in one last line, not a flood."""
    import logging

    from slotwise.proxy.personalization.capture import _Once

    caplog.set_level(logging.WARNING, "slotwise.capture")
    once = _Once(limit=3)
    for n in range(10):
        once("quick-add", "no product (read None)")
        once("datalayer", f"forged value {n}")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "capture quick-add: no product (read None)"
    assert messages[1:3] == ["capture datalayer: forged value 0", "capture datalayer: forged value 1"]
    assert len(messages) == 4 and "no more are logged" in messages[3]


def test_a_sizes_own_page_keeps_it_a_size_of_its_parent(tmp_path: Any) -> None:
    """Stores like Oscar link each size to a page of its own; viewing it must not make it a product to list."""
    import asyncio

    from slotwise.proxy.personalization.pageviews import PageViewRecorder
    from slotwise.store.sqlite import SQLiteStore

    async def run() -> dict[str, Any]:
        store = SQLiteStore(tmp_path / "s.db")
        views = PageViewRecorder(store)
        await views.learn({"id": "7", "name": "Runner", "category": "shoes", "variants": {"42": "10"}}, 1.0)
        await views.learn({"id": "10", "name": "Runner, size 42", "category": "shoes", "in_stock": True}, 2.0)
        found = await store.get_products(["10"])
        await store.close()
        return found["10"]

    child = asyncio.run(run())
    assert child["parent"] == "7" and child["size"] == "42" and child["name"] == "Runner, size 42"


BEANIE = {"id": "beanie", "name": "Beanie", "url": "/product/beanie/", "price": 18.0, "currency": "EUR",
          "category": "accessories", "in_stock": True, "other_id": "26"}


def test_the_other_id_a_page_names_is_that_product(store: Any) -> None:
    """``catalog.selectors.other_id``: URLs name the slug, forms the post id (WooCommerce); both are the product."""
    sync(PageViewRecorder(store).learn(BEANIE, time.time()))
    products = sync(store.get_products(["beanie", "26"]))
    assert "other_id" not in products["beanie"] and products["26"] == {"id": "26", "parent": "beanie"}
    assert sync(store.popular("accessories", 24)) == ["beanie"]  # the alias is no product to list
    sync(EventRecorder(store).record("v3", [incoming({"type": "add_to_cart", "props": {"product": "26", "qty": 2}})],
                                     time.time(), trusted=True, source="proxy"))
    (line,) = sync(store.get_profile("v3")).cart
    assert (line["product"], line.get("size"), line["qty"], line["category"], line["price"]) == (
        "beanie", None, 2, "accessories", 18.0)


def test_an_other_id_that_is_a_product_of_its_own_stays_one(store: Any, caplog: pytest.LogCaptureFixture) -> None:
    sync(PageViewRecorder(store).learn({"id": "26", "name": "Gift card", "category": "gifts"}, time.time()))
    sync(PageViewRecorder(store).learn(BEANIE, time.time()))
    assert sync(store.get_products(["26"]))["26"]["name"] == "Gift card"
    assert "'26' of product 'beanie' is a product of its own: not made its alias" in caplog.text
