"""How strongly each feature group's per-variant coefficients are pulled to the all-variants model.

LinUCB starts each variant from the model of all variants' data and lets its
own data move it away (``shared`` observations' worth). Most of a store's
visitor features do not change *which variant wins* — the traffic source, the
category browsed, the number of visits — yet with the same pull for every
feature, each variant's coefficient for every level of them wanders with its
noise and the hour of the day it was shown at: in the bandit bench a variant's
coefficient for "source=search" or "category=kids" sat 1–2 points off zero
after thousands of observations, enough to hand a cell of visitors (mobile,
came from search) to the wrong variant, which then stops being corrected
because the right one is no longer shown there (``bench/bandits_loss.py``:
wrong leaders are ~8 of the ~10 points the default policy loses in a steady
store).

So the pull is set per feature group by the data (empirical Bayes, method
of moments): for each group, each variant and each level, the variant's
reward rate there against what an additive model of variant and level
predicts (``r_al - r_a - r_l + r``: the variant x level interaction, a
difference-in-differences), less its sampling variance, averaged over the
cells (weighted by their counts up to ``FULL_CELL``), estimates how far the
variants really differ along that group (``tau^2``), and the Bayesian ridge
for that prior is ``sigma^2 / tau^2`` observations, at most ``cap``. Two
things keep it from pinning a group that matters, which a bandit would not
undo (the variant that would show the group matters is no longer shown
there): two standard errors of the estimate are added to it, so a group is
pulled hard only once its explored cells are thick enough to show it does
not matter; and a group whose pull comes out under ``FREE_BELOW`` of the cap
keeps ``shared``, as do the bias (each variant's own level) and a group seen
on too few variants to tell (two levels with two variants each). In the
bench the device (the variants' rates differ by points) keeps ``shared``, the
source and the category reach the cap within ~2,000 decisions.

0/1 rewards only (``sigma^2 = p (1 - p)`` from the slot's mean); strengths
are rounded to quarter powers of two so the per-variant inverses are
recomputed only when a group's strength really moves. A function of the
policy's sufficient statistics: another process holding the same state uses
the same prior, so the logged propensities stay exact.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..features import BIAS, feature_group

MIN_CELL = 50.0  # observations a (variant, level) cell needs before its interaction is counted
FULL_CELL = 500.0  # a cell weighs by its observations up to this many: the variants' leading cells (the
# bulk of the data) show little interaction by construction, the explored ones show it
CONFIDENCE = 2.0  # standard errors added to the estimated spread of the variants along a group
FREE_BELOW = 0.25  # a group whose estimated pull is under this share of the cap keeps ``shared``


@lru_cache(maxsize=64)
def _groups(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The feature columns that belong to a group, and each one's group number."""
    numbers: dict[str, int] = {}
    cols, ids = [], []
    for j, name in enumerate(names):
        found = feature_group(name)
        if found is not None:
            cols.append(j)
            ids.append(numbers.setdefault(found[0], len(numbers)))
    return np.array(cols, dtype=int), np.array(ids, dtype=int)


def group_strengths(names: Sequence[str], D: np.ndarray, b: np.ndarray, shared: float, cap: float) -> np.ndarray:
    """Per feature the prior strength (observations) pulling each variant's coefficient to the
    all-variants model: ``shared`` for the bias and features outside a group, else the group's.
    Every group at once (one pass over the feature columns: it runs after every update)."""
    strength = np.full(len(names), float(shared))
    if BIAS not in names or not len(D):
        return strength
    bias = list(names).index(BIAS)
    n = np.einsum("kii->ki", D)  # per arm and feature: observations with that feature (one-hot)
    n_arm = n[:, bias]
    total = float(n_arm.sum())
    cols, ids = _groups(tuple(names))
    if total <= 0.0 or not len(cols):
        return strength
    mean = float(b[:, bias].sum()) / total
    noise = max(mean * (1.0 - mean), 1e-9)
    rate_arm = np.divide(b[:, bias], n_arm, out=np.full(len(n_arm), mean), where=n_arm > 0)
    cells_n, cells_b = n[:, cols], b[:, cols]
    n_level = cells_n.sum(axis=0)
    rate_level = np.divide(cells_b.sum(axis=0), n_level, out=np.full(len(cols), mean), where=n_level > 0)
    ok = cells_n >= MIN_CELL
    safe = np.where(ok, cells_n, 1.0)
    diff = cells_b / safe - rate_arm[:, None] - rate_level[None, :] + mean
    var = np.maximum(noise * (1.0 / safe - 1.0 / np.maximum(n_arm[:, None], 1.0)
                              - 1.0 / np.maximum(n_level[None, :], 1.0) + 1.0 / total), 0.0)
    weight = np.where(ok, np.minimum(cells_n, FULL_CELL), 0.0)
    k = int(ids.max()) + 1
    total_weight = np.bincount(ids, (weight).sum(axis=0), k)
    excess = np.bincount(ids, (weight * (diff * diff - var)).sum(axis=0), k)
    noise2 = np.bincount(ids, (weight * weight * 2.0 * var * var).sum(axis=0), k)
    levels = np.bincount(ids, (ok.sum(axis=0) >= 2).astype(float), k)
    hi = max(float(cap), float(shared))
    for g in range(k):
        if levels[g] < 2:  # two levels seen on two variants each: else no evidence either way,
            continue  # and the group keeps ``shared``
        # the spread of the variants along the group, plus its estimate's own noise (a squared normal:
        # variance 2 var^2 per cell): a group whose explored cells are thin keeps a weak pull
        tau2 = float(excess[g] / total_weight[g]) + CONFIDENCE * math.sqrt(float(noise2[g])) / float(total_weight[g])
        value = hi if tau2 <= noise / hi else min(noise / tau2, hi)
        if value < hi * FREE_BELOW:
            continue  # the variants may differ along this group: free to, as with ``shared``
        strength[cols[ids == g]] = 2.0 ** (round(4.0 * math.log2(value)) / 4.0)
    return strength
