"""A page view's store work: inline SQLite transactions vs the per-worker cache and its group-committing writer.

    python -m bench.proxy.profile_writes [--views 4000] [--visitors 64] [--concurrency 32] [--processes 2]

What the personalizer does to the store for a returning visitor's product
page: record the view on the profile (and read it back), count the product's
view and co-views. ``inline`` is the plain SQLite store (two write
transactions per view, on the event loop); ``cached`` is what ``open_store``
gives a worker (``slotwise.store.profile_cache``). ``--processes`` workers
share one database file, each running ``--concurrency`` views at a time,
as a server's workers do. Reported: CPU per view (all processes, the writer
thread included), the writer threads' part of it and the rest (the event
loops), wall time, the longest time one view held its event loop (what every
other request of that worker waited), and for the cache the share of reads
the change board answered without a query and of reads that reloaded the row
(the other process wrote it since: each visitor's views alternate between
the processes, as behind a balancer without affinity).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITER_THREAD = "sw-profile-writer"


def writer_cpu() -> float:
    """CPU seconds the profile writer's thread of this process has used so far (0: none running)."""
    for thread in threading.enumerate():
        if thread.name == WRITER_THREAD and thread.ident is not None:
            try:
                return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, ProcessLookupError):  # it ended meanwhile
                return 0.0
    return 0.0


async def views(kind: str, data: str, n: int, visitors: int, concurrency: int, worker: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from slotwise.profile import record_view
    from slotwise.store import open_store
    from slotwise.store.sqlite import SQLiteStore

    store = open_store("", data) if kind == "cached" else SQLiteStore(Path(data) / "slotwise.db")
    longest = 0.0
    queue = list(range(n))

    async def one(i: int) -> None:
        nonlocal longest
        visitor = f"v{(i * 7 + worker) % visitors}"
        now = time.time()
        started = time.perf_counter()
        profile = await store.update_profile_soon(
            visitor, lambda p: record_view(p, now, category="socks", product=f"p{i % 20}"), now)
        co = [pid for pid in profile.products if pid != f"p{i % 20}"][-20:]
        await store.record_product_view_soon(f"p{i % 20}", co)
        longest = max(longest, time.perf_counter() - started)

    async def runner() -> None:
        while queue:
            await one(queue.pop())
            await asyncio.sleep(0)  # the rest of a request: other requests run in between

    cpu = time.process_time()
    wall = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(concurrency)))
    if kind == "cached":
        await store.flush()  # the writer's queue is written before the clock stops
    writer = writer_cpu()  # the thread started with the first view: all its CPU is this run's
    stats = store.stats() if kind == "cached" else {}
    await store.close()
    return {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "longest": longest,
            "writer": writer, "unasked": stats.get("unasked", 0), "misses": stats.get("misses", 0)}


def _worker(args: tuple[str, str, int, int, int, int]) -> dict[str, float]:
    return asyncio.run(views(*args))


def run(kind: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sw-writes-") as data:
        per = args.views // args.processes
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.processes) as pool:
            results = pool.map(_worker, [(kind, data, per, args.visitors, args.concurrency, w) for w in range(args.processes)])
    return {"cpu_us": sum(r["cpu"] for r in results) * 1e6 / args.views,
            "writer_us": sum(r["writer"] for r in results) * 1e6 / args.views,
            "wall_s": max(r["wall"] for r in results),
            "longest_ms": max(r["longest"] for r in results) * 1000,
            "unasked": sum(r["unasked"] for r in results) / args.views,
            "misses": sum(r["misses"] for r in results) / args.views}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", type=int, default=4000)
    parser.add_argument("--visitors", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"`python -m bench.proxy.profile_writes --views {args.views} --visitors {args.visitors} "
          f"--concurrency {args.concurrency} --processes {args.processes}`, load average {os.getloadavg()[0]:.2f}\n")
    print("| store | round | CPU µs per view | of which writer threads | the rest: event loops | wall s "
          "| longest view on the loop ms | reads with no query | reads that reloaded |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for round_no in range(1, args.rounds + 1):
        for kind in ("inline", "cached"):
            r = run(kind, args)
            shares = f"{r['unasked']:.0%} | {r['misses']:.0%}" if kind == "cached" else "– | –"
            print(f"| {kind} | {round_no} | {r['cpu_us']:.0f} | {r['writer_us']:.0f} | {r['cpu_us'] - r['writer_us']:.0f} "
                  f"| {r['wall_s']:.2f} | {r['longest_ms']:.1f} | {shares} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
