"""Which slots a request gets: path globs, named params, regexes, query and header conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.rules.pages import compile_path_pattern, normalize_query
from slotwise.rules.testing import rules_from_text


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/", "/", True),
        ("/", "/p/1", False),
        ("/p/*", "/p/42", True),
        ("/p/*", "/p/42/reviews", False),
        ("/p/*", "/p/", True),
        ("/p/**", "/p/42/reviews", True),
        ("/shop/**/sale", "/shop/a/b/sale", True),
        ("/c/?", "/c/x", True),
        ("/c/?", "/c/xy", False),
        ("/p/{product}", "/p/42", True),
        ("/p/{product}", "/p/", False),
        ("/p/{product}", "/p/42/x", False),
        ("/a.b", "/aXb", False),  # dots are literal
        ("/c/*-sale", "/c/shoes-sale", True),
    ],
)
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_path_pattern(pattern).fullmatch(path)) is matches


def test_named_params_are_captured() -> None:
    found = compile_path_pattern("/{lang}/p/{product}").fullmatch("/de/p/42")
    assert found is not None and found.groupdict() == {"lang": "de", "product": "42"}


@pytest.mark.parametrize("bad", ["p/*", "/p/{product", "/p/{1x}", "/p/{a}/{a}", "/p/}"])
def test_bad_path_patterns_raise_with_the_pattern(bad: str) -> None:
    with pytest.raises(ValueError, match="path pattern"):
        compile_path_pattern(bad)


RULES = """
slots:
  - {id: home, pages: "/", selector: p, action: remove}
  - {id: products, pages: "/p/*", selector: p, action: remove}
  - {id: listing, pages: ["/c/*", "/search"], selector: p, action: remove}
  - id: regex
    pages: {regex: "^/p/\\\\d+$"}
    selector: p
    action: remove
  - id: newsletter
    pages: {path: "/**", query: {utm_source: newsletter, utm_medium: "e*"}}
    selector: p
    action: remove
  - id: no-preview
    pages: {path: "/", query: {preview: false}}
    selector: p
    action: remove
  - id: german
    pages: {path: "/**", headers: {Accept-Language: "de*"}}
    selector: p
    action: remove
  - id: any-of
    pages:
      - {path: "/c/*", query: {sort: [price, name]}}
      - {regex: "/sale$"}
    selector: p
    action: remove
"""


@pytest.fixture()
def ruleset(tmp_path: Path):  # type: ignore[no-untyped-def]
    return rules_from_text(tmp_path, RULES)


@pytest.mark.parametrize(
    ("path", "query", "headers", "expected"),
    [
        ("/", None, None, ["home", "no-preview"]),
        ("/", "preview=1", None, ["home"]),
        ("/p/42", None, None, ["products", "regex"]),
        ("/p/abc", None, None, ["products"]),
        ("/c/bags", "", {}, ["listing"]),
        ("/c/bags", "sort=price", {}, ["listing", "any-of"]),
        ("/c/bags", [("sort", "name")], {}, ["listing", "any-of"]),
        ("/c/bags", {"sort": "rating"}, {}, ["listing"]),
        ("/search", "utm_source=newsletter&utm_medium=email", None, ["listing", "newsletter"]),
        ("/search", "utm_source=newsletter&utm_medium=social", None, ["listing"]),
        ("/x", None, {"accept-language": "de-DE,de;q=0.9"}, ["german"]),
        ("/x", None, [("accept-language", "DE-at")], ["german"]),
        ("/x", None, {"Accept-Language": "en"}, []),
        ("/summer/sale", None, None, ["any-of"]),
    ],
)
def test_slots_for(ruleset, path, query, headers, expected) -> None:  # type: ignore[no-untyped-def]
    assert [s.id for s in ruleset.slots_for(path, query, headers)] == expected


def test_query_forms_are_equivalent() -> None:
    assert normalize_query("?a=1&a=2&b=") == {"a": "1", "b": ""}
    assert normalize_query([("a", "1"), ("a", "2")]) == {"a": "1"}
    assert normalize_query(None) == {}


def test_catalog_patterns_classify_pages(tmp_path: Path) -> None:
    from slotwise.rules import page_facts

    ruleset = rules_from_text(tmp_path, """
        catalog:
          product_pages: ["/p/{product}", "/{lang}/product/{product}"]
          category_pages: "/c/{category}"
          home_pages: ["/", "/de/"]
        slots: []
    """)
    assert page_facts("/de/", None, None, ruleset).type == "home"
    cat = page_facts("/c/running-shoes", "sort=price", None, ruleset)
    assert (cat.type, cat.category, dict(cat.query)) == ("category", "running-shoes", {"sort": "price"})
    prod = page_facts("/fr/product/9", None, None, ruleset)
    assert prod.type == "product" and prod.product is not None and prod.product["id"] == "9"
    assert dict(prod.params) == {"lang": "fr", "product": "9"}
    assert page_facts("/about", None, None, ruleset).type == "other"


def test_json_ld_products_on_listing_pages_do_not_make_them_product_pages(tmp_path: Path) -> None:
    from slotwise.rules import page_facts

    ruleset = rules_from_text(tmp_path, 'catalog: {category_pages: "/c/{category}"}\n')
    listing = b'<script type="application/ld+json">[{"@type":"Product","sku":"1"},{"@type":"Product","sku":"2"}]</script>'
    cat = page_facts("/c/bags", None, listing, ruleset)
    assert (cat.type, cat.category, cat.product) == ("category", "bags", None)
    unknown = page_facts("/some/landing", None, listing, ruleset)
    assert unknown.type == "product" and unknown.product is not None and unknown.product["id"] == "1"
