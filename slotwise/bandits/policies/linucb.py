"""Disjoint LinUCB over the one-hot visitor features, each arm starting from the all-arms model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..exploration import argmax_probabilities, evidence_epsilon, mix_uniform
from .base import Features, Policy
from .group_prior import group_strengths
from .recent import RecentMemory
from .settled import SettledRidge

# observations an arm needs (discounted, with half_life) before its stream is watched; a young
# model's errors drift as it learns, which a test for changes reads as a change
WARM_UP = 500


@dataclass(frozen=True, slots=True)
class _ModelView:
    """The model's part of an estimate for a list of arms, at one state of the model (``_view``)."""

    key: tuple
    precision: np.ndarray  # per feature, the prior's precision of a coefficient
    pull: np.ndarray  # the all-arms model's pull, of the memory decided with
    at: list[int]  # positions in the arm list of the arms with data
    inv: np.ndarray | None  # their A^-1
    theta: np.ndarray | None  # their coefficients
    every: bool  # every arm of the list has data


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
    all of them. ``shared: 0`` is plain disjoint LinUCB (Li et al. 2010). For 0/1
    goals the pull is set per feature group from the data (``group_prior``,
    ``group_prior.py``): up to ``group_prior`` observations' worth along the groups
    on which the variants do not differ (a traffic source, a category), so their
    levels stop handing small cells of visitors to the wrong variant; ``shared``
    along those on which they do.
    Unlike river's ``LinUCBDisjoint`` (whose alpha/beta are Bayesian
    precisions), ``alpha`` is the classic exploration width. The feature
    vocabulary grows as names are seen in updates (capped by ``max_features``);
    pulls never change state. With ``half_life`` the data part of every arm's
    ``A`` and ``b`` decays (discounted LinUCB, Russac et al. 2019).

    A decision enters ``A`` when it is made and its reward enters ``b`` when it
    is known (``Policy.begin``): the same model in the end, without favouring
    what was just shown while its non-clicks are still pending. Change
    detection reads each settled reward against the prediction of a model of
    settled rewards only (``settled.py``). With ``recent_half_life`` a
    short-memory copy of the data is kept too, and decided with while the
    variants the full model leads with earn less than it predicts, settled
    reward by settled reward (``recent.py``): how the policy comes back after
    the best variants swap.
    """

    name = "linucb"
    contextual = True
    # rewards against the model's predictions agree on average until the store changes, so all
    # arms' together make one stream too: a change that hits several segments at once shows
    # there sooner than in any one arm's
    joint_stream = True
    counts_pending = True

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
        self._prior_cache: tuple[tuple, tuple[np.ndarray, np.ndarray]] | None = None
        self._view_cache: _ModelView | None = None
        self._begun = 0  # begin/abandon calls: they change A without a new version
        self.settled = SettledRidge(self.params["ridge"], self.params["shared"], self.discount)
        self.recent: RecentMemory | None = None
        if self.params.get("recent_half_life") is not None:
            self.recent = RecentMemory(self.params["recent_half_life"], self.params["recent_window"],
                                       self.params["recent_switch"], self.params["recent_fall"], self.settled)
        self._recent_cache: tuple[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    @property
    def learns_settled(self) -> bool:  # type: ignore[override]
        """The short memory's model choice reads settled values, change detection or not."""
        return self.recent is not None

    # -- internals ---------------------------------------------------------
    def _vector(self, context: Features | None) -> np.ndarray:
        x = np.zeros(len(self.feature_names))
        if context:
            index = self._index
            at = [(i, value) for name, value in context.items() if (i := index.get(name)) is not None]
            if at:
                rows, values = zip(*at)
                x[list(rows)] = values  # one assignment, not one per feature
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
        d, n = len(self.feature_names), len(self.arm_names)
        self._arm_row[arm] = n
        self.arm_names.append(arm)
        # explicit shapes: with no feature yet (d = 0) a -1 in reshape is ambiguous
        self._D = np.concatenate([self._D.reshape(n, d, d), np.zeros((1, d, d))])
        self._b = np.concatenate([self._b.reshape(n, d), np.zeros((1, d))])
        self._n = np.append(self._n, 0.0)
        self._inv, self._dirty = None, set()

    def _prior(self) -> tuple[np.ndarray, np.ndarray]:
        """Per feature the prior precision of each arm's coefficient (``ridge + strength``) and the
        strength of the pull towards the all-arms model (``shared``; per feature group with
        ``group_prior``: ``group_prior.py``), a function of the model's state (cached per state)."""
        key = self._state_key()
        if self._prior_cache is not None and self._prior_cache[0] == key:
            return self._prior_cache[1]
        d, shared = len(self.feature_names), float(self.params["shared"])
        strength = np.full(d, shared)
        cap = self.params.get("group_prior")
        if cap is not None and self.binary and d:
            strength = group_strengths(self.feature_names, self._D, self._b, shared, float(cap))
        prior = (float(self.params["ridge"]) + strength, strength)
        if self._prior_cache is None or not np.array_equal(self._prior_cache[1][0], prior[0]):
            self._inv, self._dirty = None, set()  # every arm's A changes with the prior
        self._prior_cache = (key, prior)
        return prior

    def _shared_mean(self) -> np.ndarray:
        """``shared * beta``: the pull of the all-arms model on each arm's (cached per model state)."""
        key = self._state_key()
        if self._shared_cache is not None and self._shared_cache[0] == key:
            return self._shared_cache[1]
        pull = self._shared_pull(self._D, self._b)
        self._shared_cache = (key, pull)
        return pull

    def _state_key(self) -> tuple:
        """Changes whenever the data part can have: updates, begin/abandon, restarts, arm or feature edits."""
        return (self.version, self.generation, self.restarts, self._begun, len(self.feature_names),
                len(self.arm_names))

    def _recent_model(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(A^-1, b, shared pull)`` of the short memory, cached until the data move (decisions
        between two learning batches reuse it)."""
        assert self.recent is not None
        key = self._state_key()
        if self._recent_cache is None or self._recent_cache[0] != key:
            inv = np.linalg.inv(self.recent.D + np.diag(self._prior()[0]))
            self._recent_cache = (key, (inv, self.recent.b, self._shared_pull(self.recent.D, self.recent.b)))
        return self._recent_cache[1]

    def _recent_active(self) -> bool:
        if self.recent is None or not self.recent.active:
            return False
        self.recent.fit(len(self.arm_names), len(self.feature_names))
        return True

    def _model(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A^-1, b)`` per arm of the memory decided with: the full one (cached) or the short one."""
        if not self._recent_active():
            return self._inverse(), self._b
        inv, b, _ = self._recent_model()
        return inv, b

    def _shared_pull(self, D: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``shared * beta`` of a memory's data (the all-arms ridge model)."""
        d = len(self.feature_names)
        strength = self._prior()[1]
        if not strength.any() or not d or not len(D):
            return np.zeros(d)
        return strength * np.linalg.solve(D.sum(axis=0) + self.params["ridge"] * np.eye(d), b.sum(axis=0))

    def _inverse(self) -> np.ndarray:
        ridge = np.diag(self._prior()[0])
        if self._inv is None:
            self._inv = np.linalg.inv(self._D + ridge)
        elif self._dirty:
            for r in self._dirty:
                self._inv[r] = np.linalg.inv(self._D[r] + ridge)
        self._dirty.clear()
        return self._inv

    # -- verbs -------------------------------------------------------------
    def _estimates(self, arm_ids: Sequence[str], context: Features | None) -> tuple[np.ndarray, np.ndarray, float]:
        """Per arm the mean estimate ``theta'x`` and the width ``sqrt(x' A^-1 x)`` for ``context``,
        in the memory decided with; and the squared width of an arm with no data (``x' prior^-1 x``)."""
        x = self._vector(context)
        view = self._view(arm_ids)
        xp = x / view.precision
        xx = float(x @ xp)  # x' A^-1 x of an arm with no data
        if view.every:  # every arm has data (the usual case): no arm takes the prior's estimate below
            return view.theta @ x, np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, view.inv, x), 0.0)), xx
        # an arm with no data: theta = pull / precision, A = diag(precision)
        means = np.full(len(arm_ids), float(view.pull @ xp))
        widths = np.full(len(arm_ids), math.sqrt(xx))
        if view.at:
            means[view.at] = view.theta @ x
            widths[view.at] = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, view.inv, x), 0.0))
        return means, widths, xx

    def _view(self, arm_ids: Sequence[str]) -> _ModelView:
        """What ``_estimates`` reads of the model for these arms, whatever the visitor: worked out once
        per state of the model (decisions between two learning batches share it), each array the very
        one it used to compute per decision, so every estimate is the same to the bit."""
        key = (self._state_key(), self._recent_active(), tuple(arm_ids))
        view = self._view_cache
        if view is not None and view.key == key:
            return view
        precision = self._prior()[0]
        pull = self._shared_mean() if not key[1] else self._recent_model()[2]
        rows = [self._arm_row.get(a) for a in arm_ids]
        at = [i for i, r in enumerate(rows) if r is not None]
        inv = theta = None
        if at and len(self.feature_names):
            known_inv, data = self._model()
            known = [rows[i] for i in at]
            inv = known_inv[known]
            theta = np.einsum("kij,kj->ki", inv, data[known] + pull[None, :])
        else:
            at = []
        view = self._view_cache = _ModelView(key, precision, pull, at, inv, theta, len(at) == len(rows))
        return view

    def scores(self, arm_ids: Sequence[str], context: Features | None) -> list[float]:
        alpha = self.params["alpha"] * (1.0 if self.binary else self.scale)
        means, widths, _ = self._estimates(arm_ids, context)
        return [float(v) for v in means + alpha * widths]

    def evidence(self, widths: np.ndarray, xx: float) -> float:
        """Observations' worth of data about a context, all arms together: ``1 / x'A^-1 x`` less the
        prior's ``1 / xx``, per arm (for an arm seen ``n`` times in exactly this context, ``n``)."""
        if xx <= 0.0:
            return 0.0
        return float(np.maximum(1.0 / np.maximum(widths, 1e-12) ** 2 - 1.0 / xx, 0.0).sum())

    def exploration(self, arm_ids: Sequence[str], context: Features | None) -> float:
        """The share of uniform exploration for this visitor (``exploration.evidence_epsilon``)."""
        _, widths, xx = self._estimates(arm_ids, context)
        return self._epsilon(widths, xx)

    def _epsilon(self, widths: np.ndarray, xx: float) -> float:
        half = self.params["epsilon_evidence"]
        if half is None:
            return float(self.params["epsilon"])
        return evidence_epsilon(float(self.params["epsilon"]), float(self.params["epsilon_floor"]),
                                self.evidence(widths, xx), float(half))

    def probabilities(self, arm_ids, context=None):
        alpha = self.params["alpha"] * (1.0 if self.binary else self.scale)
        means, widths, xx = self._estimates(arm_ids, context)
        scores = [float(v) for v in means + alpha * widths]
        return mix_uniform(argmax_probabilities(arm_ids, scores), self._epsilon(widths, xx))

    def _watched(self) -> str:
        return "error"

    def _on_settled(self, arm_id, value, at, context):
        """The short memory's switch sees the value first (``recent.py``: the settled model predicts
        it before learning it), then change detection; then the settled model learns it (once, whoever
        read it), unless learning restarted."""
        x = self._vector(context)
        if self.recent is not None:
            self.recent.observe(arm_id, x, float(value), self.binary, at)
        restarted = super()._on_settled(arm_id, value, at, context)
        if not restarted:
            self.settled.learn(arm_id, x, float(value))
        return restarted

    def correct(self, arm_id, delta, context, stamp):
        """A reward after its decision was settled as 0: the settled model adds it exactly
        (``SettledRidge.correct``); the switch's CUSUM and the detectors keep what they read
        (``Policy.correct``)."""
        if not self._stamp_valid(stamp):
            return
        x, age = self._vector(context), self._settled_seen - stamp
        self.settled.correct(arm_id, x, float(delta), age)

    def _observe(self, arm_id, value, context):
        """The reward against the settled model's prediction for this visitor (``settled.py``),
        once the arm has ``WARM_UP`` settled values (``_on_settled`` then lets the model learn it)."""
        x = self._vector(context)
        watched: float | None = None
        expected = 1.0
        if self.settled.n(arm_id) >= WARM_UP:
            predicted = self.settled.predict(arm_id, x)
            if self.binary:  # counts against the prediction
                watched, expected = value, max(predicted, self._floor())
            else:  # the error of the amount, watched for drops
                watched = value - predicted
        return watched, expected

    def _floor(self) -> float:
        """The least a prediction counts as (a tenth of the slot's mean reward): a linear model
        predicts ~0 or less for rare segments, and a count against ~0 would weigh without bound."""
        i = self._index.get("bias")
        if i is None or not len(self.arm_names):
            return 1e-3
        n = float(self._D[:, i, i].sum())
        mean = float(self._b[:, i].sum()) / n if n > 0 else 0.0
        return max(0.1 * mean, 1e-4)

    def _forget_evidence(self) -> None:
        self._D[:] = 0.0
        self._b[:] = 0.0
        self._n[:] = 0.0
        self.settled.clear()
        if self.recent is not None:
            self.recent.clear()
        self._inv, self._dirty = None, set()

    def _row(self, arm_id: str, context: Features | None) -> tuple[int, np.ndarray]:
        self._grow_features(context)
        if arm_id not in self._arm_row:
            self._add_arm(arm_id)
        return self._arm_row[arm_id], self._vector(context)

    def _decay(self) -> None:
        if self.discount < 1.0:
            self._D *= self.discount
            self._b *= self.discount
            self._n *= self.discount
            self._inv, self._dirty = None, set()

    def begin(self, arm_id, context=None):
        r, x = self._row(arm_id, context)
        self._decay()
        self._D[r] += np.outer(x, x)
        self._n[r] += 1.0
        self._dirty.add(r)
        self._begun += 1
        if self.recent is not None:
            self.recent.fit(len(self.arm_names), len(self.feature_names))
            self.recent.add(r, x)

    def abandon(self, arm_id, context=None):
        if arm_id not in self._arm_row:
            return
        r, x = self._row(arm_id, context)
        self._D[r] -= np.outer(x, x)
        self._n[r] = max(self._n[r] - 1.0, 0.0)
        self._dirty.add(r)
        self._begun += 1
        if self.recent is not None:
            self.recent.fit(len(self.arm_names), len(self.feature_names))
            self.recent.remove(r, x)

    def update(self, arm_id, reward, context=None, propensity=None, *, decided_at=None, settle=0.0, begun=False):
        r, x = self._row(arm_id, context)
        # the arm's stream for change detection: its reward against the settled model's prediction
        self._watch(arm_id, float(reward), decided_at, settle, context=context)
        if not begun:
            self._decay()
            self._D[r] += np.outer(x, x)
            self._n[r] += 1.0
            self._dirty.add(r)
        self._b[r] += float(reward) * x
        if self.recent is not None:
            self.recent.fit(len(self.arm_names), len(self.feature_names))
            if not begun:
                self.recent.add(r, x)
            self.recent.reward(r, x, float(reward))
        if not self.binary and abs(float(reward)) > self.scale:
            self.scale = abs(float(reward))
        self.version += 1

    def keep_arms(self, arm_ids):
        self.settled.keep(arm_ids)
        keep = [a for a in self.arm_names if a in set(arm_ids)]
        rows = [self._arm_row[a] for a in keep]
        d = len(self.feature_names)
        self._D = self._D[rows] if rows else np.zeros((0, d, d))
        self._b = self._b[rows] if rows else np.zeros((0, d))
        self._n = self._n[rows] if rows else np.zeros(0)
        if self.recent is not None:
            self.recent.fit(len(self.arm_names), d)
            self.recent.keep(rows)
        self.arm_names = keep
        self._arm_row = {a: i for i, a in enumerate(keep)}
        self._inv, self._dirty = None, set()
        super().keep_arms(arm_ids)

    def state(self):
        out = super().state()
        out["settled"] = self.settled.state()
        if self.recent is not None:
            self.recent.fit(len(self.arm_names), len(self.feature_names))
            out["recent"] = self.recent.state()
        out["features"] = list(self.feature_names)
        out["scale"] = self.scale
        out["arms"] = {
            a: {"n": float(self._n[i]), "A": self._D[i].tolist(), "b": self._b[i].tolist()}
            for i, a in enumerate(self.arm_names)
        }
        return out

    def _load(self, state):
        super()._load(state)
        settled = state.get("settled")
        if not (settled or {}).get("count") and (state.get("recent") or {}).get("full"):
            settled = state["recent"]["full"]  # older snapshots: the short memory kept its own copy
        self.settled.load(settled)
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
        self._shared_cache = self._recent_cache = self._prior_cache = self._view_cache = None
        if self.recent is not None:
            self.recent.load(state.get("recent"), k, d)
