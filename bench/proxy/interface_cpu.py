"""What granian's RSGI interface would save over ASGI for a page sent whole: req/s and CPU per request.

    python -m bench.proxy.interface_cpu [--duration 6] [--rounds 2] [--workers 2] [--connections 32]

The apps of ``bench/proxy/interface_apps.py`` (a 120 KB body from memory;
the page fetched from the nginx origin with aiohttp and sent whole) served by
granian over ASGI and over RSGI, same workers, same wrk load, interleaved
rounds; CPU per request is granian's whole process tree (``/proc``), which
moves less than req/s on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from .run import HZ, ROOT, tree_ticks, free_port, load, origins, stop, wait_port, wrk

VARIANTS = [("static", "asgi"), ("static", "rsgi"), ("fetch", "asgi"), ("fetch", "rsgi")]


def serve(app: str, interface: str, port: int, workers: int, origin: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "granian", "--interface", interface, "--workers", str(workers), "--loop", "uvloop",
               "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning",
               f"bench.proxy.interface_apps:{interface}_{app}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SW_IFACE_ORIGIN": origin}
    proc = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--page-kb", type=int, default=120)
    args = parser.parse_args(argv)
    rows = []
    with origins(args, "slotwise-iface-") as (_tmp, ports):
        origin = f"http://127.0.0.1:{ports['origin']}"
        for n in range(1, args.rounds + 1):
            for app, interface in VARIANTS:
                port = free_port()
                proc = serve(app, interface, port, args.workers, origin)
                try:
                    url = f"http://127.0.0.1:{port}/p/p7"
                    wrk(url, 1, 4)
                    before, load0 = sum(tree_ticks(proc.pid).values()), load()
                    result = wrk(url, args.duration, args.connections)
                    cpu = (sum(tree_ticks(proc.pid).values()) - before) * 1000 / HZ / max(1, result.requests)
                finally:
                    stop(proc)
                row = (f"| {n} | {app} | {interface} | {result.rps:,.0f} | {result.p99_ms:.1f} | {cpu:.3f} | "
                       f"{load0:.1f} → {load():.1f} |")
                print(row, flush=True)
                rows.append(row)
    print("\n| round | app | interface | req/s | p99 ms | CPU ms/req (granian's tree) | load |")
    print("| ---: | --- | --- | ---: | ---: | ---: | --- |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
