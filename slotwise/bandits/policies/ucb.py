"""Upper confidence bounds: river's UCB1, or the variance-aware UCB-V (the default)."""

from __future__ import annotations

import math
from typing import Sequence

from ..exploration import argmax_probabilities, mix_uniform
from .arm_stats import ArmStatsPolicy


class UCB(ArmStatsPolicy):
    """Upper confidence bound: ``ucb1`` (river's) or variance-aware ``ucb-v``.

    With 0/1 rewards at a 2% rate, UCB1's bonus ``sqrt(2 ln N / n)`` dwarfs the
    gaps between variants for tens of thousands of visitors (round robin);
    UCB-V (Audibert, Munos & Szepesvári 2009) scales it by the observed
    variance ``p(1-p)`` and explores an order of magnitude less.
    """

    name = "ucb"

    def scores(self, arm_ids: Sequence[str]) -> list[float]:
        total = sum(st[0] for st in self.arms.values())
        log_n = math.log(max(total, 2.0))
        delta = self.params["delta"]
        variance_aware = self.params["bound"] == "ucb-v"
        scale = 1.0 if self.binary else self.scale
        out = []
        for arm in arm_ids:
            st = self.arms.get(arm)
            if not st or st[0] < 1e-9:
                out.append(math.inf)
                continue
            n, s, ss = st
            mean = s / n
            if variance_aware:
                var = max(ss / n - mean * mean, 0.0)
                out.append(mean + delta * (math.sqrt(2.0 * var * log_n / n) + 3.0 * scale * log_n / n))
            else:
                out.append(mean + delta * scale * math.sqrt(2.0 * log_n / n))
        return out

    def probabilities(self, arm_ids, context=None):
        return mix_uniform(argmax_probabilities(arm_ids, self.scores(arm_ids)), self.params["epsilon"])
