"""A hostile page costs time linear in its size: the JSON-LD, meta and nonce scans never rescan it.

Each case times a page of n and of 8n hostile tags (best of 5). A linear scan
takes about 8 times as long; the regexes these scans replaced took about 64
times as long (2,500 unclosed JSON-LD scripts: 6 s). Prints the ratio per case
and exits 1 when one is above 30 (well past noise, well below quadratic).

    PYTHONPATH=. python bench/hostile_scans.py      (or: python -m bench hostile)
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable

from slotwise.rules.jsonld import extract_product
from slotwise.rules.product_facts import canonical_url, meta_tags
from slotwise.tag.assets import find_csp_nonce

HEAD = b"<!doctype html><html><body>"
CASES: dict[str, tuple[Callable[[bytes], object], bytes]] = {
    "unclosed-ld-json": (extract_product, b'<script type="application/ld+json">{"a": 1}'),
    "script-tag-never-closed": (extract_product, b"<script type=application/ld+json "),
    "closed-non-ld-scripts": (extract_product, b"<script>var a = 1;</script><script type='application/ld+json'>"),
    "unclosed-meta": (meta_tags, b"<meta name=a content=b "),
    "unclosed-link": (canonical_url, b"<link rel=x "),
    "unclosed-script-no-nonce": (find_csp_nonce, b"<script src=x "),
}
LIMIT = 30.0


def best_seconds(scan: Callable[[bytes], object], page: bytes, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        scan(page)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| case | 600 tags ms | 4,800 tags ms | ratio (linear ~8, quadratic ~64) |\n| --- | ---: | ---: | ---: |")
    worst = 0.0
    for name, (scan, tag) in CASES.items():
        small, big = best_seconds(scan, HEAD + tag * 600), best_seconds(scan, HEAD + tag * 4800)
        ratio = big / max(small, 1e-6)
        worst = max(worst, ratio)
        print(f"| {name} | {small * 1e3:.2f} | {big * 1e3:.2f} | {ratio:.1f} |")
    print(f"worst ratio {worst:.1f} (limit {LIMIT:.0f})")
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
