"""Times a product feed's refresh (``FeedLoader.refresh``) of 10,000 products on both stores.

    .venv/bin/python bench/feed_refresh.py [--products 10000] [--store sqlite|redis|both]

Writes a JSON feed file and a fresh store (SQLite in a temporary directory;
``redis``: a throwaway redis-server, as ``bench.scale`` starts it), then times
three refreshes through the loader's own path: the first (an empty catalog),
the same feed again (nothing changed), and one with every price changed. Each
row is written as the store writes it (read, merged with the stored facts,
written when it changed). Prints the median of ``--repeat`` runs of each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from slotwise.proxy.personalization.catalog_feed import FeedLoader
from slotwise.store import open_store

ROOT = Path(__file__).resolve().parents[1]


def feed(path: Path, products: int, price_shift: float = 0.0) -> None:
    items = [{"id": f"P{i}", "name": f"Product {i}", "url": f"/p/{i}", "image": f"/img/{i}.jpg",
              "price": round(10 + i % 90 + price_shift, 2), "currency": "EUR", "category": f"cat-{i % 40}",
              "brand": f"Brand {i % 17}", "availability": "InStock", "stock": i % 30,
              "consumable": i % 5 == 0} for i in range(products)]
    path.write_text(json.dumps({"products": items}))


async def once(url: str, products: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        first, changed = Path(tmp) / "feed.json", Path(tmp) / "feed2.json"
        feed(first, products)
        feed(changed, products, price_shift=1.5)
        store = open_store(url, tmp)
        loader = FeedLoader(store, "http://shop.test", time.time)
        out: dict[str, float] = {}
        for label, path in (("first", first), ("same", first), ("prices changed", changed)):
            t0 = time.perf_counter()
            assert await loader.refresh(path, force=True) == products
            out[label] = time.perf_counter() - t0
        await store.close()
        return out


async def run(url: str, name: str, products: int, repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        if url:  # the same Redis for every run: emptied before each
            import redis

            redis.Redis.from_url(url).flushall()
        runs.append(await once(url, products))
    figures = ", ".join(f"{label} {statistics.median(r[label] for r in runs) * 1000:.0f} ms"
                        for label in runs[0])
    print(f"{name}: {products:,} products: {figures} (median of {repeat})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", default="both", choices=("sqlite", "redis", "both"))
    args = parser.parse_args()
    if args.store in ("sqlite", "both"):
        asyncio.run(run("", "sqlite", args.products, args.repeat))
    if args.store in ("redis", "both"):
        sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
        from bench.scale.run import redis_server

        with redis_server() as url:
            asyncio.run(run(url, "redis", args.products, args.repeat))


if __name__ == "__main__":
    main()
