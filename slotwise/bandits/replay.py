"""Off-policy evaluation from the decision log: IPS, self-normalised IPS, replay.

What each estimates, given logged ``(context, arm, propensity, reward)``:

* **IPS** ``mean(pi(a|x) / p * r)`` — unbiased when every arm the candidate
  may choose had a logged propensity > 0; high variance when ``p`` is small.
* **SNIPS** ``sum(w r) / sum(w)`` — a little biased, far less variance; the
  default to read.
* **Replay** (Li et al. 2011; river's ``bandit.evaluate_offline``): run the
  candidate, keep the rows where it picks the logged arm. Unbiased only for a
  *uniformly random* logging policy; it uses about 1/K of the rows.

A row drawn among fewer arms (``offered``: a variant outside its ``active``
window) is evaluated as the candidate would have run then: its probabilities
over the offered arms, summing to 1 over them (``pi(a|x, offered)``). A row
where it gives every offered arm 0 (``always`` a variant that was not
running) is left out of IPS, SNIPS and replay (``n`` says how many were
used): its choice there is undefined, and a miss would count the window
against it.

A candidate that learns (any spec) is run through the log in time order:
for IPS/SNIPS it computes ``pi(.|x)`` before seeing the row and then learns
from every row ("trained on the log"); for replay it learns only from the
matched rows, as it would have online. Intervals are 95%: a mean of 0/1
rewards (``logged``, ``replay``) is a rate and gets the Wilson score
interval; IPS, SNIPS and a mean of amounts get the normal approximation
(delta method for SNIPS), kept within what a policy can earn
(``reward_range``: [0, 1] for 0/1 rewards, else the rewards' [min, max]).
On a few rows the normal one reached past it (``[-0.32, 0.99]`` for a rate
on 3 rows); an IPS value past it (unnormalised weights on a few rows) is
shown at its edge.

Fixed policies — "always show b", "the best variant for each device" — are
what a marketer asks first: ``always`` and ``evaluate_best_per_segment``
(cross-fitted, so choosing the winners and measuring them do not use the same
rows).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from .decision_log import LoggedDecision
from .policies import Policy, make_policy
from .exploration import sample
from .features import ALL, segment_of
from .stats import Z95, Interval, wilson_interval

TargetFn = Callable[[Sequence[str], Mapping[str, float]], Mapping[str, float]]
Bounds = tuple[float, float]


@dataclass(frozen=True)
class Estimate:
    method: str
    value: float
    interval: Interval
    n: int  # rows used (replay: rows matched)
    effective_n: float  # (sum w)^2 / sum w^2 — how many rows the estimate is really worth

    @property
    def interval_known(self) -> bool:
        """Whether the interval says anything: on one row's worth of data it is unbounded (a
        single reward has no spread) or, for SNIPS, zero-wide — neither is a 95% interval."""
        return (self.effective_n >= 2 and math.isfinite(self.interval.low)
                and math.isfinite(self.interval.high))


@dataclass(frozen=True)
class OfflineReport:
    ips: Estimate
    snips: Estimate
    replay: Estimate
    logged: Estimate  # the logging policy's own mean reward, for comparison


def _usable(logs: Iterable[LoggedDecision]) -> list[LoggedDecision]:
    rows = [r for r in logs if r.reward is not None and r.arm is not None and not r.holdout]
    return sorted(rows, key=lambda r: r.ts)


def _empty(method: str, n: int = 0) -> Estimate:
    return Estimate(method, math.nan, Interval(math.nan, math.nan), n, 0.0)


def _binary(values: Sequence[float]) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def reward_range(rewards: Sequence[float]) -> Bounds:
    """What a policy's mean reward can be: [0, 1] for 0/1 rewards (a rate, whatever few rows showed),
    else the rewards' own [min, max]."""
    if not rewards:
        return -math.inf, math.inf
    return (0.0, 1.0) if _binary(rewards) else (min(rewards), max(rewards))


def _within(est: Estimate, bounds: Bounds) -> Estimate:
    """``est`` with its value and interval kept inside ``bounds``, the interval still holding the value."""
    if math.isnan(est.value):
        return est
    low, high = bounds
    value = min(max(est.value, low), high)
    interval = Interval(min(max(est.interval.low, low), value), max(min(est.interval.high, high), value))
    return Estimate(est.method, value, interval, est.n, est.effective_n)


def _normal_ci(values: Sequence[float], method: str) -> Estimate:
    """Mean and normal-approximation interval (unbounded on one value: it has no spread)."""
    n = len(values)
    if n == 0:
        return _empty(method)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else math.inf
    half = Z95 * math.sqrt(var / n)
    return Estimate(method, mean, Interval(mean - half, mean + half), n, float(n))


def _mean_ci(values: Sequence[float], method: str, rewards: Sequence[float] | None = None) -> Estimate:
    """The mean of rewards themselves (``logged``, ``replay``): for 0/1 rewards a rate with its Wilson
    score interval, else the normal interval within the rewards' range. ``rewards``: the whole log's, of
    which ``values`` are some (``replay``'s matched rows): they say which kind and range the rewards have —
    a few revenue amounts that happen to be 1.0 are no rate."""
    n = len(values)
    kind = values if rewards is None else rewards
    if n and _binary(kind):
        rate = sum(values) / n
        return _within(Estimate(method, rate, wilson_interval(sum(values), n), n, float(n)), (0.0, 1.0))
    return _within(_normal_ci(values, method), reward_range(kind))


def _as_target(candidate: Policy | TargetFn | Mapping[str, Any] | str, goal: str, seed: int):
    if isinstance(candidate, Policy):
        return candidate.clone()
    if callable(candidate):
        return candidate
    return make_policy(candidate, goal, seed=seed)


def _probs(target, arms: Sequence[str], ctx: Mapping[str, float]) -> Mapping[str, float]:
    if isinstance(target, Policy):
        return target.probabilities(arms, ctx if target.contextual else None)
    return target(arms, ctx)


def _row_probs(target, arms: Sequence[str], row: LoggedDecision) -> Mapping[str, float] | None:
    """The candidate's probabilities on ``row``, among the arms the row was drawn among (``offered``, a
    variant's ``active`` window closed: the others could not be shown then), summing to 1 over them;
    None when it gives none of them a chance (``always`` a variant that was not running): its choice
    there is undefined, and the row is left out rather than counted as a miss."""
    offered = [a for a in arms if a in row.offered] if row.offered is not None else arms
    probs = _probs(target, offered, row.context)
    if row.offered is None:
        return probs
    total = sum(probs.get(a, 0.0) for a in offered)
    if total <= 0.0:
        return None
    return {a: probs.get(a, 0.0) / total for a in offered}


def _learn(target, row: LoggedDecision, propensity: float) -> None:
    if isinstance(target, Policy):
        target.update(row.arm, row.reward, row.context if target.contextual else None, propensity)


def ips(logs: Iterable[LoggedDecision], candidate, goal: str, arms: Sequence[str] | None = None,
        seed: int = 0) -> tuple[Estimate, Estimate]:
    """IPS and self-normalised IPS of ``candidate`` (spec, Policy or ``fn(arms, ctx) -> probs``)."""
    rows = _usable(logs)
    arm_list = list(arms) if arms is not None else sorted({r.arm for r in rows})  # type: ignore[misc]
    target = _as_target(candidate, goal, seed)
    ws: list[float] = []
    rs: list[float] = []
    for row in rows:
        probs = _row_probs(target, arm_list, row)
        if probs is not None:
            ws.append(probs.get(row.arm, 0.0) / row.propensity)  # type: ignore[arg-type]
            rs.append(float(row.reward))  # type: ignore[arg-type]
        _learn(target, row, row.propensity)
    n = len(ws)
    if n == 0:
        return _empty("ips"), _empty("snips")
    terms = [w * r for w, r in zip(ws, rs)]
    sw, sw2 = sum(ws), sum(w * w for w in ws)
    ess = sw * sw / sw2 if sw2 > 0 else 0.0
    bounds = reward_range(rs)
    est_ips = _normal_ci(terms, "ips")
    est_ips = _within(Estimate("ips", est_ips.value, est_ips.interval, n, ess), bounds)
    if sw <= 0:
        return est_ips, _empty("snips", n)
    v = sum(terms) / sw
    se = math.sqrt(sum((w * (r - v)) ** 2 for w, r in zip(ws, rs))) / sw
    return est_ips, _within(Estimate("snips", v, Interval(v - Z95 * se, v + Z95 * se), n, ess), bounds)


def replay(logs: Iterable[LoggedDecision], candidate, goal: str, arms: Sequence[str] | None = None,
           seed: int = 0) -> Estimate:
    """Replay method: mean reward over the rows where the candidate picks the logged arm."""
    rows = _usable(logs)
    arm_list = list(arms) if arms is not None else sorted({r.arm for r in rows})  # type: ignore[misc]
    target = _as_target(candidate, goal, seed)
    rng = random.Random(seed)
    matched: list[float] = []
    for row in rows:
        probs = _row_probs(target, arm_list, row)
        if probs is None or sample(probs, rng) != row.arm:
            continue
        matched.append(float(row.reward))  # type: ignore[arg-type]
        _learn(target, row, probs[row.arm])  # type: ignore[index]
    return _mean_ci(matched, "replay", [float(r.reward) for r in rows])  # type: ignore[arg-type]


def evaluate(logs: Iterable[LoggedDecision], candidate, goal: str, arms: Sequence[str] | None = None,
             seed: int = 0) -> OfflineReport:
    """All three estimators plus the logged policy's own reward, for one slot's rows."""
    rows = _usable(logs)
    est_ips, est_snips = ips(rows, candidate, goal, arms, seed)
    return OfflineReport(est_ips, est_snips, replay(rows, candidate, goal, arms, seed),
                         _mean_ci([float(r.reward) for r in rows], "logged"))  # type: ignore[arg-type]


# -- fixed policies: what a marketer asks first --------------------------------------------------


def always(arm: str) -> TargetFn:
    """The policy that always shows ``arm``."""
    def target(arms: Sequence[str], ctx: Mapping[str, float]) -> Mapping[str, float]:
        return {a: float(a == arm) for a in arms}
    return target


def per_segment(choice: Mapping[str, str], group: str, default: str) -> TargetFn:
    """Shows ``choice[level]`` to visitors whose ``group`` feature has that level, else ``default``."""
    def target(arms: Sequence[str], ctx: Mapping[str, float]) -> Mapping[str, float]:
        level = segment_of(ctx, group) if group != ALL else ALL
        arm = choice.get(level or "", default)
        return {a: float(a == arm) for a in arms}
    return target


def best_per_segment(logs: Iterable[LoggedDecision], group: str, arms: Sequence[str]) -> tuple[dict[str, str], str]:
    """Each level's variant with the best self-normalised IPS mean on ``logs`` (levels seen in
    the log; ``group`` ``all``: one for everyone), and the best overall as the default."""
    sums: dict[str, dict[str, list[float]]] = {}
    for row in _usable(logs):
        level = ALL if group == ALL else (segment_of(row.context, group) or "")
        cell = sums.setdefault(level, {}).setdefault(row.arm, [0.0, 0.0])  # type: ignore[arg-type]
        cell[0] += float(row.reward) / row.propensity  # type: ignore[arg-type]
        cell[1] += 1.0 / row.propensity
    overall: dict[str, list[float]] = {}
    for cells in sums.values():
        for arm, (num, den) in cells.items():
            total = overall.setdefault(arm, [0.0, 0.0])
            total[0] += num
            total[1] += den

    def best(cells: Mapping[str, list[float]]) -> str:
        return max(arms, key=lambda a: cells[a][0] / cells[a][1] if a in cells and cells[a][1] else -math.inf)
    return {level: best(cells) for level, cells in sums.items()}, best(overall)


def _pooled(a: Estimate, b: Estimate, bounds: Bounds) -> Estimate:
    """Two estimates on disjoint rows as one (weighted by rows; their errors add), within ``bounds``."""
    if math.isnan(a.value) and math.isnan(b.value):  # neither has a value: still on the rows of both
        return Estimate(a.method, math.nan, Interval(math.nan, math.nan), a.n + b.n, 0.0)
    if a.n == 0 or math.isnan(a.value):
        return b
    if b.n == 0 or math.isnan(b.value):
        return a
    n = a.n + b.n
    value = (a.n * a.value + b.n * b.value) / n
    se = math.hypot(a.n * (a.interval.high - a.interval.low), b.n * (b.interval.high - b.interval.low)) / (2 * Z95 * n)
    return _within(Estimate(a.method, value, Interval(value - Z95 * se, value + Z95 * se), n,
                            a.effective_n + b.effective_n), bounds)


def evaluate_best_per_segment(logs: Iterable[LoggedDecision], group: str, goal: str, arms: Sequence[str],
                              seed: int = 0) -> tuple[OfflineReport, dict[str, str], str]:
    """The "best variant per segment" policy, cross-fitted: chosen on the first half of the log
    (in time) and measured on the second, and the other way round. Chosen and measured on the
    same rows it would look better than it is (it picks whatever got lucky). Also returns the
    choice on the whole log, which is what a store would deploy."""
    rows = _usable(logs)
    half = len(rows) // 2
    folds = (rows[:half], rows[half:])
    reports = []
    for fit, test in ((folds[0], folds[1]), (folds[1], folds[0])):
        choice, default = best_per_segment(fit, group, arms)
        reports.append(evaluate(test, per_segment(choice, group, default), goal, arms, seed))
    a, b = reports
    rewards = [float(r.reward) for r in rows]  # type: ignore[arg-type]
    bounds = reward_range(rewards)
    pooled = OfflineReport(_pooled(a.ips, b.ips, bounds), _pooled(a.snips, b.snips, bounds),
                           _pooled(a.replay, b.replay, bounds), _mean_ci(rewards, "logged"))
    choice, default = best_per_segment(rows, group, arms)
    return pooled, choice, default
