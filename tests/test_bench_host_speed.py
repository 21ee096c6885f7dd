"""The host's speed while a case runs (``bench.host_speed``) and where ``bench.proxy.run`` reports it."""

from __future__ import annotations

import argparse
import threading
import time

from bench import host_speed
from bench.proxy import run


def test_the_monitor_samples_while_the_block_runs_and_stops_after_it() -> None:
    assert host_speed.small_unit() == host_speed.small_unit() > 0  # the same work every time
    with host_speed.Monitor(every_s=0.01) as monitor:
        time.sleep(0.3)
    taken = len(monitor.samples)
    assert taken >= 5 and all(s > 0 for s in monitor.samples)
    assert monitor.median_us > 0
    time.sleep(0.05)
    assert len(monitor.samples) == taken  # stopped with the block
    assert not any(t.name == "host-speed" and t.is_alive() for t in threading.enumerate())


def test_it_counts_the_threads_cpu_not_the_wait_for_a_core() -> None:
    """A sample is the unit's CPU time: a GIL held by another thread of the process for most of the
    wall time leaves the figure of the unit's own work (the bench's main thread only waits on wrk,
    but a core taken by the case's processes must not count as a slower host either)."""
    with host_speed.Monitor(every_s=0.01) as alone:
        time.sleep(0.3)
    stop = time.monotonic() + 0.3
    with host_speed.Monitor(every_s=0.01) as contended:
        while time.monotonic() < stop:  # the interpreter busy in this thread: the unit waits for it
            sum(range(1000))
    assert contended.samples
    assert contended.median_us < 3 * alone.median_us


def test_the_summary_says_which_cases_rounds_ran_at_different_speeds() -> None:
    assert host_speed.summary({}) == "host speed: not measured"
    assert host_speed.summary({"a": [0.0, 0.0]}) == "host speed: not measured"  # cases run without it
    steady = host_speed.summary({"nginx": [170.0, 180.0], "rules4": [168.0, 191.0]})
    assert "nginx 170–180; rules4 168–191" in steady and "moved" not in steady
    moved = host_speed.summary({"nginx": [170.0, 175.0], "rules4": [170.0, 224.0]})
    assert "moved between rounds of rules4 (×1.32)" in moved and "nginx (" not in moved
    assert host_speed.spread([170.0, 0.0]) is None


def _result(name: str, rps: float, speed: float) -> run.Result:
    return run.Result(name=name, rps=rps, p50_ms=10.0, p99_ms=30.0, errors=0, speed_us=speed, cpu_ms=1.0)


def test_the_proxy_table_gives_each_rounds_host_speed() -> None:
    nginx, rules4 = run.CASES[1].name, next(c.name for c in run.CASES if c.key == "rules4")
    rounds = [[_result(nginx, 10_000, 170.0), _result(rules4, 1_500, 172.0)],
              [_result(nginx, 9_000, 175.0), _result(rules4, 1_200, 224.0)]]
    args = argparse.Namespace(connections=32, duration=8, server="granian", workers=2, max_load=1.5)
    text = run.table(rounds, args, load_start=0.1)
    header = next(line for line in text.splitlines() if line.startswith("| case |"))
    row = next(line for line in text.splitlines() if line.startswith(f"| {rules4} |"))
    assert row.split("|")[header.split("|").index(" host speed µs ")].strip() == "172, 224"
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("host speed while each case ran") and "moved between rounds of rules4 (×1.30)" in last
    assert "nginx-proxy 170–175" in last
