"""How long a slot's rewards take to arrive: when a decision without one can be taken for a 0.

A click comes seconds to minutes after the decision, but the attribution window
(30 minutes by default) is what closes a decision without one. Change detection
and the short memory's model choice read *settled* values, so waiting for the
window costs them ~1,500 decisions of lag at 3,000 visits an hour. The slot's
own rewards say how long they take: once enough have been seen, a decision
older than a high quantile of those delays (``QUANTILE``) is settled as a
non-click — never later than the window, and at the window until
``MIN_REWARDS`` delays are known. A reward later still is learned as usual and
corrects what was settled (``Learner``; ``Policy.correct``).

Pure and bounded: a histogram of delays over fixed log-spaced bins (1 s to a
day, ~20% wide), forgetting with ``HALF_LIFE`` rewards so that it follows a
store whose shoppers change pace; the times are the records', never a clock.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

QUANTILE = 0.99  # share of rewards that arrive before a decision counts as settled
MIN_REWARDS = 200  # rewards seen before the quantile is trusted; until then: the window
HALF_LIFE = 5000.0  # rewards after which a delay weighs half
BINS = 64
LOW, HIGH = 1.0, 86_400.0  # seconds: bin 0 holds delays up to LOW, the last one everything past HIGH
_RATIO = (HIGH / LOW) ** (1.0 / (BINS - 1))


def _bin(delay: float) -> int:
    if delay <= LOW:
        return 0
    return min(BINS - 1, 1 + int(math.log(delay / LOW) / math.log(_RATIO)))


def _upper(i: int) -> float:
    """The largest delay bin ``i`` holds (the quantile is read as the upper edge of its bin)."""
    return LOW * _RATIO ** i


class DelayHistogram:
    """Discounted counts of reward delays (seconds from decision to rewarding event)."""

    def __init__(self) -> None:
        self.counts = [0.0] * BINS
        self.total = 0.0  # discounted
        self.seen = 0  # rewards ever seen
        self._forget = 0.5 ** (1.0 / HALF_LIFE)

    def add(self, delay: float) -> None:
        if not math.isfinite(delay):
            return
        if self._forget < 1.0:
            self.counts = [c * self._forget for c in self.counts]
            self.total *= self._forget
        self.counts[_bin(max(delay, 0.0))] += 1.0
        self.total += 1.0
        self.seen += 1

    def quantile(self, q: float = QUANTILE) -> float | None:
        """The upper edge of the bin holding the ``q`` quantile; None before ``MIN_REWARDS``."""
        if self.seen < MIN_REWARDS or self.total <= 0.0:
            return None
        target, seen = q * self.total, 0.0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= target:
                return _upper(i)
        return _upper(BINS - 1)

    def horizon(self, window: float) -> float:
        """Seconds after its decision at which a decision without a reward counts as settled."""
        q = self.quantile()
        return window if q is None else min(window, q)

    def state(self) -> dict[str, Any]:
        return {"counts": list(self.counts), "total": self.total, "seen": self.seen}

    @classmethod
    def from_state(cls, state: Mapping[str, Any] | None) -> "DelayHistogram":
        out = cls()
        if state:
            counts = [float(c) for c in state.get("counts", [])]
            if len(counts) == BINS:
                out.counts, out.total = counts, float(state.get("total", sum(counts)))
                out.seen = int(state.get("seen", 0))
        return out
