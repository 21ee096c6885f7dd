"""What a worker's Python heap holds after many distinct visitors, by line (tracemalloc), to check it is bounded.

    python -m bench.scale.worker_heap [--visitors 20000] [--warmup 5000] [--top 15]

The real app (``create_app`` + the real personalizer, SQLite store, all four
slots of ``bench/proxy/rules-4-slots.yaml``) runs in this process as a
worker of ``slotwise serve --workers N`` does: it follows, while the
dedicated learner (``slotwise learner``, a subprocess, as ``serve`` starts
it) holds the pending decisions. Requests go one at a time through its ASGI
interface to a real origin (``bench.proxy.origin``), each from the next of
``--visitors`` distinct visitors. tracemalloc snapshots are taken after
``--warmup`` visitors and at the end; the table lists the lines whose
allocations grew most between them, and the total. A bounded worker's heap
grows by a small, fixed amount whatever ``--visitors`` is (run it with two
sizes to see): the profile cache (4,096 profiles), the page readings (256)
and the product digests (20,000) fill up and stop. A second table gives the
memory outside that count at both points: the RSS, glibc malloc's arenas
(held, in use, free inside them) and SQLite's own allocations
(``--tune-malloc``: glibc's thresholds as a worker raises them).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.proxy.run import BROWSER_UA, free_port, wait_port  # noqa: E402
from bench.scale import smaps  # noqa: E402

SECRET = "bench-worker-heap-secret"
RULES = ROOT / "bench" / "proxy" / "rules-4-slots.yaml"


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def native() -> dict[str, float]:
    """MB outside the Python heap's own count: the RSS, glibc malloc's arenas (held from the OS, in use, free
    inside them, all arenas together; ``mallinfo2``), SQLite's own allocations (``sqlite3_memory_used``, the
    library ``_sqlite3`` links), the Python heap as tracemalloc counts it and tracemalloc's own overhead."""
    found: dict[str, float] = {}
    status = Path("/proc/self/status").read_text()
    found["rss"] = int(status.split("VmRSS:")[1].split()[0]) / 1024
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
        found |= {"malloc held": (info.arena + info.hblkhd) / 1e6, "malloc in use": (info.uordblks + info.hblkhd) / 1e6,
                  "malloc free": info.fordblks / 1e6}
    except (OSError, AttributeError):  # not glibc 2.33+
        pass
    try:
        sqlite = ctypes.CDLL("libsqlite3.so.0")
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        found["sqlite"] = sqlite.sqlite3_memory_used() / 1e6
    except (OSError, AttributeError):
        pass
    found |= obmalloc()
    for name, (rss, _) in smaps.by_kind(os.getpid()).items():
        found[f"RSS of {name}"] = rss / 1024
    found["python heap"] = tracemalloc.get_traced_memory()[0] / 1e6
    found["tracemalloc itself"] = tracemalloc.get_tracemalloc_memory() / 1e6
    return found


def obmalloc() -> dict[str, float]:
    """Python's small-object allocator (objects of 512 bytes or less, in 1 MB arenas it maps itself, outside
    glibc malloc): arenas held and bytes in use in them (``sys._debugmallocstats``, which writes to fd 2)."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
            ctypes.CDLL(None).fflush(None)  # C's stderr is buffered: into the file before fd 2 is given back
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    found: dict[str, float] = {}
    for line in text.splitlines():
        if "arenas * " in line:
            found["obmalloc arenas held"] = int(line.split("=")[-1].replace(",", "")) / 1e6
        elif line.startswith("# bytes in allocated blocks"):
            found["obmalloc in use"] = int(line.split("=")[-1].replace(",", "")) / 1e6
    return found


def _snapshot() -> tracemalloc.Snapshot | None:
    gc.collect()
    if not tracemalloc.is_tracing():
        return None
    return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


async def run(args: argparse.Namespace) -> tuple[list[Any], int, int, float]:
    import httpx

    from slotwise.proxy.app import create_app
    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.identity import VisitorCookies
    from slotwise.proxy.personalization.personalize import build_personalizer

    signer = VisitorCookies(SECRET.encode())
    origin = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    upstream = subprocess.Popen([sys.executable, "-m", "bench.proxy.origin", str(origin)], cwd=ROOT, env=env)
    learner: subprocess.Popen[bytes] | None = None
    try:
        wait_port(origin)
        with tempfile.TemporaryDirectory(prefix="sw-worker-heap-") as tmp:
            os.environ.update(SLOTWISE_UPSTREAM=f"http://127.0.0.1:{origin}", SLOTWISE_RULES=str(RULES),
                              SLOTWISE_DATA=tmp, SLOTWISE_STORE="", SLOTWISE_LOG_LEVEL="warning",
                              SLOTWISE_SECRET=SECRET, SLOTWISE_PERSONALIZE_BUDGET_MS="1000")
            learner = subprocess.Popen(
                [sys.executable, "-c", "import sys; from slotwise.cli import main; sys.exit(main())", "learner"],
                cwd=ROOT, env={**env, **{k: v for k, v in os.environ.items() if k.startswith("SLOTWISE_")}})
            lock = Path(tmp) / "slotwise.db.learner.lock"
            deadline = time.monotonic() + 60
            while not (lock.exists() and lock.read_text().strip() == str(learner.pid)):
                assert time.monotonic() < deadline and learner.poll() is None, "the learner process did not start"
                await asyncio.sleep(0.1)
            settings = Settings.from_env()
            app = create_app(settings, build_personalizer(settings))
            await app.startup()
            if args.settle:
                from slotwise.proxy.operations import heap

                heap.settle()
            assert not app.personalizer.learning.leading, "this process should follow the learner process"
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{origin}",
                                         headers={"user-agent": BROWSER_UA}) as client:
                before = None
                for i in range(args.visitors):
                    if i == args.warmup:
                        await asyncio.sleep(1.5)  # the learner's models of the warm-up are loaded
                        before = _snapshot()
                        native_before = native()
                    if args.every and i % args.every == 0:
                        now = native()
                        print(f"  visitor {i:6d} ({i / (args.distinct or args.visitors):.2f} views each): "
                              f"gc counts {gc.get_count()}, "
                              + ", ".join(f"{k} {v:.1f}" for k, v in now.items() if "tracemalloc" not in k), flush=True)
                    cookie = signer.sign(f"heap{i % (args.distinct or args.visitors):011d}")
                    client.cookies.clear()  # this client is many browsers: keep none of their cookies
                    r = await client.get(args.path, headers={"cookie": f"sw_vid={cookie}"})
                    assert r.status_code == 200
                await asyncio.sleep(1.5)
                after = _snapshot()
                native_after = native()
            pending_here = len(app.personalizer.learning.learner._pending)
            pending_learner = app.personalizer.learning.learner.pending_count
            await app.shutdown()
    finally:
        if learner is not None:
            learner.terminate()
            learner.wait(30)
        upstream.terminate()
        upstream.wait(10)
    stats = after.compare_to(before, "lineno") if before is not None and after is not None else []
    total = sum(s.size_diff for s in stats) / 1e6
    print("| MB | after warm-up | at the end | change |\n| --- | ---: | ---: | ---: |")
    for name, value in native_after.items():
        print(f"| {name} | {native_before.get(name, 0):.1f} | {value:.1f} | {value - native_before.get(name, 0):+.1f} |")
    return stats, pending_here, pending_learner, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--distinct", type=int, default=0,
                        help="visitors cycle over this many ids (0: every request a new visitor); e.g. --visitors 24000 "
                             "--distinct 8000 --warmup 12000 compares one and a half views a visitor with three")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--path", default="/p/p7")
    parser.add_argument("--every", type=int, default=0, help="print the memory outside the heap every N requests")
    parser.add_argument("--native-only", action="store_true",
                        help="no tracemalloc (its hooks hide Python's own arenas and cost memory): the second table only")
    parser.add_argument("--settle", action="store_true",
                        help="the collector as a worker sets it after start-up (heap.settle: frozen, young at 10,000)")
    parser.add_argument("--tune-malloc", action="store_true", help="glibc's thresholds as a worker sets them")
    args = parser.parse_args(argv)
    if args.tune_malloc:
        from slotwise.proxy.server import tune_malloc

        tune_malloc()
    if not args.native_only:
        tracemalloc.start(1)
    stats, here, there, total = asyncio.run(run(args))
    print(f"`python -m bench.scale.worker_heap --visitors {args.visitors} --warmup {args.warmup}`; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"\nheap growth from visitor {args.warmup:,} to {args.visitors:,}: {total:+.2f} MB "
          f"({total * 1e6 / max(1, args.visitors - args.warmup):+.0f} bytes per visitor); pending decisions held "
          f"here {here}, in the learner process {there:,}\n")
    print("| line | grew KB | blocks |")
    print("| --- | ---: | ---: |")
    for s in stats[: args.top]:
        frame = s.traceback[0]
        where = f"{Path(frame.filename).relative_to(ROOT) if frame.filename.startswith(str(ROOT)) else frame.filename}"
        print(f"| {where}:{frame.lineno} | {s.size_diff / 1024:+.1f} | {s.count_diff:+d} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
