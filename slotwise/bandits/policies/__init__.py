"""Bandit policies in river's shape, with exact propensities and plain-data state.

One module per policy, as river lays out ``river.bandit``; what they share is
in ``base`` (verbs, change detection, state), ``arm_stats`` (the per-arm
statistics of the non-contextual policies) and ``..exploration`` (how scores
become probabilities).

river is the reference for the formulas and the verbs: ``pull(arm_ids,
context)`` / ``update(arm, reward, ...)``, a ``seed``. We keep our own small
implementations where what Slotwise needs is outside river's policies (see
``docs/benchmarks.md``, section Bandits):

* every choice must come with its exact probability (river exposes none);
* rewards arrive late and many pulls happen between updates — river's Exp3
  divides by the probabilities of the *last* pull, we use the logged one;
* state must be sufficient statistics in our own JSON (river pickles do not
  load across versions), and the proxy must be able to rebuild a policy from
  them in another process;
* ties are broken at random; every learning policy watches its variants'
  rewards for a lasting shift and restarts when it finds one
  (``change_detection``, see ``..change``), and an optional ``half_life``
  discounts old evidence.

``river-model`` (``river_model.py``) is where river *is* the model: any river
regressor or classifier named in the rules predicts each variant's reward,
wrapped in an exploration rule that gives exact propensities.

``tests/bandits/test_policies.py`` checks that, on the same statistics and
without ties, our UCB1, the greedy step of epsilon-greedy, Exp3 and the
LinUCB ridge estimate (with ``shared: 0``) agree with river's.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..spec import parse_policy_spec
from .arm_stats import ArmStatsPolicy
from .base import JOINT, KEEP_CHANGES, Features, Policy
from .epsilon_greedy import EpsilonGreedy
from .exp3 import Exp3
from .linucb import WARM_UP, LinUCB
from .river_model import RiverModelPolicy
from .thompson import ThompsonSampling
from .ucb import UCB
from .uniform import UniformPolicy

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls for cls in (ThompsonSampling, UCB, EpsilonGreedy, Exp3, LinUCB, RiverModelPolicy, UniformPolicy)
}

__all__ = [
    "JOINT", "KEEP_CHANGES", "POLICIES", "WARM_UP", "ArmStatsPolicy", "EpsilonGreedy", "Exp3", "Features",
    "LinUCB", "Policy", "RiverModelPolicy", "ThompsonSampling", "UCB", "UniformPolicy", "convert_policy",
    "make_policy", "policy_from_state",
]


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
