"""The CPU of personalization alone, per page: no HTTP in front, no upstream fetch behind.

    python -m bench.proxy.personalize_cpu [--pages 2000] [--cprofile FILE.prof]

The real personalizer (``build_personalizer``, SQLite store, the four slots
of ``rules-4-slots.yaml``) in this process; 64 returning visitors are made
through the real app (``bench.proxy.breakdown.prepare``), then each page is
what the forwarding layer asks of the personalizer — ``on_request``,
``wants_body``, ``on_html`` on the origin's 120 KB page (fetched once),
``commit`` — one at a time. The figure is the process's CPU time per page
(every thread: the event loop's and the profile writer's, whose part is
printed too), so the machine's load moves it far less than wall time; the
wall time is printed beside it.
It is the part of a page ``bench.proxy.breakdown`` cannot separate from the
forwarding and the bench's own client.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..machine import describe
from .breakdown import ROOT, UA, prepare
from .profile_writes import writer_cpu
from .run import free_port, wait_port


async def run(args: argparse.Namespace) -> dict[str, float]:
    import httpx

    from slotwise.proxy.app import create_app
    from slotwise.proxy.config import Settings
    from slotwise.proxy.flow import Flow
    from slotwise.proxy.personalization.personalize import build_personalizer

    origin = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "bench.proxy.origin", str(origin), "--page-kb", "120"],
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_port(origin)
        with tempfile.TemporaryDirectory(prefix="sw-personalize-cpu-") as tmp:
            os.environ.update(SLOTWISE_UPSTREAM=f"http://127.0.0.1:{origin}", SLOTWISE_RULES=str(Path(args.rules).resolve()),
                              SLOTWISE_DATA=tmp, SLOTWISE_LOG_LEVEL="warning", SLOTWISE_PERSONALIZE_BUDGET_MS="100000")
            settings = Settings.from_env()
            app = create_app(settings, build_personalizer(settings))
            await app.startup()
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{origin}",
                                         headers={"user-agent": UA}) as client:
                cookies = await prepare(client, args.visitors)
            async with httpx.AsyncClient() as plain:
                html = (await plain.get(f"http://127.0.0.1:{origin}{args.path}")).content
            personalizer: Any = app.personalizer

            async def page(i: int) -> bytes:
                flow = Flow(method="GET", path=args.path, query_string="", client_ip="127.0.0.1", scheme="http",
                            public_host="127.0.0.1",
                            headers=[("user-agent", UA), ("cookie", f"sw_vid={cookies[i % len(cookies)]}"),
                                     ("accept", "text/html")])
                await personalizer.on_request(flow)
                flow.status = 200
                assert personalizer.wants_body(flow)
                body = await personalizer.on_html(flow, html)
                await personalizer.commit(flow)
                return body or b""

            for i in range(100):  # warm: rules compiled, the page read, caches filled
                body = await page(i)
            assert b"data-sw-decision" in body, "the pages are not personalized"
            await personalizer.store.flush()
            profiler = cProfile.Profile() if args.cprofile else None
            if profiler:
                profiler.enable()
            groups = personalizer.store.stats()["batches"]
            cpu, wall, writer = time.process_time(), time.perf_counter(), writer_cpu()
            for i in range(args.pages):
                await page(i)
            await personalizer.store.flush()  # the writer's work for these pages is part of their cost
            cpu, wall, writer = time.process_time() - cpu, time.perf_counter() - wall, writer_cpu() - writer
            groups = personalizer.store.stats()["batches"] - groups
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.cprofile)
            await app.shutdown()
    finally:
        upstream.terminate()
        upstream.wait(10)
    return {"cpu_ms": cpu * 1000 / args.pages, "wall_ms": wall * 1000 / args.pages,
            "writer_ms": writer * 1000 / args.pages, "per_group": args.pages / max(groups, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--visitors", type=int, default=64)
    parser.add_argument("--rules", default=str(ROOT / "bench" / "proxy" / "rules-4-slots.yaml"))
    parser.add_argument("--path", default="/p/p7")
    parser.add_argument("--cprofile", help="also write a cProfile of the timed pages to this file")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    before = os.getloadavg()[0]
    result = asyncio.run(run(args))
    print(f"`python -m bench.proxy.personalize_cpu --pages {args.pages}`: personalization CPU per page "
          f"{result['cpu_ms']:.3f} ms (all threads; the profile writer's {result['writer_ms']:.3f} ms, "
          f"{result['per_group']:.1f} pages a group), "
          f"wall {result['wall_ms']:.3f} ms; "
          f"load average {before:.2f} → {os.getloadavg()[0]:.2f}; {describe()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
