"""A hostile page costs time linear in its size: the JSON-LD, meta and nonce scans never rescan the page.

Each case times a page of n and of 8n hostile tags: a linear scan takes
about 8 times as long (allowing 30x for noise), the old regexes took 64
times as long (2,500 unclosed JSON-LD scripts: 6 s).
"""

from __future__ import annotations

import time
from typing import Callable

import pytest

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.jsonld import extract_product
from slotwise.rules.product_facts import canonical_url, meta_tags, structured_product
from slotwise.tag.assets import find_csp_nonce

HEAD = b"<!doctype html><html><body>"
PRODUCT = b'<script type="application/ld+json">{"@type": "Product", "sku": "p1", "name": "Socks"}</script>'


def _seconds(f: Callable[[bytes], object], page: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        f(page)
        best = min(best, time.perf_counter() - start)
    return best


CASES = {
    "unclosed-ld-json": (extract_product, b'<script type="application/ld+json">{"a": 1}'),
    "script-tag-never-closed": (extract_product, b"<script type=application/ld+json "),
    "closed-non-ld-scripts": (extract_product, b"<script>var a = 1;</script><script type='application/ld+json'>"),
    "unclosed-meta": (meta_tags, b"<meta name=a content=b "),
    "unclosed-link": (canonical_url, b"<link rel=x "),
    "unclosed-script-no-nonce": (find_csp_nonce, b"<script src=x "),
}


@pytest.mark.parametrize("name", CASES)
def test_scan_time_is_linear_in_the_hostile_tags(name: str) -> None:
    scan, tag = CASES[name]
    small, big = HEAD + tag * 600, HEAD + tag * 4800
    t_small, t_big = _seconds(scan, small), _seconds(scan, big)
    assert t_big < 0.5, t_big
    assert t_big < 30 * max(t_small, 1e-4), (t_small, t_big)


def test_a_product_after_hostile_scripts_is_still_found_when_they_close() -> None:
    page = HEAD + b"<script>x</script>" * 100 + PRODUCT
    assert extract_product(page)["id"] == "p1"
    product, declared = structured_product(page, CatalogSettings())
    assert declared and product is not None and product["name"] == "Socks"
    assert extract_product(HEAD + b"<script>x</script>" * 600 + PRODUCT) is None  # past the scripts scanned
