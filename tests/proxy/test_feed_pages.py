"""A mapped ``catalog.feed`` read page by page from a real HTTP server on 127.0.0.1 (``page_server``):
each page a request, until one comes back empty or short, or the answer says it was the last (a ``Link``
without ``rel="next"``, ``total_pages_header``, a status the rules name in ``end_status``), or, with
``next: link``, each page the one the last one's ``Link`` names (on the feed's origin only); bounded by
``max_pages``, ``MAX_FEED_BYTES`` over all pages and ``MAX_FEED_S``; a failing page keeps the catalog as
it was, logged once with the page."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from page_server import Page

from slotwise.proxy.config import Settings
from slotwise.proxy.personalization import catalog_feed
from slotwise.proxy.personalization.catalog_feed import FeedLoader, _origin, page_url
from slotwise.rules.feed_mapping import FeedMapping, FeedPaging
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


def page(items: list[dict[str, Any]], status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Page:
    return Page(json.dumps({"data": {"products": items}}).encode(), status, JSON + headers)


def path(number: int) -> str:
    return f"/api/products?lang=en&page={number}&per_page=2"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store("", str(tmp_path / "data"))
    yield s
    sync(s.close())


def mapping(tmp_path: Path, max_pages: int = 50, page: str = "") -> FeedMapping:
    """The rules' mapping; ``page``: more keys of ``catalog.feed.page`` (``, end_status: [400]``)."""
    rules = rules_from_text(tmp_path, paged(max_pages, page))
    assert rules.catalog.feed_mapping is not None and rules.catalog.feed == "/api/products?lang=en"
    return rules.catalog.feed_mapping


def paged(max_pages: int = 50, page: str = "") -> str:
    return (RULES % max_pages).replace(f"max_pages: {max_pages}}}", f"max_pages: {max_pages}{page}}}")


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
    assert loader.error == f"/api/products?lang=en: page 2 ({path(2)}): HTTP 500 (on the storefront {server.url})"
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
    assert count == 0 and loader.error is not None and loader.error.endswith(
        f"all its pages not read within 0.2 s (on the storefront {server.url})")


def test_a_slow_feed_of_one_document_is_given_up_too(store: Any, page_server: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only a paged feed: the feed's lease (``lease_s``) is sized on ``MAX_FEED_S``, so no read may outlast it
    (a feed trickled a byte at a time kept a loader busy, and another took the lease meanwhile)."""
    server = page_server({"/feed.json": Page(json.dumps(products(1, 2)).encode(), 200, JSON, trickle=0.01)})
    monkeypatch.setattr(catalog_feed, "MAX_FEED_S", 0.2)
    loader = FeedLoader(store, server.url, lambda: 0.0)
    assert sync(loader.refresh("/feed.json", force=True)) == 0
    assert loader.error == f"/feed.json: not read within 0.2 s (on the storefront {server.url})"


def test_rules_check_feed_says_why_a_feed_is_not_read(tmp_path: Path, page_server: Any,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from slotwise.cli import main

    server = page_server({path(1): page(products(1, 2)), path(2): page([], status=503)})
    (tmp_path / "rules.yaml").write_text(RULES % 50, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--feed", "--url", server.url + "/"]) == 1
    assert f"catalog feed /api/products?lang=en: not loaded: page 2 ({path(2)}): HTTP 503" in capsys.readouterr().out


# -- where the list ends: a catalog of exactly two full pages, the third past the end ---------------------

PAST_THE_END = Page(json.dumps({"code": "rest_post_invalid_page_number", "data": {"status": 400},
                                "message": "The page number requested is larger than the number of pages available."
                                }).encode(), 400, JSON)  # WordPress core REST, past the last page


def link(*rels: tuple[int, str]) -> tuple[tuple[str, str], ...]:
    """A ``Link`` header as WordPress sends it: ``<URL of page N>; rel="..."`` for each."""
    return (("link", ", ".join(f'<{path(n)}>; rel="{rel}"' for n, rel in rels)),)


TWO_FULL_PAGES = {
    "link": ("", {path(1): page(products(1, 2), headers=link((2, "next"))),
                  path(2): page(products(3, 2), headers=link((1, "prev")))}),
    "total-pages": (", total_pages_header: X-WP-TotalPages",
                    {path(n): page(products(2 * n - 1, 2), headers=(("X-WP-TotalPages", "2"), ("X-WP-Total", "4")))
                     for n in (1, 2)}),
    "end-status": (", end_status: [404, 400]", {path(n): page(products(2 * n - 1, 2)) for n in (1, 2)}),
}


@pytest.mark.parametrize(("keys", "pages", "read"), [
    (*TWO_FULL_PAGES["link"], 2), (*TWO_FULL_PAGES["total-pages"], 2), (*TWO_FULL_PAGES["end-status"], 3),
], ids=list(TWO_FULL_PAGES))
def test_a_catalog_of_full_pages_ends_where_the_store_says(tmp_path: Path, store: Any, page_server: Any,
                                                           keys: str, pages: dict[str, Page], read: int) -> None:
    server = page_server({**pages, path(3): PAST_THE_END})
    loader, count = load(store, server, mapping(tmp_path, page=keys))
    assert (count, loader.error) == (4, None)
    assert [r.path for r in server.requests] == [path(n) for n in range(1, read + 1)]  # no page past the end asked


def test_a_page_past_the_end_the_rules_do_not_name_fails_and_says_what_to_set(
        tmp_path: Path, store: Any, page_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = page_server({path(1): page(products(1, 2)), path(2): page(products(3, 2)), path(3): page([])})
    feed = mapping(tmp_path)
    loader, count = load(store, server, feed)
    assert count == 4
    server.routes[path(1)] = page(products(1, 2, name="Renamed"))
    server.routes[path(3)] = PAST_THE_END  # a 400 past two full pages: the end, or a broken catalog?
    with caplog.at_level(logging.WARNING, "slotwise.catalog"):
        assert sync(loader.refresh("/api/products?lang=en", feed, force=True)) == 0
    assert sync(store.get_products(["p1"]))["p1"]["name"] == "Tee 1"  # the last catalog kept, not truncated
    assert loader.error == (f"/api/products?lang=en: page 3 ({path(3)}): HTTP 400 (rest_post_invalid_page_number) "
                            "past 2 full pages: if that is how this store answers a page past its last, say so with "
                            f"catalog.feed.page.end_status: [400] (or total_pages_header) (on the storefront {server.url})")
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


def test_a_404_in_the_middle_of_the_catalog_fails_the_read(tmp_path: Path, store: Any, page_server: Any) -> None:
    """Without ``end_status``, a 404 past a full page is no end: the products after it are not dropped."""
    server = page_server({path(1): page(products(1, 2)), path(2): page(products(3, 2)), path(3): page(products(5, 1))})
    feed = mapping(tmp_path)
    loader, count = load(store, server, feed)
    assert count == 5
    del server.routes[path(2)]  # the store's blip: page 2 answers 404, page 3 is still there
    assert sync(loader.refresh("/api/products?lang=en", feed, force=True)) == 0
    assert sync(store.get_products(["p5"]))["p5"]["name"] == "Tee 5"  # the last catalog kept
    assert loader.error is not None and "page 2" in loader.error and "end_status: [404]" in loader.error


def test_an_end_status_on_the_first_page_is_no_end(tmp_path: Path, store: Any, page_server: Any) -> None:
    """Not past a full page: an empty catalog must not replace the last one."""
    server = page_server({path(2): page(products(3, 1))})  # page 1: 404
    loader, count = load(store, server, mapping(tmp_path, page=", end_status: 404"))
    assert count == 0 and loader.error == (f"/api/products?lang=en: page 1 ({path(1)}): HTTP 404 "
                                         f"(on the storefront {server.url})")


def test_a_link_header_that_does_not_page_says_nothing_of_the_end(tmp_path: Path, store: Any,
                                                                  page_server: Any) -> None:
    """WordPress links its API's root on every answer: no ``next`` there is no end of the list."""
    root = (("link", '<http://shop.example/wp-json/>; rel="https://api.w.org/"'),)
    server = page_server({path(1): page(products(1, 2), headers=root), path(2): page(products(3, 1), headers=root)})
    _, count = load(store, server, mapping(tmp_path))
    assert count == 3 and len(server.requests) == 2


def test_a_total_pages_header_that_is_no_number_is_ignored_with_one_warning(
        tmp_path: Path, store: Any, page_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    bad = (("X-WP-TotalPages", "lots"),)
    server = page_server({path(1): page(products(1, 2), headers=bad), path(2): page(products(3, 2), headers=bad),
                          path(3): page(products(5, 1), headers=bad)})
    with caplog.at_level(logging.WARNING, "slotwise.catalog"):
        loader, count = load(store, server, mapping(tmp_path, page=", total_pages_header: X-WP-TotalPages"))
    assert (count, loader.error) == (5, None)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "page 1: its X-WP-TotalPages header not a number ('lots'): ignored" in warning


@pytest.mark.parametrize("value", ["1000000", "9" * 5000], ids=["huge", "past-ints-digits"])
def test_a_total_pages_header_past_max_pages_is_read_up_to_max_pages_and_says_so(
        tmp_path: Path, store: Any, page_server: Any, caplog: pytest.LogCaptureFixture, value: str) -> None:
    """A count of pages past ``max_pages`` (a store's bug, a proxy's garbage, or more digits than Python turns
    into a number at once) is no reason to read more, nor to fail: ``max_pages`` pages, and one warning naming
    the header."""
    said = (("X-WP-TotalPages", value),)
    server = page_server({path(n): page(products(2 * n, 2), headers=said) for n in range(1, 10)})
    with caplog.at_level(logging.WARNING, "slotwise.catalog"):
        loader, count = load(store, server, mapping(tmp_path, max_pages=3, page=", total_pages_header: X-WP-TotalPages"))
    assert (count, loader.error, len(server.requests)) == (6, None, 3)
    shown = value if len(value) <= 20 else value[:20] + "…"
    assert loader.ended == f"3 pages, stopped there (max_pages; X-WP-TotalPages says {shown})"
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning == (f"product feed /api/products?lang=en: stopped at 3 pages (catalog.feed.page.max_pages), "
                       f"its X-WP-TotalPages header says {shown}")


def test_a_total_pages_header_of_no_pages_beside_products_is_ignored(
        tmp_path: Path, store: Any, page_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    """``0`` on a page that lists products is no count of its pages: it must not end the read there."""
    zero = (("X-WP-TotalPages", "0"),)
    server = page_server({path(1): page(products(1, 2), headers=zero), path(2): page(products(3, 1), headers=zero)})
    with caplog.at_level(logging.WARNING, "slotwise.catalog"):
        loader, count = load(store, server, mapping(tmp_path, page=", total_pages_header: X-WP-TotalPages"))
    assert (count, loader.error, len(server.requests)) == (3, None, 2)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "page 1: its X-WP-TotalPages header 0 beside products: ignored" in warning


PATHS = st.builds(lambda slashes, rest: slashes + rest, st.sampled_from(["/", "//", "///", "////"]),
                  st.text(alphabet="/?#&=.:@%\\ab1", max_size=24))
FEEDS = st.one_of(PATHS, st.builds(lambda scheme, host, rest: f"{scheme}://{host}{rest}",  # storefront paths, URLs
                                   st.sampled_from(["http", "https"]),
                                   st.sampled_from(["shop.example", "shop.example:8443", "u:p@shop.example"]), PATHS))


@settings(max_examples=300, deadline=None)
@given(feed=FEEDS, number=st.integers(0, 1000))
def test_count_paging_builds_pages_on_the_feeds_origin_only(feed: str, number: int) -> None:
    """Whatever the rules' URL holds (a path beginning ``////``, a query, a fragment), page ``N`` is on the
    origin the feed is: the URL's query changes, never where it is read."""
    upstream = "http://up.example"
    paging = FeedPaging("page", "per_page", 2)
    built = page_url(feed, paging, number)
    assert _origin(urljoin(upstream, built)) == _origin(urljoin(upstream, feed)), built
    assert parse_qsl(urlsplit(built).query)[-2:] == [("page", str(number)), ("per_page", "2")]


def test_count_paging_reads_a_path_beginning_with_slashes_on_the_storefront(
        tmp_path: Path, store: Any, page_server: Any) -> None:
    """``////host/...`` is a path on the storefront (as the feed's first read takes it), not another host."""
    elsewhere = page_server({})
    feed = "//" + elsewhere.url.split("://", 1)[1] + "/api/products"  # "////127.0.0.1:PORT/api/products"
    feed = "//" + feed
    shop = page_server({})
    shop.routes.update({feed.replace("////", "/", 1) + f"?page={n}&per_page=2": page(products(2 * n, 2 if n < 2 else 1))
                        for n in (1, 2)})
    loader = FeedLoader(store, shop.url, lambda: 0.0)
    assert sync(loader.refresh(feed, mapping(tmp_path), force=True)) == 3, loader.error
    assert elsewhere.requests == [] and len(shop.requests) == 2


# -- cursor paging: each page the one the last one's Link rel="next" names ------------------------------

CURSOR = "/api/products?lang=en&per_page=2"


def cursor_mapping(tmp_path: Path) -> FeedMapping:
    """No page numbers: the first page is the feed's URL (with its size), each next one its Link's."""
    rules = rules_from_text(tmp_path, paged(50, ", next: link").replace("param: page, ", ""))
    assert rules.catalog.feed_mapping is not None
    return rules.catalog.feed_mapping


def cursor(after: str) -> str:
    return f"/api/products?lang=en&per_page=2&page_info={after}"


def test_cursor_paging_follows_each_link_next(tmp_path: Path, store: Any, page_server: Any) -> None:
    server = page_server({})
    server.routes.update({  # Shopify Admin's shape: relative, then absolute targets; rel="previous" too
        CURSOR: page(products(1, 2), headers=(("link", f'<{cursor("b")}>; rel="next"'),)),
        cursor("b"): page(products(3, 2), headers=(
            ("link", f'<{server.url}{CURSOR}>; rel="previous", <{server.url}{cursor("c")}>; rel="next"'),)),
        cursor("c"): page(products(5, 2), headers=(("link", f'<{cursor("b")}>; rel="previous"'),)),
    })
    loader, count = load(store, server, cursor_mapping(tmp_path))
    assert (count, loader.error) == (6, None)
    assert [r.path for r in server.requests] == [CURSOR, cursor("b"), cursor("c")]  # no page number asked


@pytest.mark.parametrize("target", ["http://localhost:{port}/api/products?page_info=b", "https://127.0.0.1:{port}/x",
                                    "//evil.example/api/products?page_info=b"], ids=["host", "scheme", "relative-host"])
def test_cursor_paging_refuses_a_next_page_on_another_origin(tmp_path: Path, store: Any, page_server: Any,
                                                             target: str) -> None:
    server = page_server({})
    target = target.format(port=server.url.rsplit(":", 1)[1])
    server.routes[CURSOR] = page(products(1, 2), headers=(("link", f'<{target}>; rel="next"'),))
    loader, count = load(store, server, cursor_mapping(tmp_path))
    assert count == 0 and loader.error is not None
    assert loader.error.startswith(f"/api/products?lang=en: page 1 ({CURSOR}): its Link rel=\"next\" {target!r} "
                                   f"is not on the feed's origin {server.url}: not followed"), loader.error
    assert [r.path for r in server.requests] == [CURSOR]


def test_cursor_paging_stops_at_a_loop(tmp_path: Path, store: Any, page_server: Any) -> None:
    server = page_server({CURSOR: page(products(1, 2), headers=(("link", f'<{cursor("b")}>; rel="next"'),)),
                          cursor("b"): page(products(3, 2), headers=(("link", f'<{CURSOR}>; rel="next"'),))})
    loader, count = load(store, server, cursor_mapping(tmp_path))
    assert count == 0 and loader.error is not None and "was read already" in loader.error
    assert len(server.requests) == 2


# -- rules check --feed says how the read ended -------------------------------------------------------------

@pytest.mark.parametrize(("keys", "routes", "said"), [
    ("", {path(1): page(products(1, 2)), path(2): page(products(3, 1))}, "3 products (2 pages, the last short (1 of 2))"),
    ("", {path(1): page(products(1, 2)), path(2): page([])}, "2 products (2 pages, the last empty)"),
    (*TWO_FULL_PAGES["link"], '4 products (2 pages, the last one\'s Link without rel="next")'),
    (*TWO_FULL_PAGES["total-pages"], "4 products (2 pages, as X-WP-TotalPages says (2))"),
    (*TWO_FULL_PAGES["end-status"], "4 products (2 pages, then HTTP 400 (end_status))"),
    (", max_pages: 1", {path(1): page(products(1, 2))}, "2 products (1 page, stopped there (max_pages))"),
], ids=["short", "empty", "link", "total-pages", "end-status", "max-pages"])
def test_rules_check_feed_says_how_the_read_ended(tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str],
                                                  keys: str, routes: dict[str, Page], said: str) -> None:
    from slotwise.cli import main

    server = page_server({**routes, path(3): PAST_THE_END})
    rules = paged(50, keys) if "max_pages" not in keys else paged(1)
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--feed", "--url", server.url + "/"]) == 0
    out = capsys.readouterr().out
    assert f"catalog feed /api/products?lang=en: {said}" in out, out


def test_the_docs_quote_what_a_read_says(tmp_path: Path) -> None:
    """docs/rules.md's quoted messages are the loader's (asserted above), its example's keys load."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    text = " ".join(docs.split())
    for said in ("HTTP 400 (rest_post_invalid_page_number) past 2 full pages: if that is how this store answers a page "
                 "past its last, say so with catalog.feed.page.end_status: [400] (or total_pages_header)",
                 "is not on the feed's origin https://shop.example: not followed",
                 "8 products (2 pages, as X-WP-TotalPages says (2))",
                 "(catalog.feed.page.max_pages), its X-WP-TotalPages header says"):
        assert said in text, said
    example = docs.split("#### `catalog.feed` in the store's own shape", 1)[1].split("```yaml\n", 1)[1].split("```")[0]
    feed = rules_from_text(tmp_path, example + "slots: []\n").catalog.feed_mapping
    assert feed is not None and feed.page is not None and feed.page.total_pages_header == "X-WP-TotalPages"


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


def test_a_feed_path_not_loaded_names_the_storefront_it_was_read_on(tmp_path: Path, store: Any, page_server: Any,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Tag-only, a feed's path not loaded was said with the path alone: a wrong ``--public-url`` read like a wrong
    path. The log line, ``/_sw/health``'s ``feed.error`` and ``rules check --feed`` name the storefront's origin
    too; the path's query (a token) stays out of the log and the health answer."""
    from slotwise.cli import main
    from slotwise.logsetup import make_handler
    from slotwise.proxy.operations.feed_health import check_feed
    from slotwise.proxy.personalization.feed_lease import lease_name

    wrong = page_server({})  # a --public-url that is not the store: every path a 404
    feed = "/products.json?key=s3cret-key"
    loader = FeedLoader(store, Settings(tag_only=True, public_url=wrong.url).storefront, lambda: 0.0)
    output = io.StringIO()
    handler = make_handler(output)  # the service's handler: queries cut
    logging.getLogger("slotwise.catalog").addHandler(handler)
    try:
        assert sync(loader.refresh(feed, force=True)) == 0
    finally:
        logging.getLogger("slotwise.catalog").removeHandler(handler)
    said = f"HTTP 404 (on the storefront {wrong.url})"
    assert loader.error == f"{feed}: {said}"
    assert f"product feed /products.json?… not loaded: {said}" in output.getvalue()
    assert sync(check_feed(store, lease_name(feed, None), 0.0))["error"] == said
    assert "s3cret" not in output.getvalue() + said

    (tmp_path / "rules.yaml").write_text(f"catalog:\n  feed: {feed!r}\nslots: []\n", encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--feed", "--url", wrong.url + "/shoes?ref=x"]) == 1
    assert f"catalog feed {feed}: not loaded: {said}" in capsys.readouterr().out


# -- a feed URL with credentials (user:password@, a store API's basic auth) ---------------------------------

AUTH = "Basic " + __import__("base64").b64encode(b"shop:s3cret").decode()


def credited(server: Any) -> str:
    """The cursor feed's URL on ``server`` with the store API's credentials in it."""
    return server.url.replace("http://", "http://shop:s3cret@") + CURSOR


def test_cursor_paging_follows_a_next_page_that_differs_only_in_credentials(tmp_path: Path, store: Any,
                                                                            page_server: Any) -> None:
    """A ``Link rel="next"`` names the page without the feed's ``user:password@`` (a store's API never echoes
    them): the same origin, followed, and read with the feed's credentials as every page is."""
    server = page_server({})
    server.routes.update({
        CURSOR: page(products(1, 2), headers=(("link", f'<{server.url}{cursor("b")}>; rel="next"'),)),
        cursor("b"): page(products(3, 1)),
    })
    loader = FeedLoader(store, "", lambda: 0.0)
    assert (sync(loader.refresh(credited(server), cursor_mapping(tmp_path), force=True)), loader.error) == (3, None)
    assert [(r.path, r.headers.get("authorization")) for r in server.requests] == [(CURSOR, AUTH), (cursor("b"), AUTH)]


@pytest.mark.parametrize("answer", ["other-origin", "status", "loop"])
def test_a_feeds_credentials_are_never_in_its_error_nor_its_log(tmp_path: Path, store: Any, page_server: Any,
                                                                 caplog: pytest.LogCaptureFixture, answer: str) -> None:
    from slotwise.proxy.personalization.feed_lease import lease_name

    server = page_server({})
    port = server.url.rsplit(":", 1)[1]
    server.routes[CURSOR] = {
        "other-origin": page(products(1, 2), headers=(("link", f'<http://localhost:{port}{cursor("b")}>; rel="next"'),)),
        "status": page([], status=500),
        "loop": page(products(1, 2), headers=(("link", f"<{credited(server)}>; rel=\"next\""),)),
    }[answer]
    feed, mapped = credited(server), cursor_mapping(tmp_path)
    loader = FeedLoader(store, "", lambda: 0.0)
    with caplog.at_level(logging.INFO, "slotwise.catalog"):
        assert sync(loader.refresh(feed, mapped, force=True)) == 0
    saved = sync(store.feed_read(lease_name(feed, mapped)))  # what the admin API shows whole
    assert loader.error is not None and loader.error.startswith(f"{server.url}{CURSOR}: page 1 ({server.url}{CURSOR})")
    assert {"other-origin": f"is not on the feed's origin {server.url}: not followed", "status": "HTTP 500",
            "loop": "was read already"}[answer] in loader.error
    from slotwise.cli import main

    rules = paged(50, ", next: link").replace("param: page, ", "").replace(
        "url: /api/products?lang=en", f"url: {feed.removesuffix('&per_page=2')}")
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["rules", "check", str(tmp_path / "rules.yaml"), "--feed"]) == 1
    assert f"catalog feed {server.url}/api/products?lang=en: not loaded: page 1" in out.getvalue()
    for said in (loader.error, saved.error, caplog.text, out.getvalue()):
        assert "s3cret" not in said and "shop:" not in said, said
