"""``bench.bandits_twin --trace``: what a per-seed trace of a swap run reports is what the run did."""

from __future__ import annotations

from collections import Counter

from bench.bandits_twin import Trace, twin


def test_a_trace_splits_every_decision_of_its_blocks_and_reads_the_switch_at_each_block() -> None:
    visits, block, before = 2_000, 250, 500
    trace = Trace(visits, block=block, before=before)
    run = twin("linucb", 3, visits, 3_000, swap=True, watch=trace)
    assert sorted(trace.shown) == list(range(-before // block, (visits // 2) // block))
    for index, shown in trace.shown.items():  # every decision of the block, once, under its segment
        assert sum(sum(c.values()) for c in shown.values()) == block
        start = visits // 2 + index * block
        expected = Counter((v.segment, v.shown) for v in run.visits[start:start + block])
        assert {(seg, arm): n for seg, c in shown.items() for arm, n in c.items()} == dict(expected)
    assert set(trace.switch) == set(trace.shown)
    assert all(text.split()[0] in ("on", "off") for text in trace.switch.values())
    lines = trace.lines()
    assert len(lines) == 1 + len(trace.shown) and "mobile/new" in lines[0]
