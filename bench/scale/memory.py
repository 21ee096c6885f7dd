"""Redis memory per page view and per visitor, before and after the learner trims the log.

    .venv/bin/python -m bench.scale.memory [--visitors 100] [--views 5] [--threads 4]
    .venv/bin/python -m bench.scale.memory --worker-rss [--minutes 10] [--visitors 100000] ...

``--worker-rss`` runs ``bench.scale.worker_memory`` instead: the resident
memory of each ``slotwise serve`` worker over a long run with many distinct
visitors (flat within ± 10% is the target); its options follow.

Real parts: a throwaway redis-server, the demo store, one ``slotwise serve``
(Redis store, the demo rules) and then ``slotwise learner --log-retention 0``.
Each visitor (one cookie jar) views the home page ``--views`` times; each
view also posts the ``page_view`` event the tag would send. Memory is summed
per key family with ``MEMORY USAGE`` (and ``used_memory`` as a cross-check):
first with no learner running (the log as it grows), then once the learner
has snapshotted and trimmed everything (what a visitor keeps costing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "scale")]

import redis  # noqa: E402
from polling import wait_for  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from scale_helpers import Proc, browser, event, learner, post_events, proxy  # noqa: E402

from slotwise.demo.server import DemoServer  # noqa: E402

RULES = ROOT / "tests" / "scale" / "rules.yaml"


def families(client: redis.Redis) -> dict[str, tuple[int, int]]:
    """key family (``sw:p``, ``sw:lv`` ...) → (keys, bytes by MEMORY USAGE)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key in client.scan_iter(count=1000):
        name = key.decode()
        parts = name.split(":")
        family = ":".join(parts[:2]) if len(parts) > 1 else name
        out[family][0] += 1
        out[family][1] += int(client.memory_usage(key, samples=0) or 0)
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def traffic(base: str, visitors: list[int], views: int, counts: dict[str, int]) -> None:
    for _ in visitors:
        with browser() as client:
            for _ in range(views):
                page = client.get(f"{base}/", timeout=30)
                r = post_events(client, base, event("page_view", {"url": "/"}))
                counts["views"] += page.status_code == 200 and r.status_code < 300


def table(title: str, fams: dict[str, tuple[int, int]], views: int, visitors: int) -> str:
    lines = [f"{title}", "", "| family | keys | bytes | per page view | per visitor |", "| --- | ---: | ---: | ---: | ---: |"]
    total = 0
    for fam, (keys, size) in fams.items():
        total += size
        lines.append(f"| `{fam}` | {keys} | {size:,} | {size / views:,.0f} | {size / visitors:,.0f} |")
    lines.append(f"| all | | {total:,} | {total / views:,.0f} | {total / visitors:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    if "--worker-rss" in sys.argv[1:]:
        from bench.scale.worker_memory import main as worker_rss

        raise SystemExit(worker_rss([a for a in sys.argv[1:] if a != "--worker-rss"]))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=100)
    parser.add_argument("--views", type=int, default=5)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sw-memory-"))
    with RedisServer() as server, DemoServer(tmp / "demo") as demo:
        client = redis.Redis.from_url(server.url)
        front = proxy("proxy", demo.url, RULES, server.url, tmp / "data", tmp).start(wait=60)
        learn: Proc | None = None
        try:
            base_memory = int(client.info("memory")["used_memory"])
            counts = {"views": 0}
            chunks = [list(range(args.visitors))[i::args.threads] for i in range(args.threads)]
            started = time.monotonic()
            workers = [threading.Thread(target=traffic, args=(front.url, c, args.views, counts)) for c in chunks]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            views, visitors = counts["views"], args.visitors
            grown = int(client.info("memory")["used_memory"]) - base_memory
            before = families(client)
            print(f"{views} page views by {visitors} visitors in {time.monotonic() - started:.0f}s; "
                  f"used_memory +{grown:,} bytes = {grown / views:,.0f} per page view (no learner yet)\n")
            print(table("Before trimming (the log as it grows):", before, views, visitors))

            learn = learner(server.url, RULES, tmp)
            learn.args += ["--log-retention", "0", "--trim-every", "0"]
            learn.spawn()
            wait_for(lambda: client.xlen("sw:log") == 0, 120, what=f"the learner trims the log\n{learn.tail()}")
            after = families(client)
            kept = int(client.info("memory")["used_memory"]) - base_memory
            print(f"\nused_memory +{kept:,} bytes over the start once trimmed = {kept / visitors:,.0f} per visitor\n")
            print(table("After the learner snapshotted and trimmed (--log-retention 0):", after, views, visitors))
        finally:
            if learn is not None:
                learn.stop()
            front.stop()
            client.close()


if __name__ == "__main__":
    main()
