"""Memory of each ``slotwise serve`` worker over a long run with many distinct visitors (target: flat, ± 10%).

    python -m bench.scale.worker_memory [--minutes 10] [--visitors 100000] [--workers 2] [--connections 8]
        [--store URL] [--every 15] [--warmup 60] [--smaps]

Real parts: ``slotwise serve --rules bench/proxy/rules-4-slots.yaml`` (all
four slots; SQLite by default, ``--store redis://...`` for Redis) started as
a user starts it, in front of ``bench.proxy.origin`` (a 120 KB product page,
not cacheable), driven by wrk for ``--minutes``: each request is the next of
``--visitors`` distinct visitors (cookies signed with the run's ``--secret``,
so each is a returning visitor from its second view on, and every one has a
profile of its own). Every ``--every`` seconds the resident memory (RSS) of
each worker process is sampled. The verdict compares each worker's RSS at
the end with its RSS once warmed up (the first sample after ``--warmup``
seconds): within ± 10% is flat. Over SQLite ``serve`` also runs one
dedicated learner process (``learner_supervisor``), which holds the pending
decisions: it is not a worker, and its RSS is reported apart (bounded by
``--learner-max-pending``, not flat). Also ``python -m bench.scale.memory
--worker-rss``. ``--smaps`` adds, at every sample, where each worker's RSS
lies by kind of mapping (``bench.scale.smaps``), and at the end the mappings
whose resident size changed most since the warm-up sample.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.proxy.run import BROWSER_UA, HZ, tree_ticks, free_port, slotwise_command, wait_port  # noqa: E402
from bench.scale import smaps  # noqa: E402
from slotwise.proxy.personalization.identity import VisitorCookies  # noqa: E402

SECRET = "bench-worker-memory-secret"
RULES = ROOT / "bench" / "proxy" / "rules-4-slots.yaml"


def tree(root: int) -> list[int]:
    """``root`` and its live descendants."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found = [root]
    for pid in found:
        found.extend(child for child, parent in parents.items() if parent == pid)
    return found


def rss_mb(pid: int) -> float | None:
    try:
        match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


def served_nothing(cpu: dict[int, float]) -> list[int]:
    """Workers that used under a tenth of the busiest one's CPU over the run: wrk keeps its connections
    for the whole run, and the kernel may hand every one of them to the same worker (in 2 of 14
    starts of two workers), which leaves the other one idle and its memory "flat" for nothing."""
    busiest = max(cpu.values(), default=0.0)
    return sorted(pid for pid, used in cpu.items() if used < 0.1 * busiest)


def is_learner(pid: int) -> bool:
    """The dedicated learner ``slotwise serve`` starts beside its workers over SQLite (``slotwise learner``)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"learner" in args


def workers_of(master: int) -> list[int]:
    """The processes that serve requests: the master's descendants (granian or uvicorn workers), not its learner."""
    return [pid for pid in tree(master) if pid != master and not is_learner(pid)]


def learners_of(master: int) -> list[int]:
    return [pid for pid in tree(master) if pid != master and is_learner(pid)]


def cookies_file(tmp: Path, n: int) -> Path:
    signer = VisitorCookies(SECRET.encode())
    path = tmp / "cookies.txt"
    path.write_text("".join(f"sw_vid={signer.sign(f'bench{i:011d}')}\n" for i in range(n)))
    return path


def script(tmp: Path, cookies: Path, path: str) -> Path:
    lua = tmp / "visitors.lua"
    lua.write_text(
        "local cookies = {}\n"
        f'for line in io.lines("{cookies}") do cookies[#cookies + 1] = line end\n'
        "local i = math.random(#cookies)\n"
        "request = function()\n  i = i % #cookies + 1\n"
        f'  return wrk.format("GET", "{path}", {{["User-Agent"] = "{BROWSER_UA}", ["Cookie"] = cookies[i]}})\nend\n'
    )
    return lua


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--store", default="", help="store URL (default: SQLite under the run's data directory)")
    parser.add_argument("--every", type=float, default=15.0, help="seconds between RSS samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before the reference sample")
    parser.add_argument("--path", default="/p/p7")
    parser.add_argument("--smaps", action="store_true", help="each worker's RSS by kind of mapping at every sample")
    args = parser.parse_args(argv)
    duration = int(args.minutes * 60)
    with tempfile.TemporaryDirectory(prefix="sw-worker-memory-") as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        origin_port, port = free_port(), free_port()
        origin = subprocess.Popen([sys.executable, "-m", "bench.proxy.origin", str(origin_port)], cwd=ROOT, env=env)
        command = [*slotwise_command(), "serve", "--upstream", f"http://127.0.0.1:{origin_port}", "--port", str(port),
                   "--workers", str(args.workers), "--rules", str(RULES), "--data", str(tmp / "data"),
                   "--secret", SECRET, "--log-level", "warning"]
        if args.store:
            command += ["--store", args.store]
        serve = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL, start_new_session=True)
        samples: list[tuple[float, dict[int, float]]] = []
        learner_samples: list[tuple[float, dict[int, float]]] = []  # not a worker: bounded, not flat
        warm_maps: dict[int, dict[tuple[int, str], int]] = {}  # --smaps: each mapping's Rss kB at the reference
        last_maps: dict[int, dict[tuple[int, str], int]] = {}
        try:
            wait_port(origin_port)
            wait_port(port, 60)
            # every worker up and idle before wrk opens its connections, which it keeps for the whole run:
            # opened while one worker still starts, they would all go to the other
            deadline = time.monotonic() + 60
            while len(workers_of(serve.pid)) < args.workers and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(5.0)
            lua = script(tmp, cookies_file(tmp, args.visitors), args.path)
            print(f"`python -m bench.scale.worker_memory --minutes {args.minutes:g} --visitors {args.visitors} "
                  f"--workers {args.workers}`; load average {os.getloadavg()[0]:.2f} at the start", flush=True)
            load = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{duration}s", "-s", str(lua),
                                     f"http://127.0.0.1:{port}{args.path}"], stdout=subprocess.PIPE, text=True)
            started = time.monotonic()
            cpu_at_start = tree_ticks(serve.pid)  # CPU ticks of each process of serve's tree
            cpu_used: dict[int, float] = {}
            while load.poll() is None:
                elapsed = time.monotonic() - started
                sizes = {pid: mb for pid in workers_of(serve.pid) if (mb := rss_mb(pid)) is not None}
                learner = {pid: mb for pid in learners_of(serve.pid) if (mb := rss_mb(pid)) is not None}
                samples.append((elapsed, sizes))
                ticks = tree_ticks(serve.pid)
                cpu_used.update({pid: (ticks[pid] - cpu_at_start.get(pid, 0)) / HZ for pid in sizes if pid in ticks})
                learner_samples.append((elapsed, learner))
                print(f"  {elapsed:6.0f} s  " + "  ".join(f"{pid}: {mb:6.1f} MB" for pid, mb in sorted(sizes.items()))
                      + "".join(f"   learner {pid}: {mb:6.1f} MB" for pid, mb in sorted(learner.items())), flush=True)
                if args.smaps:
                    for pid in sorted(sizes):
                        print(f"           {pid}: {smaps.line(pid)}", flush=True)
                        maps = smaps.by_window(pid)
                        if elapsed >= args.warmup:
                            warm_maps.setdefault(pid, maps)
                        last_maps[pid] = maps
                time.sleep(min(args.every, max(0.5, duration - elapsed + 0.5)))
            out = load.stdout.read() if load.stdout else ""
        finally:
            serve.terminate()
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                serve.kill()
            origin.terminate()
            origin.wait(10)
    done = re.search(r"(\d+) requests in", out)
    requests = int(done.group(1)) if done else 0
    print(f"\n{requests:,} requests, {min(requests, args.visitors):,} distinct visitors "
          f"({requests / max(1, args.visitors):.1f} views each); load average {os.getloadavg()[0]:.2f} at the end\n")
    reference = next((s for s in samples if s[0] >= args.warmup), samples[0] if samples else None)
    if reference is None or not samples:
        print("no samples")
        return 1
    last = samples[-1]
    print("| worker | RSS after warm-up MB | RSS at the end MB | change | CPU s | flat (± 10%) |")
    idle = served_nothing(cpu_used)
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    flat = True
    for pid, start_mb in sorted(reference[1].items()):
        end_mb = last[1].get(pid)
        if end_mb is None:
            print(f"| {pid} | {start_mb:.1f} | gone | | | NO |")
            flat = False
            continue
        change = (end_mb - start_mb) / start_mb
        flat &= abs(change) <= 0.10
        print(f"| {pid} | {start_mb:.1f} (at {reference[0]:.0f} s) | {end_mb:.1f} (at {last[0]:.0f} s) | {change:+.1%} | "
              f"{cpu_used.get(pid, 0.0):.0f} | {'yes' if abs(change) <= 0.10 else 'NO'}"
              f"{' (served almost nothing)' if pid in idle else ''} |")
    if idle:
        print(f"\nflat: not measured: worker(s) {', '.join(map(str, idle))} served almost nothing (wrk's connections "
              "all went to the other worker); run again")
    else:
        print(f"\nflat: {'yes' if flat else 'NO'}")
    for pid, first in sorted(warm_maps.items()):
        end = last_maps.get(pid, {})
        moved = sorted(((end.get(k, 0) - first.get(k, 0), k) for k in set(first) | set(end)), key=lambda c: -abs(c[0]))
        print(f"worker {pid}, mappings whose RSS moved most since the warm-up sample (kB): "
              + "; ".join(f"{hex(start)} {name or '[anon]'} {delta:+d}" for delta, (start, name) in moved[:8] if delta))
    learner_sizes = [(t, mb) for t, sizes in learner_samples for mb in sizes.values()]
    if learner_sizes:
        peak = max(learner_sizes, key=lambda s: s[1])
        print(f"learner process (one per store, bounded by --learner-max-pending pending decisions, not a worker): "
              f"{learner_sizes[0][1]:.1f} MB at {learner_sizes[0][0]:.0f} s, peak {peak[1]:.1f} MB at {peak[0]:.0f} s, "
              f"{learner_sizes[-1][1]:.1f} MB at {learner_sizes[-1][0]:.0f} s")
    return 1 if idle else 0


if __name__ == "__main__":
    raise SystemExit(main())
