"""LinUCB's pull towards the all-variants model per feature group (``policies/group_prior.py``):
strong for the groups on which the variants do not differ, weak for those on which they do."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from slotwise.bandits import features, make_policy, policy_from_state
from slotwise.bandits.decide import decide
from slotwise.bandits.policies.group_prior import group_strengths
from slotwise.bandits.spec import validate_policy_spec

ARMS = ["a", "b"]
SOURCES = ("direct", "search", "social")


def rate(arm: str, ctx: dict) -> float:
    """The device decides (a for mobile, b for desktop); the source does not matter."""
    best = "a" if ctx["device"] == "mobile" else "b"
    return 0.06 if arm == best else 0.03


def visitor(rng: random.Random) -> dict:
    return {"device": rng.choice(("mobile", "desktop")), "source": rng.choice(SOURCES), "is_new": True}


def uniform_data(params: dict, n: int = 8_000, seed: int = 0):
    """A LinUCB slot fed ``n`` decisions shown uniformly (every cell well observed)."""
    policy = make_policy({"name": "linucb", "params": params}, "click", seed=seed)
    rng = random.Random(seed)
    for _ in range(n):
        ctx, arm = visitor(rng), rng.choice(ARMS)
        policy.update(arm, float(rng.random() < rate(arm, ctx)), features(ctx))
    return policy


def test_the_group_that_decides_keeps_a_weak_pull_and_the_one_that_does_not_gets_the_cap():
    policy = uniform_data({"change_detection": False})
    names = policy.feature_names
    strength = dict(zip(names, group_strengths(names, policy._D, policy._b, 20.0, 2000.0)))
    assert strength["bias"] == 20.0
    assert strength["device=mobile"] == strength["device=desktop"] < 500  # a 3-point interaction
    assert strength["source=search"] == strength["source=direct"] == pytest.approx(2048.0)  # cap, rounded
    # one level seen, or one variant: nothing to tell either way, the group keeps ``shared``
    assert strength["visitor=new"] == strength["cart=unknown"] == 20.0


def test_with_no_data_every_feature_keeps_shared():
    names = list(features({"device": "mobile"}))
    d = len(names)
    assert (group_strengths(names, np.zeros((2, d, d)), np.zeros((2, d)), 20.0, 2000.0) == 20.0).all()


def test_the_variants_difference_does_not_scatter_over_a_feature_that_does_not_matter():
    """By chance a variant's rate per traffic source scatters, and with it the difference between
    two variants per source, which is what decides; with the group's pull it stays at the device's."""
    spread = {}
    for cap in (None, 2000.0):
        policy = uniform_data({"change_detection": False, "alpha": 0.0, "group_prior": cap}, seed=4)
        gaps = []
        for source in SOURCES:
            a, b = policy.scores(ARMS, features({"device": "mobile", "source": source, "is_new": True}))
            gaps.append(a - b)
        spread[cap] = max(gaps) - min(gaps)
    assert spread[2000.0] < spread[None] / 2, spread


def test_the_device_difference_is_still_learned():
    policy = uniform_data({"change_detection": False, "alpha": 0.0, "group_prior": 2000.0}, seed=5)
    for device, best in (("mobile", "a"), ("desktop", "b")):
        scores = policy.scores(ARMS, features({"device": device, "source": "search", "is_new": True}))
        assert ARMS[int(np.argmax(scores))] == best


def test_a_restored_policy_decides_as_the_one_that_ran_on():
    policy = make_policy({"name": "linucb", "params": {"group_prior": 2000.0, "change_detection": False}}, "click")
    rng = random.Random(2)
    for _ in range(3_000):
        ctx = visitor(rng)
        d = decide(policy, ARMS, ctx, rng)
        policy.update(d.arm, float(rng.random() < rate(d.arm, ctx)), d.features, d.propensity)
    policy.begin("a", features(visitor(rng)))  # a decision waiting for its reward is in the state too
    restored = policy_from_state(json.loads(json.dumps(policy.state())))
    for source in SOURCES:
        x = features({"device": "mobile", "source": source, "is_new": True})
        assert restored.probabilities(ARMS, x) == policy.probabilities(ARMS, x)


def test_amount_goals_keep_shared_and_the_knob_is_validated():
    assert validate_policy_spec({"name": "linucb", "params": {"group_prior": 0.5}}, "click")
    assert validate_policy_spec({"name": "linucb", "params": {"group_prior": 500}}, "revenue")  # 0/1 goals only
    assert not validate_policy_spec({"name": "linucb", "params": {"group_prior": None}}, "click")
