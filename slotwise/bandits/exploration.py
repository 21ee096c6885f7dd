"""Exploration rules: a policy's scores become a probability vector, and a draw from it.

Every policy here decides by *sampling from its own probability vector*, so
the propensity we log is, by construction, the probability the decision had.
The rules are shared by the policies (river keeps one module per policy; the
rules they have in common live here):

* ``argmax_probabilities`` — deterministic rules (UCB, LinUCB, the greedy part
  of epsilon-greedy) spread the argmax mass over the tied arms: river gives
  ties to the first arm, which at conversion rates under 1% means "always arm
  A" for a long time;
* ``mix_uniform`` — an exact exploration floor (epsilon-greedy, and the
  positivity off-policy evaluation needs);
* ``evidence_epsilon`` — an exploration share that falls as the evidence about
  a visitor's context grows (and comes back when the evidence goes);
* ``softmax_probabilities`` — Boltzmann exploration over scores;
* ``monte_carlo_best`` — P(arm has the best posterior draw), for Thompson
  sampling over a posterior that has no closed form for it;
* ``sample`` — the draw, from a uniform number the caller supplies (derived
  from the decision id in the proxy: see ``randomness.py``).
"""

from __future__ import annotations

import math
import random
from typing import Callable, Mapping, Sequence

import numpy as np


def argmax_probabilities(arm_ids: Sequence[str], scores: Sequence[float]) -> dict[str, float]:
    """Uniform over the arms tied at the top score, zero elsewhere."""
    best = max(scores)
    tied = [arm for arm, s in zip(arm_ids, scores) if s == best]
    share = 1.0 / len(tied)
    top = set(tied)
    return {arm: (share if arm in top else 0.0) for arm in arm_ids}


def mix_uniform(probs: Mapping[str, float], epsilon: float) -> dict[str, float]:
    """``(1 - epsilon) * probs + epsilon * uniform`` (exact exploration floor)."""
    if epsilon <= 0.0:
        return dict(probs)
    floor = epsilon / len(probs)
    return {arm: (1.0 - epsilon) * p + floor for arm, p in probs.items()}


def evidence_epsilon(epsilon: float, floor: float, evidence: float, half: float | None) -> float:
    """The share of uniform exploration for a context with ``evidence`` observations' worth of data.

    ``epsilon`` with no evidence, falling towards ``floor`` as ``floor + (epsilon - floor) * half /
    (half + evidence)``: half way down at ``half`` observations (``None``: always ``epsilon``).
    Uniform exploration is what finds a variant that started unluckily; once a context's leader
    has thousands of observations behind it, it mostly costs (every explored visitor of a
    settled segment is shown a variant known to be worse). The evidence is the policy's, so
    when it drops (a restart, a switch to a short memory) exploration comes back. A function of
    the model's state and the context only: the propensity logged stays the exact probability.
    """
    if half is None:
        return epsilon
    floor = min(floor, epsilon)
    return floor + (epsilon - floor) * half / (half + max(evidence, 0.0))


def softmax_probabilities(arm_ids: Sequence[str], scores: Sequence[float], temperature: float) -> dict[str, float]:
    """``exp(score / temperature)`` normalised; ``temperature`` in the scores' units."""
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    total = sum(weights)
    return {arm: w / total for arm, w in zip(arm_ids, weights)}


def sample(probs: Mapping[str, float], draw: random.Random | float) -> str:
    """The arm a uniform number in [0, 1) falls on (``draw``: the number, or a generator of one).

    The last arm absorbs float round-off so we never fall off the end.
    """
    u = draw if isinstance(draw, float) else draw.random()
    acc = 0.0
    arm = ""
    for arm, p in probs.items():
        acc += p
        if u < acc:
            return arm
    return arm


def monte_carlo_best(
    draw: Callable[[np.random.Generator, int], np.ndarray],
    arm_ids: Sequence[str],
    n_samples: int,
    seed: Sequence[int],
) -> dict[str, float]:
    """Estimate P(arm has the best sampled value) from ``n_samples`` posterior draws.

    ``draw(rng, n)`` returns a ``(len(arm_ids), n)`` array. Counts get +0.5
    smoothing so no arm's propensity is exactly 0 (an exploration floor of
    about ``0.5 / n_samples``, and IPS never divides by zero). The generator is
    seeded from the model version: any process holding the same statistics
    computes the same propensities.
    """
    rng = np.random.default_rng(list(seed))
    values = draw(rng, n_samples)
    wins = np.bincount(np.argmax(values, axis=0), minlength=len(arm_ids)).astype(float)
    wins += 0.5
    wins /= wins.sum()
    return {arm: float(p) for arm, p in zip(arm_ids, wins)}
