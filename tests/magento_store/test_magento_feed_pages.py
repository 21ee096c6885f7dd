"""The example's ``catalog.feed`` read from the fixture's GraphQL ``products`` query page by page: the page's
number and size go inside the ``query`` parameter's value (``currentPage:{page}``, ``pageSize:{size}``), and
the answer's ``page_info.total_pages`` ends the read, since Magento answers a page past the last with an
error, not an empty list (``CatalogGraphQl``'s ``currentPage value N specified is greater than ...``)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
from magento_shop import MagentoShop

from slotwise.proxy.personalization.catalog_feed import FeedLoader
from slotwise.rules.loader import load_rules
from slotwise.store import open_store
from slotwise.tag.testing import sync

EXAMPLES = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"
PAGE = "page: {param: query, size: 100, total_pages: data.products.page_info.total_pages}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store("", str(tmp_path / "data"))
    yield s
    sync(s.close())


def example(tmp_path: Path, page: str) -> Any:
    """The shipped example with its ``catalog.feed.page`` replaced by ``page``."""
    for path in EXAMPLES.glob("magento*"):  # its include and templates beside it
        shutil.copy(path, tmp_path / path.name)
    text = (EXAMPLES / "magento.yaml").read_text(encoding="utf-8")
    assert PAGE in text
    (tmp_path / "magento.yaml").write_text(text.replace(PAGE, page), encoding="utf-8")
    return load_rules(tmp_path / "magento.yaml")


def read(store: Any, shop: MagentoShop, rules: Any) -> tuple[FeedLoader, int]:
    loader = FeedLoader(store, shop.url, lambda: 0.0)
    return loader, sync(loader.refresh(rules.catalog.feed, rules.catalog.feed_mapping, force=True))


def test_each_page_is_asked_for_inside_the_query_until_a_short_one(tmp_path: Path, store: Any) -> None:
    rules = example(tmp_path, PAGE.replace("size: 100", "size: 3"))
    with MagentoShop() as shop:
        loader, count = read(store, shop, rules)
    assert count == 7 and loader.error is None
    assert loader.ended == "3 pages, the last short (1 of 3)"
    assert [("pageSize:3,currentPage:%d" % n) in q for n, q in enumerate(shop.state.graphql, 1)] == [True] * 3
    assert "{page}" not in "".join(shop.state.graphql)
    assert "fusion-backpack" in sync(store.get_products(["fusion-backpack"]))  # on page 2


def test_a_full_last_page_ends_where_page_info_says(tmp_path: Path, store: Any) -> None:
    rules = example(tmp_path, PAGE.replace("size: 100", "size: 7"))
    with MagentoShop() as shop:
        loader, count = read(store, shop, rules)
    assert count == 7 and loader.ended == "1 page, as data.products.page_info.total_pages says (1)"
    assert len(shop.state.graphql) == 1  # page 2 would be Magento's error, not an empty page


def test_without_the_count_of_pages_a_full_last_page_fails_the_read(tmp_path: Path, store: Any) -> None:
    rules = example(tmp_path, "page: {param: query, size: 7}")
    with MagentoShop() as shop:
        loader, count = read(store, shop, rules)
    assert count == 0
    assert loader.error is not None and "page 2 (/graphql?query=" in loader.error
    assert "no list of products at 'data.products.items'" in loader.error


def test_the_shipped_example_reads_the_whole_catalog_in_one_page(tmp_path: Path, store: Any) -> None:
    rules = load_rules(EXAMPLES / "magento.yaml")
    with MagentoShop() as shop:
        loader, count = read(store, shop, rules)
    assert count == 7 and loader.ended == "1 page, the last short (7 of 100)"
    assert "pageSize:100,currentPage:1" in shop.state.graphql[0]
