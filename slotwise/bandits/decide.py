"""One decision for one slot: the arm, its exact propensity, and what the policy saw."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .exploration import sample
from .features import features as default_features
from .policies import Policy
from .randomness import decision_uniform
from .records import DecisionRecord


@dataclass(frozen=True)
class Decision:
    """The chosen arm, the probability it had, and everything needed to log it."""

    arm: str
    propensity: float
    policy: str
    model_version: str
    features: dict[str, float]
    probabilities: dict[str, float]

    def record(self, decision_id: str, ts: float, visitor_id: str, slot: str) -> DecisionRecord:
        """The record the proxy logs and the learner consumes."""
        return DecisionRecord(
            decision_id=decision_id, ts=ts, visitor_id=visitor_id, slot=slot, arm=self.arm,
            propensity=self.propensity, policy=self.policy, model_version=self.model_version,
            context=dict(self.features),
        )


def decide(
    policy: Policy,
    arms: Sequence[str],
    context: Mapping[str, Any] | None = None,
    rng: random.Random | None = None,
    *,
    features: Mapping[str, float] | None = None,
    decision_id: str | None = None,
) -> Decision:
    """Choose an arm for a visitor ``context`` (raw dict, see ``features.py``).

    Pass precomputed ``features`` to skip encoding. Non-contextual policies
    ignore the features, but they are still returned so the log can later
    evaluate a contextual policy offline.

    With a ``decision_id`` the draw is that decision's own uniform number
    (``randomness.py``): independent of every other decision in any process,
    and the same when the decision is replayed. Otherwise ``rng`` (or the
    policy's generator) draws, as in the bench and the tests.
    """
    if not arms:
        raise ValueError("decide needs at least one arm")
    feats = dict(features) if features is not None else default_features(context)
    probs = policy.probabilities(arms, feats if policy.contextual else None)
    draw = decision_uniform(decision_id) if decision_id is not None else (rng or policy._rng)
    arm = sample(probs, draw)
    return Decision(arm, probs[arm], policy.name, policy.model_version, feats, probs)
