"""Product links moved into the page's locale prefix (rules/locale_links.py), as the rules' URL patterns say."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.rules.locale_links import in_locale
from slotwise.rules.pages import CatalogPatterns
from slotwise.rules.testing import rules_from_text

MARKETS = """
catalog:
  product_pages: ["/{locale}/products/{product}", "/products/{product}"]
  category_pages: ["/{locale}/collections/{category}", "/collections/{category}"]
slots: []
"""


@pytest.fixture
def patterns(tmp_path: Path) -> CatalogPatterns:
    return rules_from_text(tmp_path, MARKETS).catalog.patterns


@pytest.mark.parametrize(("url", "locale", "moved"), [
    ("/products/coat", "en-gb", "/en-gb/products/coat"),
    ("/en-gb/products/coat", None, "/products/coat"),  # a default-locale page: no prefix
    ("/de/products/coat?variant=4#size", "en-gb", "/en-gb/products/coat?variant=4#size"),
    ("/en-gb/products/coat", "en-gb", "/en-gb/products/coat"),
    ("/collections/coats", "en-gb", "/collections/coats"),  # no product link: as it is
    ("https://shop.example/products/coat", "en-gb", "https://shop.example/products/coat"),  # another host's
    ("//cdn.example/products/coat", "en-gb", "//cdn.example/products/coat"),
    (None, "en-gb", None),
], ids=["into-a-locale", "to-the-default", "query-and-fragment-kept", "already-there", "not-a-product",
        "absolute", "protocol-relative", "no-link"])
def test_a_product_link_moves_into_the_pages_locale(patterns: CatalogPatterns, url: str | None,
                                                    locale: str | None, moved: str | None) -> None:
    assert patterns.localized
    assert in_locale(patterns, url, locale) == moved


def test_patterns_without_a_locale_prefix_touch_no_link(tmp_path: Path) -> None:
    inner = rules_from_text(tmp_path, 'catalog: {product_pages: "/products/{product}/{locale}"}\nslots: []\n').catalog.patterns
    assert inner.localized  # a {locale}, but not a prefix: the link stays
    assert in_locale(inner, "/products/coat/en-gb", "de") == "/products/coat/en-gb"
    plain = rules_from_text(tmp_path, 'catalog: {product_pages: "/products/{product}"}\nslots: []\n').catalog.patterns
    assert not plain.localized
    assert in_locale(plain, "/products/coat", "en-gb") == "/products/coat"  # no pattern reads it moved
