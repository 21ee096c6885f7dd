"""The Wilson interval holds the observed rate, at every count (0 and n included), never past [0, 1]."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slotwise.bandits.stats import wilson_interval


@given(st.integers(min_value=1, max_value=10**7).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_holds_the_rate(counts: tuple[int, int]) -> None:
    successes, n = counts
    interval = wilson_interval(successes, n)
    assert 0.0 <= interval.low <= successes / n <= interval.high <= 1.0, (counts, interval)
