"""A short-memory copy of LinUCB's data, used while the full memory's leaders fall short of it.

After a swap of the best variants a policy that has seen thousands of visitors
keeps serving the old winners: its evidence outweighs the new. Change
detection cannot rescue it in time. In the bandit bench's swap runs the
rewards of the decisions actually served (each segment's leader) fell by
about a third, and 2,000 decisions after the swap that is worth ~4 nats of
evidence, where a restart needs ~11 to keep false restarts under one per
million decisions (docs/benchmarks-history.md, "After a swap: the short memory"). Forgetting
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
nothing away and is undone when the evidence turns, so it can act on fewer
nats than a restart needs (~11).

**One stream per leading variant, and all leaders together.** A swap's fall is
deepest in some segments (in the bench's store: new mobile visitors' leader to
~45%, new desktop visitors' to ~60%), and pooled with a busier segment whose
leader happens to earn as predicted it is diluted below what the CUSUM looks
for. So each variant's leads (the visitors the full model serves it to) have
their own CUSUM and calibration, beside the pooled one. Several streams may
each cross by chance, so a variant's stream needs ``ln(number of variants'
streams)`` nats more than the pooled one (the family's false-switch rate about
that of one stream). The policy decides with the short memory while any
stream is on.

**The threshold, and false switches.** A CUSUM's false-switch rate falls
only as e^-h: for a fall to 0.4, a 5% leader that earns as predicted crosses
4 nats by chance after ~3,000 values (median), 6 nats after ~25,000. In the
bench's steady runs (3,000 visits an hour, 12,000 decisions) the pooled
stream crossed 4 nats in 13 of 16 and 6 nats in none,
but at 6 nats swaps were found so much later that fewer runs came back within
5,000 decisions (docs/benchmarks-history.md, "fourth pass"), so ``recent_switch``
stays 4: a false switch costs a steady run between −1.6 and +2.6 points of
the oracle (the short memory explores more), about −0.3 on average. A swap
whose leaders happen to keep 75–85% of the prediction gives ~1 nat per 1,000
decisions: it is found late or only by the full model's own learning.

Why the leaders, against the full model, and not the two memories' fit (the
first version compared the short and the full model's prequential
log-likelihoods): a swap shows first as the variants served earning less
than the full model expects, and this is a test on one number (the leaders'
level), where comparing the two models spends the evidence on the scatter
of the short model over features that do not matter. Two things would read
as a fall in a steady store, and the reference corrects for both:

* **Leaders earn a little less than predicted.** The full model picks a
  leader where its estimate is high (the winner's curse): each stream's
  CUSUM compares with that stream's long-run ratio of rewards to predictions
  (``LeaderStream.calibration``, half-life ``CALIBRATION_HALF_LIFE`` values),
  not with 1.
* **The hour of the day.** The full model does not know it, so an evening at
  −30% looks like a fall. The leaders' rewards and predictions are filed by
  the decision's hour, and from the second day on the reference follows the
  daily profile of the change detector (``change.daily_shape``: the same
  smooth harmonics, barely shrunk) fitted on *past days only* — on the first
  day a fall and the profile cannot be told apart, and a fall must not be
  absorbed as "this hour is low" (in the bench at 250 visits an hour, 37 of
  40 runs switch at some hour of the first day).
* **The first day.** With no past day, each stream compares with its own
  level of the last hours (its ratio of rewards to predictions, discounted
  with a half-life of ``NEAR_HALF_LIFE_S`` of decision time) instead of the
  level of the whole day so far: a ±30% daily swing moves that level by at
  most ~8% an hour, while a swap's fall is a step, weighed before the level
  has followed it. At 250 visits an hour the first evening's dip had the
  short memory deciding a third of all decisions of a steady two-day run,
  at ~2 points of the oracle (docs/benchmarks-history.md, "sixth pass"). The price:
  a step is followed within a few hours, so at low traffic a first-day swap
  gathers less evidence before its level has caught up.
* **A busy slot's first day holds its reference.** Where settled values come
  faster than ``NEAR_GATE`` an hour (since the slot's first, over an hour at
  least), the first day's reference follows that level at most ``NEAR_RATE``
  (log) an hour: a daily swing moves the level slower than that, a swap's
  step faster, so the step is weighed against more of the level from before
  it. In the bench at 3,000 visits an hour (a run is four hours of day one)
  swap runs came back in 39 of 40 against 36, and the steady mean rose by
  0.5 point; at 250 an hour the same cap cost 0.3–0.5 point steady (the
  level of the last hours is too noisy to hold), so it is gated by the
  rate, which does not flip within a run as the level's own precision did
  (docs/benchmarks-history.md, "tenth pass", "eleventh pass", "fourteenth pass").
* **A fall being weighed is not learned as the usual ratio.** From the second
  day on a stream compares with its calibration (x the hour's factor). A value
  weighed while the stream holds evidence of a fall (its CUSUM above 0) is
  held out of the calibration until that evidence is back at 0, then learned
  with the discount it would have had. In a steady stream the CUSUM is back
  at 0 again and again (in the tests some value waits at ~40% of the values,
  at most ~16% of the calibration's weight), and whenever nothing waits the
  calibration is the one that learned every value when it came; a swap's
  fall is weighed against the ratio from before it. At 250 visits an hour
  the first day's leaders are a few thousand values, and without the wait
  the values after an evening swap pulled the fallen leader's calibration
  from 0.78 to 0.69 before its evidence reached the threshold
  (docs/benchmarks-history.md, "eleventh pass").
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
POOLED_KEY = "*"  # the stream of all leaders together, among the per-variant ones (keyed by variant)
_EPS = 1e-12
# the first day's reference: the leaders' own level of the last hours (half-life, seconds of decision time)
NEAR_HALF_LIFE_S = 2 * 3600.0
# busy slots only (more than NEAR_GATE settled values an hour since their first, over an hour at least): the
# first day's reference follows the last hours' level at most NEAR_RATE (log) an hour, faster than a +-30%
# daily swing moves it (~0.07) and slower than a swap's step (~0.13 in its first hour)
NEAR_RATE = 0.08
NEAR_GATE = 1000.0
NEAR_RATE_WARM_UP = 30.0  # prediction a stream's calibration has weighed before its reference is held


class LeaderStream:
    """The switch's evidence for one stream of leaders' settled rewards: a CUSUM for the fall, one for
    holding the switch, and the stream's usual ratio of rewards to predictions (its calibration)."""

    __slots__ = ("score", "hold", "on", "got", "expected", "near_got", "near_expected", "near_at", "waiting_got",
                 "waiting_expected", "held", "held_at")

    def __init__(self) -> None:
        self.score = 0.0  # CUSUM: evidence (nats) that these leaders' rewards fell under the full model's
        self.hold = 0.0  # CUSUM for a fall half as deep (in log terms): holds the switch once on
        self.on = False
        self.got = 0.0  # the leaders' settled rewards and the full model's predictions of them (discounted)
        self.expected = 0.0
        # the same ratio over the last hours only (time-discounted, ``NEAR_HALF_LIFE_S``): the first
        # day's reference, before any daily profile
        self.near_got = 0.0
        self.near_expected = 0.0
        self.near_at: float | None = None
        # values weighed while the CUSUM was above 0, not yet in the calibration (discounted alike)
        self.waiting_got = 0.0
        self.waiting_expected = 0.0
        self.held: float | None = None  # the first-day reference, followed at most NEAR_RATE (log) an hour
        self.held_at: float | None = None

    def held_near(self, at: float, half_life: float, rate: float) -> float:
        """``near``, followed at most ``rate`` (log) an hour once the calibration has weighed
        ``NEAR_RATE_WARM_UP`` of prediction (before: freely, as the first hours converge)."""
        level = self.near(at, half_life)
        if self.held is None or self.held_at is None or self.expected < NEAR_RATE_WARM_UP:
            self.held, self.held_at = level, at
            return level
        step = rate * max(at - self.held_at, 0.0) / 3600.0
        self.held = min(max(level, self.held * math.exp(-step)), self.held * math.exp(step))
        self.held_at = max(at, self.held_at)
        return self.held

    def learn(self, value: float, predicted: float, keep: float, wait: bool) -> None:
        """One value into the calibration (discounted by ``keep`` per value); with ``wait`` it waits
        apart, discounted alike, until ``release``."""
        self.got, self.expected = self.got * keep, self.expected * keep
        self.waiting_got, self.waiting_expected = self.waiting_got * keep, self.waiting_expected * keep
        if wait:
            self.waiting_got += value
            self.waiting_expected += predicted
        else:
            self.got += value
            self.expected += predicted

    def release(self) -> None:
        """The waiting values into the calibration: as if learned when they came."""
        self.got += self.waiting_got
        self.expected += self.waiting_expected
        self.waiting_got = self.waiting_expected = 0.0

    def near(self, at: float, half_life: float) -> float:
        """The leaders' ratio of rewards to predictions over the last hours at ``at`` (time-discounted
        with ``half_life`` seconds), shrunk to the long-run calibration with ``CALIBRATION_PRIOR`` of
        prediction."""
        keep = self._keep(at, half_life)
        return ((self.near_got * keep + CALIBRATION_PRIOR * self.calibration())
                / (self.near_expected * keep + CALIBRATION_PRIOR))

    def learn_near(self, at: float, half_life: float, value: float, predicted: float) -> None:
        keep = self._keep(at, half_life)
        self.near_got = self.near_got * keep + value
        self.near_expected = self.near_expected * keep + predicted
        self.near_at = at if self.near_at is None else max(at, self.near_at)

    def _keep(self, at: float, half_life: float) -> float:
        if self.near_at is None:
            return 0.0
        return 0.5 ** (max(at - self.near_at, 0.0) / half_life)

    def calibration(self) -> float:
        """The leaders' rewards over the full model's predictions, in the long run: the model picks a
        leader where its estimate is high, so a leader earns a little less than predicted; the
        switch looks for a fall under that usual ratio, not under 1."""
        return (self.got + CALIBRATION_PRIOR) / (self.expected + CALIBRATION_PRIOR)

    def state(self) -> dict[str, Any]:
        return {"score": self.score, "hold": self.hold, "on": self.on, "got": self.got, "expected": self.expected,
                "near": [self.near_got, self.near_expected, self.near_at],
                "waiting": [self.waiting_got, self.waiting_expected], "held": [self.held, self.held_at]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "LeaderStream":
        out = cls()
        out.score, out.hold = float(state.get("score", 0.0)), float(state.get("hold", 0.0))
        out.on = bool(state.get("on", False))
        out.got, out.expected = float(state.get("got", 0.0)), float(state.get("expected", 0.0))
        near = state.get("near") or [0.0, 0.0, None]
        out.near_got, out.near_expected = float(near[0]), float(near[1])
        out.near_at = None if near[2] is None else float(near[2])
        out.waiting_got, out.waiting_expected = (float(v) for v in state.get("waiting") or [0.0, 0.0])
        held = state.get("held") or [None, None]
        out.held, out.held_at = (None if v is None else float(v) for v in held)
        return out


class RecentMemory:
    """LinUCB's data part (``D``, ``b`` per arm) discounted per decision, and when to decide with it."""

    def __init__(self, half_life: float, window: float, switch: float, fall: float, full: SettledRidge,
                 near_half_life: float = NEAR_HALF_LIFE_S) -> None:
        self.discount = 0.5 ** (1.0 / float(half_life))
        self.forget = 0.5 ** (1.0 / float(window)) if window else 1.0
        self.forget_spread = 0.5 ** (1.0 / SPREAD_HALF_LIFE)
        self.switch = float(switch)
        self.fall = float(fall)
        self.D = np.zeros((0, 0, 0))
        self.b = np.zeros((0, 0))
        self.full = full  # the policy's settled model, which it learns itself
        # once on, the switch holds while a fall half as deep (in log terms) is still supported: a
        # swap's leaders earn 50-75% of the prediction, and the deep fall that finds it soon is
        # refuted by a few clicks, while the shallow one is not
        self.hold_fall = math.sqrt(self.fall)
        # one stream per leading variant (the visitors the full model serves it to), and all of them
        # together: a fall in one segment is not diluted by the others' steady rewards
        self.streams: dict[str, LeaderStream] = {}
        self.active = False  # deciding with the short memory
        self.switches = 0
        self.spread = 0.0  # amounts: discounted sum of squared residuals, and its weight
        self.weight = 0.0
        self.keep_calibration = 0.5 ** (1.0 / CALIBRATION_HALF_LIFE)
        # the daily profile (``change.py``): the leaders' rewards and predictions per hour, today's and
        # the past days'; the hours' factors are fitted on past days only, so that on the first day a
        # fall is not taken for the profile
        self.day: int | None = None
        self.today = np.zeros((STRATA, 2))
        self.past = np.zeros((STRATA, 2))
        self.shape = np.ones(STRATA)
        self.near_half_life = float(near_half_life)  # 0: the first day's reference is the calibration too
        self.first_at: float | None = None  # settled values and the decision time they span: the slot's rate
        self.last_at: float | None = None
        self.settled_values = 0

    @property
    def score(self) -> float:
        """The strongest evidence of a fall, over the streams (nats)."""
        return max((s.score for s in self.streams.values()), default=0.0)

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
        self.streams, self.active = {}, False
        self.spread = self.weight = 0.0

    # -- which memory to decide with -------------------------------------------
    def observe(self, arm: str, x: np.ndarray, value: float, binary: bool, at: float | None = None) -> None:
        """A settled value, in decision order: if its arm is the full model's leader for ``x``, the
        CUSUMs of its streams weigh it (the full model predicts before it learns it: its owner learns
        it after change detection has read it)."""
        if at is not None:
            self.first_at = at if self.first_at is None else min(self.first_at, at)
            self.last_at = at if self.last_at is None else max(self.last_at, at)
            self.settled_values += 1
        if self.full.n(arm) < MIN_SETTLED or not self._leads(arm, x):
            return
        self._new_day(at)
        hour = stratum(at)
        raw = self.full.predict(arm, x)
        predicted = raw * self.shape[hour]
        self.today[hour] += (value, raw)
        # the first day (no past day, so no profile): the reference is the leaders' level of the last
        # hours, not of the whole run so far
        near = at if at is not None and self.near_half_life > 0.0 and not self.past.any() else None
        for key in (arm, POOLED_KEY):
            stream = self.streams.get(key)
            if stream is None:
                stream = self.streams[key] = LeaderStream()
            self._weigh(stream, self._threshold(key), predicted, value, binary, near)
        if not binary:
            pooled = self.streams[POOLED_KEY]
            reference = (pooled.calibration() if near is None else self._near_reference(pooled, near)) * predicted
            residual = value - reference
            self.spread = self.spread * self.forget_spread + residual * residual
            self.weight = self.weight * self.forget_spread + 1.0
        was = self.active
        self.active = any(s.on for s in self.streams.values())
        self.switches += was != self.active

    def _threshold(self, key: str) -> float:
        """Nats a stream needs to turn on: ``switch`` for all leaders together; a variant's own stream
        is one of several that may cross by chance, so it needs ln(number of variants' streams) more
        (the same false-switch rate for the family as one stream at ``switch``)."""
        if key == POOLED_KEY:
            return self.switch
        return self.switch + math.log(max(len(self.streams) - (POOLED_KEY in self.streams), 1))

    def _weigh(self, stream: LeaderStream, threshold: float, predicted: float, value: float, binary: bool,
               near: float | None = None) -> None:
        """One leader's settled value into a stream: its CUSUMs against the stream's calibrated
        prediction, then its calibration. The stream turns on past ``threshold`` nats, and off once
        the shallower fall's CUSUM is back at 0. From the second day on (a daily profile, no ``near``), a
        value weighed while the CUSUM is above 0 waits out of the calibration until it is back at 0."""
        reference = (stream.calibration() if near is None else self._near_reference(stream, near)) * predicted
        gain = self._fall_evidence(reference, value, binary, self.fall)
        hold = self._fall_evidence(reference, value, binary, self.hold_fall)
        wait = near is None and stream.score > 0.0 and bool(self.past.any())  # the calibration is the reference
        stream.learn(value, predicted, self.keep_calibration, wait)
        if near is not None:
            stream.learn_near(near, self.near_half_life, value, predicted)
        stream.score = max(stream.score * self.forget + gain, 0.0)
        stream.hold = max(stream.hold * self.forget + hold, 0.0)
        if stream.score <= 0.0 and stream.waiting_expected:
            stream.release()
        if stream.score > threshold:
            stream.on = True
        elif stream.hold <= 0.0:
            stream.on = False

    def _near_reference(self, stream: LeaderStream, at: float) -> float:
        """The first day's reference: the last hours' level, held to ``NEAR_RATE`` an hour in a busy slot."""
        if self._busy():
            return stream.held_near(at, self.near_half_life, NEAR_RATE)
        return stream.near(at, self.near_half_life)

    def _busy(self) -> bool:
        """More than NEAR_GATE settled values an hour since the first (over an hour at least)."""
        if self.first_at is None or self.last_at is None:
            return False
        hours = max((self.last_at - self.first_at) / 3600.0, 1.0)
        return self.settled_values / hours > NEAR_GATE

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
        return {"D": self.D.tolist(), "b": self.b.tolist(), "active": self.active, "switches": self.switches,
                "streams": {key: stream.state() for key, stream in self.streams.items()},
                "spread": self.spread, "weight": self.weight,
                "day": self.day, "today": self.today.tolist(), "past": self.past.tolist(),
                "settled_values": [self.settled_values, self.first_at, self.last_at]}

    def load(self, state: Mapping[str, Any] | None, k: int, d: int) -> None:
        self.D, self.b = np.zeros((k, d, d)), np.zeros((k, d))
        self.streams, self.active, self.switches = {}, False, 0
        self.spread = self.weight = 0.0
        self.day, self.shape = None, np.ones(STRATA)
        self.today, self.past = np.zeros((STRATA, 2)), np.zeros((STRATA, 2))
        self.settled_values, self.first_at, self.last_at = 0, None, None
        if not state:
            return
        D = np.array(state.get("D", []), dtype=float)
        b = np.array(state.get("b", []), dtype=float)
        if D.shape == (k, d, d) and b.shape == (k, d):
            self.D, self.b = D, b
        self.streams = {str(key): LeaderStream.from_state(s) for key, s in (state.get("streams") or {}).items()}
        self.active = bool(state.get("active", False))
        self.switches = int(state.get("switches", 0))
        self.spread = float(state.get("spread", 0.0))
        self.weight = float(state.get("weight", 0.0))
        day = state.get("day")
        self.day = None if day is None else int(day)
        for name in ("today", "past"):
            cells = np.array(state.get(name, []), dtype=float)
            if cells.shape == (STRATA, 2):
                setattr(self, name, cells)
        self.shape = daily_shape(self.past[:, 0], self.past[:, 1])
        count, first, last = state.get("settled_values") or [0, None, None]
        self.settled_values = int(count)
        self.first_at, self.last_at = (None if v is None else float(v) for v in (first, last))
