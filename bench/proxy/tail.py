"""Where a served page's latency tail comes from: wrk's whole distribution, per worker, with the GC's pauses.

    python -m bench.proxy.tail [--cases rules4] [--duration 8] [--runs 1]
        [--variant NAME:ENV=VALUE[,ENV=VALUE] ...] [--census]

``bench.proxy.run``'s setup (nginx origin, ``slotwise serve`` with two
granian workers as a user starts it, 64 returning visitors, wrk 32
connections). For each run of a case it reports:

- wrk's latency percentiles (50 … 99.9, max, mean) from a Lua ``done`` hook;
- how the 32 connections were spread over the workers (``ss`` during the run)
  and each worker's CPU in the run: a worker with more connections serves
  each of them more slowly;
- the cyclic garbage collector's passes per worker and generation (count,
  CPU, longest wall time, the passes over 5 ms; the old generation's size
  after a full pass), recorded by a ``sitecustomize`` put first on the
  workers' path (nothing in the product) that adds a ``gc.callbacks`` hook;
- the host's speed while wrk ran (``bench.host_speed``: µs of CPU a small fixed unit takes; this
  machine type's cores get up to 2x slower now and then, which moves a run's CPU a page and p99);
- the event loop's stalls: a callback every 2 ms on each worker's loop
  (installed by the same hook once the loop runs) notes how late it ran and
  how much of that time the loop's thread was on a core; a late tick is the
  loop busy (a batch of pages, a collection) or its thread off its core.

``--variant NAME:ENV=VALUE[,ENV=VALUE]`` (repeat it) runs ``slotwise serve``
with those environment variables, the variants interleaved run by run (e.g.
``--variant settled: --variant as-main:SLOTWISE_GC_FREEZE=0``);
``SW_TAIL_GC_THRESHOLD=A/B/C`` sets the collector's thresholds before the
workers start; ``SW_TAIL_SEND=1`` also times each worker's hand-over of a
response to the server (``Responder.start`` and ``.body``: the ASGI ``send``
of the head and of the body), wall and CPU per call. ``--census`` asks each
worker for its tracked objects by type after the run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from ..host_speed import Monitor
from .run import (CASES, HZ, connections_per_worker, free_port, load, origins, prepare_visitors, serve, stop,
                  visitors_script)
from .served_profile import _threads, workers_of

HOOK = r'''
import gc, os, time, threading
_dir = os.environ.get("SW_TAIL_DIR")
if _dir:
    _state = {"t": 0.0, "pid": None, "f": None, "lag_f": None}

    def _out(name):
        pid = os.getpid()
        if _state["pid"] != pid:  # a forked worker writes its own files
            _state.update(pid=pid, f=open(f"{_dir}/gc-{pid}.txt", "a", buffering=1),
                          lag_f=open(f"{_dir}/lag-{pid}.txt", "a", buffering=1))
        return _state[name]

    def _gc(phase, info):
        if phase == "start":
            _state["t"], _state["c"] = time.perf_counter(), time.thread_time()
        else:
            ms = (time.perf_counter() - _state["t"]) * 1e3
            cpu = (time.thread_time() - _state["c"]) * 1e3
            size = len(gc.get_objects(2)) if info["generation"] == 2 else 0  # the old generation a full pass scans
            _out("f").write(f"{time.time():.4f} {info['generation']} {ms:.3f} {info['collected']} {size} {cpu:.3f}\n")

    gc.callbacks.append(_gc)
    if os.environ.get("SW_TAIL_GC_THRESHOLD"):  # an experiment's thresholds, e.g. "10000,10,10"
        gc.set_threshold(*(int(x) for x in os.environ["SW_TAIL_GC_THRESHOLD"].split("/")))

    def _watch_loop():
        import asyncio
        time.sleep(3.0)  # the worker's loop runs by then
        import sys
        loop = None
        for _ in range(200):  # the loop is a local of a frame of the main thread (granian's run_forever caller)
            frame = sys._current_frames().get(threading.main_thread().ident)
            while frame is not None and loop is None:
                loop = next((v for v in frame.f_locals.values() if isinstance(v, asyncio.AbstractEventLoop)), None)
                frame = frame.f_back
            if loop is not None:
                break
            time.sleep(0.1)
        if loop is None:
            return
        period = 0.002

        def tick(expected, cpu_then):
            now, cpu = time.monotonic(), time.thread_time()  # this runs on the loop's thread
            late = now - expected
            if late > 0.004:  # and how much of it the loop's thread was on a core (the rest: not running)
                _out("lag_f").write(f"{time.time():.4f} {late * 1e3:.2f} {(cpu - cpu_then) * 1e3:.2f}\n")
            loop.call_later(period, tick, now + period, cpu)

        loop.call_soon_threadsafe(tick, time.monotonic(), 0.0)

    def _census(signum, frame):
        from collections import Counter
        objs = gc.get_objects()
        kinds = Counter(type(o).__name__ for o in objs)
        big = sorted(((len(o), type(o).__name__) for o in objs if isinstance(o, (dict, list, set, tuple))), reverse=True)[:8]
        t = time.perf_counter()
        gc.collect()
        full = (time.perf_counter() - t) * 1e3
        with open(f"{_dir}/census-{os.getpid()}.txt", "w") as f:
            f.write(f"tracked {len(objs)} frozen {gc.get_freeze_count()} per-gen {[len(gc.get_objects(g)) for g in range(3)]} "
                    f"full collect {full:.1f} ms threshold {gc.get_threshold()}\n")
            f.write(f"largest containers {big}\n")
            for k, n in kinds.most_common(25):
                f.write(f"{n} {k}\n")

    import signal
    signal.signal(signal.SIGUSR1, _census)

    def _start():
        threading.Thread(target=_watch_loop, daemon=True, name="sw-tail-watch").start()

    os.register_at_fork(after_in_child=_start)  # granian forks its workers: a thread does not survive a fork
    _start()

    if os.environ.get("SW_TAIL_SEND"):  # the time spent handing the response to the server (ASGI send)
        from slotwise.proxy.forwarding import forward_stream

        _sends = {"start": [0, 0.0, 0.0, 0], "body": [0, 0.0, 0.0, 0]}

        def _timed(name, method):
            async def timed(self, *args, **kwargs):
                t, c = time.perf_counter(), time.thread_time()
                try:
                    return await method(self, *args, **kwargs)
                finally:
                    kept = _sends[name]
                    wall = time.perf_counter() - t
                    kept[0] += 1
                    kept[1] += wall
                    kept[2] += time.thread_time() - c
                    kept[3] += wall > 0.001  # the send suspended the request (or the thread lost its core)
                    if name == "body" and kept[0] % 500 == 0:
                        with open(f"{_dir}/send-{os.getpid()}.txt", "w") as f:
                            f.write(" ".join(f"{k} {n} {w:.6f} {cpu:.6f} {slow}" for k, (n, w, cpu, slow) in _sends.items()))
            return timed

        forward_stream.Responder.start = _timed("start", forward_stream.Responder.start)
        forward_stream.Responder.body = _timed("body", forward_stream.Responder.body)
'''


def wrk_done_script(base: str) -> str:
    """A wrk Lua script's tail: print the latency percentiles and max in ms, machine-readable."""
    return base + (
        "\ndone = function(summary, latency, requests)\n"
        "  for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do\n"
        "    io.write(string.format('PCT %g %.2f\\n', p, latency:percentile(p) / 1000))\n"
        "  end\n"
        "  io.write(string.format('PCT max %.2f\\nPCT mean %.2f\\nPCT stdev %.2f\\n', latency.max / 1000,"
        " latency.mean / 1000, latency.stdev / 1000))\n"
        "end\n"
    )


def gc_summary(path: Path, since: float, until: float) -> dict[int, tuple[int, float, float, int]]:
    """Per generation: collections, total CPU ms, longest (wall) ms, collections over 5 ms — within [since, until]."""
    per: dict[int, list[tuple[float, float]]] = defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            t, gen, ms, _, size, cpu = line.split()
            if gen == "2" and since <= float(t) <= until:
                print(f"  gen-2 collection in {path.name}: {float(ms):.1f} ms ({float(cpu):.1f} ms CPU), "
                      f"{int(size):,} objects in gen 2 after it")
            if since <= float(t) <= until:
                per[int(gen)].append((float(ms), float(cpu)))
    return {g: (len(v), sum(c for _, c in v), max(w for w, _ in v), sum(1 for w, _ in v if w > 5))
            for g, v in sorted(per.items())}


def lag_summary(path: Path, since: float, until: float) -> tuple[int, float, float, float, float]:
    """The loop's late ticks (> 4 ms): count, total ms late, longest, 99th percentile of late ones, and the
    share of the late time the loop's thread was on a core (CPU time; the rest it waited: the
    interpreter's lock held by another thread, or no core for it)."""
    lags, cpu = [], 0.0
    if path.exists():
        for line in path.read_text().splitlines():
            t, ms, used = line.split()
            if since <= float(t) <= until:
                lags.append(float(ms))
                cpu += min(float(used), float(ms) + 2.0)
    if not lags:
        return 0, 0.0, 0.0, 0.0, 0.0
    lags.sort()
    return len(lags), sum(lags), lags[-1], lags[int(0.99 * (len(lags) - 1))], cpu / (sum(lags) + 2.0 * len(lags))


def run_one(case, ports: dict[str, int], tmp: str, args: argparse.Namespace, variant: str, env: dict[str, str],
            n: int) -> str:
    hook_dir = Path(tmp) / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(HOOK)
    out_dir = Path(tmp) / f"tail-{case.key}-{variant}-{n}"
    out_dir.mkdir()
    port = free_port()
    origin = ports["cacheable" if case.origin == "cacheable" else "origin"]
    proc = serve(case, f"http://127.0.0.1:{origin}", port, Path(tmp) / f"data-{case.key}-{variant}-{n}", args,
                 env_extra={**env, "SW_TAIL_DIR": str(out_dir)}, path_first=hook_dir)
    try:
        url = f"http://127.0.0.1:{port}{case.path}"
        script = None
        if case.visitors:
            cookies = prepare_visitors(f"http://127.0.0.1:{port}", case.visitors)
            script = visitors_script(tmp, cookies, case.path, f"{case.key}-{variant}-{n}")
            Path(script).write_text(wrk_done_script(Path(script).read_text()))
        else:
            script = str(Path(tmp) / "plain.lua")
            Path(script).write_text(wrk_done_script(""))
        subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-s", script, url], capture_output=True)
        time.sleep(1.0)
        workers = workers_of(proc.pid)
        before, load0 = _threads(proc.pid), load()
        started = time.time()
        with Monitor() as speed:
            wrk = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "-s",
                                    script, url], stdout=subprocess.PIPE, text=True)
            time.sleep(1.0)
            spread = connections_per_worker(port, workers)
            text, _ = wrk.communicate()
        ended = time.time()
        after = _threads(proc.pid)
        if args.census:
            for w in workers:
                os.kill(w, __import__("signal").SIGUSR1)
            time.sleep(2.0)
            for w in workers:
                census = out_dir / f"census-{w}.txt"
                print(census.read_text() if census.exists() else f"no census from {w}")
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
        requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
        pct = dict(re.findall(r"^PCT (\S+) ([\d.]+)$", text, re.M))
        cpu = {w: sum(t - before.get(k, (0, ""))[0] for k, (t, _) in after.items() if k[0] == w) / HZ for w in workers}
        lines = [f"### {case.key} · {variant} · run {n} ({rps:,.0f} req/s, {requests:,} requests; load {load0:.1f} → "
                 f"{load():.1f}; host speed {speed.median_us:.0f} µs)", "",
                 "latency ms: " + ", ".join(f"p{k} {pct[k]}" for k in ("50", "75", "90", "95", "99", "99.9") if k in pct)
                 + f", max {pct.get('max')}, mean {pct.get('mean')}, stdev {pct.get('stdev')}", ""]
        lines += ["| worker | connections | CPU s | GC gen 0 (n, CPU ms, max wall ms) | gen 1 | gen 2 | GC pauses > 5 ms | "
                  "loop stalls > 4 ms (n, total ms, max, p99, on a core) |", "| --- | ---: | ---: | --- | --- | --- | ---: | --- |"]
        for w in workers:
            gcs = gc_summary(out_dir / f"gc-{w}.txt", started, ended)
            cells = [f"{gcs[g][0]}, {gcs[g][1]:.0f}, {gcs[g][2]:.1f}" if g in gcs else "0" for g in (0, 1, 2)]
            over = sum(v[3] for v in gcs.values())
            lag = lag_summary(out_dir / f"lag-{w}.txt", started, ended)
            lines.append(f"| {w} | {spread.get(w, 0)} | {cpu[w]:.2f} | {' | '.join(cells)} | {over} | "
                         f"{lag[0]}, {lag[1]:.0f}, {lag[2]:.1f}, {lag[3]:.1f}, {100 * lag[4]:.0f}% |")
        for w in workers:
            sent = out_dir / f"send-{w}.txt"
            if sent.exists():
                parts = sent.read_text().split()
                lines.append("")
                lines.append(f"worker {w}, handing responses to the server: " + "; ".join(
                    f"{parts[i]} x{int(parts[i + 1]):,}: {1e6 * float(parts[i + 2]) / max(1, int(parts[i + 1])):.1f} µs wall, "
                    f"{1e6 * float(parts[i + 3]) / max(1, int(parts[i + 1])):.1f} µs CPU each, "
                    f"{int(parts[i + 4]):,} over 1 ms wall" for i in (0, 5)))
        return "\n".join(lines) + "\n"
    finally:
        stop(proc)


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, rest = text.partition(":")
    env = dict(item.split("=", 1) for item in rest.split(",") if item)
    return name, env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="rules4")
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:ENV=VALUE[,ENV=VALUE] (repeat; interleaved per run). Default: one, as is")
    parser.add_argument("--page-kb", type=int, default=120)
    parser.add_argument("--census", action="store_true", help="after the run: each worker's tracked objects by type")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    variants = [parse_variant(v) for v in args.variant] or [("as-is", {})]
    cases = [c for c in CASES if c.key in args.cases.split(",") and c.kind == "slotwise"]
    with origins(args, "slotwise-tail-") as (tmp, ports):
        for n in range(1, args.runs + 1):
            for case in cases:
                for name, env in variants:
                    print(run_one(case, ports, tmp, args, name, env, n), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
