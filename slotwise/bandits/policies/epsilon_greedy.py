"""Epsilon-greedy (river's formula): the best mean, and uniform exploration with probability epsilon."""

from __future__ import annotations

import math

from ..exploration import argmax_probabilities, mix_uniform
from .arm_stats import ArmStatsPolicy


class EpsilonGreedy(ArmStatsPolicy):
    """Greedy on the mean reward, uniform with probability epsilon (river's formula)."""

    name = "epsilon-greedy"

    @property
    def current_epsilon(self) -> float:
        decay = self.params["decay"]
        eps = self.params["epsilon"]
        return eps * math.exp(-self.version * decay) if decay else eps

    def probabilities(self, arm_ids, context=None):
        scores = []
        for arm in arm_ids:
            st = self.arms.get(arm)
            scores.append(st[1] / st[0] if st and st[0] > 0 else 0.0)
        return mix_uniform(argmax_probabilities(arm_ids, scores), self.current_epsilon)
