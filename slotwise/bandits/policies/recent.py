"""A short-memory copy of LinUCB's data, used while the full memory's leaders fall short of it.

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
``recent_half_life``, and decides with the short memory while the full one's
leaders are falling short. The switch is a one-sided CUSUM (Page 1954) on
settled rewards (decisions whose window closed, in decision order): each
settled reward of a variant the full model leads with for that visitor (its
settled ridge model, ``settled.py``, the one change detection reads) is
weighed as evidence that leaders now earn ``recent_fall`` x what the model
predicts rather than what it predicts — a log-likelihood ratio, so the sum
is in nats. Past ``recent_switch`` nats the policy decides with the short
memory. It goes back to the full one when a second CUSUM, for a fall half
as deep in log terms (``sqrt(recent_fall)``), is back at 0: a swap's leaders
earn 50–75% of the prediction, and the deep fall that finds it soon is
refuted by a handful of clicks, the shallow one is not. Switching throws
nothing away and is undone when the evidence turns, so it can act on a few
nats where a restart needs ~11.

Why the leaders, against the full model, and not the two memories' fit (the
first version compared the short and the full model's prequential
log-likelihoods): a swap shows first as the variants served earning less
than the full model expects, and this is a test on one number (the leaders'
level), where comparing the two models spends the evidence on the scatter
of the short model over features that do not matter. Two things would read
as a fall in a steady store, and the reference corrects for both:

* **Leaders earn a little less than predicted.** The full model picks a
  leader where its estimate is high (the winner's curse): the CUSUM compares
  with the leaders' long-run ratio of rewards to predictions (``calibration``,
  half-life ``CALIBRATION_HALF_LIFE`` values), not with 1.
* **The hour of the day.** The full model does not know it, so an evening at
  −30% looks like a fall. The leaders' rewards and predictions are filed by
  the decision's hour, and from the second day on the reference follows the
  daily profile of the change detector (``change.daily_shape``: the same
  smooth harmonics, barely shrunk) fitted on *past days only* — on the first
  day a fall and the profile cannot be told apart, and a fall must not be
  absorbed as "this hour is low".
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..change import DAY, STRATA, daily_shape, stratum
from .settled import SettledRidge

_P_CLIP = 1e-3  # predictions of a 0/1 reward are clipped to [0.001, 0.999] for the evidence
MIN_SETTLED = 50  # values an arm's full-memory model has learned before its leads count
SPREAD_HALF_LIFE = 2000.0  # amounts: settled values over which the residuals' spread is estimated
CALIBRATION_HALF_LIFE = 5000.0  # leaders' settled values over which their usual ratio to the prediction is kept
CALIBRATION_PRIOR = 10.0  # predicted reward at ratio 1 the calibration starts from
_EPS = 1e-12


class RecentMemory:
    """LinUCB's data part (``D``, ``b`` per arm) discounted per decision, and when to decide with it."""

    def __init__(self, half_life: float, window: float, switch: float, fall: float, full: SettledRidge) -> None:
        self.discount = 0.5 ** (1.0 / float(half_life))
        self.forget = 0.5 ** (1.0 / float(window)) if window else 1.0
        self.forget_spread = 0.5 ** (1.0 / SPREAD_HALF_LIFE)
        self.switch = float(switch)
        self.fall = float(fall)
        self.D = np.zeros((0, 0, 0))
        self.b = np.zeros((0, 0))
        self.full = full  # the policy's settled model, which it learns itself
        self.score = 0.0  # CUSUM: evidence (nats) that the leaders' rewards fell under the full model's
        # once on, the switch holds while a fall half as deep (in log terms) is still supported: a
        # swap's leaders earn 50-75% of the prediction, and the deep fall that finds it soon is
        # refuted by a few clicks, while the shallow one is not
        self.hold_fall = math.sqrt(self.fall)
        self.hold = 0.0
        self.active = False  # deciding with the short memory
        self.switches = 0
        self.spread = 0.0  # amounts: discounted sum of squared residuals, and its weight
        self.weight = 0.0
        self.keep_calibration = 0.5 ** (1.0 / CALIBRATION_HALF_LIFE)
        self.got = 0.0  # the leaders' settled rewards and the full model's predictions of them (discounted)
        self.expected = 0.0
        # the daily profile (``change.py``): the leaders' rewards and predictions per hour, today's and
        # the past days'; the hours' factors are fitted on past days only, so that on the first day a
        # fall is not taken for the profile
        self.day: int | None = None
        self.today = np.zeros((STRATA, 2))
        self.past = np.zeros((STRATA, 2))
        self.shape = np.ones(STRATA)

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
        """After a restart: the data and the switch's evidence go; the daily profile (the store's hours,
        not which variant wins) stays."""
        self.D[:] = 0.0
        self.b[:] = 0.0
        self.score, self.hold, self.active = 0.0, 0.0, False
        self.spread = self.weight = self.got = self.expected = 0.0

    # -- which memory to decide with -------------------------------------------
    def observe(self, arm: str, x: np.ndarray, value: float, binary: bool, at: float | None = None) -> None:
        """A settled value, in decision order: if its arm is the full model's leader for ``x``, the
        CUSUM weighs it (the full model predicts before it learns it: its owner learns it after
        change detection has read it)."""
        if self.full.n(arm) >= MIN_SETTLED and self._leads(arm, x):
            self._new_day(at)
            hour = stratum(at)
            predicted = self.full.predict(arm, x) * self.shape[hour]
            reference = self.calibration() * predicted
            gain = self._fall_evidence(reference, value, binary, self.fall)
            hold = self._fall_evidence(reference, value, binary, self.hold_fall)
            self.got = self.got * self.keep_calibration + value
            self.expected = self.expected * self.keep_calibration + predicted
            self.today[hour] += (value, self.full.predict(arm, x))
            if not binary:
                residual = value - reference
                self.spread = self.spread * self.forget_spread + residual * residual
                self.weight = self.weight * self.forget_spread + 1.0
            self.score = max(self.score * self.forget + gain, 0.0)
            self.hold = max(self.hold * self.forget + hold, 0.0)
            was = self.active
            if self.score > self.switch:
                self.active = True
            elif self.hold <= 0.0:
                self.active = False
            self.switches += was != self.active

    def _new_day(self, at: float | None) -> None:
        """On the first value of a new day (decision time), the past days' hours refit the profile."""
        if at is None:
            return
        day = int(float(at) // DAY)
        if self.day is None:
            self.day = day
        elif day > self.day:
            self.day = day
            self.past += self.today
            self.today[:] = 0.0
            self.shape = daily_shape(self.past[:, 0], self.past[:, 1])

    def calibration(self) -> float:
        """The leaders' rewards over the full model's predictions, in the long run: the model picks a
        leader where its estimate is high, so a leader earns a little less than predicted; the
        switch looks for a fall under that usual ratio, not under 1."""
        return (self.got + CALIBRATION_PRIOR) / (self.expected + CALIBRATION_PRIOR)

    def _leads(self, arm: str, x: np.ndarray) -> bool:
        """The full model predicts ``arm`` best for ``x``: the variant the full memory serves there."""
        mine = self.full.predict(arm, x)
        return all(self.full.predict(other, x) <= mine for other in self.full.arms if other != arm)

    def _fall_evidence(self, predicted: float, value: float, binary: bool, fall: float) -> float:
        """Log-likelihood ratio of ``value`` under "the reward fell to ``fall`` x the prediction"
        against "as predicted": Poisson counts for 0/1 rewards (a click weighs ``ln fall``, a
        non-click earns ``(1 - fall) x predicted``); for amounts a normal model whose noise is the
        residuals' running spread (updated by the caller)."""
        if binary:
            p = min(max(predicted, _P_CLIP), 1.0 - _P_CLIP)
            return value * math.log(fall) + (1.0 - fall) * p
        residual = value - predicted
        var = max(self.spread / self.weight, _EPS) if self.weight else max(residual * residual, _EPS)
        drop = (1.0 - fall) * abs(predicted)
        return -drop * (residual + 0.5 * drop) / var

    def state(self) -> dict[str, Any]:
        return {"D": self.D.tolist(), "b": self.b.tolist(), "score": self.score, "hold": self.hold,
                "active": self.active, "switches": self.switches, "spread": self.spread, "weight": self.weight,
                "got": self.got, "expected": self.expected,
                "day": self.day, "today": self.today.tolist(), "past": self.past.tolist()}

    def load(self, state: Mapping[str, Any] | None, k: int, d: int) -> None:
        self.D, self.b = np.zeros((k, d, d)), np.zeros((k, d))
        self.score, self.hold, self.active, self.switches = 0.0, 0.0, False, 0
        self.spread = self.weight = self.got = self.expected = 0.0
        self.day, self.shape = None, np.ones(STRATA)
        self.today, self.past = np.zeros((STRATA, 2)), np.zeros((STRATA, 2))
        if not state:
            return
        D = np.array(state.get("D", []), dtype=float)
        b = np.array(state.get("b", []), dtype=float)
        if D.shape == (k, d, d) and b.shape == (k, d):
            self.D, self.b = D, b
        self.score = float(state.get("score", 0.0))
        self.hold = float(state.get("hold", 0.0))
        self.active = bool(state.get("active", False))
        self.switches = int(state.get("switches", 0))
        self.spread = float(state.get("spread", 0.0))
        self.weight = float(state.get("weight", 0.0))
        self.got = float(state.get("got", 0.0))
        self.expected = float(state.get("expected", 0.0))
        day = state.get("day")
        self.day = None if day is None else int(day)
        for name in ("today", "past"):
            cells = np.array(state.get(name, []), dtype=float)
            if cells.shape == (STRATA, 2):
                setattr(self, name, cells)
        self.shape = daily_shape(self.past[:, 0], self.past[:, 1])
