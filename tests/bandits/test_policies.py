"""Generic checks over every policy (river's checks/common.py in spirit) plus exactness."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import numpy as np
import pytest
from river import bandit as rb
from river import stats as rstats

from slotwise.bandits import POLICY_NAMES, features, make_policy, policy_from_state
from slotwise.bandits.decide import decide
from slotwise.bandits.policies import convert_policy

ARMS = ["a", "b", "c", "d"]
CONTEXTS = [
    {"device": "mobile", "top_category": "shoes", "is_new": True},
    {"device": "desktop", "top_category": "bags", "has_cart": True, "visit_count": 7},
    {},
]
CASES = [(name, goal) for name in POLICY_NAMES for goal in ("purchase", "revenue")]


def trained(name: str, goal: str, seed: int = 1, n: int = 400):
    policy = make_policy(name, goal, seed=seed)
    rng = random.Random(42)
    for i in range(n):
        ctx = CONTEXTS[i % len(CONTEXTS)]
        d = decide(policy, ARMS, ctx, rng)
        win = rng.random() < (0.2 if d.arm == "a" else 0.05)
        policy.update(d.arm, float(win) * (1 if goal == "purchase" else 40.0),
                      d.features if policy.contextual else None, d.propensity)
    return policy


@pytest.mark.parametrize("name, goal", CASES)
def test_propensities_sum_to_one_for_every_context(name, goal):
    for policy in (make_policy(name, goal, seed=0), trained(name, goal)):
        for ctx in CONTEXTS:
            probs = policy.probabilities(ARMS, features(ctx) if policy.contextual else None)
            assert set(probs) == set(ARMS)
            assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-9)
            assert all(0.0 <= p <= 1.0 for p in probs.values())
            d = decide(policy, ARMS, ctx, random.Random(0))
            assert d.propensity == probs[d.arm] > 0


@pytest.mark.parametrize("name, goal", CASES)
def test_seeding_is_reproducible(name, goal):
    a, b = trained(name, goal, seed=5), trained(name, goal, seed=5)
    assert a.state() == b.state()
    picks_a = [decide(a, ARMS, c).arm for c in CONTEXTS * 20]
    picks_b = [decide(b, ARMS, c).arm for c in CONTEXTS * 20]
    assert picks_a == picks_b


@pytest.mark.parametrize("name, goal", CASES)
def test_state_round_trips_through_json(name, goal):
    policy = trained(name, goal)
    state = json.loads(json.dumps(policy.state()))
    copy = policy_from_state(state, seed=policy.seed)
    assert copy.state() == policy.state()
    for ctx in CONTEXTS:
        f = features(ctx) if policy.contextual else None
        assert copy.probabilities(ARMS, f) == pytest.approx(policy.probabilities(ARMS, f), abs=1e-12)
    # learning continues identically
    for p in (policy, copy):
        p.update("b", 1.0, features(CONTEXTS[0]) if p.contextual else None, 0.25)
    assert copy.state() == policy.state()


@pytest.mark.parametrize("name, goal", CASES)
def test_pull_does_not_change_state(name, goal):
    policy = trained(name, goal)
    before = json.dumps(policy.state())
    for ctx in CONTEXTS:
        policy.pull(ARMS, features(ctx) if policy.contextual else None)
    assert json.dumps(policy.state()) == before


@pytest.mark.parametrize("name, goal", CASES)
def test_arm_changes_keep_stats_and_start_new_arms_fresh(name, goal):
    policy = trained(name, goal)
    arms_state = policy.state().get("arms", {})
    policy.keep_arms(["a", "b", "e"])
    state = policy.state()
    for arm in ("a", "b"):
        if arm in arms_state:
            assert state["arms"][arm] == arms_state[arm]
    assert "c" not in state.get("arms", {}) and "e" not in state.get("arms", {})
    probs = policy.probabilities(["a", "b", "e"], features(CONTEXTS[0]) if policy.contextual else None)
    assert math.isclose(sum(probs.values()), 1.0)
    policy.update("e", 1.0, features(CONTEXTS[0]) if policy.contextual else None, 0.3)


def test_ties_are_broken_at_random():
    policy = make_policy("epsilon-greedy", "purchase", seed=0)
    assert policy.probabilities(ARMS) == {a: 0.25 for a in ARMS}
    picks = Counter(policy.pull(ARMS) for _ in range(4000))
    assert all(800 < c < 1200 for c in picks.values())
    ucb = make_policy("ucb", "purchase", seed=0)
    assert ucb.probabilities(ARMS) == {a: 0.25 for a in ARMS}


def _empirical_matches(policy, arms, n=40_000):
    probs = policy.probabilities(arms)
    rng = random.Random(9)
    counts = Counter(policy.pull(arms, rng=rng) for _ in range(n))
    for arm, p in probs.items():
        se = math.sqrt(p * (1 - p) / n)
        assert abs(counts[arm] / n - p) < 4.5 * se + 1e-9, (arm, counts[arm] / n, p)


def test_epsilon_greedy_propensities_are_exact():
    policy = make_policy({"name": "epsilon-greedy", "params": {"epsilon": 0.3}}, "purchase", seed=1)
    for arm, r in [("a", 1), ("a", 0), ("b", 0), ("c", 1), ("c", 0), ("c", 0)]:
        policy.update(arm, r)
    probs = policy.probabilities(ARMS)
    assert probs == pytest.approx({"a": 0.7 + 0.075, "b": 0.075, "c": 0.075, "d": 0.075})
    _empirical_matches(policy, ARMS)


def test_exp3_propensities_are_exact_and_use_the_logged_propensity():
    policy = make_policy({"name": "exp3", "params": {"gamma": 0.2}}, "purchase", seed=1)
    policy.keep_arms(["a", "b"])
    policy.update("a", 1.0, propensity=0.25)
    policy.update("b", 1.0, propensity=0.5)
    g = 0.2
    wa, wb = math.exp(g * 1 / (0.25 * 2)), math.exp(g * 1 / (0.5 * 2))
    expected = {"a": (1 - g) * wa / (wa + wb) + g / 2, "b": (1 - g) * wb / (wa + wb) + g / 2}
    assert policy.probabilities(["a", "b"]) == pytest.approx(expected)
    _empirical_matches(policy, ARMS)


def test_thompson_propensity_matches_posterior_probability_of_best():
    policy = make_policy("thompson", "purchase", seed=3)
    for _ in range(30):
        policy.update("a", 1.0)
        policy.update("a", 0.0)
        policy.update("b", 0.0)
    probs = policy.probabilities(["a", "b"])
    rng = np.random.default_rng(0)
    truth = float(np.mean(rng.beta(31, 31, 200_000) > rng.beta(1, 31, 200_000)))
    assert probs["a"] == pytest.approx(truth, abs=0.01)
    assert policy.probabilities(["a", "b"]) is probs  # cached per model version
    _empirical_matches(policy, ["a", "b"])


# -- conformance with river's formulas (same statistics, no ties) --------------------------------
def _feed(river_policy, ours, data):
    for arm, r in data:
        river_policy.update(arm, r)
        ours.update(arm, r)


def test_ucb1_matches_river():
    data = [(a, float(random.Random(i).random() < 0.3 + 0.1 * ARMS.index(a))) for i in range(200) for a in ARMS]
    river_policy = rb.UCB(delta=1.0, seed=0)
    ours = make_policy({"name": "ucb", "params": {"bound": "ucb1"}}, "purchase")
    _feed(river_policy, ours, data)
    probs = ours.probabilities(ARMS)
    assert max(probs.values()) == 1.0
    assert river_policy.pull(ARMS) == max(probs, key=probs.get)


def test_epsilon_greedy_greedy_arm_matches_river():
    data = [("a", 0.0), ("b", 1.0), ("b", 0.0), ("c", 0.0), ("d", 1.0), ("d", 1.0), ("d", 0.0)]
    river_policy = rb.EpsilonGreedy(epsilon=0.0, seed=0)
    ours = make_policy({"name": "epsilon-greedy", "params": {"epsilon": 0.0}}, "purchase")
    _feed(river_policy, ours, data)
    assert ours.probabilities(ARMS)["d"] == 1.0 == float(river_policy.pull(ARMS) == "d")


def test_exp3_matches_river_when_rewards_are_not_delayed():
    river_policy = rb.Exp3(gamma=0.3, seed=0)
    ours = make_policy({"name": "exp3", "params": {"gamma": 0.3}}, "purchase")
    ours.keep_arms(ARMS)
    rng = random.Random(1)
    for _ in range(50):
        river_policy.pull(ARMS)  # river keeps the probabilities of the last pull
        arm = rng.choice(ARMS)
        r = float(rng.random() < 0.5)
        p = ours.probabilities(ARMS)[arm]
        river_policy.update(arm, r)
        ours.update(arm, r, propensity=p)
    river_policy.pull(ARMS)
    assert ours.probabilities(ARMS) == pytest.approx(river_policy._probabilities)


def test_thompson_beta_posterior_matches_river_beta():
    from river import proba
    beta = proba.Beta(1, 1)
    ours = make_policy("thompson", "purchase")
    for r in [1, 0, 0, 1, 0]:
        beta.update(bool(r))
        ours.update("a", float(r))
    n, s, _ = ours.arms["a"]
    assert (1 + s, 1 + n - s) == (beta.alpha, beta.beta)


def test_linucb_estimate_is_the_ridge_solution():
    policy = make_policy({"name": "linucb", "params": {"alpha": 0.0, "ridge": 2.0, "shared": 0}}, "purchase")
    rng = random.Random(0)
    rows = []
    for _ in range(200):
        ctx = features(rng.choice(CONTEXTS))
        r = float(rng.random() < (0.5 if "device=mobile" in ctx else 0.1))
        policy.update("a", r, ctx)
        rows.append((ctx, r))
    names = policy.feature_names
    X = np.array([[c.get(f, 0.0) for f in names] for c, _ in rows])
    y = np.array([r for _, r in rows])
    theta = np.linalg.solve(X.T @ X + 2.0 * np.eye(len(names)), X.T @ y)
    for ctx in CONTEXTS:
        f = features(ctx)
        x = np.array([f.get(n, 0.0) for n in names])
        assert policy.scores(["a"], f)[0] == pytest.approx(float(theta @ x))
    mean = rstats.Mean()
    assert mean.get() == 0.0  # river imported for the reference formulas above


def test_switching_policy_keeps_arm_statistics():
    old = trained("thompson", "purchase")
    new = convert_policy(old, "ucb", "purchase")
    assert new.state()["arms"] == old.state()["arms"]
    assert convert_policy(old, "ucb", "revenue").state()["arms"] == {}  # goal changed: fresh


def test_half_life_discounts_old_evidence():
    policy = make_policy({"name": "thompson", "params": {"half_life": 10}}, "purchase")
    for _ in range(10):
        policy.update("a", 1.0)
    n_before = policy.arms["a"][0]
    for _ in range(10):
        policy.update("b", 0.0)
    assert policy.arms["a"][0] == pytest.approx(n_before / 2)


def test_linucb_arms_start_from_the_model_of_all_arms():
    shared, ridge = 20.0, 1.0
    policy = make_policy({"name": "linucb", "params": {"alpha": 0.0, "ridge": ridge, "shared": shared}}, "purchase")
    rng = random.Random(1)
    rows = []
    for _ in range(300):
        arm = rng.choice(["a", "b"])
        ctx = features(rng.choice(CONTEXTS))
        r = float(rng.random() < (0.5 if arm == "a" and "device=mobile" in ctx else 0.1))
        policy.update(arm, r, ctx)
        rows.append((arm, ctx, r))
    names = policy.feature_names
    eye = np.eye(len(names))

    def design(which):
        X = np.array([[c.get(f, 0.0) for f in names] for arm, c, _ in rows if arm in which])
        y = np.array([r for arm, _, r in rows if arm in which])
        return X, y
    X, y = design({"a", "b"})
    beta = np.linalg.solve(X.T @ X + ridge * eye, X.T @ y)
    Xa, ya = design({"a"})
    theta = np.linalg.solve(Xa.T @ Xa + (ridge + shared) * eye, Xa.T @ ya + shared * beta)
    for ctx in CONTEXTS:
        f = features(ctx)
        x = np.array([f.get(n, 0.0) for n in names])
        assert policy.scores(["a"], f)[0] == pytest.approx(float(theta @ x))


def test_linucb_a_winner_in_one_segment_is_not_presumed_to_win_in_another():
    """From zero, an arm that converts well for shoes looks good for bags it never saw;
    from the all-arms model it looks like what bags visitors do."""
    shoes, bags = {"top_category": "shoes"}, {"top_category": "bags"}
    predictions = {}
    for shared in (0.0, 20.0):
        policy = make_policy({"name": "linucb", "params": {"alpha": 0.0, "shared": shared}}, "purchase")
        rng = random.Random(2)
        for _ in range(2000):
            policy.update("a", float(rng.random() < 0.3), features(shoes))  # a: shown for shoes only
            policy.update("b", float(rng.random() < 0.02), features(bags))  # b: bags, where nobody buys much
        predictions[shared] = policy.scores(["a"], features(bags))[0]
    assert predictions[0.0] > 0.1  # most of a's shoes rate leaks into bags through the features both share
    assert predictions[20.0] < predictions[0.0] / 2


@pytest.mark.parametrize("name, goal", CASES)
def test_an_empty_context_first_is_learned_from(name, goal):
    """A slot whose first visitors bring no feature (or a policy fed none) must still learn and decide."""
    policy = make_policy(name, goal, seed=0)
    empty = {} if policy.contextual else None
    for arm in ARMS:
        policy.update(arm, 1.0 if arm == "a" else 0.0, empty, 0.25)
    probs = policy.probabilities(ARMS, empty)
    assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-9)
    policy.update("b", 0.0, features(CONTEXTS[0]) if policy.contextual else None, 0.25)  # features come later
    assert math.isclose(sum(policy.probabilities(ARMS, features(CONTEXTS[0]) if policy.contextual else None).values()),
                        1.0, abs_tol=1e-9)
