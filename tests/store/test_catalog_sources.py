"""A product page and the product feed write the same catalog row: neither wipes the other's facts.

Run on SQLite and on a real redis-server (conftest's ``backend``), through the real writers: the page
recorder (``PageViewRecorder.learn``, the page's read-only facts as the personalizer keeps them) and
the feed loader (``FeedLoader.refresh`` of a feed file), the feed on another store object, as another
instance's loader would be.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from slotwise.proxy.personalization.catalog_feed import FeedLoader
from slotwise.proxy.personalization.pageviews import PageViewRecorder
from slotwise.rules.testing import rules_from_text
from slotwise.rules.waiting_cart import card

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0

PAGE = MappingProxyType({
    "id": "tee", "name": "Ridge Tee", "url": None, "image": "/img/tee.jpg", "price": 20.0, "currency": "EUR",
    "category": "t-shirts", "brand": "Ridge", "in_stock": True, "sizes": ("S", "M"),
    "variants": MappingProxyType({"S": "tee-s", "M": "tee-m"}),
})
"""A product page's facts: its sizes in stock, its brand and image (the feed has none of them)."""


def feed_file(tmp_path: Path, **facts: Any) -> Path:
    path = tmp_path / "feed.json"
    item = {"id": "tee", "name": "Ridge Tee", "price": 18.0, "category": "T-Shirts", "availability": "InStock"}
    path.write_text(json.dumps({"products": [{**item, **facts}]}))
    return path


async def row(store: Any, pid: str = "tee") -> dict[str, Any]:
    return (await store.get_products([pid]))[pid]  # type: ignore[no-any-return]


async def test_a_feed_refresh_keeps_the_pages_facts_and_a_page_view_keeps_the_feeds(
        backend: Any, store: Any, tmp_path: Path) -> None:
    pages = PageViewRecorder(store)
    await pages.learn(PAGE, NOW)
    feed = FeedLoader(backend.open(), "http://shop.test", lambda: NOW + 60)
    assert await feed.refresh(feed_file(tmp_path, stock=5)) == 1
    assert await row(store) == {
        "id": "tee", "name": "Ridge Tee", "image": "/img/tee.jpg", "price": 18.0, "currency": "EUR",
        "category": "t-shirts", "category_name": "T-Shirts", "brand": "Ridge", "in_stock": True,
        "sizes": ["S", "M"], "variants": {"S": "tee-s", "M": "tee-m"}, "stock": 5,
    }
    await pages.learn(PAGE, NOW + 120)  # the very facts object learned before: the feed changed the row since
    after = await row(store)
    assert after["price"] == 20.0  # the page the visitor sees says so again
    assert after["stock"] == 5 and after["category_name"] == "T-Shirts"  # the feed's facts stay
    assert (await row(store, "tee-s")) == {"id": "tee-s", "parent": "tee", "size": "S"}


async def test_a_feed_that_stops_listing_stock_takes_it_away(backend: Any, store: Any, tmp_path: Path) -> None:
    await PageViewRecorder(store).learn(PAGE, NOW)
    feed = FeedLoader(backend.open(), "http://shop.test", lambda: NOW + 60)
    await feed.refresh(feed_file(tmp_path, stock=3, consumable=True))
    assert (await row(store))["stock"] == 3 and (await row(store))["consumable"] is True
    await feed.refresh(feed_file(tmp_path), force=True)  # no count, no consumable flag any more
    got = await row(store)
    assert "stock" not in got and "consumable" not in got  # "only 3 left" must not be quoted any more
    assert got["brand"] == "Ridge" and got["sizes"] == ["S", "M"]  # facts the feed never had stay


async def test_a_feeds_stock_per_size_is_the_cards_count_of_that_size(backend: Any, store: Any, tmp_path: Path) -> None:
    """``stock_by_size`` in a feed item: each size's count (sizes as size keys, counts that are none left out),
    what a card of a cart line in that size says ("only 1 left" of M, a ``Medium`` line's by ``size_names``);
    a read without it takes it away, as ``stock``."""
    feed = FeedLoader(backend.open(), "http://shop.test", lambda: NOW + 60)
    await feed.refresh(feed_file(tmp_path, stock=12, stock_by_size={"Size: m": 1, "L": "9", "XL": -1, "S": "lots"}))
    got = await row(store)
    assert got["stock_by_size"] == {"M": 1, "L": 9}
    sizes = rules_from_text(tmp_path, "catalog:\n  size_names: {M: [Medium]}\nslots: []\n").catalog.size_vocabulary
    cards = [card("tee", {"tee": got}, 3, size, sizes=sizes) for size in ("Medium", "L", "XL", None)]
    assert [(c["size"], c["stock"], c["scarce"]) for c in cards] == [
        ("M", 1, True), ("L", 9, False), ("XL", 12, False), (None, 12, False)]  # a size without a count: the product's
    await feed.refresh(feed_file(tmp_path, stock=12), force=True)
    assert "stock_by_size" not in await row(store)


async def test_a_page_with_other_sizes_replaces_them_whole(store: Any) -> None:
    pages = PageViewRecorder(store)
    await pages.learn(PAGE, NOW)
    await pages.learn(MappingProxyType({**PAGE, "sizes": ("M",), "brand": None}), NOW + 1)
    got = await row(store)
    assert got["sizes"] == ["M"]  # not a union with the sizes stored
    assert got["brand"] == "Ridge"  # a fact the page does not show (None) is not taken away by it
    await pages.learn(MappingProxyType({**PAGE, "sizes": ()}), NOW + 2)  # every size sold out
    assert (await row(store))["sizes"] == []


async def test_a_feed_listing_a_size_as_a_product_keeps_it_a_size(backend: Any, store: Any, tmp_path: Path) -> None:
    await PageViewRecorder(store).learn(PAGE, NOW)
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([{"id": "tee-s", "name": "Ridge Tee S", "price": 18.0, "stock": 2}]))
    await FeedLoader(backend.open(), "http://shop.test", lambda: NOW).refresh(path)
    got = await row(store, "tee-s")
    assert (got["parent"], got["size"], got["stock"]) == ("tee", "S", 2)  # still the tee in size S


async def test_pages_in_two_currencies_keep_each_price_and_alternate_without_a_read_each(
        backend: Any, store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = FeedLoader(backend.open(), "http://shop.test", lambda: NOW)
    assert await feed.refresh(feed_file(tmp_path, currency="EUR")) == 1  # the feed, in EUR: the row's own
    pages = PageViewRecorder(store)
    in_pounds = MappingProxyType({**PAGE, "price": 17.0, "currency": "GBP"})  # the same page in GBP
    reads: list[list[str]] = []
    get_products = store.get_products

    async def counted(ids: Any) -> Any:
        reads.append(list(ids))
        return await get_products(ids)

    monkeypatch.setattr(store, "get_products", counted)
    per_round = []
    for n in range(4):  # EUR and GBP visitors in turn
        await pages.learn(PAGE, NOW + 10 * n)
        await pages.learn(in_pounds, NOW + 10 * n + 5)
        per_round.append(len(reads))
    # each currency's page read against the row until the catalog's stamp settles (each one's write moved it
    # under the other's): then unchanged, nothing read however the visitors alternate
    assert per_round[-1] == per_round[1] and per_round[1] <= 4
    tee = await get_products(["tee"])
    assert {k: tee["tee"][k] for k in ("price", "currency", "prices")} == {
        "price": 20.0, "currency": "EUR", "prices": {"GBP": 17.0}}


async def test_a_feeds_currency_written_in_lower_case_is_the_pages(backend: Any, store: Any, tmp_path: Path) -> None:
    feed = FeedLoader(backend.open(), "http://shop.test", lambda: NOW)
    assert await feed.refresh(feed_file(tmp_path, currency="eur")) == 1
    await PageViewRecorder(store).learn(PAGE, NOW + 60)  # the page's EUR
    tee = await row(store)
    assert (tee["price"], tee["currency"], "prices" in tee) == (20.0, "EUR", False)  # one currency, one price


async def test_the_catalog_stamp_moves_with_a_changed_row_only(store: Any) -> None:
    first = await store.catalog_stamp()
    await store.upsert_products([{"id": "p1", "name": "A"}], NOW)
    second = await store.catalog_stamp()
    assert second != first
    await store.upsert_products([{"id": "p1", "name": "A"}, {"id": "p1", "price": None}], NOW + 1)  # nothing new
    assert await store.catalog_stamp() == second
    await store.upsert_products([{"id": "p1", "price": 10}], NOW + 2)
    assert await store.catalog_stamp() != second
    assert await row(store, "p1") == {"id": "p1", "name": "A", "price": 10}


SIZED = """
catalog:
  product_pages: "/p/{product}/"
  feed:
    url: sized.json
    fields: {id: handle, name: title}
    sizes: {items: variants, id: id, size: size}
slots: []
"""


async def read_variants(backend: Any, tmp_path: Path, at: float, *variants: tuple[str, str]) -> None:
    """A mapped feed read (forced: another instance's loader) listing the tee with these variants, (child id,
    size) each: two of a size are two colours of it (Red / M, Blue / M)."""
    (tmp_path / "sized.json").write_text(json.dumps([{"handle": "tee", "title": "Ridge Tee", "variants": [
        {"id": child, "size": size} for child, size in variants]}]))
    catalog = rules_from_text(tmp_path, SIZED).catalog
    assert catalog.feed_mapping is not None and isinstance(catalog.feed, Path)
    assert await FeedLoader(backend.open(), "http://shop.test", lambda: at).refresh(
        catalog.feed, catalog.feed_mapping, force=True) == 1


async def read_sizes(backend: Any, tmp_path: Path, at: float, **sizes: str) -> None:
    """``read_variants`` of one child a size (size=child id)."""
    await read_variants(backend, tmp_path, at, *((child, size) for size, child in sizes.items()))


async def test_sizes_a_feed_no_longer_lists_stay_a_size_no_longer_offered(backend: Any, store: Any,
                                                                          tmp_path: Path) -> None:
    """A size discontinued (L) and a size re-keyed (M: a new SKU): the old children still name the tee in that
    size (an order placed before must not lose it), marked no longer offered; the tee's sizes in stock (a page's)
    lose L; a size listed again is offered again."""
    await PageViewRecorder(store).learn(MappingProxyType({**PAGE, "sizes": ("S", "M", "L"), "variants": None}), NOW)
    await read_sizes(backend, tmp_path, NOW + 60, S="tee-s", M="tee-m", L="tee-l")
    await read_sizes(backend, tmp_path, NOW + 120, S="tee-s", M="tee-m2")
    tee = await row(store)
    assert (tee["variants"], tee["sizes"]) == ({"S": "tee-s", "M": "tee-m2"}, ["S", "M"])
    assert await row(store, "tee-l") == {"id": "tee-l", "parent": "tee", "size": "L", "offered": False}
    assert await row(store, "tee-m") == {"id": "tee-m", "parent": "tee", "size": "M", "offered": False}
    assert await row(store, "tee-m2") == {"id": "tee-m2", "parent": "tee", "size": "M"}
    assert await row(store, "tee-s") == {"id": "tee-s", "parent": "tee", "size": "S"}
    stamp = await store.catalog_stamp()
    await read_sizes(backend, tmp_path, NOW + 180, S="tee-s", M="tee-m2")  # the same read again: nothing changes
    assert await store.catalog_stamp() == stamp
    await read_sizes(backend, tmp_path, NOW + 240, S="tee-s", M="tee-m2", L="tee-l")  # L is back
    assert await row(store, "tee-l") == {"id": "tee-l", "parent": "tee", "size": "L"}
    assert (await row(store))["variants"] == {"S": "tee-s", "M": "tee-m2", "L": "tee-l"}


async def test_a_product_the_feed_lists_without_any_size_offers_none(backend: Any, store: Any,
                                                                    tmp_path: Path) -> None:
    """Every size sold out for good or discontinued: the read lists the tee without a size. Its children stay (a
    line naming one is still the tee in that size), no longer offered, and the tee maps no size to a child and
    has none in stock (a page's): no size preset, no card offers one. A size listed again is offered again."""
    await PageViewRecorder(store).learn(MappingProxyType({**PAGE, "sizes": ("S", "M"), "variants": None}), NOW)
    await read_sizes(backend, tmp_path, NOW + 60, S="tee-s", M="tee-m")
    await read_sizes(backend, tmp_path, NOW + 120)
    tee = await row(store)
    assert ("variants" in tee, tee["sizes"]) == (False, [])
    assert await row(store, "tee-s") == {"id": "tee-s", "parent": "tee", "size": "S", "offered": False}
    assert await row(store, "tee-m") == {"id": "tee-m", "parent": "tee", "size": "M", "offered": False}
    stamp = await store.catalog_stamp()
    await read_sizes(backend, tmp_path, NOW + 180)  # the same read again: nothing changes
    assert await store.catalog_stamp() == stamp
    await read_sizes(backend, tmp_path, NOW + 240, S="tee-s")
    assert await row(store, "tee-s") == {"id": "tee-s", "parent": "tee", "size": "S"}
    assert (await row(store))["variants"] == {"S": "tee-s"}


async def test_a_colour_the_feed_no_longer_lists_is_no_longer_offered(backend: Any, store: Any,
                                                                     tmp_path: Path) -> None:
    """A variant is its child id (``feed_children``): Blue / M is a variant of its own beside Red / M, though the
    tee's size map names the first of a size only. Discontinued, it is kept and no longer offered as a size is;
    M stays in stock (Red / M). Then Red / M goes and Blue / M is back: the size map names Blue / M."""
    await PageViewRecorder(store).learn(MappingProxyType({**PAGE, "sizes": ("M", "L"), "variants": None}), NOW)
    await read_variants(backend, tmp_path, NOW + 60, ("tee-red-m", "M"), ("tee-blue-m", "M"), ("tee-red-l", "L"))
    await read_variants(backend, tmp_path, NOW + 120, ("tee-red-m", "M"), ("tee-red-l", "L"))
    assert await row(store, "tee-blue-m") == {"id": "tee-blue-m", "parent": "tee", "size": "M", "offered": False}
    assert await row(store, "tee-red-m") == {"id": "tee-red-m", "parent": "tee", "size": "M"}
    tee = await row(store)
    assert (tee["variants"], tee["sizes"]) == ({"M": "tee-red-m", "L": "tee-red-l"}, ["M", "L"])
    stamp = await store.catalog_stamp()
    await read_variants(backend, tmp_path, NOW + 180, ("tee-red-m", "M"), ("tee-red-l", "L"))
    assert await store.catalog_stamp() == stamp  # the same read again: nothing changes
    await read_variants(backend, tmp_path, NOW + 240, ("tee-blue-m", "M"), ("tee-red-l", "L"))
    assert await row(store, "tee-blue-m") == {"id": "tee-blue-m", "parent": "tee", "size": "M"}
    assert await row(store, "tee-red-m") == {"id": "tee-red-m", "parent": "tee", "size": "M", "offered": False}
    assert (await row(store))["variants"] == {"M": "tee-blue-m", "L": "tee-red-l"}
    await read_variants(backend, tmp_path, NOW + 300, ("tee-blue-m", "M"), ("tee-green-m", "M"), ("tee-red-l", "L"))
    await read_variants(backend, tmp_path, NOW + 360, ("tee-blue-m", "M"), ("tee-red-l", "L"))  # a new colour, gone
    assert (await row(store, "tee-green-m")).get("offered") is False


async def test_a_line_naming_a_size_no_longer_offered_is_still_that_size(backend: Any, store: Any,
                                                                         tmp_path: Path) -> None:
    from slotwise.tag.events import parse_event
    from slotwise.tag.recorder import EventRecorder, Incoming

    await read_sizes(backend, tmp_path, NOW, S="tee-s", L="tee-l")
    await read_sizes(backend, tmp_path, NOW + 60, S="tee-s")
    event, errors = parse_event(0, {"type": "purchase", "event_id": "event-0001", "ts": NOW + 61, "props": {
        "order_id": "o1", "lines": [{"product": "tee-l", "qty": 1, "price": 18.0}]}})
    assert event is not None, errors
    (resolved,) = await EventRecorder(store).resolve_lines([Incoming(event, NOW + 61, "event-0001")])
    (line,) = resolved.event.props.lines
    assert (line.product, line.size) == ("tee", "L")


async def test_an_orders_lines_are_filled_and_bounded_by_the_catalogs_price_in_its_currency(
        backend: Any, store: Any, tmp_path: Path) -> None:
    from slotwise.tag.events import parse_event
    from slotwise.tag.recorder import EventRecorder, Incoming

    feed = FeedLoader(backend.open(), "http://shop.test", lambda: NOW)
    assert await feed.refresh(feed_file(tmp_path, currency="EUR")) == 1  # 18.00 EUR
    await PageViewRecorder(store).learn(MappingProxyType({**PAGE, "price": 16.0, "currency": "GBP"}), NOW + 1)

    async def claimed(currency: str | None, price: float | None) -> float | None:
        line = {"product": "tee", "qty": 1, **({"price": price} if price is not None else {})}
        event, errors = parse_event(0, {"type": "purchase", "event_id": "event-0002", "ts": NOW + 2, "props": {
            "order_id": "o2", "lines": [line], **({"currency": currency} if currency else {})}})
        assert event is not None, errors
        (resolved,) = await EventRecorder(store).resolve_lines([Incoming(event, NOW + 2, "event-0002")], bound=True)
        return resolved.event.props.lines[0].price  # type: ignore[no-any-return]

    assert await claimed("GBP", None) == 16.0  # filled in with the GBP price, not the EUR one
    assert await claimed("GBP", 17.5) == 16.0  # bounded by the GBP price
    assert await claimed("gbp", 17.5) == 16.0
    assert await claimed("EUR", 17.5) == 17.5  # below the EUR price: as claimed
    assert await claimed(None, 30.0) == 18.0  # no currency said: the row's own, as before
    assert await claimed("JPY", None) is None  # no JPY price: none filled in
    assert await claimed("JPY", 2400.0) == 18.0  # and naming a currency the catalog never priced lifts no bound


@pytest.mark.parametrize("told_by", ["feed", "page"])
async def test_old_rows_of_variants_fold_into_their_group(backend: Any, store: Any, tmp_path: Path, told_by: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """A store's feed listed each variant as a product of its own (before a mapping's ``sizes``, before a
    variant's page was a view of its group): each had its row, views and orders. Once the feed or a page says
    they are the tee's sizes, each old row is folded into the tee (its parent and size, its own facts kept for
    the views and orders that name it): recommendations show the tee once, not each variant as a product."""
    from types import SimpleNamespace

    from slotwise.proxy.personalization.recommendations import fetch_recommendations
    from slotwise.tag.events import parse_event
    from slotwise.tag.recorder import EventRecorder, Incoming

    old = tmp_path / "old.json"
    old.write_text(json.dumps([{"id": pid, "name": f"Ridge Tee {size}", "price": 18.0, "category": "T-Shirts"}
                               for pid, size in (("tee-s", "S"), ("tee-m", "M"))]))
    assert await FeedLoader(backend.open(), "http://shop.test", lambda: NOW).refresh(old) == 2
    for pid in ("tee-s", "tee-m", "tee-m"):
        await store.record_product_view(pid, [])
    with caplog.at_level(logging.INFO, "slotwise.catalog"):
        if told_by == "feed":
            await read_sizes(backend, tmp_path, NOW + 60, S="tee-s", M="tee-m")
        else:
            await PageViewRecorder(store).learn(PAGE, NOW + 60)
    assert await row(store, "tee-m") == {"id": "tee-m", "parent": "tee", "size": "M", "name": "Ridge Tee M",
                                         "price": 18.0, "category": "t-shirts", "category_name": "T-Shirts"}
    assert (await row(store, "tee-s"))["parent"] == "tee"
    spec, page = SimpleNamespace(strategy="mixed", limit=4), SimpleNamespace(product=None, category=None, currency=None)
    assert [p["id"] for p in await fetch_recommendations(store, spec, page, None)] == ["tee"]
    event, errors = parse_event(0, {"type": "purchase", "event_id": "event-0003", "ts": NOW + 61, "props": {
        "order_id": "o3", "lines": [{"product": "tee-m", "qty": 1, "price": 18.0}]}})
    assert event is not None, errors
    (resolved,) = await EventRecorder(store).resolve_lines([Incoming(event, NOW + 61, "event-0003")])
    (line,) = resolved.event.props.lines
    assert (line.product, line.size) == ("tee", "M")  # an order naming the old row is the tee in size M
    stamp = await store.catalog_stamp()
    with caplog.at_level(logging.INFO, "slotwise.catalog"):
        await read_sizes(backend, tmp_path, NOW + 120, S="tee-s", M="tee-m")  # folded once: nothing changes again
    assert await store.catalog_stamp() == stamp
    # as docs/capture.md quotes it, once
    assert caplog.text.count("catalog: 'tee-m', a product of its own before, is a variant of 'tee': folded into it "
                             "as its size M") == 1, caplog.text


async def test_a_rows_own_currency_is_the_stores_once_it_has_a_price_in_it(
        backend: Any, store: Any, tmp_path: Path) -> None:
    """A product first seen on a secondary market's page (GBP), then the store's own (the rules'
    ``catalog.currency``, EUR): the row's own price becomes the EUR one, the GBP one kept under its currency.
    When the store's currency changes (to GBP), the next write in it makes GBP the row's own; the feed writes
    by the same rule. A store that names no currency keeps the first one learned."""
    own = ["EUR"]
    pages = PageViewRecorder(store, own_currency=lambda: own[0])
    in_pounds = MappingProxyType({**PAGE, "price": 17.0, "currency": "GBP"})

    def priced(tee: dict[str, Any]) -> tuple[Any, Any, Any]:
        return tee["price"], tee["currency"], tee.get("prices")

    await pages.learn(in_pounds, NOW)
    assert priced(await row(store)) == (17.0, "GBP", None)  # the only currency it knows yet
    await pages.learn(PAGE, NOW + 10)
    assert priced(await row(store)) == (20.0, "EUR", {"GBP": 17.0})
    own[0] = "GBP"  # the store's currency changed
    await pages.learn(in_pounds, NOW + 20)
    assert priced(await row(store)) == (17.0, "GBP", {"EUR": 20.0})
    feed = FeedLoader(backend.open(), "http://shop.test", lambda: NOW + 30, own_currency=lambda: "EUR")
    assert await feed.refresh(feed_file(tmp_path, currency="EUR")) == 1
    assert priced(await row(store)) == (18.0, "EUR", {"GBP": 17.0})
    plain = PageViewRecorder(store)  # no catalog.currency: the first currency learned stays the row's own
    await plain.learn(MappingProxyType({**PAGE, "id": "cap", "price": 9.0, "currency": "GBP"}), NOW)
    await plain.learn(MappingProxyType({**PAGE, "id": "cap", "price": 11.0, "currency": "EUR"}), NOW + 10)
    assert priced(await row(store, "cap")) == (9.0, "GBP", {"EUR": 11.0})


@pytest.mark.parametrize("told_by", ["feed", "page"])
async def test_a_folded_rows_views_and_co_views_count_for_its_group_once(backend: Any, store: Any, tmp_path: Path,
                                                                         told_by: str) -> None:
    """The old rows of the tee's sizes were viewed (and viewed with the sock) as products of their own: once
    folded, "popular" and "viewed together" count those views as the tee's, and a fold read again (another
    worker's, the next refresh) counts nothing twice."""
    old = tmp_path / "old.json"
    old.write_text(json.dumps([{"id": pid, "name": pid, "price": 18.0, "category": "T-Shirts"}
                               for pid in ("tee-s", "tee-m", "hat", "sock")]))
    assert await FeedLoader(backend.open(), "http://shop.test", lambda: NOW).refresh(old) == 4
    for pid, co_viewed in (("tee-s", []), ("tee-m", ["sock"]), ("tee-m", ["sock", "tee-s"]), ("tee-m", []),
                           *[("hat", ["sock"])] * 3, ("hat", []), ("hat", [])):
        await store.record_product_view(pid, co_viewed)
    assert (await store.popular(None, 2), await store.co_viewed("sock", 2)) == (["hat", "tee-m"], ["hat", "tee-m"])

    async def fold(at: float) -> None:
        if told_by == "feed":
            await read_sizes(backend, tmp_path, at, S="tee-s", M="tee-m")
        else:
            await PageViewRecorder(store).learn(PAGE, at)

    for at in (NOW + 60, NOW + 120):  # folded, then read again: the same counts
        await fold(at)
        assert await store.popular(None, 2) == ["hat", "tee"]  # hat 5, tee 4 (8 if counted twice)
        assert await store.co_viewed("sock", 2) == ["hat", "tee"]  # hat 3, tee 2 (4 if counted twice)
        assert await store.co_viewed("tee", 5) == ["sock"]  # not "viewed together" with its own variant
        assert await store.co_viewed("tee-m", 5) == [] == await store.co_viewed("tee-s", 5)
        if told_by == "page":  # the page names the tee's category: the category's list counts them too
            assert await store.popular("t-shirts", 2) == ["hat", "tee"]
