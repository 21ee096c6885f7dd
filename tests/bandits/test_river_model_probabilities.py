"""The river policy's predictions and bootstrap propensities are, to the bit, what predicting every
replica into a prefilled array and summing each replica's ``argmax_probabilities`` gave (the per-decision
work was cut: no untrained model's prediction when every variant has its replicas, one pass over plain
floats per replica)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.bandits import make_policy
from slotwise.bandits.exploration import argmax_probabilities, mix_uniform
from slotwise.bandits.policies.river_model import RiverModelPolicy

ARMS = ["a", "b", "c", "d"]
contexts = st.dictionaries(st.sampled_from(["bias", "device=mobile", "device=desktop", "is_new", "cart"]),
                           st.sampled_from([0.0, 1.0]), max_size=5)


def reference_predictions(policy: RiverModelPolicy, arm_ids: list[str], context: Any) -> np.ndarray:
    x = policy._dense(context)
    fresh = policy._build()
    out = np.full((len(arm_ids), policy.replicas), policy._predict(fresh, x))
    for i, arm in enumerate(arm_ids):
        for j, model in enumerate(policy.models.get(arm, ())):
            out[i, j] = policy._predict(model, x)
    return out


def reference_bootstrap(policy: RiverModelPolicy, arm_ids: list[str], context: Any) -> dict[str, float]:
    preds = reference_predictions(policy, arm_ids, context)
    probs = dict.fromkeys(arm_ids, 0.0)
    for j in range(preds.shape[1]):
        for arm, p in argmax_probabilities(arm_ids, list(preds[:, j])).items():
            probs[arm] += p / preds.shape[1]
    return mix_uniform(probs, policy.params["epsilon"])


@settings(max_examples=40, deadline=None)
@given(rewards=st.lists(st.tuples(st.sampled_from(ARMS[:3]), contexts, st.sampled_from([0.0, 1.0, 7.5])), max_size=30),
       arm_ids=st.permutations(ARMS), probes=st.lists(contexts, min_size=1, max_size=4),
       spec=st.sampled_from([
           ("click", {"bootstrap": 4}),
           ("click", {"bootstrap": 3, "model": "tree.HoeffdingTreeClassifier"}),  # flat predictions: ties
           ("revenue", {"bootstrap": 3}),
       ]))
def test_predictions_and_propensities_are_the_same_to_the_bit(rewards: list[Any], arm_ids: list[str],
                                                               probes: list[Any], spec: Any) -> None:
    goal, params = spec
    policy = make_policy({"name": "river-model", "params": params}, goal, seed=5)
    assert isinstance(policy, RiverModelPolicy)
    for arm, context, reward in [(None, {}, 0.0), *rewards]:
        if arm is not None:
            policy.update(arm, reward if goal == "revenue" else float(reward > 0), context, 1 / 3)
        for probe in probes:
            np.testing.assert_array_equal(policy.predictions(list(arm_ids), probe),
                                          reference_predictions(policy, list(arm_ids), probe))
            if goal == "click":
                assert policy.probabilities(list(arm_ids), probe) == reference_bootstrap(policy, list(arm_ids), probe)
