"""How fast this host runs a page's kind of work right now: a fixed unit of it, timed in CPU.

Why: on a shared 2-core VM the same tree's four-slot page cost 1.50 ms of CPU in one run and
0.83–1.05 ms in runs an hour later (docs/benchmarks.md, "Re-measured on the EPYC host in a later
session"), with no steal, no other process and the nginx baseline in its usual range. The load
average and the steal column cannot see a host that gets less done per CPU second (a neighbour on
the shared caches, a lower clock); the same unit of work, timed in CPU before each case, can.

The unit is what a personalized page does, in small: the bench's 120 KB storefront parsed by
Lexbor and searched with a few selectors, a profile-sized JSON round trip, a Python loop over
dicts and strings, and copies of the page. It runs in the bench's own process, between cases
(nothing of the bench runs then), ~10 ms a unit; ``probe`` gives the median of 25 units (~0.25 s:
shorter probes moved by ±15% on a quiet host).

    python -m bench.host_speed [--repeats 7]        # one probe, printed
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser

SELECTORS = ("nav.category-nav ul", "select#size option", "section.related", "div.product-grid a", "script")
SPREAD_WARN = 1.25
"""A run whose probes differ by more than this factor (slowest ÷ fastest) ran on a host whose speed
moved: its rounds are compared with their probes, or the run repeated. On a quiet host a probe moves
by ±8% (ten probes in a row: 8.5–10.0 ms), so a smaller factor would flag noise."""


@lru_cache(maxsize=1)
def _page() -> bytes:
    from .proxy.page import storefront

    return storefront(120)


def _profile() -> dict[str, object]:
    """About the size and shape of a returning visitor's profile."""
    return {
        "id": "v" * 32, "visits": 12, "categories": {f"c{i}": {"n": i, "ts": 1.7e9 + i} for i in range(12)},
        "products": {f"p{i}": {"n": i % 5, "seen": i % 2 == 0, "size": "M"} for i in range(40)},
        "purchases": [{"order_id": f"o{i}", "product": f"p{i}", "size": "M", "ts": 1.7e9 + i} for i in range(8)],
        "assignments": {f"slot{i}": {"arm": "a", "decision_id": "d" * 32} for i in range(4)},
    }


def _python_part(profile: dict[str, object]) -> int:
    """Dicts, attribute-free Python and strings: the rules' and the decide loop's kind of code."""
    products = profile["products"]
    assert isinstance(products, dict)
    weights = {key: (value["n"] + 1) / 7 for key, value in products.items()}
    total = 0
    for _ in range(40):
        ranked = sorted(products, key=lambda key: (weights[key], key))
        total += len(",".join(f"{key}={weights[key]:.2f}" for key in ranked[:12]).upper())
    return total


def unit() -> int:
    """One unit of page-like work; returns a number so that nothing is optimised away."""
    page = _page()
    found = 0
    for _ in range(4):
        parser = LexborHTMLParser(page)
        found += sum(len(parser.css(selector)) for selector in SELECTORS)
        text = json.dumps(_profile())
        found += len(json.loads(text))
        found += _python_part(_profile())
        pieces = [page[: len(page) // 2], b"<div>card</div>", page[len(page) // 2 :]]
        found += len(b"".join(pieces)) + len(page.decode("utf-8"))
    return found


def probe(repeats: int = 25) -> float:
    """CPU milliseconds of one unit: the median of ``repeats`` units, after one to warm up."""
    unit()
    times = []
    for _ in range(max(1, repeats)):
        start = time.process_time()
        unit()
        times.append((time.process_time() - start) * 1000.0)
    return statistics.median(times)


def spread(probes: list[float]) -> float | None:
    """Slowest ÷ fastest of a run's probes (None without two)."""
    measured = [p for p in probes if p > 0]
    return max(measured) / min(measured) if len(measured) >= 2 else None


def summary(probes: list[float]) -> str:
    """One line for a bench's output: the probes' range and whether the host's speed moved."""
    measured = [p for p in probes if p > 0]
    if not measured:
        return "host probe: not run"
    ratio = spread(measured)
    line = f"host probe (CPU ms of a page-like unit, before each case): {min(measured):.1f}–{max(measured):.1f} ms"
    if ratio is None:
        return line
    line += f", spread {100 * (ratio - 1):.0f}%"
    if ratio > SPREAD_WARN:
        line += (f" — **the host's speed moved by more than {100 * (SPREAD_WARN - 1):.0f}% during the run: "
                 "compare each round with its probe, or run again**")
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args(argv)
    print(f"{probe(args.repeats):.2f} ms of CPU a unit (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
