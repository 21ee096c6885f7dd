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
and the product digests (20,000) fill up and stop.
"""

from __future__ import annotations

import argparse
import asyncio
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

SECRET = "bench-worker-heap-secret"
RULES = ROOT / "bench" / "proxy" / "rules-4-slots.yaml"


def _snapshot() -> tracemalloc.Snapshot:
    gc.collect()
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
            assert not app.personalizer.learning.leading, "this process should follow the learner process"
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{origin}",
                                         headers={"user-agent": BROWSER_UA}) as client:
                before = None
                for i in range(args.visitors):
                    if i == args.warmup:
                        await asyncio.sleep(1.5)  # the learner's models of the warm-up are loaded
                        before = _snapshot()
                    cookie = signer.sign(f"heap{i % (args.distinct or args.visitors):011d}")
                    client.cookies.clear()  # this client is many browsers: keep none of their cookies
                    r = await client.get(args.path, headers={"cookie": f"sw_vid={cookie}"})
                    assert r.status_code == 200
                await asyncio.sleep(1.5)
                after = _snapshot()
            pending_here = len(app.personalizer.learning.learner._pending)
            pending_learner = app.personalizer.learning.learner.pending_count
            await app.shutdown()
    finally:
        if learner is not None:
            learner.terminate()
            learner.wait(30)
        upstream.terminate()
        upstream.wait(10)
    assert before is not None
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats) / 1e6
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
    args = parser.parse_args(argv)
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
