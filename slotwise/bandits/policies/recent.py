"""A short-memory copy of LinUCB's data, used while it predicts the recent rewards better.

After a swap of the best variants a policy that has seen thousands of visitors
keeps serving the old winners: its evidence outweighs the new. Change
detection cannot rescue it in time. In the bandit bench's swap runs the
rewards of the decisions actually served (each segment's leader) fell by
about a third, and 2,000 decisions after the swap that is worth ~4 nats of
evidence, where a restart needs ~11 to keep false restarts under one per
million decisions (docs/benchmarks.md, "After a swap: the short memory"). Forgetting
at a fixed pace (``half_life``) recovers but costs 2–3 points of the oracle
in a steady store, every day.

So LinUCB keeps both: its full-memory data, and the same data discounted with
``recent_half_life``. Which one it decides with is a prequential model choice
on settled rewards (decisions whose window closed, in decision order): a
full-memory and a short-memory ridge model (``settled.py``) each predict every
settled reward before learning it (the full one is the policy's own settled
model, which change detection reads too: one copy, learned once by the
policy), and ``score`` sums the log-likelihood
advantage of the short one, forgetting with ``recent_window``. Past
``recent_switch`` nats the policy decides with the short memory, and back at
0 with the full one. Switching throws nothing away and is undone as soon as
the evidence turns, so it can act on far less evidence than a restart: in a
steady store the full memory predicts at least as well (less noise), and the
short one wins only when the store has moved.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from .settled import SettledRidge

_P_CLIP = 1e-3  # predictions of a 0/1 reward are clipped to [0.001, 0.999] for the log-likelihood
MIN_SETTLED = 50  # values an arm's full-memory model has learned before the comparison counts them


def log_likelihood(p: float, value: float, binary: bool) -> float:
    """Log-likelihood of ``value`` under a prediction ``p``: Bernoulli for 0/1 rewards; for amounts
    a unit-variance normal (only differences between the two models matter)."""
    if binary:
        q = min(max(p, _P_CLIP), 1.0 - _P_CLIP)
        return math.log(q) if value > 0.5 else math.log(1.0 - q)
    return -0.5 * (value - p) ** 2


class RecentMemory:
    """LinUCB's data part (``D``, ``b`` per arm) discounted per decision, and when to decide with it."""

    def __init__(self, half_life: float, window: float, switch: float, full: SettledRidge) -> None:
        self.discount = 0.5 ** (1.0 / float(half_life))
        self.forget = 0.5 ** (1.0 / float(window))
        self.switch = float(switch)
        self.D = np.zeros((0, 0, 0))
        self.b = np.zeros((0, 0))
        # the settled-values twins of the two memories; ``full`` is the policy's, which it learns itself
        self.full = full
        self.short = SettledRidge(full.ridge, full.shared, self.discount)
        self.score = 0.0  # discounted log-likelihood advantage of the short memory (nats)
        self.active = False  # deciding with the short memory
        self.switches = 0

    # -- the data part, kept in step with LinUCB's -----------------------------
    def fit(self, k: int, d: int) -> None:
        """Pad to ``k`` arms x ``d`` features (the policy's arm set or vocabulary grew)."""
        if self.D.shape == (k, d, d):
            return
        D, b = np.zeros((k, d, d)), np.zeros((k, d))
        ok, od = self.b.shape if self.b.ndim == 2 else (0, 0)
        D[:ok, :od, :od], b[:ok, :od] = self.D, self.b
        self.D, self.b = D, b

    def add(self, row: int, x: np.ndarray) -> None:
        """A decision counted as a trial: everything older weighs a little less."""
        self.D *= self.discount
        self.b *= self.discount
        self.D[row] += np.outer(x, x)

    def remove(self, row: int, x: np.ndarray) -> None:
        self.D[row] -= np.outer(x, x)

    def reward(self, row: int, x: np.ndarray, value: float) -> None:
        self.b[row] += value * x

    def keep(self, rows: Sequence[int]) -> None:
        d = self.b.shape[1] if self.b.ndim == 2 else 0
        self.D = self.D[list(rows)] if rows else np.zeros((0, d, d))
        self.b = self.b[list(rows)] if rows else np.zeros((0, d))

    def clear(self) -> None:
        self.D[:] = 0.0
        self.b[:] = 0.0
        self.short.clear()
        self.score, self.active = 0.0, False

    # -- which memory to decide with -------------------------------------------
    def observe(self, arm: str, x: np.ndarray, value: float, binary: bool) -> None:
        """A settled value, in decision order: both models predict it, then the short one learns it
        (the full one is learned by its owner, after change detection has read it)."""
        if self.full.n(arm) >= MIN_SETTLED:
            gain = (log_likelihood(self.short.predict(arm, x), value, binary)
                    - log_likelihood(self.full.predict(arm, x), value, binary))
            self.score = self.score * self.forget + gain
            was = self.active
            if self.score > self.switch:
                self.active = True
            elif self.score < 0.0:
                self.active = False
            self.switches += was != self.active
        self.short.learn(arm, x, value)

    def state(self) -> dict[str, Any]:
        return {"D": self.D.tolist(), "b": self.b.tolist(), "short": self.short.state(),
                "score": self.score, "active": self.active, "switches": self.switches}

    def load(self, state: Mapping[str, Any] | None, k: int, d: int) -> None:
        self.D, self.b = np.zeros((k, d, d)), np.zeros((k, d))
        self.short.load(None)
        self.score, self.active, self.switches = 0.0, False, 0
        if not state:
            return
        D = np.array(state.get("D", []), dtype=float)
        b = np.array(state.get("b", []), dtype=float)
        if D.shape == (k, d, d) and b.shape == (k, d):
            self.D, self.b = D, b
        self.short.load(state.get("short"))
        self.score = float(state.get("score", 0.0))
        self.active = bool(state.get("active", False))
        self.switches = int(state.get("switches", 0))
