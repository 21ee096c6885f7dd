"""Runs the benchmarks: ``python -m bench [NAME ...]`` (default: all of them, one after another).

NAME is one of proxy, forward_cpu, breakdown, profile_writes, decide, startup, ttfb, rewrite, hostile, bandits,
imports, journeys, journeys-data, scale, worker_memory. Each prints its own
table with ratios against a baseline measured in the same run; the figures
and commands are kept in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = {
    "proxy": [sys.executable, "-m", "bench.proxy.run"],
    "forward_cpu": [sys.executable, "-m", "bench.proxy.forward_cpu"],
    "breakdown": [sys.executable, "-m", "bench.proxy.breakdown"],
    "profile_writes": [sys.executable, "-m", "bench.proxy.profile_writes"],
    "decide": [sys.executable, "bench/decide.py"],
    "startup": [sys.executable, "bench/startup.py"],
    "ttfb": [sys.executable, "-m", "bench.proxy.ttfb"],
    "rewrite": [sys.executable, "bench/rewrite.py"],
    "hostile": [sys.executable, "bench/hostile_scans.py"],
    "bandits": [sys.executable, "bench/bandits.py"],
    "imports": [sys.executable, "bench/imports.py"],
    "journeys": [sys.executable, "bench/journeys.py"],
    "journeys-data": [sys.executable, "bench/journeys_data.py"],
    "scale": [sys.executable, "-m", "bench.scale.run"],
    "worker_memory": [sys.executable, "-m", "bench.scale.worker_memory"],  # 10 minutes
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    status = 0
    for name in names:
        print(f"\n=== bench {name}: {' '.join(BENCHES[name][1:])}", flush=True)
        started = time.monotonic()
        code = subprocess.call(BENCHES[name], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        print(f"=== bench {name}: exit {code} after {time.monotonic() - started:.0f} s", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
