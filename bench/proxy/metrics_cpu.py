"""What a request's metrics cost on the event loop: prometheus-client's multiprocess values written
per call (as before) against counting in the process and flushing every 0.5 s (``metrics.Pending``).

    python -m bench.proxy.metrics_cpu [--requests 200000] [--rounds 3]

Per request, what a served page records: its status class, the upstream latency, the rewrite time,
an HTML-cache outcome with the cache's size. Runs in a child process with ``PROMETHEUS_MULTIPROC_DIR``
set (as ``slotwise serve --workers 2`` runs its workers), both ways in the same process, interleaved;
the flusher thread's CPU is included (process CPU time).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def measure(requests: int, rounds: int) -> None:
    from slotwise.proxy.operations import metrics

    status = metrics.REQUESTS.labels("2xx")
    hit = metrics.HTML_CACHE.labels("hit")

    def direct() -> None:  # what the helpers did before: each call writes the memory-mapped files
        status.inc()
        metrics.UPSTREAM_LATENCY.observe(0.004)
        metrics.REWRITE_TIME.observe(0.0007)
        hit.inc()
        metrics.HTML_CACHE_BYTES.set(123456)

    def pending() -> None:  # the helpers now
        metrics.count_response(200)
        metrics.observe_upstream(0.004)
        metrics.observe_rewrite(0.0007)
        metrics.count_cache("hit", 123456)

    print("| round | written per call µs/request | counted, flushed every 0.5 s µs/request | ratio |")
    print("| ---: | ---: | ---: | ---: |")
    for round_no in range(1, rounds + 1):
        spent = {}
        for name, fn in (("direct", direct), ("pending", pending)):
            cpu = time.process_time()
            for _ in range(requests):
                fn()
            metrics.flush()
            spent[name] = (time.process_time() - cpu) * 1e6 / requests
        print(f"| {round_no} | {spent['direct']:.2f} | {spent['pending']:.2f} | "
              f"{spent['pending'] / spent['direct']:.2f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        measure(args.requests, args.rounds)
        return 0
    print(f"`python -m bench.proxy.metrics_cpu --requests {args.requests}`, load average {os.getloadavg()[0]:.2f}\n")
    with tempfile.TemporaryDirectory(prefix="sw-metrics-") as directory:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory, "PYTHONPATH": str(ROOT)}
        return subprocess.call([sys.executable, "-m", "bench.proxy.metrics_cpu", "--child",
                                "--requests", str(args.requests), "--rounds", str(args.rounds)], env=env, cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
