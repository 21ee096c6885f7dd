"""LinUCB's estimates from its per-state model view are, to the bit, what working out every part of
the model per decision gave (``LinUCB._view``): across updates, pending decisions, arms without data,
unseen feature names, short memory on and off, snapshot loads."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.bandits.policies import make_policy
from slotwise.bandits.policies.linucb import LinUCB

FEATURES = ["bias", "device=mobile", "device=desktop", "is_new", "source=search", "cart", "visits=4+", "cat=bags"]
ARMS = ["a", "b", "c", "d"]


def reference(policy: LinUCB, arm_ids: list[str], context: dict[str, float]) -> tuple[np.ndarray, np.ndarray, float]:
    """The estimates as ``_estimates`` computed them before the view: every part per decision."""
    x = np.zeros(len(policy.feature_names))
    for name, value in context.items():
        i = policy._index.get(name)
        if i is not None:
            x[i] = value
    precision = policy._prior()[0]
    pull = policy._shared_mean() if not policy._recent_active() else policy._recent_model()[2]
    xx = float(x @ (x / precision))
    means = np.full(len(arm_ids), float(pull @ (x / precision)))
    widths = np.full(len(arm_ids), math.sqrt(xx))
    rows = [policy._arm_row.get(a) for a in arm_ids]
    at = [i for i, r in enumerate(rows) if r is not None]
    if at and len(policy.feature_names):
        inv, data = policy._model()
        known = [rows[i] for i in at]
        inv = inv[known]
        theta = np.einsum("kij,kj->ki", inv, data[known] + pull[None, :])
        means[at] = theta @ x
        widths[at] = np.sqrt(np.maximum(np.einsum("i,kij,j->k", x, inv, x), 0.0))
    return means, widths, xx


contexts = st.dictionaries(st.sampled_from([*FEATURES, "never-seen"]), st.sampled_from([1.0, 0.0, 3.0]),
                           max_size=6)
steps = st.lists(st.tuples(st.sampled_from(["update", "begin", "abandon", "recent", "reload", "load"]),
                           st.sampled_from(ARMS[:3]), contexts, st.sampled_from([0.0, 1.0])), max_size=40)


@settings(max_examples=120, deadline=None)
@given(steps=steps, arm_ids=st.permutations(ARMS), probes=st.lists(contexts, min_size=1, max_size=6),
       spec=st.sampled_from([{"name": "linucb"}, {"name": "linucb", "params": {"recent_half_life": None}},
                             {"name": "linucb", "params": {"shared": 0}}]))
def test_the_view_gives_the_estimates_bit_for_bit(steps: list[Any], arm_ids: list[str], probes: list[Any],
                                                  spec: dict[str, Any]) -> None:
    """One slot's arms, in one order, as the proxy asks (the view is kept for the last list asked)."""
    policy = make_policy(spec, "click", seed=1)
    twin = make_policy(spec, "click", seed=1)  # the same versions, other data (each reward flipped)
    assert isinstance(policy, LinUCB) and isinstance(twin, LinUCB)
    for verb, arm, context, reward in steps:
        if verb == "update":
            policy.update(arm, reward, context)
            twin.update(arm, 1.0 - reward, context)
        elif verb in ("begin", "abandon"):
            for each in (policy, twin):
                each.begin(arm, context)
                if verb == "abandon":
                    each.abandon(arm, context)
        elif verb == "recent" and policy.recent is not None:
            policy.recent.active = not policy.recent.active  # as a switch would, with no new version
        elif verb == "reload":  # a snapshot, as a worker loads one
            policy = policy.clone()
            assert isinstance(policy, LinUCB)
        elif verb == "load":  # another model's state into this object: its version may be this one's
            policy._load(twin.state())
        for probe in probes:  # each step's estimates, from the view the step before left
            got = policy._estimates(list(arm_ids), probe)
            want = reference(policy, list(arm_ids), probe)
            assert got[2] == want[2]
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])


def test_a_policy_reloaded_before_any_feature_was_seen_goes_on_learning() -> None:
    """The settled model's 0 x 0 cells go to JSON as [] and came back as vectors: the next value failed
    to learn (hypothesis found it: update with no feature, reload, update)."""
    import json

    policy = make_policy({"name": "linucb"}, "click", seed=1)
    policy.update("a", 0.0, {})
    reloaded = make_policy({"name": "linucb"}, "click", seed=1)
    reloaded._load(json.loads(json.dumps(policy.state())))
    reloaded.update("a", 1.0, {})
    reloaded.update("b", 0.0, {"device=mobile": 1.0})
    assert reloaded.settled.n("a") == 2 and reloaded.settled.n("b") == 1
    assert math.isfinite(reloaded.settled.predict("a", np.ones(1)))  # padded to the feature seen since
