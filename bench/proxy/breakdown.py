"""Where a personalized page's time goes, step by step (forward, decode, profile read/write, decide, ...).

    python -m bench.proxy.breakdown [--requests 1000] [--visitors 64] [--rules bench/proxy/rules-4-slots.yaml]
        [--path /p/p7] [--store sqlite|redis://...] [--cprofile FILE.prof]
        [--cache-control "public, max-age=600"] [--tree DIR] [--concurrency 16 --rounds 3] [--no-category]

The real app (``create_app`` + the real personalizer and store) runs in this
process in front of a real origin on 127.0.0.1 (``bench.proxy.origin``, a
120 KB page marked ``no-store``), driven one request at a time through its
ASGI interface, for returning visitors with a history (two categories, a
purchase with a size, a cart: all four slots apply). Each step's functions
are wrapped with a timer; a step's time excludes the steps nested in it, and
``forward`` is what is left of the request (ASGI, upstream fetch, headers,
sending; it includes the bench's own in-process client). Each step has two
figures: wall time, and the CPU time of the event loop's thread during it
(``time.thread_time``), which leaves out the time the loop waited for the
interpreter (held by another thread) or for a core — on a loaded machine
most of a step's wall time can be that wait. ``background`` is work done
off the request path (the profile writer's thread CPU), shown for
completeness: it costs CPU, not latency. The
personalization budget is raised (``--budget-ms``) so that every page goes
the whole way even on a loaded machine.

``--cache-control`` is the origin's header: ``"public, max-age=600"`` makes
the page cacheable, so every timed page is served from the upstream HTML
cache (``HTML cache`` is its lookup and the stored page's copy for the
visitor; ``forward`` then has no upstream fetch). ``--tree DIR`` measures
another checkout's ``slotwise`` with this bench (a step whose function that
tree lacks is not wrapped), for before/after runs side by side.

``--no-category`` serves product pages that name no category (a Shopify
theme's), with a catalog that knows each product's (a feed's rows, written
before the visitors are prepared): the page takes the catalog's.

``--concurrency N`` drops the steps and gives only the process's CPU per page,
round by round, with N pages at a time driven straight through the app's
ASGI interface (no HTTP client, the heap frozen as a served worker's): the
in-process figure for before/after runs of ``--tree``s, interleaved.

Sequential requests make the attribution exact; the throughput under load is
``bench.proxy.run``'s job.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from ..machine import describe
from .run import BROWSER_UA as UA
from .page import catalog_rows, history
from .run import free_port, visitor_events, wait_port

ROOT = Path(__file__).resolve().parents[2]

STEPS = ["forward", "HTML cache", "decode", "identity", "page read", "slots", "profile read", "profile write", "catalog",
         "capture", "decide", "recommendations", "render", "splice", "inject", "re-encode", "log", "personalizer other"]


class Clock:
    """Exclusive time per step: the innermost running step gets the time (requests run one at a time).

    Two clocks: wall time, and the CPU time of the thread that ran the step
    (``time.thread_time``: what the step cost, without the time its thread
    waited for the interpreter or for a core, which on a loaded machine can
    be most of the wall time).
    """

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.background: dict[str, float] = defaultdict(float)
        self.stack: list[list[Any]] = []  # [step, started, started cpu, nested, nested cpu]

    def enter(self, step: str) -> None:
        self.stack.append([step, time.perf_counter(), time.thread_time(), 0.0, 0.0])

    def leave(self) -> None:
        step, started, started_cpu, nested, nested_cpu = self.stack.pop()
        took = time.perf_counter() - started
        took_cpu = time.thread_time() - started_cpu
        self.spent[step] += took - nested
        self.cpu[step] += took_cpu - nested_cpu
        if self.stack:
            self.stack[-1][3] += took
            self.stack[-1][4] += took_cpu

    def wrap(self, step: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        if not asyncio.iscoroutinefunction(fn):
            plain = fn

            @functools.wraps(fn)
            def fn(*args: Any, **kwargs: Any) -> Any:  # the profile writer's thread runs beside requests
                if threading.current_thread().name != "sw-profile-writer":
                    return plain(*args, **kwargs)
                started = time.thread_time()
                try:
                    return plain(*args, **kwargs)
                finally:
                    self.background[f"profile writer: {step}"] += time.thread_time() - started

        if asyncio.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                self.enter(step)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    self.leave()
            return timed_async

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == "sw-profile-writer":
                return fn(*args, **kwargs)
            self.enter(step)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()
        return timed

    def patch(self, step: str, owner: Any, name: str) -> None:
        if hasattr(owner, name):
            setattr(owner, name, self.wrap(step, getattr(owner, name)))


def instrument(clock: Clock, app: Any) -> None:
    """Wraps the functions each step is made of (module globals are looked up at call time)."""
    from slotwise.html import rewrite as rewrite_module  # noqa: F401 — the module behind personalize.rewrite
    from slotwise.proxy.forwarding import encoding, forward_cached, forward_html, html_cache
    from slotwise.proxy.personalization import pageviews, personalize
    from slotwise.rules import ruleset
    from slotwise.store.sqlite import profiles as sqlite_profiles

    personalizer = app.personalizer
    store = personalizer.store
    for module in (encoding, forward_html):
        for name in ("decode",):
            clock.patch("decode", module, name)
        clock.patch("re-encode", module, "encode")
    clock.patch("decode", encoding.Decoder, "feed")
    clock.patch("re-encode", encoding.Encoder, "feed")
    clock.patch("re-encode", encoding.Encoder, "finish")
    cls = personalizer  # on the instance: its class- and static methods stay callable as they are
    clock.patch("identity", cls, "on_request")
    clock.patch("HTML cache", forward_cached.CachedPages, "eligible")
    clock.patch("HTML cache", html_cache.HtmlCache, "lookup")
    clock.patch("HTML cache", html_cache.CachedPage, "for_visitor")
    clock.patch("slots", cls, "_slots")
    clock.patch("page read", cls, "_bounded_read")
    clock.patch("page read", personalize, "page_facts")
    clock.patch("page read", personalize, "request_facts")
    clock.patch("personalizer other", cls, "on_html")
    clock.patch("decide", cls, "_choose")
    clock.patch("decide", personalize, "build_context")
    clock.patch("decide", ruleset.Slot, "applies")
    clock.patch("render", ruleset.Slot, "render")
    clock.patch("recommendations", personalize, "fetch_recommendations")
    clock.patch("splice", personalize, "rewrite")
    clock.patch("inject", personalize, "inject_before_body_end")
    clock.patch("inject", personalize, "script_tag")
    clock.patch("catalog", pageviews.PageViewRecorder, "learn")
    try:  # a page naming no category takes the catalog's (a tree from before has no such step)
        from slotwise.proxy.personalization import catalog_category
    except ImportError:
        pass
    else:
        clock.patch("catalog", catalog_category.CatalogCategories, "of")
    clock.patch("capture", type(personalizer.capture), "on_page")
    clock.patch("profile read", sqlite_profiles, "_load")
    clock.patch("profile write", sqlite_profiles, "write_views")  # the writer thread: background
    for target in {id(store): store, id(getattr(store, "inner", store)): getattr(store, "inner", store)}.values():
        clock.patch("profile read", target, "get_profile")
        clock.patch("profile read", target, "_current")  # the cache's version check (and reload)
        clock.patch("profile read", target, "load_profile")
        clock.patch("profile write", target, "update_profile")
        clock.patch("profile write", target, "update_profile_soon")
        clock.patch("catalog", target, "record_product_view")
        clock.patch("catalog", target, "upsert_products")
        clock.patch("log", target, "append")


async def prepare(client: Any, n: int) -> list[str]:
    """Returning visitors as ``bench.proxy.run`` prepares them: a history (``page.history``), a purchase
    with a size, a cart (all four slots apply, the recommendation slot with cards)."""
    cookies = []
    for i in range(n):
        client.cookies.clear()
        for path in history(i):
            await client.get(path)
        r = await client.post("/_sw/events", json={"events": visitor_events(i)})
        assert r.status_code == 200, r.text
        cookies.append(client.cookies["sw_vid"])
    client.cookies.clear()
    return cookies


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from slotwise.proxy.app import create_app
    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.personalize import build_personalizer

    origin = free_port()
    upstream = subprocess.Popen([sys.executable, "-m", "bench.proxy.origin", str(origin), "--page-kb", str(args.page_kb),
                                 "--cache-control", args.cache_control, *(["--no-category"] if args.no_category else [])],
                                cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_port(origin)
        with tempfile.TemporaryDirectory(prefix="sw-breakdown-") as tmp:
            os.environ.update(SLOTWISE_UPSTREAM=f"http://127.0.0.1:{origin}", SLOTWISE_RULES=str(Path(args.rules).resolve()),
                              SLOTWISE_DATA=tmp, SLOTWISE_STORE=args.store, SLOTWISE_LOG_LEVEL="warning",
                              # every page goes the whole way (a loaded machine must not cut steps short)
                              SLOTWISE_PERSONALIZE_BUDGET_MS=str(args.budget_ms))
            settings = Settings.from_env()
            app = create_app(settings, build_personalizer(settings))
            await app.startup()
            if args.no_category:  # the catalog knows what the pages do not say (a feed's rows)
                await app.personalizer.store.upsert_products(catalog_rows(), time.time())
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{origin}", headers={"user-agent": UA}) as client:
                cookies = await prepare(client, args.visitors)
                first = await client.get(args.path, headers={"cookie": f"sw_vid={cookies[0]}"})
                applied = first.headers.get("server-timing", "none")
                for i in range(50):  # warm: rules compiled, caches filled
                    await client.get(args.path, headers={"cookie": f"sw_vid={cookies[i % len(cookies)]}"})
                if args.concurrency > 1:
                    rounds = await concurrent_rounds(app, args, cookies)
                    await app.shutdown()
                    return {"rounds": rounds, "applied": applied}
                clock = Clock()
                instrument(clock, app)
                profiler = cProfile.Profile() if args.cprofile else None
                wall = 0.0
                cpu = time.process_time()
                failed = 0
                streamed = 0  # the head left before personalization ended (the hold time ran out): no Server-Timing
                if profiler:
                    profiler.enable()
                for i in range(args.requests):
                    clock.enter("forward")
                    started = time.perf_counter()
                    r = await client.get(args.path, headers={"cookie": f"sw_vid={cookies[i % len(cookies)]}"})
                    wall += time.perf_counter() - started
                    clock.leave()
                    failed += b"data-sw-decision" not in r.content
                    streamed += "sw;" not in r.headers.get("server-timing", "")
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(args.cprofile)
                cpu = time.process_time() - cpu
                drain = getattr(app.personalizer.store, "flush", None)
                if drain is not None:
                    started = time.perf_counter()
                    await drain()
                    clock.background["writer (flush at end)"] += time.perf_counter() - started
                writer = getattr(app.personalizer.store, "stats", None)
                await app.shutdown()
    finally:
        upstream.terminate()
        upstream.wait(10)
    return {"spent": dict(clock.spent), "step_cpu": dict(clock.cpu), "wall": wall, "cpu": cpu, "requests": args.requests, "applied": applied,
            "failed": failed, "streamed": streamed, "background": dict(clock.background), "writer": writer() if callable(writer) else None}


async def concurrent_rounds(app: Any, args: argparse.Namespace, cookies: list[str]) -> list[float]:
    """``--concurrency N``: CPU of this process (every thread) per page, round by round, with N pages at
    a time through the app's ASGI interface (no HTTP client: its CPU is not counted), the heap frozen
    as a served worker's is. No steps: pages overlap."""
    import gc

    from .forward_cpu import via_app

    headers = [(b"host", b"127.0.0.1"), (b"user-agent", UA.encode()), (b"accept", b"text/html"),
               (b"accept-encoding", b"gzip, deflate, br"), (b"accept-language", b"en-US,en;q=0.9")]

    async def one(i: int) -> None:
        await via_app(app, args.path, [*headers, (b"cookie", f"sw_vid={cookies[i % len(cookies)]}".encode())])

    async def pages(start: int) -> None:
        numbers = iter(range(start, start + args.requests))

        async def worker() -> None:
            for i in numbers:
                await one(i)

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))

    await pages(0)  # warm, then freeze the start-up heap like a served worker (``operations.heap``)
    await app.personalizer.store.flush()
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000)
    rounds = []
    for r in range(args.rounds):
        cpu = time.process_time()
        await pages((r + 1) * args.requests)
        await app.personalizer.store.flush()  # the writer's work for these pages is part of their cost
        rounds.append((time.process_time() - cpu) * 1e6 / args.requests)
    return rounds


def table(result: dict[str, Any], args: argparse.Namespace) -> str:
    n = result["requests"]
    per = {step: result["spent"].get(step, 0.0) * 1000 / n for step in STEPS}
    cpu = {step: result["step_cpu"].get(step, 0.0) * 1000 / n for step in STEPS}
    total = result["wall"] * 1000 / n
    lines = [
        f"`python -m bench.proxy.breakdown --requests {n} --path {args.path} --store {args.store or 'sqlite'} "
        f"--cache-control {args.cache_control!r} --tree {args.tree}{' --no-category' if args.no_category else ''}`, "
        f"load average before {args.load_before}, after {os.getloadavg()[0]:.2f}; {describe()}",
        "",
        f"slots applied: `{result['applied']}`; pages not personalized: {result['failed']}; "
        f"streamed (head sent before the page was personalized): {result['streamed']}",
        "",
        "| step | ms per page | share | CPU ms per page |",
        "| --- | ---: | ---: | ---: |",
    ]
    for step in STEPS:
        if per[step] >= 0.0005:
            lines.append(f"| {step} | {per[step]:.3f} | {per[step] / total:.0%} | {cpu[step]:.3f} |")
    lines.append(f"| **total (wall, one request at a time)** | **{total:.3f}** | 100% | {sum(cpu.values()):.3f} |")
    lines.append(f"| CPU of this process per page (all threads; with the bench's own client) | | | {result['cpu'] * 1000 / n:.3f} |")
    for name, seconds in result["background"].items():
        lines.append(f"| background: {name} (not on the request path) | | | {seconds * 1000 / n:.3f} |")
    if result["writer"]:
        lines.append("")
        lines.append(f"profile writer: {result['writer']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--visitors", type=int, default=64)
    parser.add_argument("--rules", default=str(ROOT / "bench" / "proxy" / "rules-4-slots.yaml"))
    parser.add_argument("--path", default="/p/p7")
    parser.add_argument("--page-kb", type=int, default=120)
    parser.add_argument("--store", default="", help="store URL (default: SQLite in a temporary directory)")
    parser.add_argument("--budget-ms", type=float, default=10_000.0,
                        help="personalization budget (high by default: this bench attributes time, it does not test latency)")
    parser.add_argument("--cprofile", help="also write a cProfile of the timed requests to this file")
    parser.add_argument("--cache-control", default="no-store",
                        help='the origin\'s Cache-Control ("public, max-age=600": every timed page from the HTML cache)')
    parser.add_argument("--tree", default=str(ROOT), help="the checkout whose slotwise is measured (default: this one)")
    parser.add_argument("--concurrency", type=int, default=1,
                        help="over 1: no steps, only CPU per page with this many pages at a time, --rounds times")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-category", action="store_true",
                        help="product pages that name no category; the catalog knows each one's (a feed's rows)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(args.tree).resolve()))
    args.load_before = f"{os.getloadavg()[0]:.2f}"
    result = asyncio.run(run(args))
    if "rounds" in result:
        print(f"`python -m bench.proxy.breakdown --concurrency {args.concurrency} --requests {args.requests} "
              f"--rounds {args.rounds} --cache-control {args.cache_control!r} --tree {args.tree}`: CPU µs per page "
              f"(all threads) by round: {' '.join(f'{r:.0f}' for r in result['rounds'])}; slots applied: "
              f"`{result['applied']}`; load average {args.load_before} → {os.getloadavg()[0]:.2f}")
        return 0
    print(table(result, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
