"""The profile's read-back between workers: how often a worker's copy is behind, and what catching up costs.

    python -m bench.proxy.profile_readback [--views 6000] [--visitors 64] [--concurrency 16]
        [--page-us 400] [--tree DIR] [--rounds 2]

Two worker processes share one SQLite file through ``open_store`` (the per-worker cache, its
writer thread, the change board), as ``slotwise serve``'s two workers do. Each runs
``--concurrency`` pages at a time; every page records a returning visitor's product view
(``PageViewRecorder``'s update) and reads the profile back, then spends ``--page-us`` of CPU on
the event loop (the rest of a page: what spaces a visitor's pages as a served page does). Each
worker cycles through the same ``--visitors``, so a visitor's pages alternate between the two
at random, as behind granian's shared socket.

Reported per round: the event loops' and the writer threads' CPU per view, the page work left
out (µs: the store's part only), and the reads by kind: answered by the change board (of which
caught up from views another worker's writer published, ``replayed``), and read from the
database (``misses``: the row queried and decoded); and the writers' reads of a row: their own
copy, a copy caught up from published views, or decoded. ``--tree`` runs another checkout's
``slotwise`` (before and after in one run: alternate it).
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
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WRITER_THREAD = "sw-profile-writer"


def _thread_cpu(name: str) -> float:
    for thread in threading.enumerate():
        if thread.name == name and thread.ident is not None:
            try:
                return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except (OSError, ProcessLookupError):
                return 0.0
    return 0.0


async def worker(tree: str, data: str, n: int, visitors: int, concurrency: int, page_us: float,
                 offset: int) -> dict[str, Any]:
    sys.path.insert(0, tree)
    from slotwise import profile as profiles
    from slotwise.store import open_store

    record_view = profiles.record_view
    view_record = getattr(profiles, "ViewRecord", None)  # the page's update as data (this pass), else a closure
    store = open_store("", data)
    counter = offset
    done = 0
    spent = [0.0]

    def update(now: float, product: str) -> Any:
        if view_record is not None:
            return view_record(now, "socks", product, 19.5, True)
        offer = {"price": 19.5, "in_stock": True}
        return lambda p: record_view(p, now, category="socks", product=product, offer=offer)

    async def one() -> None:
        nonlocal counter, done
        while done < n:
            done += 1
            counter += 1
            visitor = f"v{counter % visitors}"
            now = time.time()
            product = f"p{counter % 40}"
            started = time.thread_time()
            profile = await store.update_profile_soon(visitor, update(now, product), now)
            co = [pid for pid in profile.products if pid != product][-20:]
            await store.record_product_view_soon(product, co)
            spent[0] += time.thread_time() - started  # the loop's own CPU in the store's calls (none yield)
            end = time.thread_time() + page_us / 1e6  # the rest of the page, on the loop
            while time.thread_time() < end:
                pass
            await asyncio.sleep(0)

    # every visitor known to this worker first (as returning visitors are): the timed views are steady state
    for v in range(visitors):
        now = time.time()
        await store.update_profile_soon(f"v{v}", update(now, "p0"), now)
    await store.flush()
    base = dict(store.stats())
    kept = store._views.kept if getattr(store, "_views", None) is not None else None
    kept_base = {k: getattr(kept, k, 0) for k in ("decoded", "reused", "replayed")}
    cpu0, writer0 = time.process_time(), _thread_cpu(WRITER_THREAD)
    await asyncio.gather(*(one() for _ in range(concurrency)))
    await store.flush()
    cpu, writer = time.process_time() - cpu0, _thread_cpu(WRITER_THREAD) - writer0
    stats = {k: v - base.get(k, 0) for k, v in store.stats().items() if isinstance(v, int)}
    kept_now = {k: getattr(kept, k, 0) - kept_base[k] for k in kept_base}
    await store.close()
    return {"cpu": cpu, "writer": writer, "views": n, "store": spent[0], **stats, **{f"kept_{k}": v for k, v in kept_now.items()}}


def _run(args: tuple[Any, ...]) -> dict[str, Any]:
    return asyncio.run(worker(*args))


def run_round(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="sw-readback-") as data:
        ctx = multiprocessing.get_context("spawn")
        per = args.views // 2
        with ctx.Pool(2) as pool:
            results = pool.map(_run, [(args.tree, data, per, args.visitors, args.concurrency, args.page_us, k * 7)
                                      for k in range(2)])
    total = {k: sum(r.get(k, 0) for r in results) for k in results[0]}
    views = total["views"]
    page = args.page_us * views / 1e6
    return {
        "loop_us": (total["cpu"] - total["writer"] - page) * 1e6 / views,
        "store_us": total["store"] * 1e6 / views,
        "writer_us": total["writer"] * 1e6 / views,
        "board": total.get("unasked", 0) / views, "replayed": total.get("replayed", 0) / views,
        "misses": total.get("misses", 0) / views,
        "w_own": total["kept_reused"], "w_replayed": total["kept_replayed"], "w_decoded": total["kept_decoded"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--views", type=int, default=6000)
    parser.add_argument("--visitors", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--page-us", type=float, default=400.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tree", default=str(ROOT), help="the checkout whose slotwise runs")
    args = parser.parse_args(argv)
    print(f"`python -m bench.proxy.profile_readback --views {args.views} --visitors {args.visitors} "
          f"--concurrency {args.concurrency} --page-us {args.page_us:g} --tree {args.tree}`\n")
    print("| round | load | loop µs a view: the store's calls | loop µs a view: all but the page work | writer µs a view | reads: board | of which replayed "
          "| reads: row decoded | writer: own copy / replayed / decoded |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for round_no in range(1, args.rounds + 1):
        load = os.getloadavg()[0]
        r = run_round(args)
        print(f"| {round_no} | {load:.1f} | {r['store_us']:.1f} | {r['loop_us']:.1f} | {r['writer_us']:.1f} | {r['board']:.0%} "
              f"| {r['replayed']:.0%} | {r['misses']:.0%} | {r['w_own']} / {r['w_replayed']} / {r['w_decoded']} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
