"""Per-arm statistics shared by the non-contextual policies: discounted ``[n, sum, sum_sq]``.

Every non-contextual policy decides from the same statistics, so switching a
slot from one to another keeps what was learned (``convert_policy``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .base import Features, Policy


class ArmStatsPolicy(Policy):
    """Non-contextual policy on discounted per-arm ``[n, sum, sum_sq]``."""

    counts_pending = True

    def __init__(self, goal: str, params: Mapping[str, Any] | None = None, seed: int | None = None):
        super().__init__(goal, params, seed)
        self.arms: dict[str, list[float]] = {}
        self.scale = 1.0  # largest |reward| seen (real goals), for scale-aware bonuses

    def _stats(self, arm: str) -> list[float]:
        return self.arms.get(arm) or [0.0, 0.0, 0.0]

    def update(self, arm_id: str, reward: float, context: Features | None = None,
               propensity: float | None = None, *, decided_at: float | None = None,
               settle: float | None = 0.0, begun: bool = False) -> None:
        self._watch(arm_id, float(reward), decided_at, settle)
        self._learn(arm_id, float(reward), propensity, begun)

    def begin(self, arm_id: str, context: Features | None = None) -> None:
        self._decay()
        self.arms.setdefault(arm_id, [0.0, 0.0, 0.0])[0] += 1.0

    def abandon(self, arm_id: str, context: Features | None = None) -> None:
        st = self.arms.get(arm_id)
        if st is not None:
            st[0] = max(st[0] - 1.0, 0.0)

    def _decay(self) -> None:
        """Discount every arm's evidence by one learned decision's worth (``half_life``)."""
        if self.discount < 1.0:
            d = self.discount
            for st in self.arms.values():
                st[0] *= d
                st[1] *= d
                st[2] *= d

    def _forget_evidence(self) -> None:
        self.arms = {}

    def _learn(self, arm_id: str, reward: float, propensity: float | None, begun: bool = False) -> None:
        """Add one reward to the arm's (discounted) statistics (its trial too, unless ``begun``)."""
        if not begun:
            self._decay()
        st = self.arms.setdefault(arm_id, [0.0, 0.0, 0.0])
        if not begun:
            st[0] += 1.0
        st[1] += reward
        st[2] += reward * reward
        if not self.binary and abs(reward) > self.scale:
            self.scale = abs(reward)
        self.version += 1

    def keep_arms(self, arm_ids: Sequence[str]) -> None:
        keep = set(arm_ids)
        self.arms = {a: st for a, st in self.arms.items() if a in keep}
        super().keep_arms(arm_ids)

    def means(self) -> dict[str, float]:
        return {a: (st[1] / st[0] if st[0] > 0 else 0.0) for a, st in self.arms.items()}

    def state(self) -> dict[str, Any]:
        out = super().state()
        out["arms"] = {a: list(st) for a, st in self.arms.items()}
        out["scale"] = self.scale
        return out

    def _load(self, state: Mapping[str, Any]) -> None:
        super()._load(state)
        self.arms = {a: [float(x) for x in st] for a, st in state.get("arms", {}).items()}
        self.scale = float(state.get("scale", 1.0))
