"""Micro-benchmark of the HTML rewriting engine on a generated ~120 KB storefront page.

    .venv/bin/python bench/rewrite.py [--size-kb 120] [--repeat 200]

Prints median µs per page for: Lexbor parse, parse+serialise, hashing, and
``rewrite`` with 3 and 10 edits (cold: no position cache, and warm: cached).
Compare ratios within one run only (see the performance notes).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
import zlib
from collections.abc import Callable

from selectolax.lexbor import LexborHTMLParser

from slotwise.html import Edit, clear_cache, rewrite
from slotwise.html.testing import CATEGORIES, make_storefront_page

CARDS = "".join(
    f'<article class="product-card" data-product-id="r{i}"><a href="/p/r{i}"><h3>Rec {i}</h3></a></article>'
    for i in range(4)
)

EDITS_3 = [
    Edit("categories", "nav.category-nav ul", "reorder", order=["sale", "bags"], decision_id="d1"),
    Edit("recommendations", "section.related", "replace", html=f'<section class="recs">{CARDS}</section>', decision_id="d2"),
    Edit("size", "#size", "select-option", value="42", decision_id="d3"),
]
EDITS_10 = EDITS_3 + [
    Edit("tiles", ".category-tiles", "reorder", order=list(reversed(CATEGORIES)), decision_id="d4"),
    Edit("popup", "body", "append", html='<div id="sw-exit" hidden><form>…</form></div>', decision_id="d5"),
    Edit("banner", "main", "prepend", html='<div class="banner">Free shipping</div>', decision_id="d6"),
    Edit("cart", ".cart-count", "set-attribute", attributes={"data-n": "3"}),
    Edit("qty", "input[name=qty]", "set-value", value="2"),
    Edit("note", "textarea[name=note]", "set-value", value="gift & wrap"),
    Edit("footer", "footer", "before", html="<aside>Stores near you</aside>", decision_id="d7"),
]


def measure(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-kb", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    page = make_storefront_page(args.size_kb)
    for edits in (EDITS_3, EDITS_10):
        r = rewrite(page, edits, cache=False)
        assert r.method == "splice" and all(r.matches.values()), (r.method, r.matches, r.fallback_reason)

    def cold(edits: list[Edit]) -> Callable[[], object]:
        return lambda: rewrite(page, edits, cache=False)

    def warm(edits: list[Edit]) -> Callable[[], object]:
        return lambda: rewrite(bytes(bytearray(page)), edits)  # a fresh bytes object, as per request

    def cold_with_cache(edits: list[Edit]) -> Callable[[], object]:
        def run() -> object:
            clear_cache()
            return rewrite(page, edits)
        return run

    rows = [
        ("selectolax parse", lambda: LexborHTMLParser(page)),
        ("selectolax parse + serialise", lambda: LexborHTMLParser(page).html.encode()),
        ("sha256 of page (cache key)", lambda: hashlib.sha256(page).digest()),
        ("crc32 of page (for comparison)", lambda: zlib.crc32(page)),
        ("rewrite 3 edits, no cache", cold(EDITS_3)),
        ("rewrite 3 edits, cache miss", cold_with_cache(EDITS_3)),
        ("rewrite 3 edits, cache hit", warm(EDITS_3)),
        ("rewrite 10 edits, no cache", cold(EDITS_10)),
        ("rewrite 10 edits, cache hit", warm(EDITS_10)),
        ("rewrite, no edit matches", lambda: rewrite(page, [Edit("x", "#nope", "remove")], cache=False)),
    ]
    print(f"page: {len(page) / 1024:.1f} KB, median of {args.repeat} runs")
    base = None
    for name, fn in rows:
        us = measure(fn, args.repeat)
        base = base or us
        print(f"{name:34s} {us:9.0f} µs  ({us / base:4.2f}× parse)")


if __name__ == "__main__":
    main()
