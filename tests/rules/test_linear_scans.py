"""Hostile pages (thousands of unclosed tags) are scanned to the right answer.

How long those scans take (linear in the page, not quadratic) is measured in
bench/hostile_scans.py, not here: speed lives in benchmarks.
"""

from __future__ import annotations

import pytest

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.jsonld import extract_product
from slotwise.rules.product_facts import canonical_url, meta_tags, structured_product
from slotwise.tag.assets import find_csp_nonce

HEAD = b"<!doctype html><html><body>"
PRODUCT = b'<script type="application/ld+json">{"@type": "Product", "sku": "p1", "name": "Socks"}</script>'


CASES = {
    "unclosed-ld-json": (extract_product, b'<script type="application/ld+json">{"a": 1}', None),
    "script-tag-never-closed": (extract_product, b"<script type=application/ld+json ", None),
    "closed-non-ld-scripts": (extract_product, b"<script>var a = 1;</script><script type='application/ld+json'>", None),
    "unclosed-meta": (meta_tags, b"<meta name=a content=b ", {}),
    "unclosed-link": (canonical_url, b"<link rel=x ", None),
    "unclosed-script-no-nonce": (find_csp_nonce, b"<script src=x ", None),
}


@pytest.mark.parametrize("name", CASES)
def test_a_hostile_page_yields_nothing_rather_than_garbage(name: str) -> None:
    scan, tag, nothing = CASES[name]
    assert scan(HEAD + tag * 4800) == nothing


def test_a_product_after_hostile_scripts_is_still_found_when_they_close() -> None:
    page = HEAD + b"<script>x</script>" * 100 + PRODUCT
    assert extract_product(page)["id"] == "p1"
    product, declared = structured_product(page, CatalogSettings())
    assert declared and product is not None and product["name"] == "Socks"
    assert extract_product(HEAD + b"<script>x</script>" * 600 + PRODUCT) is None  # past the scripts scanned
