"""Thompson sampling with exact propensities: Beta-Bernoulli, or normal-inverse-gamma for amounts."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..exploration import monte_carlo_best
from .arm_stats import ArmStatsPolicy


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

    def update(self, arm_id, reward, context=None, propensity=None, *, decided_at=None, settle=0.0, begun=False):
        refresh = self.version + 1 - self.basis_version >= self._refresh_every()
        if not refresh and self._basis is None:  # keep deciding from the statistics as they are now
            self._basis = {a: list(st) for a, st in self.arms.items()}
        restarts = self.restarts
        super().update(arm_id, reward, context, propensity, decided_at=decided_at, settle=settle, begun=begun)
        if refresh or self.restarts != restarts:  # after a restart the old basis is void
            self._basis = None
            self.basis_version = self.version

    def settle(self, arm_id, value, context=None, *, decided_at=None):
        restarts = self.restarts
        stamp = super().settle(arm_id, value, context, decided_at=decided_at)
        if self.restarts != restarts:  # the learner's settling restarted learning: the old basis is void
            self._basis, self._cache = None, None
            self.basis_version = self.version
        return stamp

    def begin(self, arm_id, context=None):
        self._freeze()
        super().begin(arm_id, context)

    def abandon(self, arm_id, context=None):
        self._freeze()
        super().abandon(arm_id, context)

    def _freeze(self) -> None:
        """Keep deciding from the statistics of the basis version while pending counts move them."""
        if self._basis is None:
            self._basis = {a: list(st) for a, st in self.arms.items()}

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
