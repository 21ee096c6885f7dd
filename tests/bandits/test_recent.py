"""LinUCB's short memory (``policies/recent.py``): back on the new best variants after a swap,
unchanged in a steady store, restorable mid-stream."""

from __future__ import annotations

import json
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.bandits import make_policy, policy_from_state
from slotwise.bandits.decide import decide
from slotwise.bandits.policies.recent import RecentMemory, log_likelihood
from slotwise.bandits.policies.settled import SettledRidge
from slotwise.bandits.spec import validate_policy_spec

ARMS = ["a", "b"]
CONTEXTS = [{"device": "mobile", "is_new": True}, {"device": "desktop", "is_new": True}]
ONLY_MEMORY = {"change_detection": False}  # no restarts: what brings the policy back is the short memory
NO_MEMORY = {"change_detection": False, "recent_half_life": None}


def rate(arm: str, ctx: dict, swapped: bool) -> float:
    """Mobile visitors click a best (5% against 2%), desktop visitors b; a swap turns both round."""
    best = "a" if ctx["device"] == "mobile" else "b"
    if swapped:
        best = "b" if best == "a" else "a"
    return 0.05 if arm == best else 0.02


def run(policy, rng: random.Random, n: int, swapped: bool, start: int = 0) -> list[bool]:
    """``n`` decisions, rewards learned at once; True where the segment's best variant was shown."""
    hits = []
    for i in range(start, start + n):
        ctx = CONTEXTS[i % 2]
        d = decide(policy, ARMS, ctx, rng)
        policy.update(d.arm, float(rng.random() < rate(d.arm, ctx, swapped)), d.features, d.propensity)
        hits.append(d.arm == max(ARMS, key=lambda a: rate(a, ctx, swapped)))
    return hits


def swap_run(params: dict, seed: int = 0) -> tuple[float, object]:
    policy = make_policy({"name": "linucb", "params": params}, "click", seed=seed)
    rng = random.Random(seed)
    run(policy, rng, 4_000, swapped=False)
    after = run(policy, rng, 3_000, swapped=True, start=4_000)
    return sum(after[-800:]) / 800, policy


def test_after_a_swap_the_short_memory_brings_the_policy_back_on_the_new_best_variants():
    back, policy = swap_run(ONLY_MEMORY)
    stuck, _ = swap_run(NO_MEMORY)
    assert policy.restarts == 0 and policy.recent.switches >= 1
    assert back > 0.75, back  # most visitors see their segment's new best
    assert stuck < 0.5, stuck  # with the full memory alone, the old winners keep most of the traffic


def test_in_a_steady_store_the_policy_decides_with_its_full_memory():
    policy = make_policy({"name": "linucb", "params": ONLY_MEMORY}, "click", seed=1)
    rng = random.Random(1)
    active = 0
    for i in range(0, 6_000, 200):
        run(policy, rng, 200, swapped=False, start=i)
        active += policy.recent.active
    assert active <= 3  # of 30 checkpoints: the short memory is at most a rare, brief choice
    assert policy.recent.score < policy.recent.switch


def test_a_snapshot_with_the_short_memory_in_use_resumes_exactly():
    straight = make_policy({"name": "linucb", "params": ONLY_MEMORY}, "click", seed=0)
    rng = random.Random(0)
    run(straight, rng, 4_000, swapped=False)
    at = 4_000
    while not straight.recent.active and at < 7_000:  # the swap, until the short memory is in use
        run(straight, rng, 100, swapped=True, start=at)
        at += 100
    assert straight.recent.active
    snapshot = json.loads(json.dumps(straight.state()))
    resumed = policy_from_state(snapshot, seed=0)
    assert resumed.recent.active and resumed.recent.score == straight.recent.score
    for ctx in CONTEXTS:
        assert resumed.probabilities(ARMS, {f"device={ctx['device']}": 1.0}) == straight.probabilities(
            ARMS, {f"device={ctx['device']}": 1.0})
    run(straight, random.Random(5), 500, swapped=True, start=at)
    run(resumed, random.Random(5), 500, swapped=True, start=at)
    assert resumed.state() == straight.state()


def test_without_a_short_memory_nothing_of_it_is_kept():
    policy = make_policy({"name": "linucb", "params": {"recent_half_life": None}}, "click", seed=0)
    run(policy, random.Random(0), 200, swapped=False)
    assert policy.recent is None and "recent" not in policy.state()


def test_short_memory_knobs_are_validated():
    assert validate_policy_spec({"name": "linucb", "params": {"recent_half_life": 0}}, "click")
    assert validate_policy_spec({"name": "linucb", "params": {"recent_switch": -1}}, "click")
    assert not validate_policy_spec({"name": "linucb", "params": {"recent_half_life": None}}, "click")


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.0, 1.0), value=st.sampled_from([0.0, 1.0]))
def test_the_log_likelihood_of_a_01_reward_is_finite_and_at_most_zero(p, value):
    ll = log_likelihood(p, value, binary=True)
    assert math.isfinite(ll) and ll <= 0.0
    # the better prediction of what happened scores higher
    assert log_likelihood(value, value, binary=True) >= ll


@settings(max_examples=30, deadline=None)
@given(arms=st.integers(1, 4), d=st.integers(1, 6), more_arms=st.integers(0, 2), more_d=st.integers(0, 3))
def test_growing_the_memory_keeps_what_it_held(arms, d, more_arms, more_d):
    memory = RecentMemory(100.0, 50.0, 2.0, SettledRidge(1.0, 0.0))
    memory.fit(arms, d)
    x = [float(i + 1) for i in range(d)]
    import numpy as np

    memory.add(arms - 1, np.array(x))
    memory.reward(arms - 1, np.array(x), 1.0)
    before_D, before_b = memory.D.copy(), memory.b.copy()
    memory.fit(arms + more_arms, d + more_d)
    assert memory.D.shape == (arms + more_arms, d + more_d, d + more_d)
    assert (memory.D[:arms, :d, :d] == before_D).all() and (memory.b[:arms, :d] == before_b).all()
    assert not memory.D[arms:].any() and not memory.D[:, d:, :].any()


def test_the_full_memory_is_the_policys_settled_model_learned_once():
    """The short memory compares itself with the model change detection reads: one copy, each settled
    value learned once (it used to keep a second, identical model)."""
    for params in ({}, ONLY_MEMORY):
        policy = make_policy({"name": "linucb", "params": params}, "click", seed=0)
        run(policy, random.Random(3), 300, swapped=False)
        assert policy.recent.full is policy.settled
        assert policy.settled.count == 300 and policy.recent.short.count == 300
        assert "full" not in policy.state()["recent"]


def test_a_snapshot_from_before_the_shared_settled_model_loads_its_copy():
    policy = make_policy({"name": "linucb", "params": ONLY_MEMORY}, "click", seed=0)
    run(policy, random.Random(3), 300, swapped=False)
    old = json.loads(json.dumps(policy.state()))
    old["recent"]["full"], old["settled"] = old["settled"], {"count": 0, "arms": {}}  # change detection off
    resumed = policy_from_state(old, seed=0)
    assert resumed.settled.count == 300
    assert resumed.state() == policy.state()


def test_a_steady_store_with_a_daily_cycle_neither_restarts_nor_leans_on_the_short_memory():
    """Two days at 6,000 decisions a day, every rate swinging +-30% over the day, rewards settled by
    decision time: the defaults (change detection and the short memory) keep the full memory."""
    policy = make_policy("linucb", "click", seed=2)
    rng = random.Random(2)
    day, active = 86_400.0, 0
    for i in range(12_000):
        at = i * day / 6_000
        ctx = CONTEXTS[i % 2]
        d = decide(policy, ARMS, ctx, rng)
        swing = 1.0 + 0.3 * math.sin(2.0 * math.pi * at / day)
        reward = float(rng.random() < rate(d.arm, ctx, False) * swing)
        policy.update(d.arm, reward, d.features, d.propensity, decided_at=at, settle=1800.0)
        active += i % 200 == 0 and policy.recent.active
    assert policy.restarts == 0
    assert active <= 6, active  # of 60 checkpoints


def test_with_the_short_memory_in_use_every_decision_reads_its_current_data():
    """Its model is cached between changes of the data; after every kind of change the scores are a
    fresh copy's (built from the state, nothing cached)."""
    policy = make_policy({"name": "linucb", "params": ONLY_MEMORY}, "click", seed=0)
    rng = random.Random(4)
    run(policy, rng, 600, swapped=False)
    policy.recent.active, policy.recent.score = True, 1e6
    ctx = {f"device={CONTEXTS[0]['device']}": 1.0, "is_new": 1.0}

    def same_as_fresh() -> None:
        fresh = policy_from_state(json.loads(json.dumps(policy.state())), seed=0)
        assert fresh.recent.active
        assert policy.scores(ARMS, ctx) == fresh.scores(ARMS, ctx)

    same_as_fresh()
    before = policy.scores(ARMS, ctx)
    policy.begin("a", ctx)
    same_as_fresh()
    policy.update("a", 1.0, ctx, begun=True)
    same_as_fresh()
    policy.begin("b", ctx)
    policy.abandon("b", ctx)
    same_as_fresh()
    policy.keep_arms(["a", "b", "c"])
    same_as_fresh()
    assert policy.scores(ARMS, ctx) != before
