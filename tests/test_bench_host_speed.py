"""The host probe (``bench.host_speed``) and where ``bench.proxy.run`` reports it."""

from __future__ import annotations

import argparse

from bench import host_speed
from bench.proxy import run


def test_a_unit_does_the_same_work_every_time_and_the_probe_times_it() -> None:
    assert host_speed.unit() == host_speed.unit() > 0
    assert 0 < host_speed.probe(repeats=3) < 1000  # ms of CPU: ~10 on the CI machine type


def test_the_summary_says_when_the_hosts_speed_moved() -> None:
    assert host_speed.summary([]) == "host probe: not run"
    assert host_speed.summary([0.0, 0.0]) == "host probe: not run"  # cases run without a probe
    assert "spread" not in host_speed.summary([9.0])
    steady = host_speed.summary([9.0, 9.5, 10.0])
    assert "9.0–10.0 ms, spread 11%" in steady and "moved" not in steady
    moved = host_speed.summary([9.0, 12.0, 9.5])
    assert "spread 33%" in moved and "the host's speed moved" in moved
    assert host_speed.spread([9.0, 0.0]) is None


def _result(name: str, rps: float, probe: float) -> run.Result:
    return run.Result(name=name, rps=rps, p50_ms=10.0, p99_ms=30.0, errors=0, probe_ms=probe, cpu_ms=1.0)


def test_the_proxy_table_gives_each_cases_probe_and_the_runs_spread() -> None:
    nginx, rules4 = run.CASES[1].name, next(c.name for c in run.CASES if c.key == "rules4")
    rounds = [[_result(nginx, 10_000, 8.0), _result(rules4, 1_500, 8.4)],
              [_result(nginx, 9_000, 11.0), _result(rules4, 1_300, 11.2)]]
    args = argparse.Namespace(connections=32, duration=8, server="granian", workers=2, max_load=1.5)
    text = run.table(rounds, args, load_start=0.1)
    header = next(line for line in text.splitlines() if line.startswith("| case |"))
    assert "host probe ms" in header
    row = next(line for line in text.splitlines() if line.startswith(f"| {rules4} |"))
    cells = [c.strip() for c in row.split("|")]
    assert cells[header.split("|").index(" host probe ms ")] == "8.4, 11.2"
    assert text.rstrip().splitlines()[-1].startswith("host probe (CPU ms of a page-like unit, before each case): 8.0–11.2 ms")
    assert "the host's speed moved" in text
