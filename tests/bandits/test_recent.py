"""LinUCB's short memory (``policies/recent.py``): back on the new best variants after a swap,
unchanged in a steady store, restorable mid-stream; its switch (a CUSUM of the leaders' settled
rewards against the full model, calibrated, with the daily profile of past days)."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.bandits import make_policy, policy_from_state
from slotwise.bandits.decide import decide
from slotwise.bandits.policies.recent import (NEAR_GATE, NEAR_HALF_LIFE_S, NEAR_RATE, POOLED_KEY, LeaderStream,
                                             RecentMemory)
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
    assert back > 0.7, back  # most visitors see their segment's new best (0.7475 here; above 0.75 before the per-variant streams)
    assert stuck < 0.5, stuck  # with the full memory alone, the old winners keep most of the traffic


def test_in_a_steady_store_the_policy_decides_with_its_full_memory():
    policy = make_policy({"name": "linucb", "params": ONLY_MEMORY}, "click", seed=1)
    rng = random.Random(1)
    active = 0
    for i in range(0, 6_000, 200):
        run(policy, rng, 200, swapped=False, start=i)
        active += policy.recent.active
    assert active <= 3  # of 30 checkpoints: the short memory is at most a rare, brief choice
    # all leaders together stay under the threshold; one variant's own stream (half the traffic
    # here) may cross by chance now and then: a brief switch
    assert policy.recent.streams[POOLED_KEY].score < policy.recent.switch
    assert policy.recent.switches <= 2


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
    assert validate_policy_spec({"name": "linucb", "params": {"recent_fall": 1.0}}, "click")
    assert validate_policy_spec({"name": "linucb", "params": {"recent_fall": 0.0}}, "click")
    assert not validate_policy_spec({"name": "linucb", "params": {"recent_half_life": None}}, "click")


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.001, 0.999), fall=st.floats(0.05, 0.95))
def test_a_click_is_evidence_against_a_fall_and_a_non_click_for_it(p, fall):
    memory = RecentMemory(100.0, None, 2.0, fall, SettledRidge(1.0, 0.0))
    click, miss = memory._fall_evidence(p, 1.0, True, fall), memory._fall_evidence(p, 0.0, True, fall)
    assert math.isfinite(click) and math.isfinite(miss)
    assert click < 0.0 < miss <= 1.0 - fall
    # under "as predicted" the evidence drifts down (a fall is not found where there is none)
    assert p * click + (1.0 - p) * miss < 0.0


@settings(max_examples=30, deadline=None)
@given(arms=st.integers(1, 4), d=st.integers(1, 6), more_arms=st.integers(0, 2), more_d=st.integers(0, 3))
def test_growing_the_memory_keeps_what_it_held(arms, d, more_arms, more_d):
    memory = RecentMemory(100.0, 50.0, 2.0, 0.5, SettledRidge(1.0, 0.0))
    memory.fit(arms, d)
    x = [float(i + 1) for i in range(d)]

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
        assert policy.settled.count == 300
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
    decision time: no restart, and the short memory is a brief choice. On the first day the evening's
    dip still turns the switch on for a while (no past day gives the profile yet; the leaders' level of
    the last hours follows the dip, with a lag); from the second day on the switch compares with the
    profile of the first."""
    policy = make_policy("linucb", "click", seed=2)
    rng = random.Random(2)
    day, active = 86_400.0, []
    for i in range(12_000):
        at = i * day / 6_000
        ctx = CONTEXTS[i % 2]
        d = decide(policy, ARMS, ctx, rng)
        swing = 1.0 + 0.3 * math.sin(2.0 * math.pi * at / day)
        reward = float(rng.random() < rate(d.arm, ctx, False) * swing)
        policy.update(d.arm, reward, d.features, d.propensity, decided_at=at, settle=1800.0)
        if i % 200 == 0:
            active.append(policy.recent.active)
    assert policy.restarts == 0
    assert sum(active[:15]) == 0, active  # the first day's morning: rates rising, nothing falls
    # of 60 checkpoints: the first evening (23; 32 against the level of the whole day so far, into
    # the night), and a little of the second day
    assert sum(active) <= 28, active
    assert sum(active[40:]) <= 12, active  # second day, once the first day's evening has drained


def test_with_the_short_memory_in_use_every_decision_reads_its_current_data():
    """Its model is cached between changes of the data; after every kind of change the scores are a
    fresh copy's (built from the state, nothing cached)."""
    policy = make_policy({"name": "linucb", "params": ONLY_MEMORY}, "click", seed=0)
    rng = random.Random(4)
    run(policy, rng, 600, swapped=False)
    policy.recent.streams[POOLED_KEY] = LeaderStream()
    policy.recent.streams[POOLED_KEY].score, policy.recent.streams[POOLED_KEY].on = 1e6, True
    policy.recent.active = True
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


# -- the switch ---------------------------------------------------------------
X = {"mobile": np.array([1.0, 1.0, 0.0]), "desktop": np.array([1.0, 0.0, 1.0])}  # bias, device one-hots


def trained_memory(fall: float = 0.4, switch: float = 4.0, near_half_life: float = NEAR_HALF_LIFE_S) -> RecentMemory:
    """A switch over a full model that knows mobile visitors click a (5%) over b (2%), desktop b over a,
    calibrated on 10,000 leader values that earned what it predicts."""
    full = SettledRidge(1.0, 0.0)
    for _ in range(2_000):
        for device, best in (("mobile", "a"), ("desktop", "b")):
            for arm in "ab":
                full.learn(arm, X[device], 0.05 if arm == best else 0.02)
    memory = RecentMemory(1_500.0, None, switch, fall, full, near_half_life)
    calibrate(memory, 10_000 * 0.05, 10_000 * full.predict("a", X["mobile"]))
    return memory


def calibrate(memory: RecentMemory, got: float, expected: float, stream: type[LeaderStream] = LeaderStream) -> None:
    """Every stream (each leading variant's, all leaders') starts from ``got / expected`` as its usual ratio."""
    for key in ("a", "b", POOLED_KEY):
        memory.streams[key] = stream()
        memory.streams[key].got, memory.streams[key].expected = got, expected


def reset_switch(memory: RecentMemory) -> None:
    """The switch's evidence back to none, calibration kept."""
    for stream in memory.streams.values():
        stream.score = stream.hold = 0.0
        stream.on = False
    memory.active = False


def test_only_the_full_models_leaders_feed_the_switch():
    """Variants explored where the full model does not lead say nothing about whether it still leads."""
    memory = trained_memory()
    for _ in range(3_000):  # b for mobile visitors, a for desktop ones: never a leader there
        memory.observe("b", X["mobile"], 0.0, True)
        memory.observe("a", X["desktop"], 0.0, True)
    assert memory.score == 0.0 and not memory.active
    for _ in range(300):  # the leaders stop earning: ~0.05 x 0.6 nats a value
        memory.observe("a", X["mobile"], 0.0, True)
    assert memory.active and memory.switches == 1


def test_the_switch_goes_back_when_the_leaders_earn_what_is_predicted_again():
    memory = trained_memory()
    rng = random.Random(3)
    for _ in range(400):
        memory.observe("a", X["mobile"], 0.0, True)
    assert memory.active
    for _ in range(4_000):
        memory.observe("a", X["mobile"], float(rng.random() < 0.05), True)
        if not memory.active:
            break
    assert not memory.active and memory.switches == 2


def test_a_few_clicks_after_the_switch_do_not_switch_back():
    """The deep fall that finds a swap soon is refuted by a few clicks; the switch holds while the
    shallower one (``hold_fall``) is still supported: a swap's leaders earn 50-75% of the prediction."""
    memory = trained_memory()
    for _ in range(300):
        memory.observe("a", X["mobile"], 0.0, True)
    assert memory.active
    clicks = 0
    while memory.score >= 1.0:
        memory.observe("a", X["mobile"], 1.0, True)
        clicks += 1
    assert clicks <= 10 and memory.streams[POOLED_KEY].hold > 1.0 and memory.active


def test_leaders_that_always_earned_a_little_less_than_predicted_do_not_switch():
    """The full model picks its leader where its estimate is high, so leaders earn somewhat less than
    it predicts (here 60%); the switch looks for a fall under that usual ratio."""
    class Uncalibrated(LeaderStream):
        def calibration(self) -> float:
            return 1.0

    calibrated, uncalibrated = trained_memory(), trained_memory()
    calibrate(calibrated, 0.0, 0.0)  # a store whose leaders always earned 60%
    calibrate(uncalibrated, 0.0, 0.0, Uncalibrated)
    rng = random.Random(5)
    active = {"calibrated": 0, "uncalibrated": 0}
    for _ in range(30_000):
        value = float(rng.random() < 0.6 * 0.05)
        for name, memory in (("calibrated", calibrated), ("uncalibrated", uncalibrated)):
            memory.observe("a", X["mobile"], value, True)
            active[name] += memory.active
    assert all(0.55 < stream.calibration() < 0.65 for stream in calibrated.streams.values() if stream.expected)
    assert active["calibrated"] < 0.15 * 30_000 < 0.5 * 30_000 < active["uncalibrated"], active


def test_a_fall_of_the_leaders_is_found_within_a_few_hundred_settled_values():
    memory = trained_memory()
    rng = random.Random(7)
    for _ in range(20_000):  # steady, calibrated
        memory.observe("a", X["mobile"], float(rng.random() < 0.05), True)
    assert not memory.active
    found = None
    for i in range(3_000):  # mobile visitors' leader falls from 5% to 2%
        memory.observe("a", X["mobile"], float(rng.random() < 0.02), True)
        if memory.active:
            found = i
            break
    assert found is not None and found < 1_500, found


def daily_stream(memory: RecentMemory, days: int, rng: random.Random, amp: float = 0.45) -> list[bool]:
    """The leader at 5% swinging +-``amp`` over the day, 6,000 settled values a day; active per value."""
    active = []
    for i in range(days * 6_000):
        at = i * 86_400.0 / 6_000
        rate = 0.05 * (1.0 + amp * math.sin(2.0 * math.pi * at / 86_400.0))
        memory.observe("a", X["mobile"], float(rng.random() < rate), True, at)
        active.append(memory.active)
    return active


def test_after_a_day_the_daily_profile_keeps_the_evening_dip_from_switching():
    """The full model does not know the hour: a -45% evening looks like a fall. Past days' hours give
    the profile the switch compares with (``change.daily_shape``), so from the second day on the dip is
    expected."""
    memory = trained_memory()
    active = daily_stream(memory, 4, random.Random(11))
    later = sum(active[6_000:])
    trough, peak = memory.shape[12:].min(), memory.shape[:12].max()
    assert trough < 0.7 and peak > 1.3, memory.shape
    flat = trained_memory(near_half_life=0.0)  # nor the first day's reference of the last hours
    flat._new_day = lambda at: None  # never a past day: no profile
    assert sum(daily_stream(flat, 4, random.Random(11))[6_000:]) > 2.5 * later, later


def test_on_the_first_day_the_leaders_level_of_the_last_hours_keeps_the_evening_dip_from_switching():
    """No past day yet, so no profile: against the level of the whole day so far (the calibration),
    a -45% evening reads as a fall; against the leaders' own level of the last hours
    (``NEAR_HALF_LIFE_S``), which a daily swing moves by a few percent an hour, it does not."""
    near, whole = trained_memory(), trained_memory(near_half_life=0.0)
    on_near = sum(daily_stream(near, 1, random.Random(11)))
    on_whole = sum(daily_stream(whole, 1, random.Random(11)))
    assert on_whole > 1_000 and on_near < 0.2 * on_whole, (on_near, on_whole)


def test_on_the_first_day_a_step_fall_of_the_leaders_is_still_found():
    """The last hours' level follows a fall too, but a swap's is a step, found before that level has
    moved much: at 6,000 settled values a day (two hours: 500 values), within a few hundred."""
    memory = trained_memory()
    rng = random.Random(7)
    step = 86_400.0 / 6_000
    for i in range(3_000):  # half a day, steady
        memory.observe("a", X["mobile"], float(rng.random() < 0.05), True, i * step)
    assert not memory.active
    found = None
    for i in range(3_000):  # mobile visitors' leader falls from 5% to 2%
        memory.observe("a", X["mobile"], float(rng.random() < 0.02), True, (3_000 + i) * step)
        if memory.active:
            found = i
            break
    assert found is not None and found < 1_000, found


def test_the_switchs_state_round_trips_through_json_and_resumes_exactly():
    memory = trained_memory()
    rng = random.Random(13)
    daily_stream(memory, 2, rng)
    for _ in range(200):
        memory.observe("a", X["mobile"], 0.0, True, 2 * 86_400.0 + 100.0)
    assert memory.streams["a"].waiting_expected > 0.0  # mid-fall on day three: values wait out of the calibration
    twin = RecentMemory(1_500.0, None, 4.0, 0.4, memory.full)
    twin.load(json.loads(json.dumps(memory.state())), 0, 0)
    assert twin.state() == memory.state() and (twin.shape == memory.shape).all()
    for i in range(500):
        value = float(i % 17 == 0)
        memory.observe("a", X["mobile"], value, True, 2 * 86_400.0 + 200.0 + i)
        twin.observe("a", X["mobile"], value, True, 2 * 86_400.0 + 200.0 + i)
        assert twin.score == memory.score and twin.active == memory.active


def never_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every value into the calibration at once, as before the wait (the baseline of the tests below)."""
    learn = LeaderStream.learn
    monkeypatch.setattr(LeaderStream, "learn", lambda self, value, predicted, keep, wait: learn(
        self, value, predicted, keep, False))


def expected_days(memory: RecentMemory, start: int, end: int, level: float = 1.0) -> None:
    """Settled values at their expected value (no noise) from value ``start`` to ``end``: the leader at
    5% x ``level``, swinging +-30% over the day, 6,000 values a day (250 visits an hour)."""
    for i in range(start, end):
        at = i * 86_400.0 / 6_000
        memory.observe("a", X["mobile"], 0.05 * level * (1.0 + 0.3 * math.sin(2.0 * math.pi * at / 86_400.0)),
                       True, at)


def test_from_the_second_day_a_fall_being_weighed_is_not_learned_as_the_usual_ratio(monkeypatch):
    """A fall on the second day is weighed against the calibration (x the hour's factor). While the
    fall's evidence builds, its values wait out of the calibration, so it is weighed against the ratio
    from before the fall and found sooner than when the calibration follows it (expected values)."""
    found, at_found = {}, {}
    for name in ("waiting", "following"):
        if name == "following":
            never_waiting(monkeypatch)
        memory = trained_memory()
        expected_days(memory, 0, 7_500)  # the first day and three hours of the second
        before = memory.streams["a"].calibration()
        for i in range(7_500, 12_000):  # the leader falls to 60% of what it earned
            expected_days(memory, i, i + 1, level=0.6)
            if memory.active:
                found[name], at_found[name] = i - 7_500, memory.streams["a"].calibration()
                break
        if name == "waiting":
            assert at_found[name] == pytest.approx(before, rel=0.01)  # the usual ratio, as before the fall
            assert memory.streams["a"].waiting_expected > 0.0
    # waiting: on after 1,372 values (expected values: no noise); following, the calibration comes down
    # with the fall and the evidence never reaches the threshold in 4,500 values (the rest of the day)
    assert found["waiting"] < 2_000 and "following" not in found, found


def test_in_a_steady_stream_the_waiting_values_reach_the_calibration_as_if_learned_at_once(monkeypatch):
    """Held, not dropped: whenever no value waits, the calibration is the one that learned every value
    when it came; in a steady stream what waits is a small part of the calibration's weight."""
    memory, at_once = trained_memory(), trained_memory()
    rng = random.Random(5)
    learn = LeaderStream.learn
    same, waited, heaviest = 0, 0, 0.0
    for i in range(18_000):  # three days, +-30% over the day, 250 visits an hour
        at = i * 86_400.0 / 6_000
        value = float(rng.random() < 0.05 * (1.0 + 0.3 * math.sin(2.0 * math.pi * at / 86_400.0)))
        memory.observe("a", X["mobile"], value, True, at)
        with monkeypatch.context() as m:
            m.setattr(LeaderStream, "learn", lambda self, v, p, keep, wait: learn(self, v, p, keep, False))
            at_once.observe("a", X["mobile"], value, True, at)
        for key, stream in memory.streams.items():
            other = at_once.streams[key]
            if stream.waiting_expected:
                waited += 1
                heaviest = max(heaviest, stream.waiting_expected / stream.expected)
            else:
                same += 1
                # math.isclose, not pytest.approx: 54,000 comparisons (approx builds an object each time)
                assert math.isclose(stream.got, other.got, rel_tol=1e-9, abs_tol=1e-12), (stream.got, other.got)
                assert math.isclose(stream.expected, other.expected, rel_tol=1e-9, abs_tol=1e-12), (
                    stream.expected, other.expected)
    # a CUSUM is above 0 much of the time: from the second day on some value waits at ~40% of the
    # values (22,562 of 54,000 stream values here), at most ~16% of the calibration's weight
    assert waited > 0 and same > waited, (same, waited)
    assert heaviest < 0.25, heaviest


def test_amounts_switch_on_a_fall_of_the_leaders_revenue_and_not_on_its_noise():
    """Revenue per decision (0 mostly, an order's amount sometimes): the same CUSUM with a normal model
    whose noise is the residuals' running spread."""
    full = SettledRidge(1.0, 0.0)
    rng = random.Random(17)

    def revenue(mean: float) -> float:
        return rng.uniform(20.0, 80.0) if rng.random() < mean / 50.0 else 0.0

    for _ in range(5_000):
        full.learn("a", X["mobile"], revenue(2.5))
        full.learn("b", X["mobile"], revenue(1.0))
    memory = RecentMemory(1_500.0, None, 4.0, 0.4, full)
    steady = 0
    for _ in range(20_000):
        memory.observe("a", X["mobile"], revenue(2.5), False)
        steady += memory.active
    assert steady < 0.1 * 20_000, steady  # a brief choice now and then, as for 0/1 rewards
    reset_switch(memory)
    for i in range(5_000):
        memory.observe("a", X["mobile"], revenue(1.0), False)
        if memory.active:
            break
    assert memory.active and i < 3_000, i


# -- per leading variant ------------------------------------------------------
def test_a_fall_in_one_segment_is_not_diluted_by_a_steady_busier_one():
    """Mobile visitors' leader (a) falls to 45% while desktop visitors' leader (b), three times the
    traffic, earns a little more than predicted: pooled, the fall is diluted below what the switch
    looks for; a's own stream finds it."""
    memory = trained_memory(switch=6.0)
    rng = random.Random(19)
    found = None
    for i in range(12_000):
        memory.observe("a", X["mobile"], float(rng.random() < 0.45 * 0.05), True)
        for _ in range(3):
            memory.observe("b", X["desktop"], float(rng.random() < 1.15 * 0.05), True)
        if memory.active:
            found = i
            break
    assert found is not None and found < 3_000, found
    assert memory.streams["a"].on and not memory.streams[POOLED_KEY].on
    assert memory.streams[POOLED_KEY].score < memory.switch


def test_a_variants_stream_needs_more_evidence_than_all_leaders_together():
    """Several per-variant streams may each cross by chance: each needs ln(their number) nats more than
    the pooled stream, so the family switches falsely about as often as one stream would."""
    memory = trained_memory(switch=5.0)
    assert memory._threshold(POOLED_KEY) == 5.0
    assert memory._threshold("a") == pytest.approx(5.0 + math.log(2))  # streams a and b (and the pooled one)
    memory.streams["c"] = LeaderStream()
    assert memory._threshold("a") == pytest.approx(5.0 + math.log(3))
    fresh = RecentMemory(1_500.0, None, 5.0, 0.4, memory.full)
    assert fresh._threshold("a") == 5.0  # no stream yet


def test_what_the_rules_doc_says_of_the_switch_is_what_the_code_does():
    from pathlib import Path

    from slotwise.bandits.spec import PARAMS

    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text().split())
    linucb = PARAMS["linucb"]
    assert f"`recent_switch` nats of evidence (default {linucb['recent_switch'].default:g})" in text
    assert f"fell to `recent_fall` (default {linucb['recent_fall'].default:g})" in text
    assert "a variant's own stream needs ln(number of variants) nats more" in text
    assert f"what they earned over the last hours: half-life {NEAR_HALF_LIFE_S / 3600:g} h" in text
    memory = trained_memory(switch=linucb["recent_switch"].default)
    assert memory._threshold("a") == pytest.approx(memory.switch + math.log(2))  # two variants lead here


# -- a busy slot's first day: the reference held to NEAR_RATE an hour ------------------------------------
def busy_first_day(memory: RecentMemory, per_hour: float, hours: float, level: float = 1.0,
                   start_hour: float = 0.0) -> None:
    """Leader values at their expected value, ``per_hour`` of them, from ``start_hour`` for ``hours``,
    swinging +-30% over the day."""
    n = int(per_hour * hours)
    for i in range(n):
        at = (start_hour + i / per_hour) * 3600.0
        memory.observe("a", X["mobile"], 0.05 * level * (1.0 + 0.3 * math.sin(2.0 * math.pi * at / 86_400.0)),
                       True, at)


def test_a_busy_slots_first_day_reference_follows_a_daily_swing_but_not_a_step_faster_than_its_rate():
    memory = trained_memory()
    busy_first_day(memory, 3_000, 12.0)  # half of day one at 3,000 values an hour: the swing alone
    stream = memory.streams["a"]
    assert memory._busy() and stream.held is not None
    free = stream.near(12.0 * 3600.0, NEAR_HALF_LIFE_S)
    assert stream.held == pytest.approx(free, rel=0.01)  # the cap does not bind on the swing
    before = stream.held
    busy_first_day(memory, 3_000, 1.0, level=0.5, start_hour=12.0)  # a step to half the rate, one hour
    assert memory.active  # the fall is found, against the level held from before it
    free = stream.near(13.0 * 3600.0, NEAR_HALF_LIFE_S)
    # in that hour the free level came down by more than the cap lets the held one (0.08 log an hour)
    assert math.log(before / free) > NEAR_RATE
    assert math.log(before / stream.held) <= NEAR_RATE * 1.0001


def test_a_quiet_slot_keeps_the_free_first_day_reference():
    """At 250 values an hour (under NEAR_GATE) nothing is held: the reference is the level of the last hours,
    as for every slot before this cap (the cap cost such slots steady share in the bench)."""
    memory = trained_memory()
    busy_first_day(memory, 250, 12.0)
    assert not memory._busy() and NEAR_GATE > 250
    assert all(stream.held is None for stream in memory.streams.values())


def test_the_held_reference_and_the_slots_rate_round_trip_through_json():
    memory = trained_memory()
    busy_first_day(memory, 3_000, 2.0)
    state = json.loads(json.dumps(memory.state()))
    again = trained_memory()
    again.load(state, 0, 0)  # no arm data: the switch alone
    assert again._busy() and again.settled_values == memory.settled_values
    assert again.streams["a"].held == memory.streams["a"].held
    assert again.streams["a"].held_at == memory.streams["a"].held_at
