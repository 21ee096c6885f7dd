"""Metrics counted in the process and flushed: the scrape shows what one-by-one calls would have,
summed over worker processes, and nothing counted before a worker exits is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

from slotwise.proxy.operations.metrics import _REWRITE_BUCKETS, Pending

ROOT = Path(__file__).resolve().parents[2]


def twins() -> tuple[tuple[CollectorRegistry, Counter, Histogram, Gauge], ...]:
    """The same metrics twice, in two registries: one fed through ``Pending``, one call by call."""
    made = []
    for _ in range(2):
        registry = CollectorRegistry()
        made.append((registry,
                     Counter("t_requests", "requests", ["kind"], registry=registry),
                     Histogram("t_seconds", "time", buckets=_REWRITE_BUCKETS, registry=registry),
                     Gauge("t_bytes", "bytes", registry=registry)))
    return tuple(made)


values = st.one_of(st.sampled_from([0.0, *_REWRITE_BUCKETS, 1e9]), st.floats(0, 1, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), values), max_size=40), st.integers(0, 10**6))
def test_a_flush_gives_what_one_by_one_calls_give(events: list[tuple[str, float]], size: int) -> None:
    (batched, counter, histogram, gauge), (direct, counter2, histogram2, gauge2) = twins()
    pending = Pending(interval=None)
    for kind, value in events:
        pending.inc(counter.labels(kind))
        pending.observe(histogram, value)
        counter2.labels(kind).inc()
        histogram2.observe(value)
    pending.set(gauge, size)
    gauge2.set(size)
    pending.flush()
    pending.flush()  # a second flush adds nothing
    strip = lambda text: [line for line in text.decode().splitlines() if "_created" not in line]  # noqa: E731
    assert strip(generate_latest(batched)) == strip(generate_latest(direct))


def test_nothing_reaches_the_values_before_a_flush() -> None:
    (registry, counter, histogram, _), _ = twins()
    pending = Pending(interval=None)
    pending.inc(counter.labels("a"))
    pending.observe(histogram, 0.003)
    assert registry.get_sample_value("t_requests_total", {"kind": "a"}) == 0
    assert registry.get_sample_value("t_seconds_count") == 0
    pending.flush()
    assert registry.get_sample_value("t_requests_total", {"kind": "a"}) == 1
    assert registry.get_sample_value("t_seconds_count") == 1
    assert registry.get_sample_value("t_seconds_bucket", {"le": "0.005"}) == 1
    assert registry.get_sample_value("t_seconds_bucket", {"le": "0.0025"}) == 0


WORKER = textwrap.dedent("""
    import multiprocessing, sys, time
    from slotwise.proxy.operations import metrics

    def count(n):
        for i in range(n):
            metrics.count_response(200)
            metrics.observe_rewrite(0.002)
            metrics.count_fail_open("decide")

    how, n = sys.argv[1], int(sys.argv[2])
    if how == "exit":  # a process that exits normally, right after counting
        count(n)
    elif how == "worker":  # a forked worker process (as granian's): it ends with os._exit, not atexit
        child = multiprocessing.get_context("fork").Process(target=count, args=(n,))
        child.start()
        child.join()
    elif how == "live":  # counts, then lives on: its counts must reach the files while it runs
        count(n)
        print("counted", flush=True)
        sys.stdin.readline()
""")


def worker(directory: Path, how: str, n: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    return subprocess.Popen([sys.executable, "-c", WORKER, how, str(n)], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def scraped(directory: Path) -> CollectorRegistry:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    return registry


def test_two_workers_counts_sum_and_none_is_lost_when_they_exit(tmp_path: Path) -> None:
    first, second = worker(tmp_path, "exit", 300), worker(tmp_path, "worker", 200)
    assert first.wait(60) == 0 and second.wait(60) == 0
    registry = scraped(tmp_path)
    assert registry.get_sample_value("slotwise_requests_total", {"status_class": "2xx"}) == 500
    assert registry.get_sample_value("slotwise_fail_open_total", {"stage": "decide"}) == 500
    assert registry.get_sample_value("slotwise_rewrite_seconds_count") == 500
    assert registry.get_sample_value("slotwise_rewrite_seconds_bucket", {"le": "0.0025"}) == 500
    assert registry.get_sample_value("slotwise_rewrite_seconds_bucket", {"le": "0.001"}) == 0
    assert abs(registry.get_sample_value("slotwise_rewrite_seconds_sum") - 1.0) < 1e-9  # type: ignore[operator]


def test_a_running_workers_counts_reach_the_scrape_within_moments(tmp_path: Path) -> None:
    proc = worker(tmp_path, "live", 50)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "counted"
        deadline = time.monotonic() + 10
        while scraped(tmp_path).get_sample_value("slotwise_requests_total", {"status_class": "2xx"}) != 50:
            assert time.monotonic() < deadline, "the worker never flushed while it ran"
            time.sleep(0.1)
        assert scraped(tmp_path).get_sample_value("slotwise_rewrite_seconds_count") == 50
    finally:
        proc.communicate("\n", timeout=30)


RESPAWNED = textwrap.dedent("""
    import sys
    from slotwise.proxy.operations import metrics
    metrics.start()  # what a (re)started worker's app does first
    metrics.count_cache("miss", int(sys.argv[1]))
    metrics.flush()
    if sys.argv[2] == "scrape":
        text = metrics.exposition()[0].decode()
        print([l for l in text.splitlines() if l.startswith("slotwise_html_cache_bytes ")][0])
""")


def test_a_dead_workers_cache_bytes_leave_the_sum(tmp_path: Path) -> None:
    """A worker killed and replaced (or replaced by a reload) left its HTML cache bytes in the sum for ever."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    gone = subprocess.run([sys.executable, "-c", RESPAWNED, "8000", "exit"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert gone.returncode == 0, gone.stderr
    assert list(tmp_path.glob("gauge_livesum_*.db"))  # what the dead one left
    now = subprocess.run([sys.executable, "-c", RESPAWNED, "500", "scrape"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert now.returncode == 0, now.stderr
    assert now.stdout.strip() == "slotwise_html_cache_bytes 500.0", now.stdout
    assert list(tmp_path.glob("counter_*.db"))  # counters are kept: what a dead worker counted was counted
