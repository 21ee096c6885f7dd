"""Where a served personalized page's CPU goes, per thread: each worker's event loop against the rest.

    python -m bench.proxy.thread_cpu [--duration 10] [--cases nginx-proxy,rules4] [--tree DIR]

Runs ``bench.proxy.run`` (one round of the given cases, this tree first on the path) and samples every
thread of its process tree from ``/proc`` every 0.25 s: CPU time and voluntary context switches (a
thread that blocks — on the interpreter's lock, on SQLite, on I/O — switches voluntarily). The figures
are taken over the busiest ``duration - 1.5`` s (the wrk run of the Slotwise case), per request of that
case. A worker's event loop is its main thread (granian runs the loop there); its other Python threads
are the profile writer, the page-work threads and the metrics flusher; ``tokio-rt-worker`` is granian's.
``--tree`` serves another checkout (its own ``bench.proxy.run``), for before/after runs side by side.
Needs what ``bench.proxy.run`` needs; absolute figures move with the machine's load, compare runs
interleaved.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .run import ROOT, tree_ticks

HZ = os.sysconf("SC_CLK_TCK")


def threads(root: int) -> dict[tuple[int, int], tuple[int, int, str]]:
    """(pid, tid) -> (CPU ticks, voluntary switches, name) for every thread of the tree under ``root``."""
    out = {}
    for pid in tree_ticks(root):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
                status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                switches = int(status.split("\nvoluntary_ctxt_switches:")[1].split()[0])
                out[(pid, int(tid))] = (int(fields[11]) + int(fields[12]), switches, stat.split("(", 1)[1].split(")", 1)[0])
        except (OSError, IndexError):
            continue
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--cases", default="nginx-proxy,rules4", help="the last case is the one measured")
    parser.add_argument("--tree", default=str(ROOT), help="the checkout to serve (default: this one)")
    args = parser.parse_args(argv)
    tree = Path(args.tree).resolve()
    with tempfile.TemporaryDirectory(prefix="sw-thread-cpu-") as tmp:
        out = Path(tmp) / "run.md"
        bench = subprocess.Popen([sys.executable, "-m", "bench.proxy.run", "--duration", str(args.duration),
                                  "--rounds", "1", "--cases", args.cases, "--out", str(out)],
                                 cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, stdout=subprocess.DEVNULL)
        samples = []
        while bench.poll() is None:
            samples.append((time.monotonic(), threads(bench.pid)))
            time.sleep(0.25)
        table = out.read_text()
    window = args.duration - 1.5
    best = None
    for i, (t0, a) in enumerate(samples):
        j = next((j for j in range(i + 1, len(samples)) if samples[j][0] - t0 >= window), None)
        if j is None:
            break
        b = samples[j][1]
        busy = sum(b[k][0] - a[k][0] for k in b if k in a and b[k][2] not in ("nginx", "wrk"))  # Slotwise's case
        if best is None or busy > best[0]:
            best = (busy, i, j)
    if best is None:
        print("no sample window as long as the run: nothing measured", file=sys.stderr)
        return 1
    _, i, j = best
    (t0, a), (t1, b) = samples[i], samples[j]
    last = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][-1].split("|")
    rps = float(last[2].replace(",", ""))
    requests = rps * (t1 - t0)
    print(table)
    print(f"Per thread ({tree}), over {t1 - t0:.1f} s of `{last[1].strip()}` at {rps:,.0f} req/s "
          f"(load average {os.getloadavg()[0]:.2f} at the end):\n")
    print("| thread | CPU ms per request | cores | voluntary switches per request |")
    print("| --- | ---: | ---: | ---: |")
    rows = sorted(((b[k][0] - a[k][0], b[k][1] - a[k][1], k, b[k][2]) for k in b if k in a), reverse=True)
    for ticks, switches, (pid, tid), name in rows[:10]:
        if ticks <= 0:
            continue
        what = f"{name} {pid}: " + ("event loop (main thread)" if pid == tid else f"thread {tid}")
        cpu = ticks * 1000 / HZ / requests
        print(f"| {what} | {cpu:.3f} | {ticks / HZ / (t1 - t0):.2f} | {switches / requests:.2f} |")
    loops = sum(ticks for ticks, _, (pid, tid), name in rows if pid == tid and name not in ("wrk", "nginx")
                and not name.startswith("python")) * 1000 / HZ / requests  # workers, not the master or the bench
    total = sum(b[k][0] - a[k][0] for k in b if k in a and "wrk" not in b[k][2]) * 1000 / HZ / requests
    print(f"\nEvent loops (main threads) together: {loops:.3f} ms per request; every thread but wrk's: {total:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
