"""An even split: the A/B test, and the logging policy off-policy evaluation likes best."""

from __future__ import annotations

from .arm_stats import ArmStatsPolicy


class UniformPolicy(ArmStatsPolicy):
    """Even split (A/B test, logging policy for off-policy evaluation)."""

    name = "uniform"

    def probabilities(self, arm_ids, context=None):
        share = 1.0 / len(arm_ids)
        return {arm: share for arm in arm_ids}
