"""The recommendation slot's path alone, N times: for instruction counts of its cuts (eleventh pass).

    PYTHONPATH=. valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        .venv/bin/python -m bench.proxy.recommend_path --iterations N [--tree DIR]     # N = 200 and 2200

A SQLite store of 60 products with view and co-view counts, a visitor with
eight viewed products, a purchase and a cart line, on a product page. Each
iteration is what a four-slot page spends on its recommendation slot —
``fetch_recommendations`` (candidates, ``rank``) and the four picks' card
template rendered from its cache as ``Slot._render`` does — plus a cached
copy's personalized headers with a new ``Age`` (the HTML cache's part of a
page). Nothing in the loop depends on the clock (the candidate lists are kept
for the run) and no thread runs, so the difference of two runs' instructions
over their iterations is the path's own, the same run after run: a
whole page's count (``bench.proxy.breakdown`` under valgrind) moves ±3%
with the load, since the profile writer's groups and the lists' expiry
follow the clock. ``--tree`` measures another checkout's ``slotwise``.
Without valgrind it prints the CPU time an iteration.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CATEGORIES = ["shoes", "bags", "coats", "hats"]
NOW = 1_700_000_000.0


async def run(iterations: int) -> tuple[float, str]:
    from slotwise.profile import Profile
    from slotwise.proxy.forwarding import headers as forwarded
    from slotwise.proxy.personalization import recommendations
    from slotwise.rules import recommend
    from slotwise.rules import ruleset as rules_module
    from slotwise.rules.loader import load_rules
    from slotwise.store.sqlite import SQLiteStore

    recommendations._popular_cache.ttl = recommendations._co_viewed_cache.ttl = 1e9  # no refetch on the clock
    with tempfile.TemporaryDirectory(prefix="sw-recommend-path-") as tmp:
        store = SQLiteStore(Path(tmp) / "slotwise.db")
        await store.upsert_products([
            {"id": f"p{i}", "name": f"Product {i}", "url": f"/p/p{i}", "image": f"/img/{i}.jpg", "price": 10.0 + i % 90,
             "currency": "EUR", "category": CATEGORIES[i % 4], "in_stock": True} for i in range(60)], NOW)
        for i in range(60):
            await store.record_product_view(f"p{i}", [f"p{(i + k) % 60}" for k in range(1, 6)])
            await store.record_product_view("p7", [f"p{i}"])
        profile = Profile.new("v1", NOW)
        for i in range(8):
            profile.products[f"p{3 * i}"] = {"count": 1, "last": NOW + i, "category": CATEGORIES[(3 * i) % 4]}
            profile.categories[CATEGORIES[i % 4]] = {"count": i + 1, "last": NOW + i}
        profile.purchases = [{"product": "p9"}]
        profile.cart = [{"product": "p12"}]
        slot = load_rules(ROOT / "bench" / "proxy" / "rules-4-slots.yaml").slot("recommendations")
        variant = slot.variants[0]
        page = SimpleNamespace(product={"id": "p7"}, category="bags")
        names = {"vars": variant.vars, "slot": slot.id, "variant": variant.id}
        stored = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"public, max-age=600"),
                  (b"etag", b'"abc"'), (b"last-modified", b"Thu, 03 Dec 2026 00:00:00 GMT"), (b"vary", b"Accept-Encoding"),
                  (b"date", b"Thu, 03 Dec 2026 00:00:00 GMT"), (b"server", b"nginx"), (b"content-length", b"123456")]
        keyed = getattr(recommend, "KeyedPicks", None)  # absent in a tree before the eleventh pass
        kept_headers: dict[str, Any] = {}
        html, out = "", []
        started = time.process_time()
        for i in range(iterations):
            picks = await recommendations.fetch_recommendations(store, variant.recommend, page, profile)
            four = picks[: variant.recommend.limit]
            if keyed is not None and type(picks) is keyed:
                frozen = rules_module._frozen_recommendations(four, picks.render_keys[: len(four)])
            else:
                frozen = rules_module._frozen_recommendations(four)
            html = variant.template.render(names, {"recommendations": frozen})
            sent = [*stored, (b"age", str(i % 600).encode())]
            if hasattr(forwarded, "personalized_kept"):
                out = forwarded.personalized_kept(sent, 120_000 + i, kept_headers)
            else:
                out = forwarded.personalized(sent, 120_000 + i)
        cpu = time.process_time() - started
        await store.close()
    return cpu, f"{len(html)} bytes of cards, {variant.template.hits} hits, {len(out)} headers"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--tree", default=str(ROOT), help="the checkout whose slotwise is measured")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(args.tree).resolve()))
    cpu, what = asyncio.run(run(args.iterations))
    print(f"`python -m bench.proxy.recommend_path --iterations {args.iterations} --tree {args.tree}`: "
          f"{cpu * 1e6 / max(args.iterations, 1):.1f} µs CPU an iteration ({what})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
