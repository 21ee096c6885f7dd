"""A decision counts as a trial when it is made; its reward is added when it is known.

Clicks arrive within minutes, non-clicks only when the window closes: a policy
that learns a decision only when it closes holds the recent clicks without
the recent non-clicks, and the variant it just showed most looks better than
it is.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from slotwise.bandits import features
from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.bandits.policies import make_policy

T0 = 1_800_000_000.0
CONTEXTS = [{"device": "mobile"}, {"device": "desktop", "is_new": False}]


def record(i: int, arm: str, ts: float, ctx: dict) -> dict:
    return {"decision_id": f"d{i}", "ts": ts, "visitor_id": f"v{i}", "slot": "s", "arm": arm,
            "propensity": 0.5, "context": features(ctx)}


@pytest.mark.parametrize("name", ["thompson", "linucb"])
def test_the_end_state_is_that_of_learning_every_reward_at_once(name):
    learner = Learner({"s": SlotConfig(arms=("a", "b"), goal="purchase", policy=name, window=600.0)})
    direct = make_policy(name, "purchase")
    rng = random.Random(3)
    closed = []
    for i in range(400):
        ts = T0 + 10.0 * i
        arm, ctx = rng.choice("ab"), CONTEXTS[i % 2]
        closed += [o for o in learner.on_decision(record(i, arm, ts, ctx)) if o.taught]
        if rng.random() < 0.2:
            closed += [o for o in learner.on_event(f"v{i}", "purchase", 30.0, ts + 5.0) if o.taught]
    closed += [o for o in learner.tick(T0 + 10**6) if o.taught]
    contexts = {f"d{i}": CONTEXTS[i % 2] for i in range(400)}
    for o in closed:  # the same rewards, in the order they closed, learned at once
        direct.update(o.arm, o.reward, features(contexts[o.decision_id]) if direct.contextual else None)
    policy = learner.policies["s"]
    if name == "thompson":
        assert {a: pytest.approx(st) for a, st in policy.arms.items()} == direct.arms
    else:
        order = [direct._index[f] for f in policy.feature_names]  # the vocabularies grew in other orders
        for arm in ("a", "b"):
            r, q = policy._arm_row[arm], direct._arm_row[arm]
            assert np.allclose(policy._D[r], direct._D[q][np.ix_(order, order)])
            assert np.allclose(policy._b[r], direct._b[q][order])


def test_a_decision_never_exposed_takes_its_trial_back():
    learner = Learner({"s": SlotConfig(arms=("a", "b"), goal="click", policy="thompson", window=600.0)})
    learner.on_decision(record(1, "a", T0, {}))
    assert learner.policies["s"].arms["a"][0] == 1.0  # counted when made
    learner.tick(T0 + 700.0)  # never seen: dropped at the deadline
    assert learner.policies["s"].arms["a"][0] == 0.0


def test_the_variant_just_shown_most_is_not_flattered_by_its_early_clicks():
    """Two variants at 4%. After 4,000 closed decisions, 1,500 more for a are pending (one window at
    3,000 visits an hour): their clicks are in, their non-clicks are not yet."""
    rng = random.Random(5)
    learner = Learner({"s": SlotConfig(arms=("a", "b"), goal="purchase", policy="thompson", window=1800.0)})
    naive = make_policy("thompson", "purchase")  # learns a decision only when it closes
    i = 0
    for _ in range(4000):
        i += 1
        arm, converts = rng.choice("ab"), rng.random() < 0.04
        learner.on_decision(record(i, arm, T0 + i, {}))
        if converts:
            learner.on_event(f"v{i}", "purchase", 1.0, T0 + i + 1)
        naive.update(arm, float(converts))
    learner.tick(T0 + i + 1801.0)
    start = T0 + i + 1801.0
    for k in range(1500):  # within one window: a's clicks arrive, its non-clicks wait
        i += 1
        converts = rng.random() < 0.04
        learner.on_decision(record(i, "a", start + k, {}))
        if converts:
            learner.on_event(f"v{i}", "purchase", 1.0, start + k + 1)
            naive.update("a", 1.0)
    mean = {arm: st[1] / st[0] for arm, st in learner.policies["s"].arms.items()}
    flattered = naive.arms["a"][1] / naive.arms["a"][0]
    assert flattered > 0.055  # ~4% + 60 clicks over ~2,000 trials
    assert abs(mean["a"] - 0.04) < 0.01 and abs(mean["a"] - mean["b"]) < 0.012
