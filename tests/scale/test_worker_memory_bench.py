"""``bench.scale.worker_memory`` gives no verdict when a worker served (almost) nothing: its memory is
"flat" because it is idle, which says nothing about the target (wrk's kept connections can all go to one
worker)."""

from __future__ import annotations

from bench.scale.worker_memory import served_nothing


def test_a_worker_with_a_tenth_of_the_busiest_ones_cpu_or_less_served_nothing() -> None:
    assert served_nothing({101: 240.0, 102: 0.4}) == [102]
    assert served_nothing({101: 240.0, 102: 23.0, 103: 180.0}) == [102]


def test_workers_that_share_the_load_unevenly_all_served() -> None:
    assert served_nothing({101: 240.0, 102: 90.0}) == []
    assert served_nothing({}) == []
