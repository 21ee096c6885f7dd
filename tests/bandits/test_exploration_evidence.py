"""LinUCB's uniform exploration falls as a context's evidence grows and comes back when it goes
(``exploration.evidence_epsilon``, ``epsilon_evidence``); the propensities stay exact."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from slotwise.bandits import features, make_policy, policy_from_state
from slotwise.bandits.decide import decide
from slotwise.bandits.exploration import evidence_epsilon
from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.bandits.spec import validate_policy_spec

ARMS = ["a", "b", "c"]
MOBILE = {"device": "mobile", "is_new": True}
TABLET = {"device": "tablet", "is_new": True}
DECAYING = {"epsilon": 0.1, "epsilon_floor": 0.01, "epsilon_evidence": 200.0, "change_detection": False}


def test_the_share_falls_half_way_at_the_evidence_named_and_towards_the_floor():
    assert evidence_epsilon(0.1, 0.01, 0.0, 200.0) == pytest.approx(0.1)
    assert evidence_epsilon(0.1, 0.01, 200.0, 200.0) == pytest.approx(0.055)
    assert evidence_epsilon(0.1, 0.01, 1e9, 200.0) == pytest.approx(0.01, abs=1e-6)
    assert evidence_epsilon(0.1, 0.01, 5_000.0, None) == 0.1  # off: always epsilon
    assert evidence_epsilon(0.02, 0.05, 1e9, 200.0) == pytest.approx(0.02)  # a floor above epsilon: epsilon


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1e7), st.floats(0, 1e7), st.floats(1, 1e5))
def test_more_evidence_never_explores_more_and_the_share_stays_between_floor_and_epsilon(eps, floor, e1, e2, half):
    low, high = sorted((e1, e2))
    more, less = evidence_epsilon(eps, floor, high, half), evidence_epsilon(eps, floor, low, half)
    assert more <= less + 1e-15
    assert min(eps, floor) - 1e-15 <= more <= eps + 1e-15


def fed(params: dict, n: int, ctx: dict = MOBILE, seed: int = 0):
    """A LinUCB slot that has learned ``n`` decisions of one context, a clicking best."""
    policy = make_policy({"name": "linucb", "params": params}, "click", seed=seed)
    rng = random.Random(seed)
    for _ in range(n):
        d = decide(policy, ARMS, ctx, rng)
        policy.update(d.arm, float(rng.random() < (0.06 if d.arm == "a" else 0.02)), d.features, d.propensity)
    return policy


def test_evidence_counts_the_observations_of_a_context_seen_alone():
    policy = make_policy({"name": "linucb", "params": DECAYING}, "click")
    x = features(MOBILE)
    for arm, n in (("a", 300), ("b", 50), ("c", 0)):
        for _ in range(n):
            policy.update(arm, 0.0, x)
    _, widths, xx = policy._estimates(ARMS, x)
    assert policy.evidence(widths, xx) == pytest.approx(350.0)


def test_a_context_with_much_data_is_explored_less_than_a_rare_one_and_the_probabilities_say_so():
    policy = fed(DECAYING, 3_000)
    busy, rare = features(MOBILE), features(TABLET)
    assert policy.exploration(ARMS, busy) < 0.02 < 0.05 < policy.exploration(ARMS, rare) <= 0.1
    for ctx in (busy, rare):
        probs = policy.probabilities(ARMS, ctx)
        assert min(probs.values()) == pytest.approx(policy.exploration(ARMS, ctx) / len(ARMS))
    assert fed({**DECAYING, "epsilon_evidence": None}, 3_000).exploration(ARMS, busy) == 0.1  # off: constant


def test_exploration_comes_back_after_a_restart_and_with_the_short_memory():
    policy = fed(DECAYING, 3_000)
    x = features(MOBILE)
    settled = policy.exploration(ARMS, x)
    policy.recent.active = True  # the switch fired: decisions come from the short memory's evidence
    assert policy.exploration(ARMS, x) > settled
    policy.recent.active = False
    policy._forget_evidence()  # what a restart does
    assert policy.exploration(ARMS, x) == pytest.approx(0.1)


def test_a_restored_policy_explores_as_the_one_that_ran_on():
    policy = fed(DECAYING, 1_500)
    restored = policy_from_state(json.loads(json.dumps(policy.state())))
    for ctx in (MOBILE, TABLET, {}):
        x = features(ctx)
        assert restored.probabilities(ARMS, x) == policy.probabilities(ARMS, x)


def test_logged_propensities_match_the_frequencies_where_exploration_has_fallen():
    """Where the evidence has lowered epsilon, the draws still follow the logged propensities:
    two workers restored from the slot's snapshot, decision ids drawing (chi-square)."""
    learner = Learner({"s": SlotConfig(arms=tuple(ARMS), goal="click",
                                       policy={"name": "linucb", "params": DECAYING}, window=60.0)})
    policy, rng = learner.policies["s"], random.Random(3)
    for _ in range(1_500):
        d = decide(policy, ARMS, MOBILE, rng)
        policy.update(d.arm, float(rng.random() < (0.3 if d.arm == "a" else 0.1)), d.features, d.propensity)
    workers = [Learner.from_snapshot(learner.snapshot()) for _ in range(2)]
    ids, counts, n = random.Random(9), Counter(), 3_000
    probs = workers[0].decide("s", MOBILE, decision_id="x").probabilities
    assert 0.01 < 3 * min(probs.values()) < 0.05  # fallen, not gone
    for i in range(n):
        decision = workers[i % 2].decide("s", MOBILE, decision_id=uuid.UUID(int=ids.getrandbits(128)).hex)
        assert decision.propensity == probs[decision.arm]
        counts[decision.arm] += 1
    observed, expected = [counts[a] for a in ARMS], [n * probs[a] for a in ARMS]
    assert stats.chisquare(observed, expected).pvalue > 1e-3, (observed, expected)


def test_the_knobs_are_validated():
    assert validate_policy_spec({"name": "linucb", "params": {"epsilon_evidence": 0}}, "click")
    assert validate_policy_spec({"name": "linucb", "params": {"epsilon_floor": 1.5}}, "click")
    assert not validate_policy_spec({"name": "linucb", "params": {"epsilon_evidence": None, "epsilon_floor": 0}},
                                    "click")
