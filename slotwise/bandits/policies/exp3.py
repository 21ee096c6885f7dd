"""Exp3 for adversarial rewards, learning from the logged propensity (rewards arrive late)."""

from __future__ import annotations

import math

from .arm_stats import ArmStatsPolicy


class Exp3(ArmStatsPolicy):
    """Exp3 with importance weights from the *logged* propensity (delayed rewards).

    Weights are kept as logs, re-centred, so they never overflow; with a
    ``half_life`` the log-weights shrink toward uniform.
    """

    name = "exp3"
    counts_pending = False  # its weights learn rewards only, weighted by the logged propensity

    def __init__(self, goal, params=None, seed=None):
        super().__init__(goal, params, seed)
        self.log_weights: dict[str, float] = {}
        self.reward_max = 0.0

    def probabilities(self, arm_ids, context=None):
        gamma = self.params["gamma"]
        logs = [self.log_weights.get(a, 0.0) for a in arm_ids]
        top = max(logs)
        ws = [math.exp(x - top) for x in logs]
        total = sum(ws)
        k = len(arm_ids)
        return {a: (1.0 - gamma) * w / total + gamma / k for a, w in zip(arm_ids, ws)}

    def _scaled(self, reward: float) -> float:
        if self.binary:
            return min(max(reward, 0.0), 1.0)
        self.reward_max = max(self.reward_max, reward)
        cap = self.params.get("reward_cap") or self.reward_max
        return min(max(reward / cap, 0.0), 1.0) if cap > 0 else 0.0

    def _forget_evidence(self) -> None:
        super()._forget_evidence()
        self.log_weights = {}

    def _learn(self, arm_id, reward, propensity, begun=False):
        if propensity is None or propensity <= 0.0:
            arms = sorted(set(self.log_weights) | {arm_id})
            propensity = self.probabilities(arms)[arm_id]
        x = self._scaled(reward)
        gamma = self.params["gamma"]
        k = max(len(self.log_weights | {arm_id: 0.0}), self.n_arms, 1)  # K: configured or seen arms
        if self.discount < 1.0:
            for a in self.log_weights:
                self.log_weights[a] *= self.discount
        self.log_weights[arm_id] = self.log_weights.get(arm_id, 0.0) + gamma * x / (propensity * k)
        top = max(self.log_weights.values())
        if top > 50.0:  # re-centre; only differences matter
            self.log_weights = {a: v - top for a, v in self.log_weights.items()}
        super()._learn(arm_id, reward, propensity, begun)

    def keep_arms(self, arm_ids):
        super().keep_arms(arm_ids)
        keep = set(arm_ids)
        self.log_weights = {a: v for a, v in self.log_weights.items() if a in keep}

    def state(self):
        out = super().state()
        out["log_weights"] = dict(self.log_weights)
        out["reward_max"] = self.reward_max
        return out

    def _load(self, state):
        super()._load(state)
        self.log_weights = {a: float(v) for a, v in state.get("log_weights", {}).items()}
        self.reward_max = float(state.get("reward_max", 0.0))
