"""Cost of the journeys' visitor facts on the hot path: ``visitor.stage`` and ``visitor.interest``.

    .venv/bin/python bench/journeys.py [--repeat 2000]

A profile filled to its bounds (``slotwise.profile.MAX_*``: 100 categories,
200 products, 500 purchase lines, a cart) and a typical one; each fact is
read once from a fresh ``VisitorView`` (as one page view does) and timed
against two baselines measured in the same run: ``visitor.top_categories``
(an existing derived fact) and the profile's JSON round trip (what every
page view pays for the profile anyway). Ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from typing import Callable

from slotwise.profile import MAX_CATEGORIES, MAX_PRODUCTS, MAX_PURCHASES, Profile, add_to_cart, record_purchase, record_view
from slotwise.rules.visitor import VisitorView

T0 = 1_700_000_000.0


def filled(categories: int, products: int, purchases: int, seed: int = 3) -> Profile:
    rng = random.Random(seed)
    p = Profile.new("bench", T0)
    now = T0
    for i in range(products):
        now += rng.randint(1, 5000)
        record_view(p, now, category=f"c{i % categories}", product=f"p{i}")
    for i in range(categories):
        record_view(p, now, category=f"c{i}")
    for i in range(purchases):
        record_purchase(p, f"o{i}", [{"product": f"p{i % products}", "category": f"c{i % categories}", "ts": now - i * 3600}], now)
    for i in range(3):
        add_to_cart(p, {"product": f"p{i}", "category": f"c{i}", "price": 10})
    return p


def per_call(fn: Callable[[], object], repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeat)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    cases = {
        "full (100 cat, 200 prod, 500 lines)": filled(MAX_CATEGORIES, MAX_PRODUCTS, MAX_PURCHASES),
        "typical (8 cat, 20 prod, 6 lines)": filled(8, 20, 6),
    }
    print(f"{'profile':<38}{'fact':<26}{'µs/read':>10}{'× top_categories':>18}{'× JSON round trip':>19}")
    for name, profile in cases.items():
        baseline = per_call(lambda: VisitorView(profile)["top_categories"], args.repeat)
        roundtrip = per_call(lambda: Profile.from_dict(json.loads(json.dumps(profile.to_dict()))), max(1, args.repeat // 4))
        print(f"{name:<38}{'top_categories (baseline)':<26}{baseline:>10.1f}{1:>18.2f}{baseline / roundtrip:>19.2f}")
        for fact in ("stage", "interest", "interests"):
            cost = per_call(lambda: VisitorView(profile)[fact], args.repeat)
            print(f"{name:<38}{fact:<26}{cost:>10.1f}{cost / baseline:>18.2f}{cost / roundtrip:>19.2f}")
        print(f"{name:<38}{'(JSON round trip)':<26}{roundtrip:>10.1f}")


if __name__ == "__main__":
    main()
