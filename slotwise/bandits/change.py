"""Change-point detection on a reward stream: a bucketed two-sample GLR test.

A policy that has seen 20,000 visitors prefer variant A keeps serving A for
a long time after A stops working: its evidence outweighs anything a few
hundred new visitors say. ``half_life`` forgets at a fixed pace, which costs
in a steady store and is still slow after an abrupt change. Instead each arm
watches its own stream (rewards, or a contextual model's prediction errors)
and asks, as the generalised likelihood ratio test of Besson et al. (2020,
"Efficient change-point detection for tackling piecewise-stationary
bandits") does, whether some split of the recent window into *before* and
*after* explains the data much better than one mean. When it does, the
policy restarts: what it knew is no longer true.

Observations are summed into buckets (``[n, sum, sum_sq]``) and the test
runs only when a bucket of ``bucket`` values closes, over every split between
buckets. Older buckets are merged pairwise, as in ADWIN's exponential
histogram (at most ``per_size`` buckets of each size), so the window reaches
back to the last restart with O(log n) buckets: fine split points where a
fresh change would be, coarse ones far back. A stream costs O(1) per value.

Two statistics, by what the stream holds:

* ``bernoulli`` (0/1 rewards): ``n0 kl(p0, p) + n1 kl(p1, p)``;
* ``gaussian`` (revenue, prediction errors): ``n0 n1 / n (m0 - m1)^2 / 2 s^2``
  with ``s^2`` the variance of the whole window (which includes the shift,
  so the test errs on the side of no alarm), for drops only (``m1 < m0``).
  Rewards like revenue are rare and skewed: a few large orders in a short
  window look like a huge rise to a normal approximation (false alarms in
  most simulated steady stores), while a drop is judged fairly. A drop is
  also the change that costs: the variant being served stopped working.

A change is declared when the statistic exceeds ``threshold + ln(splits)``
(the threshold is in nats of evidence; the second term pays for testing many
split points at once). Plain data in, a bool out, state in JSON: it is
replayed with the policy it serves.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

BUCKET = 25  # values per bucket (the test runs once per bucket)
PER_SIZE = 4  # buckets kept of each size before the two oldest merge
_EPS = 1e-12


def _kl_bernoulli(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    q = np.clip(q, _EPS, 1.0 - _EPS)
    return p * np.log(p / q) + (1.0 - p) * np.log((1.0 - p) / (1.0 - q))


def glr_statistics(buckets: np.ndarray, kind: str) -> np.ndarray:
    """The GLR statistic of every split: entry ``j`` puts buckets ``0..j`` before the change."""
    if len(buckets) < 2:
        return np.zeros(0)
    left = np.cumsum(buckets[:-1], axis=0)
    total = buckets.sum(axis=0)
    right = total - left
    n0, s0 = left[:, 0], left[:, 1]
    n1, s1 = right[:, 0], right[:, 1]
    n = total[0]
    if kind == "bernoulli":
        p = total[1] / n
        stat = n0 * _kl_bernoulli(s0 / n0, p) + n1 * _kl_bernoulli(s1 / n1, p)
    else:
        mean = total[1] / n
        var = max(total[2] / n - mean * mean, _EPS)
        drop = np.maximum(s0 / n0 - s1 / n1, 0.0)  # one-sided: see the module docstring
        stat = n0 * n1 / n * drop ** 2 / (2.0 * var)
    return stat


class ChangeDetector:
    """Watches one stream; ``add`` returns True when its mean has shifted."""

    def __init__(self, threshold: float, kind: str = "bernoulli",
                 bucket: int = BUCKET, per_size: int = PER_SIZE):
        if kind not in ("bernoulli", "gaussian"):
            raise ValueError(f"unknown stream kind {kind!r}; use 'bernoulli' or 'gaussian'")
        self.threshold = float(threshold)
        self.kind = kind
        self.bucket = int(bucket)
        self.per_size = int(per_size)
        self.buckets: list[list[float]] = []  # closed buckets, oldest first
        self.open = [0.0, 0.0, 0.0]  # the bucket being filled
        self.shift: tuple[float, float] | None = None  # after an alarm: mean before and after the change

    def add(self, value: float) -> bool:
        """Count one value; test at bucket boundaries. True: a change point lies in the window."""
        value = float(value)
        self.open[0] += 1.0
        self.open[1] += value
        self.open[2] += value * value
        if self.open[0] < self.bucket:
            return False
        self.buckets.append(self.open)
        self.open = [0.0, 0.0, 0.0]
        self._merge()
        splits = len(self.buckets) - 1
        if splits < 1:
            return False
        window = np.array(self.buckets)
        stats = glr_statistics(window, self.kind)
        best = int(stats.argmax())
        if stats[best] <= self.threshold + math.log(splits):
            return False
        before, after = window[: best + 1].sum(axis=0), window[best + 1:].sum(axis=0)
        self.shift = (float(before[1] / before[0]), float(after[1] / after[0]))
        return True

    def _merge(self) -> None:
        """Merge the two oldest buckets of any size held more than ``per_size`` times.

        Sizes never grow from old to new, so equal sizes sit side by side.
        """
        i = len(self.buckets) - 1
        while i > 0:
            size = self.buckets[i][0]
            j = i
            while j > 0 and self.buckets[j - 1][0] == size:
                j -= 1
            if i - j + 1 > self.per_size:  # buckets j..i share a size: merge the oldest two
                a, b = self.buckets[j], self.buckets[j + 1]
                self.buckets[j:j + 2] = [[a[0] + b[0], a[1] + b[1], a[2] + b[2]]]
                i = len(self.buckets) - 1  # the merged bucket may now overflow its own size
                continue
            i = j - 1

    @property
    def count(self) -> float:
        """Values in the window (closed buckets and the open one)."""
        return sum(b[0] for b in self.buckets) + self.open[0]

    def state(self) -> dict[str, Any]:
        return {"buckets": [list(b) for b in self.buckets], "open": list(self.open)}

    def load(self, state: Mapping[str, Any]) -> None:
        self.buckets = [[float(x) for x in b] for b in state.get("buckets", [])]
        self.open = [float(x) for x in state.get("open", [0.0, 0.0, 0.0])]
