"""Times ``slotwise import purchases`` on a generated 1,000,000-row POS export.

    .venv/bin/python bench/imports.py [--rows 1000000] [--customers 100000] [--store sqlite|redis|URL]

Writes the CSV and a fresh store (SQLite in a temporary directory; ``redis``:
a throwaway redis-server on this machine, as ``bench.scale`` starts it; a
``redis://`` URL: that Redis, which should be empty), imports through the
same code path as the CLI, prints rows/s, then re-imports to time the
idempotent (nothing new) pass.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from slotwise.store import open_store
from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.imports import import_people_file

ROOT = Path(__file__).resolve().parents[1]

CATEGORIES = ["Running Shoes", "Socks", "Hats", "Jackets", "Bags", "Dog Food", "Cat Toys", "Gloves"]
SIZES = ["XS", "S", "M", "L", "XL", "38", "39", "40", "41", "42", "43", "44", ""]


def generate(path: Path, rows: int, customers: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("order_id,customer_id,email,ts,product,category,size,qty,price,channel\n")
        order = 0
        written = 0
        while written < rows:
            order += 1
            customer = rng.randrange(customers)
            day = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(8, 20):02d}:00:00"
            for _ in range(min(rows - written, rng.randint(1, 4))):
                category = rng.choice(CATEGORIES)
                f.write(
                    f"S{order},C{customer},,{day},P{rng.randrange(5000)},{category},{rng.choice(SIZES)},"
                    f"{rng.randint(1, 3)},{rng.randint(100, 20000) / 100},store\n"
                )
                written += 1


async def run(rows: int, customers: int, url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "pos.csv"
        t0 = time.perf_counter()
        generate(csv_path, rows, customers)
        print(f"generated {rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s")
        store = open_store(url, tmp) if url else SQLiteStore(Path(tmp) / "slotwise.db")
        for label in ("import", "re-import"):
            t0 = time.perf_counter()
            report = await import_people_file(store, csv_path, "purchases", time.time(), progress=True)
            elapsed = time.perf_counter() - t0
            print(f"{label}: {report.loaded:,} rows, {report.new:,} new lines, {report.rejected_count} rejected, "
                  f"{elapsed:.1f}s ({report.loaded / elapsed:,.0f} rows/s)")
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--store", default="sqlite", help="sqlite (default), redis (a throwaway redis-server) or a URL")
    args = parser.parse_args()
    if args.store == "redis":
        sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
        from bench.scale.run import redis_server

        with redis_server() as url:
            asyncio.run(run(args.rows, args.customers, url))
    else:
        asyncio.run(run(args.rows, args.customers, "" if args.store == "sqlite" else args.store))


if __name__ == "__main__":
    main()
