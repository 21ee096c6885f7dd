"""What the journeys add to a page view: loading their data and computing their facts.

    .venv/bin/python bench/journeys_data.py [--runs 2000]

A returning visitor with a 40-line purchase history (online and in store),
a waiting cart and 20 products viewed; an embedded SQLite store with the
demo-sized catalog, stock for 20 stores and 3,000 buyers' intervals. The
baseline, measured in the same run, is the page's context with the four
slots' facts only; the ratio is the price of a page whose slots read every
journey fact (the proxy loads only what a page's slots name).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from slotwise.profile import Profile, add_to_cart, import_purchase_lines, record_view
from slotwise.proxy.personalization.journeys import JourneyLoader
from slotwise.rules import build_context, load_rules, request_facts
from slotwise.rules.journey_facts import JOURNEY_FACTS
from slotwise.store.base import InventoryRow
from slotwise.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
DAY = 86_400.0


def visitor(now: float) -> Profile:
    p = Profile.new("v", now - 400 * DAY)
    for n in range(40):
        category = ("socks", "dog-toys", "t-shirts", "running-shoes")[n % 4]
        import_purchase_lines(p, f"o{n}", [{"product": f"{800 + n % 6}", "category": category, "size": "M", "qty": 1,
                                            "price": 10.0, "ts": now - (400 - 9 * n) * DAY, "store": "berlin-mitte"}],
                              now, channel="store" if n % 2 else "online")
    for n in range(20):
        record_view(p, now - DAY + n, category="socks", product=f"{100 + n}", offer={"price": 20.0, "in_stock": n % 3 != 0})
    add_to_cart(p, {"product": "203", "size": "42", "qty": 1, "price": 89.0, "added": now - DAY})
    record_view(p, now, category="running-shoes", product="102")
    return p


async def run(runs: int) -> None:
    rules = load_rules(ROOT / "slotwise" / "rules" / "examples" / "demo.yaml")
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        await store.upsert_products([{"id": str(i), "name": f"P{i}", "price": 9.5, "in_stock": True, "stock": 4,
                                      "category": "socks"} for i in range(100, 1000)], now)
        stores = {f"s{n}": f"Store {n}" for n in range(20)}
        await store.replace_inventory(stores, [InventoryRow(s, "102", z, 3) for s in stores for z in ("40", "42", "44")], now)
        await store.set_reorder_intervals({f"b{n}": {"category:socks": 20.0 + n % 9, "category:dog-toys": 11.0}
                                           for n in range(3000)})
        profile = visitor(now)
        page = SimpleNamespace(product={"id": "102"}, category="running-shoes")
        request = request_facts([("user-agent", "Mozilla/5.0")], [])
        slots = [s for s in rules.slots if s.reads]

        async def journeys() -> None:
            data = await loader.load(rules, profile, page, slots, now)
            ctx = build_context(profile, page, request, "v", data)  # type: ignore[arg-type]
            for name in JOURNEY_FACTS:
                ctx.visitor[name]

        async def baseline() -> None:
            ctx = build_context(profile, page, request, "v")  # type: ignore[arg-type]
            for name in ("recent_categories", "top_categories", "preferred_size", "has_cart", "cart_value"):
                ctx.visitor[name]

        loader = JourneyLoader(store)
        for name, fn in (("baseline: the four slots' facts", baseline), ("every journey fact, data loaded", journeys)):
            for _ in range(50):
                await fn()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                await fn()
                times.append(time.perf_counter() - t0)
            median = statistics.median(times) * 1e6
            results[name] = median
            print(f"{name:<36} median {median:8.1f} µs   p90 {sorted(times)[int(runs * 0.9)] * 1e6:8.1f} µs")
        await store.close()
    base, full = results.values()
    print(f"ratio {full / base:.1f}x the baseline; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


results: dict[str, float] = {}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2000)
    asyncio.run(run(parser.parse_args().runs))
