"""``hidden_past``: the time a page stayed hidden past its window, a renderer's stalls apart."""

from __future__ import annotations

from opacity_probe import hidden_past


def every(start: float, end: float, step: float = 4.0) -> list[float]:
    return [start + i * step for i in range(int((end - start) / step) + 1)]


def test_hidden_while_the_browser_ran_counts_in_full() -> None:
    """A tag that kept the page hidden until a late answer: the probe ran all along, every ms counts."""
    vis = {"lastHidden": 1540.0, "samples": every(0, 1544)}
    assert hidden_past(vis, 640.0) == 900.0


def test_a_stall_across_the_window_end_does_not_count() -> None:
    """The shape of stop 32's CI failure: nothing ran from 400 to 1050 ms, then the page showed within 30 ms."""
    vis = {"lastHidden": 1079.0, "samples": every(0, 400) + every(1050, 1083)}
    assert hidden_past(vis, 640.0) == 1079.0 - 1050.0


def test_short_gaps_are_the_timers_jitter_not_stalls() -> None:
    vis = {"lastHidden": 700.0, "samples": every(0, 704, 20.0)}
    assert hidden_past(vis, 640.0) == 60.0


def test_shown_in_time_or_never_hidden() -> None:
    assert hidden_past({"lastHidden": 600.0, "samples": every(0, 604)}, 640.0) == 0.0
    assert hidden_past({"lastHidden": None, "samples": every(0, 604)}, 640.0) == 0.0
