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
def _groups(names: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """The feature columns that belong to a group, each one's group number, and the number of groups."""
    numbers: dict[str, int] = {}
    cols, ids = [], []
    for j, name in enumerate(names):
        found = feature_group(name)
        if found is not None:
            cols.append(j)
            ids.append(numbers.setdefault(found[0], len(numbers)))
    return tuple(cols), tuple(ids), len(numbers)


def group_strengths(names: Sequence[str], D: np.ndarray, b: np.ndarray, shared: float, cap: float) -> np.ndarray:
    """Per feature the prior strength (observations) pulling each variant's coefficient to the
    all-variants model: ``shared`` for the bias and features outside a group, else the group's.
    Every group at once, in one pass over the cells.

    Plain floats, not numpy: a few arms times a few dozen levels, and LinUCB asks for it on every
    new state of its model (a decision after each update, in the bench's twin and the tests), where
    numpy's per-call overhead was most of its cost (94 us a call on a 2.0 GHz Xeon, now ~58). Every
    sum runs left to right, which is numpy's order for fewer than eight variants: there the strengths
    are the array version's to the bit (with more, numpy summed pairwise; either way a function of the
    state alone).
    """
    strength = np.full(len(names), float(shared))
    if BIAS not in names or not len(D):
        return strength
    bias = list(names).index(BIAS)
    cols, ids, groups = _groups(tuple(names))
    n = np.einsum("kii->ki", D).tolist()  # per arm and feature: observations with that feature (one-hot)
    rewards = b.tolist()
    n_arm = [row[bias] for row in n]
    total = _sum(n_arm)
    if total <= 0.0 or not cols:
        return strength
    mean = _sum([row[bias] for row in rewards]) / total
    noise = max(mean * (1.0 - mean), 1e-9)
    rate_arm = [rewards[a][bias] / n_arm[a] if n_arm[a] > 0 else mean for a in range(len(n))]
    inverse_arm = [1.0 / max(count, 1.0) for count in n_arm]
    inverse_total = 1.0 / total
    total_weight, excess, noise2, levels = [0.0] * groups, [0.0] * groups, [0.0] * groups, [0.0] * groups
    for col, g in zip(cols, ids):
        n_level = _sum([row[col] for row in n])
        rate_level = _sum([row[col] for row in rewards]) / n_level if n_level > 0 else mean
        inverse_level = 1.0 / max(n_level, 1.0)
        # per arm: the variant x level interaction less its sampling variance, weighted by the cell's
        # observations up to FULL_CELL; a cell under MIN_CELL weighs 0 (it would add 0.0 to each sum)
        weight_sum = excess_sum = noise_sum = 0.0
        seen = 0
        for a, row in enumerate(n):
            cell_n = row[col]
            if cell_n < MIN_CELL:
                continue
            diff = rewards[a][col] / cell_n - rate_arm[a] - rate_level + mean
            var = noise * (1.0 / cell_n - inverse_arm[a] - inverse_level + inverse_total)
            if var < 0.0:
                var = 0.0
            weight = cell_n if cell_n < FULL_CELL else FULL_CELL
            weight_sum += weight
            excess_sum += weight * (diff * diff - var)
            noise_sum += weight * weight * 2.0 * var * var
            seen += 1
        total_weight[g] += weight_sum
        excess[g] += excess_sum
        noise2[g] += noise_sum
        levels[g] += float(seen >= 2)
    hi = max(float(cap), float(shared))
    for g in range(groups):
        if levels[g] < 2:  # two levels seen on two variants each: else no evidence either way,
            continue  # and the group keeps ``shared``
        # the spread of the variants along the group, plus its estimate's own noise (a squared normal:
        # variance 2 var^2 per cell): a group whose explored cells are thin keeps a weak pull
        tau2 = excess[g] / total_weight[g] + CONFIDENCE * math.sqrt(noise2[g]) / total_weight[g]
        value = hi if tau2 <= noise / hi else min(noise / tau2, hi)
        if value < hi * FREE_BELOW:
            continue  # the variants may differ along this group: free to, as with ``shared``
        rounded = 2.0 ** (round(4.0 * math.log2(value)) / 4.0)
        for col, of in zip(cols, ids):
            if of == g:
                strength[col] = rounded
    return strength


def _sum(values: list[float]) -> float:
    """Left to right from 0.0, as numpy sums fewer than eight terms (Python 3.12's ``sum`` would
    compensate, and differ in the last bit)."""
    total = 0.0
    for v in values:
        total += v
    return total
