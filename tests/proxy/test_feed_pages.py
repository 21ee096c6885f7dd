"""A mapped ``catalog.feed`` read page by page from a real HTTP server on 127.0.0.1 (``page_server``):
each page a request, until one comes back empty or short; bounded by ``max_pages``, ``MAX_FEED_BYTES``
over all pages and ``MAX_FEED_S``; a failing page keeps the catalog as it was, logged once with the page."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator

import pytest
from page_server import Page

from slotwise.proxy.config import Settings
from slotwise.proxy.personalization import catalog_feed
from slotwise.proxy.personalization.catalog_feed import FeedLoader
from slotwise.rules.feed_mapping import FeedMapping
from slotwise.rules.testing import rules_from_text
from slotwise.store import open_store
from slotwise.tag.testing import sync

RULES = """
catalog:
  product_pages: "/p/{product}/"
  feed:
    url: /api/products?lang=en
    items: data.products
    page: {param: page, size_param: per_page, size: 2, max_pages: %d}
    fields: {id: handle, other_id: id, name: title, price: {key: cents, divide: 100}}
slots: []
"""
JSON = (("content-type", "application/json"),)


def products(first: int, count: int, name: str = "Tee") -> list[dict[str, Any]]:
    return [{"id": n, "handle": f"p{n}", "title": f"{name} {n}", "cents": 1000 + n} for n in range(first, first + count)]


def page(items: list[dict[str, Any]], status: int = 200) -> Page:
    return Page(json.dumps({"data": {"products": items}}).encode(), status, JSON)


def path(number: int) -> str:
    return f"/api/products?lang=en&page={number}&per_page=2"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store("", str(tmp_path / "data"))
    yield s
    sync(s.close())


def mapping(tmp_path: Path, max_pages: int = 50) -> FeedMapping:
    rules = rules_from_text(tmp_path, RULES % max_pages)
    assert rules.catalog.feed_mapping is not None and rules.catalog.feed == "/api/products?lang=en"
    return rules.catalog.feed_mapping


def load(store: Any, server: Any, feed: FeedMapping) -> tuple[FeedLoader, int]:
    loader = FeedLoader(store, server.url, lambda: 0.0)
    return loader, sync(loader.refresh("/api/products?lang=en", feed, force=True))


def test_pages_are_read_until_a_short_one(tmp_path: Path, store: Any, page_server: Any) -> None:
    server = page_server({path(1): page(products(1, 2)), path(2): page(products(3, 2)), path(3): page(products(5, 1))})
    loader, count = load(store, server, mapping(tmp_path))
    assert (count, loader.error) == (5, None)
    assert [r.path for r in server.requests] == [path(1), path(2), path(3)]  # the store's own query kept
    got = sync(store.get_products(["p1", "p5", "5"]))
    assert (got["p1"]["name"], got["p5"]["price"]) == ("Tee 1", 10.05)
    assert got["5"] == {"id": "5", "parent": "p5"}  # the id requests name: an alias of the product


def test_pages_are_read_until_an_empty_one(tmp_path: Path, store: Any, page_server: Any) -> None:
    server = page_server({path(1): page(products(1, 2)), path(2): page(products(3, 2)), path(3): page([])})
    _, count = load(store, server, mapping(tmp_path))
    assert count == 4 and len(server.requests) == 3


def test_at_most_max_pages_are_read(tmp_path: Path, store: Any, page_server: Any,
                                    caplog: pytest.LogCaptureFixture) -> None:
    server = page_server({path(n): page(products(2 * n, 2)) for n in range(1, 10)})
    with caplog.at_level(logging.WARNING, "slotwise.catalog"):
        _, count = load(store, server, mapping(tmp_path, max_pages=3))
    assert count == 6 and len(server.requests) == 3
    assert "stopped at 3 pages" in caplog.text


def test_a_failing_page_keeps_the_catalog_and_says_which(tmp_path: Path, store: Any, page_server: Any,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    server = page_server({path(1): page(products(1, 2)), path(2): page(products(3, 1))})
    feed = mapping(tmp_path)
    loader, count = load(store, server, feed)
    assert count == 3
    server.routes[path(1)] = page(products(1, 2, name="Renamed"))
    server.routes[path(2)] = page([], status=500)
    with caplog.at_level(logging.WARNING, "slotwise.catalog"):
        assert sync(loader.refresh("/api/products?lang=en", feed, force=True)) == 0
    assert sync(store.get_products(["p1"]))["p1"]["name"] == "Tee 1"  # page 1's news not half-written
    assert loader.error == f"/api/products?lang=en: page 2 ({path(2)}): HTTP 500"
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "page 2" in record.getMessage()


def test_a_page_without_the_list_is_a_failure_naming_where(tmp_path: Path, store: Any, page_server: Any) -> None:
    server = page_server({path(1): Page(b'{"data": {}}', 200, JSON)})
    loader, count = load(store, server, mapping(tmp_path))
    assert count == 0 and loader.error is not None
    assert "page 1" in loader.error and "no list of products at 'data.products'" in loader.error


def test_the_bytes_bound_holds_over_all_pages(tmp_path: Path, store: Any, page_server: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {path(n): page(products(2 * n, 2)) for n in range(1, 10)}
    one = len(pages[path(1)].body)
    monkeypatch.setattr(catalog_feed, "MAX_FEED_BYTES", 3 * one)  # each page fits, four do not
    server = page_server(pages)
    loader, count = load(store, server, mapping(tmp_path))
    assert count == 0 and loader.error is not None and "larger than" in loader.error and "page 4" in loader.error


def test_a_slow_feed_is_given_up(tmp_path: Path, store: Any, page_server: Any,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"data": {"products": products(1, 2)}}).encode()
    server = page_server({path(1): Page(body, 200, JSON, trickle=0.01)})
    monkeypatch.setattr(catalog_feed, "MAX_FEED_S", 0.2)
    loader, count = load(store, server, mapping(tmp_path))
    assert count == 0 and loader.error is not None and loader.error.endswith("all its pages not read within 0.2 s")


def test_a_slow_feed_of_one_document_is_given_up_too(store: Any, page_server: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only a paged feed: the feed's lease (``lease_s``) is sized on ``MAX_FEED_S``, so no read may outlast it
    (a feed trickled a byte at a time kept a loader busy, and another took the lease meanwhile)."""
    server = page_server({"/feed.json": Page(json.dumps(products(1, 2)).encode(), 200, JSON, trickle=0.01)})
    monkeypatch.setattr(catalog_feed, "MAX_FEED_S", 0.2)
    loader = FeedLoader(store, server.url, lambda: 0.0)
    assert sync(loader.refresh("/feed.json", force=True)) == 0
    assert loader.error == "/feed.json: not read within 0.2 s"


def test_rules_check_feed_says_why_a_feed_is_not_read(tmp_path: Path, page_server: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from slotwise.cli import main

    server = page_server({path(1): page(products(1, 2)), path(2): page([], status=503)})
    (tmp_path / "rules.yaml").write_text(RULES % 50, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--feed", "--url", server.url + "/"]) == 1
    assert f"catalog feed /api/products?lang=en: not loaded: page 2 ({path(2)}): HTTP 503" in capsys.readouterr().out


def test_tag_only_reads_a_storefront_path_on_the_public_url(tmp_path: Path, store: Any, page_server: Any) -> None:
    """Tag-only, Slotwise has no upstream: a feed's storefront path is read on ``--public-url``, the store's
    origin (whose ``/_sw/`` routes to Slotwise); without one the read fails saying what to give."""
    server = page_server({path(1): page(products(1, 1))})
    assert Settings(tag_only=True, public_url=server.url).storefront == server.url
    assert Settings(upstream="http://shop.test", public_url=server.url).storefront == "http://shop.test"
    loader = FeedLoader(store, Settings(tag_only=True, public_url=server.url).storefront, lambda: 0.0)
    assert (sync(loader.refresh("/api/products?lang=en", mapping(tmp_path), force=True)), loader.error) == (1, None)
    lost = FeedLoader(store, Settings(tag_only=True).storefront, lambda: 0.0)
    assert sync(lost.refresh("/api/products?lang=en", mapping(tmp_path), force=True)) == 0
    assert lost.error is not None and lost.error.endswith(
        "is a path on the storefront, and no storefront is known: with --tag-only, give --public-url (the store's "
        "origin)"), lost.error
