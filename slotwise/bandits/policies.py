"""Bandit policies in river's shape, with propensities and plain-data state.

river (``river.bandit``) is the reference for the formulas and the verbs:
``pull(arm_ids, context)`` / ``update(arm, reward, ...)``, a ``seed``. We keep
our own small implementations because what Slotwise needs is outside river's
policies (see ``docs/benchmarks.md``, section Bandits):

* every choice must come with its exact probability (river exposes none);
* rewards arrive late and many pulls happen between updates — river's Exp3
  divides by the probabilities of the *last* pull, we use the logged one;
* state must be sufficient statistics in our own JSON (river pickles do not
  load across versions), and the proxy must be able to rebuild a policy from
  them in another process;
* ties are broken at random; every learning policy watches its variants'
  rewards for a lasting shift and restarts when it finds one
  (``change_detection``, see ``change.py``), and an optional ``half_life``
  discounts old evidence.

``tests/bandits/test_policies.py`` checks that, on the same statistics and
without ties, our UCB1, the greedy step of epsilon-greedy, Exp3 and the
LinUCB ridge estimate (with ``shared: 0``) agree with river's.

All non-contextual policies share per-arm statistics ``[n, sum, sum_sq]``
(discounted when ``half_life`` is set), so switching a slot from one to
another keeps what was learned.
"""

from __future__ import annotations

import heapq
import math
import random
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from .change import ChangeDetector
from .goals import is_binary
from .propensity import argmax_probabilities, mix_uniform, monte_carlo_best, sample
from .spec import PolicySpec, parse_policy_spec

Features = Mapping[str, float]
JOINT = ""  # detector key of all arms' values as one stream (no variant id is empty)
KEEP_CHANGES = 20  # change points kept in the state (the newest)
# LinUCB: observations an arm needs (discounted, with half_life) before its prediction errors are
# watched; a young model's errors drift as it learns, which a test for drops reads as a change
WARM_UP = 500


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _json_number(value: float) -> float | None:
    """JSON has no NaN: an unknown mean is null."""
    return None if math.isnan(value) else value


def _discount(half_life: float | None) -> float:
    return 1.0 if half_life is None else 0.5 ** (1.0 / float(half_life))


class Policy:
    """Base class: probabilities -> sampled pull; subclasses define ``probabilities``."""

    name: ClassVar[str] = ""
    contextual: ClassVar[bool] = False
    joint_stream: ClassVar[bool] = False  # also watch every arm's values as one stream

    def __init__(self, goal: str, params: Mapping[str, Any] | None = None, seed: int | None = None):
        spec = parse_policy_spec({"name": self.name, "params": dict(params or {})}, goal)
        self.goal = goal
        self.binary = is_binary(goal)
        self.params: dict[str, Any] = spec.params
        self.seed = seed
        self._rng = random.Random(seed)
        self.version = 0  # number of updates applied
        self.generation = 0  # bumped when the arm set is edited
        self.discount = _discount(self.params.get("half_life"))
        self.n_arms = 0  # configured arm count (0: unknown, use the arms seen)
        self.detectors: dict[str, ChangeDetector] = {}  # per arm, when change_detection is on
        self.restarts = 0  # learning restarts after a detected change
        # the newest KEEP_CHANGES restarts: {"version", "arm", "watched", "before", "after"}
        self.changes: list[dict[str, Any]] = []
        self._unsettled: list[tuple[float, str, float]] = []  # heap: (decided_at, arm, value)
        self._latest = -math.inf  # latest decision time learned

    # -- river verbs -------------------------------------------------------
    def probabilities(self, arm_ids: Sequence[str], context: Features | None = None) -> dict[str, float]:
        raise NotImplementedError

    def pull(self, arm_ids: Sequence[str], context: Features | None = None,
             rng: random.Random | None = None) -> str:
        """Choose an arm by sampling from ``probabilities`` (so propensities are exact)."""
        return sample(self.probabilities(arm_ids, context), rng or self._rng)

    def update(self, arm_id: str, reward: float, context: Features | None = None,
               propensity: float | None = None, *, decided_at: float | None = None,
               settle: float = 0.0) -> None:
        """Learn one reward. ``decided_at``/``settle`` (the decision's time and its attribution
        window) let change detection see rewards in the order of the decisions (see ``_watch``)."""
        raise NotImplementedError

    # -- change detection ----------------------------------------------------
    def _stream_kind(self) -> str:
        """What an arm's detector watches: 0/1 rewards, or real values (revenue, errors)."""
        return "bernoulli" if self.binary else "gaussian"

    def _watched(self) -> str:
        """``reward``: detectors see rewards; ``error``: reward minus the model's prediction."""
        return "reward"

    def _watch(self, arm_id: str, value: float, decided_at: float | None = None, settle: float = 0.0) -> bool:
        """Feed ``value`` to ``arm_id``'s detector once its decision's window has settled.

        Rewards are learned as they arrive: a purchase minutes after the decision,
        a zero only when the window closes. In that order an arm whose traffic just
        grew shows its conversions before its non-conversions — a rise that is not
        there (and a drop when its traffic shrinks). So values wait, ordered by
        decision time, until ``settle`` seconds of later decisions have been seen,
        and the detector reads them in decision order. Without ``decided_at`` the
        value goes in at once. True when learning restarted.
        """
        if not self.params.get("change_detection"):
            return False
        if decided_at is None:
            return self._settled(arm_id, value)
        heapq.heappush(self._unsettled, (float(decided_at), arm_id, float(value)))
        self._latest = max(self._latest, float(decided_at))
        while self._unsettled and self._unsettled[0][0] <= self._latest - settle:
            _, arm, settled = heapq.heappop(self._unsettled)
            if self._settled(arm, settled):
                return True
        return False

    def _settled(self, arm_id: str, value: float) -> bool:
        """A value whose decision has settled: to the arm's detector, and the joint one."""
        return self._detect(arm_id, value) or (self.joint_stream and self._detect(JOINT, value))

    def _detect(self, arm_id: str, value: float) -> bool:
        """Feed ``arm_id``'s detector; on a change, forget everything learned and say so."""
        detector = self.detectors.get(arm_id)
        if detector is None:
            detector = self.detectors[arm_id] = ChangeDetector(self.params["change_threshold"], self._stream_kind())
        if not detector.add(value):
            return False
        self.restarts += 1
        before, after = detector.shift or (math.nan, math.nan)
        change = {"version": self.version, "arm": arm_id, "watched": self._watched(),
                  "before": before, "after": after}
        self.changes = (self.changes + [change])[-KEEP_CHANGES:]
        self.detectors = {}
        self._unsettled = []  # already learned; the new detectors start with what comes next
        self._forget_evidence()
        return True

    def _forget_evidence(self) -> None:
        """After a change point: start learning over (subclasses clear their statistics).

        The arm set, the feature vocabulary, reward scales and counters stay: they are
        configuration, not evidence about which variant wins.
        """

    # -- identity & state --------------------------------------------------
    @property
    def model_version(self) -> str:
        return f"{self.generation}.{self.version}"

    @property
    def spec(self) -> PolicySpec:
        return PolicySpec(self.name, dict(self.params))

    def keep_arms(self, arm_ids: Sequence[str]) -> None:
        """Forget arms not in ``arm_ids``; new arms start from the prior."""
        self.n_arms = len(arm_ids)
        self.generation += 1
        keep = set(arm_ids)
        self.detectors = {a: d for a, d in self.detectors.items() if a in keep or a == JOINT}
        self._unsettled = [u for u in self._unsettled if u[1] in keep]  # a filtered heap is still a heap

    def state(self) -> dict[str, Any]:
        """JSON-serialisable sufficient statistics (no RNG state: it is not part of the model)."""
        return {"name": self.name, "goal": self.goal, "params": dict(self.params),
                "version": self.version, "generation": self.generation, "n_arms": self.n_arms,
                "restarts": self.restarts,
                "changes": [{**c, "before": _json_number(c["before"]), "after": _json_number(c["after"])}
                            for c in self.changes],
                "detectors": {a: d.state() for a, d in self.detectors.items()},
                "unsettled": [list(u) for u in self._unsettled],
                "latest": self._latest if math.isfinite(self._latest) else None}

    def _load(self, state: Mapping[str, Any]) -> None:
        self.version = int(state["version"])
        self.generation = int(state["generation"])
        self.n_arms = int(state.get("n_arms", 0))
        self.restarts = int(state.get("restarts", 0))
        self.changes = [{"version": int(c["version"]), "arm": str(c["arm"]), "watched": str(c.get("watched", "reward")),
                         "before": _number(c.get("before")), "after": _number(c.get("after"))}
                        for c in state.get("changes", [])]
        self.detectors = {}
        self._unsettled = [(float(t), str(a), float(v)) for t, a, v in state.get("unsettled", [])]
        heapq.heapify(self._unsettled)
        latest = state.get("latest")
        self._latest = -math.inf if latest is None else float(latest)
        if self.params.get("change_detection"):
            for arm, st in (state.get("detectors") or {}).items():
                detector = self.detectors[arm] = ChangeDetector(self.params["change_threshold"], self._stream_kind())
                detector.load(st)

    def clone(self) -> "Policy":
        """A fresh copy from state (same statistics, same seed)."""
        return policy_from_state(self.state(), seed=self.seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(goal={self.goal!r}, params={self.params!r}, v={self.model_version})"


class ArmStatsPolicy(Policy):
    """Non-contextual policy on discounted per-arm ``[n, sum, sum_sq]``."""

    def __init__(self, goal: str, params: Mapping[str, Any] | None = None, seed: int | None = None):
        super().__init__(goal, params, seed)
        self.arms: dict[str, list[float]] = {}
        self.scale = 1.0  # largest |reward| seen (real goals), for scale-aware bonuses

    def _stats(self, arm: str) -> list[float]:
        return self.arms.get(arm) or [0.0, 0.0, 0.0]

    def update(self, arm_id: str, reward: float, context: Features | None = None,
               propensity: float | None = None, *, decided_at: float | None = None,
               settle: float = 0.0) -> None:
        self._watch(arm_id, float(reward), decided_at, settle)
        self._learn(arm_id, float(reward), propensity)

    def _forget_evidence(self) -> None:
        self.arms = {}

    def _learn(self, arm_id: str, reward: float, propensity: float | None) -> None:
        """Add one reward to the arm's (discounted) statistics."""
        if self.discount < 1.0:
            d = self.discount
            for st in self.arms.values():
                st[0] *= d
                st[1] *= d
                st[2] *= d
        st = self.arms.setdefault(arm_id, [0.0, 0.0, 0.0])
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


class UniformPolicy(ArmStatsPolicy):
    """Even split (A/B test, logging policy for off-policy evaluation)."""

    name = "uniform"

    def probabilities(self, arm_ids, context=None):
        share = 1.0 / len(arm_ids)
        return {arm: share for arm in arm_ids}


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


class UCB(ArmStatsPolicy):
    """Upper confidence bound: ``ucb1`` (river's) or variance-aware ``ucb-v``.

    With 0/1 rewards at a 2% rate, UCB1's bonus ``sqrt(2 ln N / n)`` dwarfs the
    gaps between variants for tens of thousands of visitors (round robin);
    UCB-V (Audibert, Munos & Szepesvári 2009) scales it by the observed
    variance ``p(1-p)`` and explores an order of magnitude less.
    """

    name = "ucb"

    def scores(self, arm_ids: Sequence[str]) -> list[float]:
        total = sum(st[0] for st in self.arms.values())
        log_n = math.log(max(total, 2.0))
        delta = self.params["delta"]
        variance_aware = self.params["bound"] == "ucb-v"
        scale = 1.0 if self.binary else self.scale
        out = []
        for arm in arm_ids:
            st = self.arms.get(arm)
            if not st or st[0] < 1e-9:
                out.append(math.inf)
                continue
            n, s, ss = st
            mean = s / n
            if variance_aware:
                var = max(ss / n - mean * mean, 0.0)
                out.append(mean + delta * (math.sqrt(2.0 * var * log_n / n) + 3.0 * scale * log_n / n))
            else:
                out.append(mean + delta * scale * math.sqrt(2.0 * log_n / n))
        return out

    def probabilities(self, arm_ids, context=None):
        return mix_uniform(argmax_probabilities(arm_ids, self.scores(arm_ids)), self.params["epsilon"])


class ThompsonSampling(ArmStatsPolicy):
    """Thompson sampling: Beta-Bernoulli for binary goals, normal-inverse-gamma for real ones.

    Deciding samples from P(arm is best), estimated by Monte Carlo and cached:
    that is Thompson sampling in distribution, and the logged propensity is
    exactly the probability of the draw made.

    The Monte Carlo estimate costs 0.2-0.7 ms, and in the proxy the model
    changes with every reward, so recomputing it per update would put that
    cost on nearly every page view. The probabilities are therefore computed
    from a *basis*: a copy of the statistics that is refreshed (in ``update``,
    so every process applying the same updates refreshes at the same
    versions) once ``refresh`` x the evidence has arrived since — at every
    update while a slot has fewer than ``1/refresh`` observations, every 100
    updates at 10,000. ``refresh: 0`` refreshes on every update.

    Exactness: decisions sample from the basis probabilities and log those
    same numbers, so logged propensities stay the probabilities actually
    used; ``model_version`` names the basis (``generation.basis_version``),
    the state that decided. Learning itself is never delayed: every update
    goes into the statistics at once; only the sampling lags by at most
    ``refresh`` of the evidence. The basis is part of ``state()``, so a
    snapshot plus replay decides exactly like a straight run.
    """

    name = "thompson"

    def __init__(self, goal, params=None, seed=None):
        super().__init__(goal, params, seed)
        self._cache: tuple[tuple, dict[str, float]] | None = None
        self.basis_version = 0  # the version whose statistics the propensities come from
        self._basis: dict[str, list[float]] | None = None  # None: the current statistics

    @property
    def model_version(self) -> str:
        return f"{self.generation}.{self.basis_version}"

    def _refresh_every(self) -> int:
        total = sum(st[0] for st in self.arms.values())
        return max(1, int(float(self.params.get("refresh", 0.0)) * total))

    def update(self, arm_id, reward, context=None, propensity=None, *, decided_at=None, settle=0.0):
        refresh = self.version + 1 - self.basis_version >= self._refresh_every()
        if not refresh and self._basis is None:  # keep deciding from the statistics as they are now
            self._basis = {a: list(st) for a, st in self.arms.items()}
        restarts = self.restarts
        super().update(arm_id, reward, context, propensity, decided_at=decided_at, settle=settle)
        if refresh or self.restarts != restarts:  # after a restart the old basis is void
            self._basis = None
            self.basis_version = self.version

    def _basis_stats(self, arm: str) -> list[float]:
        stats = self.arms if self._basis is None else self._basis
        return stats.get(arm) or [0.0, 0.0, 0.0]

    def _posterior_draw(self, arm_ids: Sequence[str]):
        p = self.params
        stats = np.array([self._basis_stats(a) for a in arm_ids], dtype=float)
        n, s, ss = stats[:, 0], stats[:, 1], stats[:, 2]
        if self.binary:
            a = p["prior_alpha"] + s
            b = p["prior_beta"] + np.maximum(n - s, 0.0)
            return lambda rng, k: rng.beta(a[:, None], b[:, None], size=(len(arm_ids), k))
        k0, m0 = p["prior_strength"], p["prior_mean"]
        kn = k0 + n
        mean = np.where(n > 0, s / np.where(n > 0, n, 1.0), 0.0)
        mn = (k0 * m0 + s) / kn
        an = p["prior_shape"] + n / 2.0
        sse = np.maximum(ss - n * mean * mean, 0.0)
        bn = p["prior_scale"] + 0.5 * sse + k0 * n * (mean - m0) ** 2 / (2.0 * kn)

        def draw(rng: np.random.Generator, k: int) -> np.ndarray:
            sigma2 = bn[:, None] / rng.gamma(an[:, None], 1.0, size=(len(arm_ids), k))
            return mn[:, None] + np.sqrt(sigma2 / kn[:, None]) * rng.standard_normal((len(arm_ids), k))

        return draw

    def probabilities(self, arm_ids, context=None):
        key = (self.generation, self.basis_version, tuple(arm_ids))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        rows = {tuple(self._basis_stats(a)) for a in arm_ids}
        if len(rows) == 1:  # identical posteriors (e.g. no data yet): exactly uniform
            probs = {arm: 1.0 / len(arm_ids) for arm in arm_ids}
        else:
            seed = (self.seed or 0, self.generation, self.basis_version)
            probs = monte_carlo_best(self._posterior_draw(arm_ids), arm_ids, self.params["mc_samples"], seed)
        self._cache = (key, probs)
        return probs

    def state(self):
        out = super().state()
        out["basis"] = {"version": self.basis_version,
                        "arms": None if self._basis is None else {a: list(st) for a, st in self._basis.items()}}
        return out

    def _load(self, state):
        super()._load(state)
        basis = state.get("basis")
        if isinstance(basis, Mapping) and state.get("name") == self.name:
            self.basis_version = int(basis["version"])
            arms = basis.get("arms")
            self._basis = None if arms is None else {a: [float(x) for x in st] for a, st in arms.items()}
        else:  # another policy's statistics (or an older snapshot): decide from them as they are
            self.basis_version, self._basis = self.version, None
        self._cache = None

    def keep_arms(self, arm_ids):
        super().keep_arms(arm_ids)
        self.basis_version, self._basis = self.version, None  # a new arm set: decide from the current statistics
        self._cache = None


class Exp3(ArmStatsPolicy):
    """Exp3 with importance weights from the *logged* propensity (delayed rewards).

    Weights are kept as logs, re-centred, so they never overflow; with a
    ``half_life`` the log-weights shrink toward uniform.
    """

    name = "exp3"

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

    def _learn(self, arm_id, reward, propensity):
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
        super()._learn(arm_id, reward, propensity)

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


class LinUCB(Policy):
    """Disjoint LinUCB (Li et al. 2010) over one-hot visitor features.

    Per arm a ridge regression ``A = (ridge + shared)*I + sum x x'``,
    ``b = sum r x``; score ``theta'x + alpha * sqrt(x' A^-1 x)`` with
    ``theta = A^-1 (b + shared * beta)``. ``beta`` is the ridge model of all arms'
    data together: each variant starts from what the slot as a whole shows and
    its own data moves it away, instead of starting from zero. That matters with
    one-hot features: from zero, an arm that wins in one category looks good in
    every other until refuted there, and its uncertainty along every rare
    feature level (a traffic source, a visit-count bucket) keeps it explored in
    all of them. ``shared: 0`` is plain disjoint LinUCB (Li et al. 2010).
    Unlike river's ``LinUCBDisjoint`` (whose alpha/beta are Bayesian
    precisions), ``alpha`` is the classic exploration width. The feature
    vocabulary grows as names are seen in updates (capped by ``max_features``);
    pulls never change state. With ``half_life`` the data part of every arm's
    ``A`` and ``b`` decays (discounted LinUCB, Russac et al. 2019).
    """

    name = "linucb"
    contextual = True
    # prediction errors of every arm have mean 0 until the store changes, so all arms'
    # errors together make one stream too: a change that hits several segments at
    # once shows there sooner than in any one arm's (~500 fewer visitors in the bench)
    joint_stream = True

    def __init__(self, goal, params=None, seed=None):
        super().__init__(goal, params, seed)
        self.feature_names: list[str] = []
        self._index: dict[str, int] = {}
        self.arm_names: list[str] = []
        self._arm_row: dict[str, int] = {}
        self._D = np.zeros((0, 0, 0))  # data part of A per arm
        self._b = np.zeros((0, 0))
        self._n = np.zeros(0)  # discounted updates per arm
        self._inv: np.ndarray | None = None  # cached (A)^-1 per arm
        self._dirty: set[int] = set()  # rows of _inv to recompute
        self.scale = 1.0  # largest |reward| seen (real goals): the bonus is in reward units
        self._shared_cache: tuple[tuple, np.ndarray] | None = None

    # -- internals ---------------------------------------------------------
    def _vector(self, context: Features | None) -> np.ndarray:
        x = np.zeros(len(self.feature_names))
        for name, value in (context or {}).items():
            i = self._index.get(name)
            if i is not None:
                x[i] = value
        return x

    def _grow_features(self, context: Features | None) -> None:
        new = [f for f in (context or {}) if f not in self._index]
        room = int(self.params["max_features"]) - len(self.feature_names)
        new = new[: max(room, 0)]
        if not new:
            return
        for f in new:
            self._index[f] = len(self.feature_names)
            self.feature_names.append(f)
        d, k = len(self.feature_names), len(self.arm_names)
        D = np.zeros((k, d, d))
        b = np.zeros((k, d))
        old = self._D.shape[1] if self._D.ndim == 3 else 0
        D[:, :old, :old] = self._D
        b[:, :old] = self._b
        self._D, self._b = D, b
        self._inv, self._dirty = None, set()

    def _add_arm(self, arm: str) -> None:
        d = len(self.feature_names)
        self._arm_row[arm] = len(self.arm_names)
        self.arm_names.append(arm)
        self._D = np.concatenate([self._D.reshape(-1, d, d), np.zeros((1, d, d))])
        self._b = np.concatenate([self._b.reshape(-1, d), np.zeros((1, d))])
        self._n = np.append(self._n, 0.0)
        self._inv, self._dirty = None, set()

    @property
    def _prior_precision(self) -> float:
        return float(self.params["ridge"]) + float(self.params["shared"])

    def _shared_mean(self) -> np.ndarray:
        """``shared * beta``: the pull of the all-arms model on each arm's (cached per model state)."""
        d = len(self.feature_names)
        key = (self.version, self.generation, self.restarts, d, len(self.arm_names))
        if self._shared_cache is not None and self._shared_cache[0] == key:
            return self._shared_cache[1]
        shared = float(self.params["shared"])
        if shared == 0.0 or not d:
            pull = np.zeros(d)
        else:
            beta = np.linalg.solve(self._D.sum(axis=0) + self.params["ridge"] * np.eye(d), self._b.sum(axis=0))
            pull = shared * beta
        self._shared_cache = (key, pull)
        return pull

    def _inverse(self) -> np.ndarray:
        ridge = self._prior_precision * np.eye(len(self.feature_names))
        if self._inv is None:
            self._inv = np.linalg.inv(self._D + ridge)
        elif self._dirty:
            for r in self._dirty:
                self._inv[r] = np.linalg.inv(self._D[r] + ridge)
        self._dirty.clear()
        return self._inv

    # -- verbs -------------------------------------------------------------
    def scores(self, arm_ids: Sequence[str], context: Features | None) -> list[float]:
        alpha = self.params["alpha"] * (1.0 if self.binary else self.scale)
        x = self._vector(context)
        precision = self._prior_precision
        pull = self._shared_mean()
        # an arm with no data: theta = pull / precision, A = precision * I
        unseen = float(pull @ x) / precision + alpha * math.sqrt(float(x @ x) / precision)
        rows = [self._arm_row.get(a) for a in arm_ids]
        known = [r for r in rows if r is not None]
        out: dict[int, float] = {}
        if known and len(self.feature_names):
            inv = self._inverse()[known]
            theta = np.einsum("kij,kj->ki", inv, self._b[known] + pull[None, :])
            width = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, inv, x), 0.0))
            vals = theta @ x + alpha * width
            out = {r: float(v) for r, v in zip(known, vals)}
        return [out.get(r, unseen) if r is not None else unseen for r in rows]

    def probabilities(self, arm_ids, context=None):
        return mix_uniform(argmax_probabilities(arm_ids, self.scores(arm_ids, context)), self.params["epsilon"])

    def _stream_kind(self) -> str:
        return "gaussian"  # prediction errors, whatever the goal

    def _watched(self) -> str:
        return "error"

    def _predict(self, row: int, x: np.ndarray) -> float:
        """The arm's estimate of the reward at ``x`` (before this update)."""
        A = self._D[row] + self._prior_precision * np.eye(len(x))
        return float(np.linalg.solve(A, self._b[row] + self._shared_mean()) @ x)

    def _forget_evidence(self) -> None:
        self._D[:] = 0.0
        self._b[:] = 0.0
        self._n[:] = 0.0
        self._inv, self._dirty = None, set()

    def update(self, arm_id, reward, context=None, propensity=None, *, decided_at=None, settle=0.0):
        self._grow_features(context)
        if arm_id not in self._arm_row:
            self._add_arm(arm_id)
        x = self._vector(context)
        r = self._arm_row[arm_id]
        # the arm's stream of prediction errors: its mean leaves 0 when the arm's reward changes
        if self.params.get("change_detection") and self._n[r] >= WARM_UP:
            self._watch(arm_id, float(reward) - self._predict(r, x), decided_at, settle)
        if self.discount < 1.0:
            self._D *= self.discount
            self._b *= self.discount
            self._n *= self.discount
        self._D[r] += np.outer(x, x)
        self._b[r] += float(reward) * x
        self._n[r] += 1.0
        if not self.binary and abs(float(reward)) > self.scale:
            self.scale = abs(float(reward))
        if self.discount == 1.0:
            self._dirty.add(r)  # only this arm's inverse changed
        else:
            self._inv, self._dirty = None, set()
        self.version += 1

    def keep_arms(self, arm_ids):
        keep = [a for a in self.arm_names if a in set(arm_ids)]
        rows = [self._arm_row[a] for a in keep]
        d = len(self.feature_names)
        self._D = self._D[rows] if rows else np.zeros((0, d, d))
        self._b = self._b[rows] if rows else np.zeros((0, d))
        self._n = self._n[rows] if rows else np.zeros(0)
        self.arm_names = keep
        self._arm_row = {a: i for i, a in enumerate(keep)}
        self._inv, self._dirty = None, set()
        super().keep_arms(arm_ids)

    def state(self):
        out = super().state()
        out["features"] = list(self.feature_names)
        out["scale"] = self.scale
        out["arms"] = {
            a: {"n": float(self._n[i]), "A": self._D[i].tolist(), "b": self._b[i].tolist()}
            for i, a in enumerate(self.arm_names)
        }
        return out

    def _load(self, state):
        super()._load(state)
        self.feature_names = list(state.get("features", []))
        self.scale = float(state.get("scale", 1.0))
        self._index = {f: i for i, f in enumerate(self.feature_names)}
        arms = state.get("arms", {})
        self.arm_names = list(arms)
        self._arm_row = {a: i for i, a in enumerate(self.arm_names)}
        d, k = len(self.feature_names), len(self.arm_names)
        self._D = np.array([arms[a]["A"] for a in self.arm_names], dtype=float).reshape(k, d, d)
        self._b = np.array([arms[a]["b"] for a in self.arm_names], dtype=float).reshape(k, d)
        self._n = np.array([arms[a]["n"] for a in self.arm_names], dtype=float)
        self._inv, self._dirty = None, set()


POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (ThompsonSampling, UCB, EpsilonGreedy, Exp3, LinUCB, UniformPolicy)
}


def make_policy(spec: Any, goal: str, seed: int | None = None) -> Policy:
    """Build a policy from a YAML spec (``ValueError`` listing problems if invalid)."""
    parsed = parse_policy_spec(spec, goal)
    return POLICIES[parsed.name](goal, parsed.params, seed=seed)


def policy_from_state(state: Mapping[str, Any], seed: int | None = None) -> Policy:
    """Rebuild a policy from ``Policy.state()``."""
    policy = make_policy({"name": state["name"], "params": state["params"]}, state["goal"], seed=seed)
    policy._load(state)
    return policy


def convert_policy(old: Policy | None, spec: Any, goal: str, seed: int | None = None) -> Policy:
    """A policy for ``spec`` that keeps what ``old`` learned when the two can share it.

    Same goal and both non-contextual: per-arm statistics carry over (Exp3's
    weights only to Exp3). Same goal and both LinUCB: the whole model carries
    over with the new knobs. Otherwise the new policy starts fresh.
    """
    new = make_policy(spec, goal, seed=seed)
    if old is None or old.goal != goal:
        return new
    if isinstance(old, ArmStatsPolicy) and isinstance(new, ArmStatsPolicy):
        state = old.state()
        if not isinstance(new, Exp3):
            state.pop("log_weights", None)
        new._load(state)
    elif isinstance(old, LinUCB) and isinstance(new, LinUCB):
        new._load(old.state())
    else:
        return new
    new.generation += 1
    return new
