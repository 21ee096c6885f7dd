"""Profile read/update latency and throughput: SQLite vs Redis, 1 and 2 instances.

    .venv/bin/python -m bench.scale.run [--ops 20000] [--concurrency 1,32] [--visitors 5000]
        [--instances 1,2] [--stores sqlite,redis] [--redis-url URL] [--out FILE.md]

Direct store calls, no HTTP: ``get_profile`` and ``update_profile`` (a page
view: record_view) on random visitors, ``--concurrency`` tasks in flight per
instance; an "instance" is a separate process with its own store object, as a
proxy worker would have. SQLite calls run inline (they block the event loop
for their microseconds), so their latency never includes queueing; Redis
latency at concurrency 32 does (32 calls share one event loop): concurrency 1
shows the round trip itself. Without ``--redis-url`` a throwaway redis-server
(no persistence) is started on a free port. Absolute numbers drift on a
shared machine: compare within one run.

``--part proxy`` (or ``all``) adds the proxy level (``bench/scale/proxy.py``):
wrk through nginx to 1 or 2 ``slotwise serve`` instances, SQLite vs Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from slotwise.profile import record_view  # noqa: E402
from slotwise.store import open_store  # noqa: E402

CATEGORIES = [f"cat{i}" for i in range(40)]


@dataclass
class Stats:
    """Latencies (seconds) of ``ops`` calls that took ``elapsed`` seconds of wall time."""

    name: str
    latencies: list[float]
    elapsed: float
    errors: int = 0

    @property
    def ops(self) -> int:
        return len(self.latencies)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def throughput(self) -> float:
        return self.ops / self.elapsed if self.elapsed else 0.0

    def row(self) -> str:
        ms = 1000
        return (
            f"| {self.name} | {self.ops} | {self.throughput:,.0f} | {self.pct(0.5) * ms:.2f} | "
            f"{self.pct(0.99) * ms:.2f} | {statistics.fmean(self.latencies) * ms:.2f} | {self.errors} |"
        )


HEADER = "| case | ops | ops/s | p50 ms | p99 ms | mean ms | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"


async def measure(name: str, call: Callable[[int], Awaitable[Any]], ops: int, concurrency: int) -> Stats:
    """Runs ``call(i)`` for i in range(ops) with ``concurrency`` in flight; the latency of each."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(ops))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            started = time.perf_counter()
            try:
                await call(i)
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Stats(name, latencies, time.perf_counter() - started, errors)


@contextmanager
def redis_server(url: str | None = None) -> Iterator[str]:
    """The given Redis URL, or a throwaway redis-server's."""
    if url:
        yield url
        return
    from redis_server import RedisServer

    with RedisServer() as server:
        yield server.url


# -- one instance's work (runs in its own process) -----------------------------------


def _view(now: float, category: str) -> Callable[[Any], None]:
    return lambda p: record_view(p, now, category=category)


async def _instance(url: str, data_dir: str, op: str, ops: int, concurrency: int, visitors: int, seed: int) -> Stats:
    store = open_store(url, data_dir)
    rng = random.Random(seed)
    now = time.time()
    try:
        if op == "update":
            async def call(i: int) -> Any:
                return await store.update_profile(f"v{rng.randrange(visitors)}", _view(now + i, rng.choice(CATEGORIES)), now + i)
        else:
            async def call(i: int) -> Any:
                return await store.get_profile(f"v{rng.randrange(visitors)}")
        return await measure(op, call, ops, concurrency)
    finally:
        await store.close()


def _instance_process(args: tuple[Any, ...], out: Any) -> None:
    stats = asyncio.run(_instance(*args))
    out.put((stats.latencies, stats.elapsed, stats.errors))


def run_case(name: str, url: str, data_dir: str, op: str, ops: int, concurrency: int, visitors: int, instances: int) -> Stats:
    """``instances`` processes share ``ops`` between them; latencies pooled, throughput over the wall time."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_instance_process, args=((url, data_dir, op, ops // instances, concurrency, visitors, seed), out))
        for seed in range(instances)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = [x for lat, _, _ in results for x in lat]
    # the processes start at slightly different times: the slowest instance's run is the wall time
    elapsed = max(e for _, e, _ in results) or (time.perf_counter() - started)
    return Stats(name, latencies, elapsed, sum(e for _, _, e in results))


async def _seed(url: str, data_dir: str, visitors: int) -> None:
    """Every visitor exists before the clock starts, so reads hit real profiles."""
    store = open_store(url, data_dir)
    now = time.time()
    try:
        sem = asyncio.Semaphore(64)

        async def one(i: int) -> None:
            async with sem:
                await store.update_profile(f"v{i}", _view(now, CATEGORIES[i % len(CATEGORIES)]), now)

        await asyncio.gather(*(one(i) for i in range(visitors)))
    finally:
        await store.close()


def store_benchmarks(stores: list[str], instances: list[int], ops: int, concurrencies: list[int], visitors: int,
                     redis_url: str | None = None) -> list[Stats]:
    """Every (store, instances, concurrency, get/update) case; prints a markdown row per case."""
    results: list[Stats] = []
    with tempfile.TemporaryDirectory(prefix="sw-bench-") as tmp, redis_server(redis_url) as rurl:
        urls = {"sqlite": f"sqlite:{tmp}/slotwise.db", "redis": rurl}
        for store in stores:
            asyncio.run(_seed(urls[store], tmp, visitors))
            for n in instances:
                for concurrency in concurrencies:
                    for op in ("get", "update"):
                        name = f"{store} {op}_profile, {n} inst × {concurrency}"
                        stats = run_case(name, urls[store], tmp, op, ops, concurrency, visitors, n)
                        print(stats.row(), flush=True)
                        results.append(stats)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=20_000, help="calls per case (shared by the instances)")
    parser.add_argument("--concurrency", default="1,32", help="calls in flight per instance (a list)")
    parser.add_argument("--visitors", type=int, default=5_000)
    parser.add_argument("--instances", default="1,2")
    parser.add_argument("--stores", default="sqlite,redis")
    parser.add_argument("--redis-url", default=None, help="an existing Redis (else one is started)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table(s) to this markdown file")
    parser.add_argument("--part", choices=["store", "proxy", "all"], default="store",
                        help="store calls (default), the proxy level (wrk + nginx), or both")
    parser.add_argument("--proxy-cases", default="sqlite:1,redis:1,redis:2", help="STORE:INSTANCES[xWORKERS],...")
    parser.add_argument("--duration", type=float, default=10.0, help="proxy level: seconds of load per case")
    parser.add_argument("--connections", type=int, default=32, help="proxy level: wrk connections")
    parser.add_argument("--workers", type=int, default=1, help="proxy level: --workers of each instance")
    parser.add_argument("--budget-ms", type=float, default=None,
                        help="proxy level: --personalize-budget-ms of the instances (default: the product's)")
    args = parser.parse_args(argv)
    tables: list[str] = []
    if args.part in ("store", "all"):
        print(f"ops={args.ops} per case, visitors={args.visitors}\n\n{HEADER}", flush=True)
        results = store_benchmarks(
            args.stores.split(","), [int(n) for n in args.instances.split(",")], args.ops,
            [int(c) for c in args.concurrency.split(",")], args.visitors, args.redis_url,
        )
        tables.append(HEADER + "\n" + "\n".join(r.row() for r in results))
    if args.part in ("proxy", "all"):
        import os

        from bench.scale.proxy import PROXY_HEADER, proxy_benchmarks, scaling_summary

        cases = []
        for case in args.proxy_cases.split(","):  # STORE:INSTANCES[xWORKERS]
            store, _, shape = case.partition(":")
            n, _, w = shape.partition("x")
            cases.append((store, int(n), int(w) if w else None))
        print(f"\nproxy level: wrk -c {args.connections} -t 2 -d {args.duration:g}s, GET / (demo rules), "
              f"--workers {args.workers} per instance, budget {args.budget_ms or 'default'} ms, {os.cpu_count()} cores\n\n{PROXY_HEADER}", flush=True)
        proxy_results = proxy_benchmarks(cases, duration=args.duration, connections=args.connections,
                                         workers=args.workers, redis_url=args.redis_url, budget_ms=args.budget_ms)
        summary = scaling_summary(proxy_results, os.cpu_count() or 1)
        print("\n" + summary, flush=True)
        tables.append(PROXY_HEADER + "\n" + "\n".join(r.row() for r in proxy_results) + "\n\n" + summary)
    if args.out:
        args.out.write_text("\n\n".join(tables) + "\n")


if __name__ == "__main__":
    main()
