"""``catalog.page_types``: a page's type by its markup where its URL patterns cannot tell (``rules.page_types``).

The combination rule is checked as properties over every way a path's patterns and a page's markup can fall
(hypothesis), with real pages read by the proxy's reader (``page_facts`` from the HTML) and by the tag's
(``read_extract`` of what ``tag.js``'s ``extract`` sends for the same page).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.rules import RulesError, page_facts
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.page_types import GROUP_PREFIX, KINDS, PageTypes
from slotwise.rules.pages import CatalogPatterns, compile_path_pattern
from slotwise.rules.reading import read_extract
from slotwise.rules.testing import rules_from_text

PATH = "/men.html"
MATCHING = {"home": "/men.html", "product": "/{product}.html", "category": "/{category}.html"}
OTHER = {"home": "/", "product": "/p/{product}", "category": "/c/{category}"}
SELECTOR = {kind: f"body.is-{kind}" for kind in KINDS}


def catalog(matching: set[str], selectors: set[str]) -> CatalogSettings:
    """Patterns of each type in ``matching`` match ``PATH``; the others' do not; a selector per ``selectors``."""
    patterns = {kind: (compile_path_pattern(MATCHING[kind] if kind in matching else OTHER[kind]),) for kind in KINDS}
    return CatalogSettings(patterns=CatalogPatterns(**patterns),
                           page_types=PageTypes({k: SELECTOR[k] for k in KINDS if k in selectors}) if selectors else None)


def html(marks: set[str]) -> bytes:
    classes = " ".join(f"is-{kind}" for kind in KINDS if kind in marks)
    return f'<html><head><title>t</title></head><body class="page {classes}"><p>x</p></body></html>'.encode()


kinds = st.sets(st.sampled_from(KINDS))


@settings(max_examples=300, deadline=None)
@given(matching=kinds, selectors=kinds, marks=kinds)
def test_the_url_decides_unless_it_is_open_and_then_the_markup_among_the_open_types(
        matching: set[str], selectors: set[str], marks: set[str]) -> None:
    rules = catalog(matching, selectors)
    page = page_facts(PATH, "", html(marks), rules)
    by_url, _ = rules.patterns.classify(PATH)
    open_types = [k for k in KINDS if k in selectors and (k in matching if matching else True)]
    if len(matching) == 1 or not open_types or (matching and not selectors & matching):
        assert page.type == by_url  # one type's patterns, or no selector among the matching types: as without
    elif any(k in marks for k in open_types):
        assert page.type == next(k for k in open_types if k in marks)  # the first whose selector matches
    else:  # no selector matches: a matching type without one, else other
        assert page.type == next((k for k in KINDS if k in matching and k not in selectors), "other")
    assert page.type in (*matching, *selectors, "other")
    if page.type in matching:  # its own pattern's params: {category} on a category page, {product} on a product's
        assert dict(page.params) == ({} if page.type == "home" else {page.type: "men"})
        assert page.category == ("men" if page.type == "category" else None)
    else:
        assert dict(page.params) == {}


@settings(max_examples=150, deadline=None)
@given(matching=kinds, selectors=kinds, marks=kinds)
def test_the_tags_extract_says_the_same_type_as_the_proxys_reading(
        matching: set[str], selectors: set[str], marks: set[str]) -> None:
    """``tag.js``'s extract sends each ``page_type:`` group present (``within`` found) or not at all."""
    rules = catalog(matching, selectors)
    values = {GROUP_PREFIX + kind: {"present": True, "fields": {}} for kind in selectors if kind in marks}
    reading = read_extract({"doc": "", "values": values}, rules, rules.extract_groups())
    proxy = page_facts(PATH, "", html(marks), rules)
    tag = page_facts(PATH, "", None, rules, reading=reading)
    assert (tag.type, dict(tag.params), tag.category) == (proxy.type, dict(proxy.params), proxy.category)


@settings(max_examples=100, deadline=None)
@given(matching=kinds, marks=kinds)
def test_without_page_types_the_markup_is_never_read(matching: set[str], marks: set[str]) -> None:
    rules = catalog(matching, set())
    url = rules.url_type(PATH)
    assert not url.open and rules.page_groups(url) == rules.page_groups(url.kind)
    assert page_facts(PATH, "", html(marks), rules).type == rules.patterns.classify(PATH)[0]


def test_a_link_to_an_open_path_names_what_it_is_asked_for() -> None:
    """A category tile linking /men.html names the category ``men``; the tag tries category patterns first too."""
    rules = catalog({"product", "category"}, {"product", "category"})
    assert (rules.link_key("/men.html", "category"), rules.link_key("/men.html", "product")) == ("men", "men")
    assert rules.link_key("/c/x", "category") is None
    plain = catalog({"product", "category"}, set())
    assert (plain.link_key("/men.html", "category"), plain.link_key("/men.html", "product")) == (None, "men")


def test_a_page_no_pattern_claims_is_what_its_markup_says_without_params() -> None:
    rules = catalog(set(), {"product", "category"})
    page = page_facts("/anything", "", html({"category"}), rules)
    assert (page.type, dict(page.params), page.category) == ("category", {}, None)
    assert page_facts("/anything", "", html(set()), rules).type == "other"
    assert rules.url_type("/anything").possible == ("product", "category", "other")


def test_page_types_in_the_rules(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        catalog:
          product_pages: "/{product}.html"
          category_pages: ["/{category}.html", "/*/{category}.html"]
          page_types: {product: "body.catalog-product-view", category: "body.catalog-category-view"}
    """)
    page_types = ruleset.catalog.page_types
    assert page_types is not None and dict(page_types.selectors) == {
        "product": "body.catalog-product-view", "category": "body.catalog-category-view"}
    page = page_facts("/men.html", "", b'<body class="page-products catalog-category-view"></body>', ruleset)
    assert (page.type, page.category) == ("category", "men")


@pytest.mark.parametrize("written, message", [
    ('{product: "body..x"}', r"rules.yaml:3:25: invalid CSS selector 'body\.\.x'"),
    ('{listing: "body.x"}', r"rules.yaml:3:16: unknown key 'listing' in 'catalog.page_types'"),
    ('"body.x"', r"rules.yaml:3:15: 'catalog.page_types' must be a mapping, got a string"),
    ("{}", r"rules.yaml:3:15: 'catalog.page_types' names no page type"),
    ("{product: 3}", r"rules.yaml:3:25: 'catalog.page_types.product' \(a CSS selector\) must be a string"),
], ids=["bad-selector", "unknown-type", "not-a-mapping", "empty", "not-a-string"])
def test_a_bad_page_types_entry_is_located(tmp_path: Path, written: str, message: str) -> None:
    with pytest.raises(RulesError) as info:
        rules_from_text(tmp_path, f"""
            catalog:
              page_types: {written}
        """)
    assert re.search(message, str(info.value)), str(info.value)


def test_the_example_in_capture_md_does_what_it_says(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "capture.md").read_text(encoding="utf-8")
    block = doc.split("**When the URL cannot tell: `catalog.page_types`.**", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    ruleset = rules_from_text(tmp_path, "catalog:\n" + "".join(f"  {line}\n" for line in block.splitlines()))
    luma = '<body class="page-products catalog-{}-view"></body>'

    def seen(path: str, kind: str) -> tuple[str, str | None, str | None]:
        page = page_facts(path, "", luma.format(kind).encode(), ruleset)
        return page.type, page.category, (page.product or {}).get("id")

    assert seen("/men.html", "category") == ("category", "men", None)
    assert seen("/hero-hoodie.html", "product") == ("product", None, "hero-hoodie")
    assert seen("/men/tops-men.html", "product") == ("category", "tops-men", None)  # one type's pattern: the URL's
    assert seen("/about-us.html", "cms")[0] == "other"


def test_rules_check_says_how_a_pages_type_was_told(tmp_path: Path) -> None:
    from slotwise.commands.rules import describe_page

    ruleset = rules_from_text(tmp_path, """
        catalog:
          product_pages: "/{product}.html"
          category_pages: "/{category}.html"
          page_types: {product: "body.product-view", category: "body.category-view"}
    """)

    def lines(path: str, body_class: str) -> list[str]:
        return describe_page(ruleset, f"https://shop.example{path}", 200, html(set()).replace(b"page ", body_class.encode()))

    about = lines("/about-us.html", "cms-page ")
    assert about[2] == ("  type other: its URL matches catalog.product_pages and catalog.category_pages; its markup decides "
                        "(product or category: catalog.page_types): neither 'body.product-view' nor 'body.category-view' matches")
    assert "  no product (no catalog.page_types selector matches and its markup declares none)" in about
    assert lines("/men.html", "category-view ")[2].endswith(": 'body.category-view' matches")
    assert lines("/", "category-view ")[2] == "  type home: its URL matches catalog.home_pages"
    assert lines("/a/b", "")[2] == ("  type other: no URL pattern claims it; its markup decides (product or category: "
                                    "catalog.page_types): neither 'body.product-view' nor 'body.category-view' matches")
