"""Reporting math for the CLI and the admin page: pure functions over decision records.

Input records are plain dicts in the decision-log shape (``docs/decision-log.md``):
``slot``, ``arm``, ``holdout``, ``reward`` (``None`` while the window is
open: such records count as decisions, not in rates), ``ts``, and
``exposed_at`` (or ``exposed``) when known. Outputs are dataclasses.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .goals import is_binary
from .records import Restart

Z95 = 1.959963984540054
SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class ArmSummary:
    """One arm of one slot."""

    arm: str
    decisions: int
    exposures: int
    closed: int  # decisions whose reward is known (window closed or rewarded)
    rewarded: int  # closed with a reward > 0
    mean: float  # reward rate (binary) or mean reward per decision (real)
    interval: Interval
    p_best: float


@dataclass(frozen=True)
class Lift:
    """Personalized vs holdout: mean reward per decision, difference and relative lift."""

    personalized_mean: float
    holdout_mean: float
    n_personalized: int
    n_holdout: int
    difference: float
    difference_interval: Interval
    relative: float | None  # personalized / holdout - 1
    relative_interval: Interval | None


@dataclass(frozen=True)
class SRMCheck:
    """Chi-square goodness of fit of observed counts against the intended split."""

    name: str
    observed: dict[str, int]
    expected_share: dict[str, float]
    chi2: float
    dof: int
    p_value: float
    warning: bool  # p < 0.001: the split is broken (assignment, logging or bot bug)


@dataclass(frozen=True)
class TrafficBucket:
    start: float
    counts: dict[str, int]
    shares: dict[str, float]


@dataclass(frozen=True)
class SlotReport:
    slot: str
    goal: str
    arms: list[ArmSummary]
    lift: Lift | None
    srm: list[SRMCheck] = field(default_factory=list)
    traffic: list[TrafficBucket] = field(default_factory=list)
    holdout: ArmSummary | None = None  # the holdout's own row (``p_best`` is nan: it is not a variant)
    restarts: list[Restart] = field(default_factory=list)  # when change detection restarted learning
    # contextual slots: the variants per segment of each context feature (``segments.py``)
    segments: list[Any] = field(default_factory=list)
    # revenue and margin goals: the currencies the log's orders are counted in (the rules' ``revenue.currency``;
    # none: as they came), the latest last
    currencies: list[str] = field(default_factory=list)


# -- intervals ------------------------------------------------------------------
def wilson_interval(successes: float, n: float, z: float = Z95) -> Interval:
    """Wilson score interval: honest at 1% rates and small n, unlike the Wald one."""
    if n <= 0:
        return Interval(0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at p = 0 or 1 a bound equals p only up to rounding (~1e-17 past it): the interval holds the rate
    return Interval(min(max(0.0, centre - half), p), max(min(1.0, centre + half), p))


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Student-t interval of a mean (normal for large n)."""
    n = len(values)
    if n == 0:
        return Interval(-math.inf, math.inf)
    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if n == 1:
        return Interval(-math.inf, math.inf)
    se = float(arr.std(ddof=1)) / math.sqrt(n)
    from scipy import stats as _sp  # here, not at import: `slotwise --help` loads this module

    t = float(_sp.t.ppf(0.5 + confidence / 2, n - 1))
    return Interval(mean - t * se, mean + t * se)


# -- probability of being best ------------------------------------------------------
PRIOR_STRENGTH = 2.0  # pseudo-observations behind the prior of a rate: evidence outweighs it at once


def prob_best(samples: Mapping[str, Sequence[float]], binary: bool, n_draws: int = 10_000,
              seed: int = 0, prior_strength: float = PRIOR_STRENGTH) -> dict[str, float]:
    """P(arm has the highest mean), Monte Carlo from each arm's posterior.

    Binary: Beta(k m + successes, k (1 - m) + failures), with ``m`` the rate of all
    arms together and ``k = prior_strength`` (2): a prior worth two visitors at the
    slot's own rate. A flat Beta(1, 1) is worth a conversion and a non-conversion —
    at a 1% rate that is fifty times the evidence a visitor gives, so a variant with
    0 of 30 conversions kept a 22% chance of being best. Real: normal approximation
    of the mean's posterior, N(mean, s^2/n) (needs n >= 2; otherwise very wide).
    """
    arms = list(samples)
    if not arms:
        return {}
    rng = np.random.default_rng(seed)
    draws = np.empty((len(arms), n_draws))
    if binary:
        wins_all = sum(float((np.asarray(v, dtype=float) > 0).sum()) for v in samples.values())
        n_all = sum(len(v) for v in samples.values())
        pooled = min(max((wins_all + 0.5) / (n_all + 1.0), 1e-6), 1 - 1e-6)
        a0, b0 = prior_strength * pooled, prior_strength * (1.0 - pooled)
    for i, arm in enumerate(arms):
        vals = np.asarray(samples[arm], dtype=float)
        n = len(vals)
        if binary:
            s = float((vals > 0).sum())
            draws[i] = rng.beta(a0 + s, b0 + n - s, n_draws)
        else:
            mean = float(vals.mean()) if n else 0.0
            sd = float(vals.std(ddof=1)) / math.sqrt(n) if n >= 2 else 1e6
            draws[i] = rng.normal(mean, max(sd, 1e-12), n_draws)
    wins = np.bincount(np.argmax(draws, axis=0), minlength=len(arms))
    return {arm: float(w) / n_draws for arm, w in zip(arms, wins)}


# -- lift ---------------------------------------------------------------------------
def lift(personalized: Sequence[float], holdout: Sequence[float], z: float = Z95) -> Lift | None:
    """Difference (normal approximation) and relative lift (delta method on the log ratio)."""
    n1, n2 = len(personalized), len(holdout)
    if n1 < 2 or n2 < 2:
        return None
    a = np.asarray(personalized, dtype=float)
    b = np.asarray(holdout, dtype=float)
    m1, m2 = float(a.mean()), float(b.mean())
    v1, v2 = float(a.var(ddof=1)), float(b.var(ddof=1))
    diff = m1 - m2
    se = math.sqrt(v1 / n1 + v2 / n2)
    rel = rel_iv = None
    if m1 > 0 and m2 > 0:
        rel = m1 / m2 - 1.0
        se_log = math.sqrt(v1 / (n1 * m1 * m1) + v2 / (n2 * m2 * m2))
        ratio = m1 / m2
        rel_iv = Interval(ratio * math.exp(-z * se_log) - 1.0, ratio * math.exp(z * se_log) - 1.0)
    return Lift(m1, m2, n1, n2, diff, Interval(diff - z * se, diff + z * se), rel, rel_iv)


# -- sample ratio mismatch ----------------------------------------------------------------
def srm_check(observed: Mapping[str, int], expected_share: Mapping[str, float], name: str = "arms",
              threshold: float = SRM_THRESHOLD) -> SRMCheck:
    """Chi-square goodness of fit; ``warning`` when p < ``threshold`` (0.001)."""
    keys = list(expected_share)
    total_share = sum(expected_share.values())
    counts = [int(observed.get(k, 0)) for k in keys]
    n = sum(counts)
    if n == 0 or len(keys) < 2 or total_share <= 0:
        return SRMCheck(name, dict(observed), dict(expected_share), 0.0, max(len(keys) - 1, 0), 1.0, False)
    chi2 = 0.0
    for k, c in zip(keys, counts):
        e = n * expected_share[k] / total_share
        chi2 += (c - e) ** 2 / e if e > 0 else (math.inf if c else 0.0)
    dof = len(keys) - 1
    from scipy import stats as _sp

    p = float(_sp.chi2.sf(chi2, dof))
    return SRMCheck(name, {k: c for k, c in zip(keys, counts)}, dict(expected_share), chi2, dof, p, p < threshold)


# -- traffic share over time ----------------------------------------------------------------
def traffic_share(records: Iterable[Mapping[str, Any]], bucket_seconds: float) -> list[TrafficBucket]:
    """Share of decisions per arm in consecutive time buckets (holdout as ``"holdout"``)."""
    buckets: dict[float, Counter] = defaultdict(Counter)
    for r in records:
        start = math.floor(float(r["ts"]) / bucket_seconds) * bucket_seconds
        buckets[start][_arm_key(r)] += 1
    out = []
    for start in sorted(buckets):
        counts = dict(buckets[start])
        total = sum(counts.values())
        out.append(TrafficBucket(start, counts, {a: c / total for a, c in counts.items()}))
    return out


def _arm_key(r: Mapping[str, Any]) -> str:
    return "holdout" if r.get("holdout") or r.get("arm") is None else str(r["arm"])


def _exposed(r: Mapping[str, Any]) -> bool:
    return bool(r.get("exposed") or r.get("exposed_at") not in (None, ""))


def split_counts(rows: Sequence[Mapping[str, Any]], intended: Mapping[str, float]) -> dict[str, int]:
    """Decisions per arm since every arm of the intended split was live.

    A variant added to a running even split has been live only since its first
    decision; counting the whole history against today's shares would call a
    healthy split broken. So would a decision drawn among fewer arms, while a
    variant was outside its ``active`` window, and it is left out: the record says
    so (``offered``, the arms it was drawn among); a record without ``offered`` (one
    logged before it was, or drawn among every arm) is told by its propensity, which
    is then not its arm's share of the split (1/2 of the two offered, not 1/3).
    """
    rows = [r for r in rows if _drawn_among_all(r, intended)]
    first: dict[str, float] = {}
    for r in rows:
        key = _arm_key(r)
        if key in intended:
            first[key] = min(first.get(key, math.inf), float(r.get("ts") or 0.0))
    since = max(first.values(), default=-math.inf)
    counts: Counter = Counter(_arm_key(r) for r in rows if float(r.get("ts") or 0.0) >= since)
    return {a: counts[a] for a in intended}


def _drawn_among_all(row: Mapping[str, Any], intended: Mapping[str, float]) -> bool:
    """Whether a decision was drawn among every arm of the split: each of them in its ``offered``, where it
    names the arms; else its logged propensity is its arm's share (a row without one, or not of the split's
    arms, e.g. the holdout, is taken as it is)."""
    offered = row.get("offered")
    if offered:
        return all(arm in offered for arm in intended)
    propensity, share = row.get("propensity"), intended.get(_arm_key(row))
    return propensity is None or share is None or abs(float(propensity) - share) <= 1e-9


def summarize_arms(arm_names: Sequence[str], rewards: Mapping[str, Sequence[float]], decisions: Mapping[str, int],
                   exposures: Mapping[str, int], binary: bool, seed: int = 0) -> list[ArmSummary]:
    """One row per arm: counts, mean reward with its interval, chance of being best."""
    pbest = prob_best({a: rewards.get(a, []) for a in arm_names}, binary, seed=seed)
    summaries = []
    for a in arm_names:
        vals = rewards.get(a, [])
        n = len(vals)
        positive = sum(1 for v in vals if v > 0)
        mean = sum(vals) / n if n else math.nan  # nothing measured: no rate (JSON null), not a 0% one
        iv = wilson_interval(positive, n) if binary else mean_interval(vals)
        summaries.append(ArmSummary(a, decisions.get(a, 0), exposures.get(a, 0), n, positive, mean, iv,
                                    pbest.get(a, 0.0)))
    return summaries


def slot_report(
    records: Iterable[Mapping[str, Any]],
    slot: str,
    goal: str,
    *,
    arms: Sequence[str] | None = None,
    intended_split: Mapping[str, float] | None = None,
    holdout_share: float | None = None,
    bucket_seconds: float = 3600.0,
    seed: int = 0,
) -> SlotReport:
    """Everything the report shows for one slot.

    ``intended_split`` (arm -> share) is checked for SRM when the slot runs a
    fixed split; ``holdout_share`` checks holdout vs personalized counts.
    """
    binary = is_binary(goal)
    rows = [r for r in records if r.get("slot") == slot]
    decisions: Counter = Counter()
    exposures: Counter = Counter()
    rewards: dict[str, list[float]] = defaultdict(list)
    personalized: list[float] = []
    held: list[float] = []
    for r in rows:
        key = _arm_key(r)
        decisions[key] += 1
        exposures[key] += _exposed(r)
        reward = r.get("reward")
        if reward is None or reward == "":
            continue
        value = float(reward)
        if key == "holdout":
            held.append(value)
        else:
            rewards[key].append(value)
            personalized.append(value)
    arm_names = list(arms) if arms is not None else sorted(k for k in decisions if k != "holdout")
    summaries = summarize_arms(arm_names, rewards, decisions, exposures, binary, seed)
    held_summary = None
    if decisions["holdout"]:
        positive = sum(1 for v in held if v > 0)
        iv = wilson_interval(positive, len(held)) if binary else mean_interval(held)
        held_summary = ArmSummary("holdout", decisions["holdout"], exposures["holdout"], len(held), positive,
                                  sum(held) / len(held) if held else math.nan, iv, math.nan)
    checks = []
    if intended_split:
        checks.append(srm_check(split_counts(rows, intended_split), intended_split, "arms"))
    if holdout_share is not None and 0 < holdout_share < 1:
        n_personal = sum(c for k, c in decisions.items() if k != "holdout")
        checks.append(srm_check({"holdout": decisions["holdout"], "personalized": n_personal},
                                {"holdout": holdout_share, "personalized": 1 - holdout_share}, "holdout"))
    return SlotReport(slot, goal, summaries, lift(personalized, held), checks,
                      traffic_share(rows, bucket_seconds), held_summary)
