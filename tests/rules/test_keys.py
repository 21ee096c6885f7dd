"""One normalisation of the keys everything joins on (``slotwise.keys``): categories, products, sizes.

The same category or size reaches Slotwise from URLs, breadcrumbs, JSON-LD,
POS exports and GA4 items; if two sources disagree on the key, a size bought
in store never preselects online. These tests pin the rules of docs/capture.md
("One key for each thing") and their algebra (idempotent, total) with
hypothesis.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.keys import JS_WHITESPACE, MAX_KEY, category_key, product_key, size_key


@pytest.mark.parametrize("raw", ["T-Shirts", "t-shirts", "T%2DShirts", "  T Shirts ", "T_SHIRTS", "t--shirts", "T–Shirts"])
def test_category_spellings_are_one_key(raw: str) -> None:
    assert category_key(raw) == "t-shirts"


@pytest.mark.parametrize("raw, key", [
    ("Trail Shoes", "trail-shoes"), ("trail-shoes", "trail-shoes"), ("Base Layers & Socks", "base-layers-socks"),
    ("100% Wool", "100-wool"), ("%E2%82%AC-deals", "deals"), (7, "7"),
])
def test_category_key_examples(raw: object, key: str) -> None:
    assert category_key(raw) == key


@pytest.mark.parametrize("raw", [None, "", "   ", "---", "%20"])
def test_empty_categories_have_no_key(raw: object) -> None:
    assert category_key(raw) is None


@pytest.mark.parametrize("raw, key", [(" 1005 ", "1005"), (1005, "1005"), (1005.0, "1005"), ("SKU-a1", "SKU-a1"),
                                      ("AB%2F1", "AB/1")])
def test_product_keys_are_trimmed_text_and_keep_case(raw: object, key: str) -> None:
    assert product_key(raw) == key


@pytest.mark.parametrize("raw", [None, True, False, "", "  "])
def test_no_product_key_for_nothing(raw: object) -> None:
    assert product_key(raw) is None


@pytest.mark.parametrize("raw, key", [
    ("Size: 42", "42"), (" 42 ", "42"), ("42", "42"), ("Taille : 42", "42"), ("EU:42", "42"),
    ("m", "M"), ("xl", "XL"), ("3xl", "3XL"), ("Size: m", "M"), ("One size", "One size"), ("36-38", "36-38"),
    ("  W32  L34 ", "W32 L34"), (42, "42"), ("Size: EU: 42", "42"), ("UK: 8 / EU: 42", "8 / EU: 42"),
])
def test_size_labels(raw: object, key: str) -> None:
    assert size_key(raw) == key


@pytest.mark.parametrize("raw", [None, True, "", "  ", "Size:  ", "A:A:"])  # labels alone (hypothesis: 'A:A:')
def test_no_size_for_nothing(raw: object) -> None:
    assert size_key(raw) is None


def test_sizes_from_every_source_are_one_key() -> None:
    """The mini basket (``Size: 42``), an order table cell (`` 42``), a POS column (``42``) and an option (``42``)."""
    assert {size_key(v) for v in ("Size: 42", " 42", "42", "42 ", "Size:42")} == {"42"}
    assert {size_key(v) for v in ("Size: M", "m", " M ", "Size: m")} == {"M"}


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_category_key_is_a_slug_and_idempotent(raw: str) -> None:
    key = category_key(raw)
    if key is not None:
        assert re.fullmatch(r"[^\W_]+(-[^\W_]+)*", key), key  # letters and digits of any script, '-' between
        assert key == key.lower() and len(key) <= MAX_KEY
        assert category_key(key) == key
        if key.isascii():
            assert category_key(key.upper()) == key  # a POS export in capitals


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_size_key_is_idempotent(raw: str) -> None:
    key = size_key(raw)
    if key is not None:
        assert size_key(key) == key
        assert key == key.strip(" ") and "  " not in key  # spaces as the tag collapses them (JavaScript's \s)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text.filter(lambda s: "%" not in s))
def test_product_key_is_idempotent(raw: str) -> None:
    key = product_key(raw)
    if key is not None:
        assert product_key(key) == key and key == key.strip(JS_WHITESPACE)  # trimmed as the tag trims


# -- keys from URLs: path patterns capture whole segments, or are refused with the reason ------------

from slotwise.rules.catalog import CatalogSettings  # noqa: E402
from slotwise.rules.pages import CatalogPatterns, compile_path_pattern, translate_path_pattern  # noqa: E402

_segment = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.",
                                 max_codepoint=0x7F), min_size=1, max_size=20)


def fjell_catalog(category: str = "/shop/category/{category}-{category_id:int}/",
                  product: str = "/shop/product/{product:int}-{slug}/") -> CatalogSettings:
    return CatalogSettings(patterns=CatalogPatterns(home=(compile_path_pattern("/"),),
                                                    category=(compile_path_pattern(category),),
                                                    product=(compile_path_pattern(product),)))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_segment, st.integers(min_value=0, max_value=10**6))
def test_a_parameter_before_a_literal_takes_the_whole_rest_of_the_segment(name: str, number: int) -> None:
    found = compile_path_pattern("/shop/category/{category}-{id:int}/").fullmatch(f"/shop/category/{name}-{number}/")
    assert found is not None
    assert (found["category"], found["id"]) == (name, str(number))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_segment, min_size=0, max_size=3), _segment, st.integers(min_value=0, max_value=999))
def test_any_depth_then_a_whole_segment(parents: list[str], name: str, number: int) -> None:
    path = "/catalogue/category/" + "".join(p + "/" for p in parents) + f"{name}_{number}/"
    found = compile_path_pattern("/catalogue/category/**/{category}_{id:int}/").fullmatch(path)
    assert found is not None and found["category"] == name and found["id"] == str(number)


@pytest.mark.parametrize("pattern, reason", [
    ("/c/**{category}", "right after a wildcard"),
    ("/c/*{category}", "right after a wildcard"),
    ("/c/{category}{id:int}", "right after another parameter"),
    ("/c/{category}*", "right after a {parameter}"),
    ("/c/{category}**", "right after a {parameter}"),
    ("/c/{category:slug}", "is not one of int, path"),
    ("/c/{category}/{category}", "twice"),
    ("c/{category}", "must start with '/'"),
])
def test_patterns_that_would_capture_part_of_a_segment_are_refused_with_the_reason(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        translate_path_pattern(pattern)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["*", "**", "{other}"]), st.sampled_from(["-", "_", "/", "x"]))
def test_a_literal_between_a_wildcard_and_a_parameter_is_enough(before: str, literal: str) -> None:
    translate_path_pattern(f"/c/{before}{literal}{{category}}/")  # no ValueError


def test_the_same_category_from_a_link_a_breadcrumb_and_a_pos_export_is_one_key() -> None:
    catalog = fjell_catalog()
    assert catalog.category_of("/shop/category/trail-shoes-3/") == "trail-shoes"
    assert catalog.category_of("http://shop.example/shop/category/trail-shoes-3/?sort=price") == "trail-shoes"
    assert catalog.category_of("Trail Shoes") == category_key("TRAIL SHOES") == "trail-shoes"
    assert catalog.category_of("/shop/product/1005-ridge-runner/") is None  # a product link names no category
    assert catalog.product_of("/shop/product/1005-ridge-runner/?variant=2011") == "1005"
    assert catalog.product_of("https://shop.example/shop/product/1005-ridge-runner/") == "1005"
    assert catalog.product_of("/shop/category/trail-shoes-3/") is None
    assert catalog.product_of(" 2011 ") == "2011"
    assert catalog.link_key("javascript:alert(1)", "product") is None
    assert catalog.link_key("shop/product/1005-x/", "product") is None  # relative to nothing: not a path


def test_a_segment_is_percent_decoded_all_or_nothing_as_the_browser_does() -> None:
    from slotwise.keys import percent_decoded

    assert percent_decoded("T%2DShirts") == "T-Shirts" and percent_decoded("caf%C3%A9") == "café"
    # what decodeURIComponent refuses stays as it is: a % that starts no escape, bytes that are not UTF-8
    assert percent_decoded("100%") == "100%" and percent_decoded("a%zz%41") == "a%zz%41"
    assert percent_decoded("%80") == "%80" and percent_decoded("%ed%a0%80") == "%ed%a0%80"  # a surrogate's bytes
    assert category_key("%80") == "80" and product_key("sku%2F1") == "sku/1" and product_key("sku%FF") == "sku%FF"
