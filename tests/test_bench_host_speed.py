"""The host's speed while a case runs (``bench.host_speed``) and where ``bench.proxy.run`` reports it."""

from __future__ import annotations

import argparse
import threading
import time

import pytest

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


def test_it_counts_the_threads_cpu_not_its_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sample is the unit's CPU time: a unit that spends 20 ms waiting (as a thread waits for a core the
    case's processes hold, or for the interpreter) is timed at its own little work, not at 20 ms — by the wall
    clock it would read as a host 100 times slower."""
    def waiting_unit(rounds: int = 4) -> int:
        time.sleep(0.02)
        return sum(range(1000))

    monkeypatch.setattr(host_speed, "small_unit", waiting_unit)
    with host_speed.Monitor(every_s=0.005) as monitor:
        time.sleep(0.3)
    assert monitor.samples
    assert monitor.median_us < 5_000  # µs: the sum's CPU and the sleep's own call, far from 20,000


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
    last = next(line for line in text.splitlines() if line.startswith("host speed while each case ran"))
    assert "moved between rounds of rules4 (×1.30)" in last
    assert "nginx-proxy 170–175" in last


def test_a_rounds_cpu_is_given_at_the_median_speed_too() -> None:
    steadied = host_speed.at_median_speed([1.02, 0.99, 1.22, 0.95], [137.0, 141.0, 190.0, 145.0])
    assert [round(c, 3) for c in steadied] == [1.065, 1.004, 0.918, 0.937]  # median speed 143
    assert host_speed.at_median_speed([1.0, 0.0], [150.0, 150.0]) == []  # a round without its CPU (nginx)
    assert host_speed.at_median_speed([1.0, 1.1], [150.0, 0.0]) == []


def test_the_proxy_table_gives_the_cpu_at_the_median_speed() -> None:
    nginx, rules4 = run.CASES[1].name, next(c.name for c in run.CASES if c.key == "rules4")
    rounds = [[run.Result(nginx, 10_000, 3, 7, 0, speed_us=170.0), _result(rules4, 1_500, 150.0)],
              [run.Result(nginx, 9_000, 3, 7, 0, speed_us=175.0), _result(rules4, 1_200, 200.0)]]
    args = argparse.Namespace(connections=32, duration=8, server="granian", workers=2, max_load=1.5)
    line = next(x for x in run.table(rounds, args, 0.1).splitlines() if x.startswith("CPU ms/req at each case's"))
    assert line.endswith("rules4 1.17, 0.88")  # 1.0 x 175/150, 1.0 x 175/200; nginx has no CPU of its own
