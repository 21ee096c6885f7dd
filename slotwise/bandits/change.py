"""Change-point detection on a reward stream: a time-of-day stratified GLR test.

A policy that has seen 20,000 visitors prefer variant A keeps serving A for
a long time after A stops working: its evidence outweighs anything a few
hundred new visitors say. ``half_life`` forgets at a fixed pace, which costs
in a steady store and is still slow after an abrupt change. Instead each arm
watches its own stream and asks, as the generalised likelihood ratio test of
Besson et al. (2020, "Efficient change-point detection for tackling
piecewise-stationary bandits") does, whether some split of the window since
the last restart into *before* and *after* explains the data much better than
one level. When it does, the policy restarts: what it knew is no longer true.

Two things make a store's reward stream hard, and the test is built for both:

* **Rare 0/1 rewards.** A conversion stream at 1% is mostly zeros: a test
  that estimates a variance from the window (a normal approximation) sees it
  collapse after a run of zeros and calls the next conversion a change. Here
  0/1 streams are counts, and the test is the likelihood ratio of a Poisson
  model (conservative for Bernoulli rewards up to ~10%: their variance is
  ``p(1-p) < p``), exact at small counts instead of a normal approximation.
* **Daily cycles.** Conversion rates swing over the day (±30% is common).
  A before/after test of one level reads the evening's dip as a change once a
  variant has enough traffic. So every value is filed under its hour of the
  day (``at``, the decision's time) and the test compares *after* with
  *before* within the same hours only: each hour has its own level (a nuisance
  the test conditions away), and a change must move every hour by the same
  factor. Given the count in each hour, the count after the split is binomial
  with a probability that depends on that factor alone (Mantel–Haenszel in
  spirit); the statistic is the log-likelihood ratio of the best factor
  against "no change". A cycle that repeats daily moves nothing; halving a
  variant does. Hours seen only before or only after the split carry no
  evidence, so on the first day after a restart only changes in hours already
  seen can be found.

``expected`` lets a stream say what each value should be under "no change"
(a contextual model's prediction for that visitor): counts are then compared
to the sum of predictions, so a shift of the traffic mix between segments is
not a change, a shift of the reward against the model is.

Real-valued streams (revenue, a model's errors on revenue) use a stratified
normal test for drops only (``m1 < m0``): rewards like revenue are rare and
skewed, and a few large orders in a short window look like a huge rise to a
normal approximation, while a drop is judged fairly — and a drop is the change
that costs. Its variance is floored at ``(VARIANCE_FLOOR x largest |value|)^2``
so a window of near-identical values (25 x -0.0400 then 25 x -0.0401) is not
read as a precise measurement.

Observations are summed into buckets (per hour: count, sum, and the sum of
``expected`` or of squares) and the test runs when a bucket closes — after
``bucket`` values, and for 0/1 streams ``MIN_REWARDS`` rewards too — over
every split between buckets. Older buckets are merged pairwise, as in ADWIN's
exponential histogram (at most ``per_size`` buckets of each level), so the
window reaches back to the last restart with O(log n) buckets. A change is declared when the statistic exceeds
``threshold + ln(splits)`` (nats of evidence; the second term pays for testing
many split points at once). Plain data in, a bool out, state in JSON: it is
replayed with the policy it serves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

BUCKET = 25  # values per bucket at least (the test runs once per bucket)
# 0/1 streams: a bucket also waits until it holds this many rewards, or would have at the window's
# rate (or BUCKET x LONGEST values): at 0.5% a test every 25 values costs 40x more than it adds
MIN_REWARDS = 4
LONGEST = 40
PER_SIZE = 4  # buckets kept of each size before the two oldest merge
STRATA = 24  # hours of the day
DAY = 86_400.0
VARIANCE_FLOOR = 0.05  # real-valued streams: the noise is at least 5% of the largest |value| seen
NEWTON_STEPS = 8
SCREEN = 0.2  # splits fitted exactly: score statistic >= 20% of the alarm level (exact/score <= ~4 seen)
HARMONICS = 2  # sine/cosine pairs of the daily profile
PROFILE_RIDGE = 50.0  # shrinks the profile to flat: a +-30% cycle costs ~2 nats, faking a halving ~10
SHAPE_RIDGE = 5.0  # ``daily_shape``: the profile as a reference, barely shrunk
_ETA_LIMIT = 30.0
_EPS = 1e-12
KINDS = ("bernoulli", "gaussian")


def stratum(at: float | None) -> int:
    """The hour of the day (UTC) of a decision time; everything in one stratum without a time."""
    return 0 if at is None else int((float(at) % DAY) // 3600.0) % STRATA


@dataclass(frozen=True)
class DailyModel:
    """How the hour of the day enters the test: the design over the 24 hours, and its penalty."""

    name: str
    basis: np.ndarray  # hours x p (the first column: the level)
    penalty: np.ndarray  # p

    @property
    def alt(self) -> np.ndarray:
        """Cells of a split (24 hours before, 24 after) x (p + 1): the design plus the shift."""
        hours = len(self.basis)
        return np.vstack([np.column_stack([self.basis, np.zeros(hours)]),
                          np.column_stack([self.basis, np.ones(hours)])])

    @property
    def alt_penalty(self) -> np.ndarray:
        return np.append(self.penalty, 0.0)  # the shift itself is not penalised


def _profile() -> DailyModel:
    """A smooth daily profile: a level and ``HARMONICS`` sine/cosine pairs, shrunk to flat."""
    angle = 2.0 * math.pi * (np.arange(STRATA) + 0.5) / STRATA
    columns = [np.ones(STRATA)]
    for m in range(1, HARMONICS + 1):
        columns += [np.cos(m * angle), np.sin(m * angle)]
    basis = np.column_stack(columns)
    return DailyModel("profile", basis, np.array([0.0] + [PROFILE_RIDGE] * (basis.shape[1] - 1)))


def _hours() -> DailyModel:
    """A free level per hour: *after* is compared with *before* within the same hours only."""
    basis = np.column_stack([np.ones(STRATA), np.eye(STRATA)[:, 1:]])
    return DailyModel("hours", basis, np.array([0.0] + [1e-4] * (STRATA - 1)))


# ``profile`` is what policies use; ``hours`` and ``none`` (one level, no time of day) are the
# baselines of the bench (docs/benchmarks.md, "Change detection")
DAILY = {"profile": _profile(), "hours": _hours(), "none": DailyModel("none", np.ones((STRATA, 1)), np.zeros(1))}
BASIS = DAILY["profile"].basis
_PENALTY = DAILY["profile"].penalty


def poisson_fit(X: np.ndarray, y: np.ndarray, exposure: np.ndarray, coef: np.ndarray,
                penalty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Penalised Poisson regression with a log link, for a batch: ``X`` (J, cells, p), ``y`` and
    ``exposure`` (J, cells), ``coef`` the start (J, p). Returns coefficients and log-likelihoods."""
    ridge = np.diag(penalty + _EPS)
    for _ in range(NEWTON_STEPS):  # the penalised log-likelihood is concave: Newton converges
        eta = np.clip(np.einsum("jcp,jp->jc", X, coef), -_ETA_LIMIT, _ETA_LIMIT)
        mu = exposure * np.exp(eta)
        grad = np.einsum("jcp,jc->jp", X, y - mu) - penalty * coef
        hess = np.einsum("jcp,jc,jcq->jpq", X, mu, X) + ridge
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        coef = coef + np.clip(step, -2.0, 2.0)
    eta = np.clip(np.einsum("jcp,jp->jc", X, coef), -_ETA_LIMIT, _ETA_LIMIT)
    mu = exposure * np.exp(eta)
    loglik = (y * eta - mu).sum(axis=1) - 0.5 * (penalty * coef * coef).sum(axis=1)
    return coef, loglik


def poisson_glr(window: np.ndarray, screen: float = 0.0, model: DailyModel = DAILY["profile"]) -> np.ndarray:
    """GLR of a level shift at every split of ``window`` (buckets x hours x [n, count, expected]),
    with the daily profile a nuisance fitted under both hypotheses.

    Entry ``j`` puts buckets ``0..j`` before the change. "No change" is fitted once
    (it does not depend on the split); each split's score statistic (the test's
    quadratic approximation at "no change", closed form) screens the splits, and
    only those reaching ``screen`` get the exact likelihood ratio (a refit with
    the shift). The score of a Poisson rate is at least a quarter of the exact
    statistic in every case tried (``tests/bandits/test_change.py``).
    """
    total = window.sum(axis=0)
    K, E = total[:, 1], total[:, 2]
    if K.sum() <= 0 or len(window) < 2:
        return np.zeros(max(len(window) - 1, 0))
    basis, penalty = model.basis, model.penalty
    start = np.zeros((1, basis.shape[1]))
    start[0, 0] = math.log(K.sum() / max(E.sum(), _EPS))
    null, null_ll = poisson_fit(basis[None], K[None], E[None], start, penalty)
    rate = np.exp(np.clip(basis @ null[0], -_ETA_LIMIT, _ETA_LIMIT))  # per unit of expected, by hour
    after = total[None] - np.cumsum(window[:-1], axis=0)
    ka, ea = after[..., 1], after[..., 2]
    fitted = rate * ea  # the after-counts "no change" predicts
    grad = (ka - fitted).sum(axis=1)
    info_bb = fitted.sum(axis=1)
    info_bg = fitted @ basis  # (J, p)
    info_gg = (basis * (rate * E)[:, None]).T @ basis + np.diag(penalty + _EPS)
    eff = info_bb - np.einsum("jp,pq,jq->j", info_bg, np.linalg.inv(info_gg), info_bg)
    stat = grad * grad / (2.0 * np.maximum(eff, _EPS))
    rows = np.flatnonzero(stat >= screen)
    if not len(rows):
        return stat
    kb, eb = K[None] - ka[rows], E[None] - ea[rows]
    y = np.concatenate([kb, ka[rows]], axis=1)
    exposure = np.concatenate([eb, ea[rows]], axis=1)
    shift0 = np.log((ka[rows].sum(axis=1) + 0.5) / (fitted[rows].sum(axis=1) + 0.5))
    coef = np.column_stack([np.repeat(null, len(rows), axis=0), shift0])
    alt = model.alt
    _, alt_ll = poisson_fit(np.broadcast_to(alt, (len(rows), *alt.shape)), y, exposure, coef, model.alt_penalty)
    stat[rows] = np.maximum(alt_ll - null_ll[0], 0.0)
    return stat


def daily_shape(counts: np.ndarray, expected: np.ndarray, ridge: float = SHAPE_RIDGE,
                model: DailyModel = DAILY["profile"]) -> np.ndarray:
    """Per hour of the day, the factor by which the values run above or below ``expected``, from the
    daily profile alone (its level left out): ``counts`` and ``expected`` are per-hour sums.
    Flat (all ones) without counts, shrunk to flat by ``ridge`` (less than the test's: here the
    profile is the reference, and a shrunk one reads the evening's dip as a fall)."""
    if counts.sum() <= 0 or expected.sum() <= 0:
        return np.ones(STRATA)
    start = np.zeros((1, model.basis.shape[1]))
    start[0, 0] = math.log(counts.sum() / expected.sum())
    penalty = np.where(model.penalty > 0.0, ridge, 0.0)
    coef, _ = poisson_fit(model.basis[None], counts[None], expected[None], start, penalty)
    return np.exp(np.clip(model.basis[:, 1:] @ coef[0, 1:], -_ETA_LIMIT, _ETA_LIMIT))


def gaussian_drop(window: np.ndarray, scale: float, model: DailyModel = DAILY["profile"]) -> np.ndarray:
    """A drop of the mean at every split (buckets x hours x [n, sum, sum_sq]), the daily profile
    fitted as in ``poisson_glr`` (weighted least squares on the hours' means)."""
    total = window.sum(axis=0)
    n, s, q = total[:, 0], total[:, 1], total[:, 2]
    after = total[None] - np.cumsum(window[:-1], axis=0)
    na, sa = after[..., 0], after[..., 1]
    nb, sb = n[None] - na, s[None] - sa
    J = len(na)
    alt = model.alt
    X = np.broadcast_to(alt, (J, *alt.shape))
    w = np.concatenate([nb, na], axis=1)  # cells: hours before, hours after
    sums = np.concatenate([sb, sa], axis=1)
    xtwx = np.einsum("jcp,jc,jcq->jpq", X, w, X) + np.diag(model.alt_penalty + _EPS)
    xtwy = np.einsum("jcp,jc->jp", X, sums)
    cov = np.linalg.inv(xtwx)
    coef = np.einsum("jpq,jq->jp", cov, xtwy)
    shift = coef[:, -1]
    N = float(n.sum())
    # residual variance around the fit: total sum of squares minus what the fit explains
    explained = np.einsum("jp,jp->j", coef, xtwy)
    var = np.maximum((float(q.sum()) - explained) / max(N - alt.shape[1], 1.0), (VARIANCE_FLOOR * scale) ** 2)
    var = np.maximum(var, _EPS)
    drop = np.maximum(-shift, 0.0)  # one-sided: see the module docstring
    return drop * drop / (2.0 * var * np.maximum(cov[:, -1, -1], _EPS))


class ChangeDetector:
    """Watches one stream; ``add`` returns True when its level has shifted (see the module docstring)."""

    def __init__(self, threshold: float, kind: str = "bernoulli",
                 bucket: int = BUCKET, per_size: int = PER_SIZE, daily: str = "profile"):
        if kind not in KINDS:
            raise ValueError(f"unknown stream kind {kind!r}; use 'bernoulli' or 'gaussian'")
        self.daily = DAILY[daily]
        self.threshold = float(threshold)
        self.kind = kind
        self.bucket = int(bucket)
        self.per_size = int(per_size)
        self.buckets: list[np.ndarray] = []  # closed buckets, oldest first: strata x 3
        self.levels: list[int] = []  # per bucket: how many merges made it (a closed bucket: 0)
        self.open: dict[int, list[float]] = {}  # the bucket being filled, per stratum
        self.filled = 0  # values in the open bucket
        self.rewards = 0.0  # 0/1 streams: the open bucket's count
        self._recent = 0.0  # 0/1 streams: the rate of the newest closed buckets
        self.scale = 0.0  # largest |value| seen (the variance floor of real-valued streams)
        # after an alarm: (mean value before, after, mean expected before, after)
        self.shift: tuple[float, float, float, float] | None = None

    def add(self, value: float, expected: float = 1.0, at: float | None = None) -> bool:
        """Count one value (decided ``at``, with ``expected`` its level under no change); test at
        bucket boundaries. True: a change point lies in the window."""
        value = float(value)
        cell = self.open.get(stratum(at))
        if cell is None:
            cell = self.open[stratum(at)] = [0.0, 0.0, 0.0]
        cell[0] += 1.0
        cell[1] += value
        cell[2] += float(expected) if self.kind == "bernoulli" else value * value
        if abs(value) > self.scale:
            self.scale = abs(value)
        self.filled += 1
        self.rewards += value
        if self.filled < self.bucket or (self.kind == "bernoulli" and not self._enough()):
            return False
        closed = np.zeros((STRATA, 3))
        for s, c in self.open.items():
            closed[s] = c
        self.buckets.append(closed)
        self.levels.append(0)
        self.open, self.filled, self.rewards = {}, 0, 0.0
        self._merge()
        recent = sum(self.buckets[-self.per_size:])
        self._recent = float(recent[:, 1].sum() / max(recent[:, 0].sum(), 1.0))
        splits = len(self.buckets) - 1
        if splits < 1:
            return False
        window = np.stack(self.buckets)
        limit = self.threshold + math.log(splits)
        if self.kind == "bernoulli":
            stats = poisson_glr(window, SCREEN * limit, self.daily)
        else:
            stats = gaussian_drop(window, self.scale, self.daily)
        best = int(stats.argmax())
        if stats[best] <= limit:
            return False
        before, after = window[: best + 1].sum(axis=(0, 1)), window[best + 1:].sum(axis=(0, 1))
        if self.kind == "bernoulli":
            self.shift = (before[1] / before[0], after[1] / after[0], before[2] / before[0], after[2] / after[0])
        else:
            self.shift = (before[1] / before[0], after[1] / after[0], math.nan, math.nan)
        return True

    def _enough(self) -> bool:
        """A 0/1 bucket holds enough evidence to test: rewards, or the values to expect them."""
        if self.rewards >= MIN_REWARDS or self.filled >= self.bucket * LONGEST:
            return True
        return self.filled * self._recent >= MIN_REWARDS  # at the recent rate: a drop is not waited on

    def _merge(self) -> None:
        """Merge the two oldest buckets of any level held more than ``per_size`` times.

        Levels never grow from old to new, so equal levels sit side by side.
        """
        i = len(self.buckets) - 1
        while i > 0:
            level = self.levels[i]
            j = i
            while j > 0 and self.levels[j - 1] == level:
                j -= 1
            if i - j + 1 > self.per_size:  # buckets j..i share a level: merge the oldest two
                self.buckets[j:j + 2] = [self.buckets[j] + self.buckets[j + 1]]
                self.levels[j:j + 2] = [level + 1]
                i = len(self.buckets) - 1  # the merged bucket may now overflow its own level
                continue
            i = j - 1

    @property
    def count(self) -> float:
        """Values in the window (closed buckets and the open one)."""
        return float(sum(b[:, 0].sum() for b in self.buckets)) + self.filled

    def state(self) -> dict[str, Any]:
        """Sparse JSON: per bucket, ``[hour, n, sum, expected-or-squares]`` for the hours with values."""
        return {"buckets": [[[int(s), *map(float, b[s])] for s in np.flatnonzero(b[:, 0])] for b in self.buckets],
                "levels": list(self.levels), "open": [[s, *c] for s, c in sorted(self.open.items())],
                "scale": self.scale}

    def load(self, state: Mapping[str, Any]) -> None:
        self.buckets = []
        for cells in state.get("buckets", []):
            b = np.zeros((STRATA, 3))
            for s, n, x, y in cells:
                b[int(s)] = (n, x, y)
            self.buckets.append(b)
        self.levels = [int(v) for v in state.get("levels", [0] * len(self.buckets))]
        self.open = {int(s): [float(n), float(x), float(y)] for s, n, x, y in state.get("open", [])}
        self.filled = int(sum(c[0] for c in self.open.values()))
        self.rewards = float(sum(c[1] for c in self.open.values()))
        recent = sum(self.buckets[-self.per_size:]) if self.buckets else np.zeros((STRATA, 3))
        self._recent = float(recent[:, 1].sum() / max(recent[:, 0].sum(), 1.0))
        self.scale = float(state.get("scale", 0.0))
