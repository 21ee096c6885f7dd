"""Change-point detection: the GLR detector alone, and every policy restarting on a change."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.bandits import make_policy, policy_from_state
from slotwise.bandits.decide import decide
from slotwise.bandits.change import ChangeDetector
from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.bandits.spec import PARAMS, validate_policy_spec

T0 = 1_800_000_000.0
LEARNING = ("thompson", "ucb", "epsilon-greedy", "exp3", "linucb")
ARMS = ["a", "b", "c"]
CONTEXTS = [{"device": "mobile", "top_category": "shoes"}, {"device": "desktop", "top_category": "bags"}]


def first_alarm(detector: ChangeDetector, values) -> int | None:
    for i, value in enumerate(values):
        if detector.add(value):
            return i
    return None


def bernoulli(rng: random.Random, rate: float, n: int) -> list[float]:
    return [float(rng.random() < rate) for _ in range(n)]


@pytest.mark.parametrize("rate", [0.01, 0.03, 0.2])
def test_no_alarm_on_a_steady_stream(rate):
    for seed in range(3):
        rng = random.Random(seed)
        assert first_alarm(ChangeDetector(8.0), bernoulli(rng, rate, 20_000)) is None


def test_a_drop_is_found_soon_after_it_happens():
    rng = random.Random(1)
    before, after = bernoulli(rng, 0.05, 10_000), bernoulli(rng, 0.01, 5_000)
    alarm = first_alarm(ChangeDetector(8.0), before + after)
    assert alarm is not None and 10_000 <= alarm < 10_000 + 1_500


def test_a_rise_is_found_for_01_rewards_but_not_for_real_values():
    rng = random.Random(2)
    stream = bernoulli(rng, 0.01, 8_000) + bernoulli(rng, 0.08, 3_000)
    assert 8_000 <= first_alarm(ChangeDetector(8.0, "bernoulli"), stream) < 11_000
    # real-valued streams (revenue, prediction errors) are watched for drops only:
    # a few large orders in a short window would otherwise look like a change
    revenue = [v * 80.0 for v in stream]
    assert first_alarm(ChangeDetector(8.0, "gaussian"), revenue) is None
    assert first_alarm(ChangeDetector(8.0, "gaussian"), revenue[::-1]) is not None


def test_steady_revenue_with_rare_large_orders_raises_no_alarm():
    rng = random.Random(3)
    stream = [rng.lognormvariate(4.0, 1.0) if rng.random() < 0.03 else 0.0 for _ in range(20_000)]
    assert first_alarm(ChangeDetector(8.0, "gaussian"), stream) is None


def test_a_collapsed_variance_is_not_read_as_a_precise_measurement():
    """Prediction errors after a run of non-conversions are nearly constant: a test that takes the
    window's own variance (~1e-9 here) called a shift of 0.0001 a change."""
    values = [-0.0400] * 25 + [-0.0401] * 25
    assert first_alarm(ChangeDetector(6.0, "gaussian"), values) is None


def cycle(rng: random.Random, rate: float, days: float, per_day: int, amp: float = 0.3,
          halve_after: float | None = None) -> list[tuple[float, float]]:
    """(value, decision time) of one variant converting at ``rate`` +-``amp`` over each day."""
    out = []
    for i in range(int(days * per_day)):
        at = T0 + i * 86_400.0 / per_day
        p = rate * (1 + amp * math.sin(2 * math.pi * (at % 86_400.0) / 86_400.0))
        if halve_after is not None and i >= halve_after * per_day:
            p *= 0.5
        out.append((float(rng.random() < p), at))
    return out


def test_a_daily_cycle_is_not_a_change_but_halving_the_variant_is():
    steady = cycle(random.Random(5), 0.03, 3, 20_000)
    # one level before and after (no decision times): the evening's dip reads as a drop
    assert first_alarm(ChangeDetector(8.0), [v for v, _ in steady]) is not None
    # the daily profile fitted around the split: nothing moved
    timed = ChangeDetector(8.0)
    assert not any(timed.add(v, 1.0, at) for v, at in steady)
    # halved on the third day: a few thousand decisions
    halved = cycle(random.Random(6), 0.03, 3.5, 20_000, halve_after=2.5)
    detector = ChangeDetector(8.0)
    alarm = next(i for i, (v, at) in enumerate(halved) if detector.add(v, 1.0, at))
    assert 0 <= alarm - 50_000 < 5_000
    before, after, _, _ = detector.shift
    assert after < 0.75 * before
    # halved in the afternoon of the first day, in hours never seen yet: the profile could still
    # bend that way, so it takes until the next morning (docs/benchmarks.md, "Change detection")
    first_day = cycle(random.Random(7), 0.03, 1.5, 20_000, halve_after=0.6)
    detector = ChangeDetector(8.0)
    assert 0 <= next(i for i, (v, at) in enumerate(first_day) if detector.add(v, 1.0, at)) - 12_000 < 18_000


def test_the_statistic_is_the_likelihood_ratio_of_a_shift_over_a_daily_profile():
    """Checked against a direct fit: Poisson counts with a smooth daily profile (penalised as in
    change.py), with and without a shift after the split."""
    from scipy.optimize import minimize

    from slotwise.bandits.change import _PENALTY, BASIS, poisson_glr
    rng = np.random.default_rng(3)
    window = np.zeros((2, 24, 3))
    for b in range(2):
        for h in range(24):
            n = float(rng.integers(50, 400))
            rate = 0.03 * (1 + 0.3 * math.sin(2 * math.pi * h / 24)) * (0.6 if b else 1.0)
            window[b, h] = (n, float(rng.poisson(rate * n)), n)
    (stat,) = poisson_glr(window)
    k, e = window[..., 1], window[..., 2]

    def negloglik(theta: np.ndarray, shift: bool) -> float:
        coef, beta = theta[:BASIS.shape[1]], (theta[-1] if shift else 0.0)
        eta = BASIS @ coef + np.array([[0.0], [beta]])
        return -float(np.sum(k * eta - e * np.exp(eta)) - 0.5 * np.sum(_PENALTY * coef * coef))

    start = np.zeros(BASIS.shape[1] + 1)
    start[0] = math.log(k.sum() / e.sum())
    null = minimize(negloglik, start[:-1], args=(False,), method="BFGS", options={"gtol": 1e-9})
    alt = minimize(negloglik, start, args=(True,), method="BFGS", options={"gtol": 1e-9})
    assert stat == pytest.approx(null.fun - alt.fun, rel=1e-4)
    assert stat > 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=3000),
       st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=6))
def test_buckets_hold_every_value_in_logarithmic_space(values, bucket, per_size):
    detector = ChangeDetector(1e9, "gaussian", bucket=bucket, per_size=per_size)
    for i, v in enumerate(values):
        detector.add(v, at=T0 + 600.0 * i)
    levels = detector.levels
    assert detector.count == len(values)
    assert levels == sorted(levels, reverse=True)  # oldest (most merged) first
    assert all(levels.count(level) <= per_size for level in set(levels))
    assert len(levels) <= per_size * (math.log2(len(values) / bucket + 1) + 1)
    held = sum(float(b[:, 1].sum()) for b in detector.buckets) + sum(c[1] for c in detector.open.values())
    assert held == pytest.approx(sum(values), abs=1e-3)


def test_detector_state_round_trips_through_json():
    rng = random.Random(4)
    stream = bernoulli(rng, 0.05, 6_000) + bernoulli(rng, 0.01, 3_000)
    straight = ChangeDetector(8.0)
    alarm = first_alarm(straight, stream)
    resumed = ChangeDetector(8.0)
    first_alarm(resumed, stream[:5_000])
    copy = ChangeDetector(8.0)
    copy.load(json.loads(json.dumps(resumed.state())))
    assert 5_000 + first_alarm(copy, stream[5_000:]) == alarm


def test_unknown_stream_kind_is_refused():
    with pytest.raises(ValueError, match="unknown stream kind"):
        ChangeDetector(8.0, "poisson")


# -- policies ------------------------------------------------------------------
def run_phases(policy, best_by_phase: list[str], n: int, seed: int = 0, start: int = 0):
    """Decide and learn ``n`` visitors per phase; the phase's best arm converts at 12%, others at 2%."""
    rng = random.Random(seed)
    picks: list[str] = []
    for phase, best in enumerate(best_by_phase):
        for i in range(n):
            ctx = CONTEXTS[(start + i) % len(CONTEXTS)]
            d = decide(policy, ARMS, ctx, rng)
            reward = float(rng.random() < (0.12 if d.arm == best else 0.02))
            policy.update(d.arm, reward, d.features if policy.contextual else None, d.propensity)
            picks.append(d.arm)
    return picks


@pytest.mark.parametrize("name", LEARNING)
def test_every_policy_restarts_and_finds_the_new_best_variant(name):
    policy = make_policy(name, "purchase", seed=3)
    picks = run_phases(policy, ["a", "b"], 6_000)
    assert policy.restarts >= 1
    # the old winner's drop, or (0/1 rewards are watched both ways) the new one's rise
    change = policy.changes[0]
    assert change["arm"] in ("a", "b") and change["version"] >= 6_000
    tail = picks[-1_500:]
    assert tail.count("b") / len(tail) > 0.6, f"{name}: {tail.count('b')} of {len(tail)} on the new best"
    # the restart records the means around the change (the report shows them)
    if name == "linucb":  # rewards against the model's predictions: they fell
        assert change["watched"] == "error" and change["after"] < change["before"]
    elif name == "thompson":
        assert change["watched"] == "reward"
        if change["arm"] == "a":  # the old winner fell from ~12% toward ~2%
            assert change["before"] > 0.08 and change["after"] < 0.06
        else:  # the new one rose
            assert change["before"] < 0.06 and change["after"] > 0.08


@pytest.mark.parametrize("name", [n for n in LEARNING if n != "ucb"])  # UCB-V's bonus keeps probing
def test_without_change_detection_the_old_winner_keeps_its_lead(name):
    params = {"change_detection": False}
    if name == "linucb":  # its short memory is the other way back (tests/bandits/test_recent.py)
        params["recent_half_life"] = None
    policy = make_policy({"name": name, "params": params}, "purchase", seed=3)
    run_phases(policy, ["a"], 6_000)
    picks = run_phases(policy, ["b"], 1_500, seed=1)
    assert policy.restarts == 0 and policy.detectors == {}
    assert picks.count("a") > picks.count("b")
    assert "detectors" in policy.state() and policy.state()["restarts"] == 0


@pytest.mark.parametrize("name", LEARNING)
def test_no_restart_in_a_steady_store(name):
    policy = make_policy(name, "purchase", seed=5)
    run_phases(policy, ["a"], 8_000, seed=5)
    assert policy.restarts == 0


@pytest.mark.parametrize("name", LEARNING)
def test_a_snapshot_mid_stream_restarts_exactly_like_a_straight_run(name):
    straight = make_policy(name, "purchase", seed=9)
    run_phases(straight, ["a"], 5_000, seed=1)
    snapshot = json.loads(json.dumps(straight.state()))
    run_phases(straight, ["b"], 3_000, seed=2, start=5_000)
    resumed = policy_from_state(snapshot, seed=9)
    run_phases(resumed, ["b"], 3_000, seed=2, start=5_000)
    assert straight.restarts == resumed.restarts >= 1
    assert resumed.state() == straight.state()


def test_detection_knobs_are_validated():
    assert validate_policy_spec({"name": "thompson", "params": {"change_detection": "yes"}}, "click") == [
        "policy 'thompson': param 'change_detection' must be true or false, got 'yes'"]
    assert validate_policy_spec({"name": "linucb", "params": {"change_threshold": 0.5}}, "click") == [
        "policy 'linucb': param 'change_threshold' must be a number >= 1 and <= 100, got 0.5"]
    assert validate_policy_spec({"name": "uniform", "params": {"change_detection": False}}, "click")


def test_the_rules_doc_gives_the_thresholds_every_policy_defaults_to():
    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text().split())
    defaults = {name: params["change_threshold"].default for name, params in PARAMS.items()
                if "change_threshold" in params}
    others = {value for name, value in defaults.items() if name != "linucb"}
    assert len(others) == 1, defaults
    assert f"`change_threshold` (default {others.pop():g}; `linucb` {defaults['linucb']:g})" in text
    policy = make_policy("linucb", "click", seed=1)
    assert policy._new_detector().threshold == defaults["linucb"]


def test_arms_removed_from_the_slot_leave_nothing_waiting():
    policy = make_policy("thompson", "purchase", seed=1)
    for i in range(50):
        policy.update("a" if i % 2 else "b", 0.0, decided_at=float(i), settle=100.0)
    policy.keep_arms(["b"])
    assert {entry[2] for entry in policy.state()["unsettled"]} == {"b"}


# -- rewards in decision order -------------------------------------------------------
def bursty_store(learner: Learner, hours: int = 48) -> list[tuple[str, float]]:
    """Both variants convert at 10%, but traffic swings between them every two hours.

    Returns what the learner taught, in the order it taught it (arm, reward).
    """
    rng = random.Random(11)
    taught = []
    for i in range(hours * 360):  # one decision every 10 s
        ts = T0 + i * 10.0
        heavy = "a" if (i // 720) % 2 == 0 else "b"
        arm = heavy if rng.random() < 0.95 else ("b" if heavy == "a" else "a")
        out = learner.on_decision({"decision_id": f"d{i}", "ts": ts, "visitor_id": f"v{i}", "slot": "hero",
                                   "arm": arm, "propensity": 0.5})
        if rng.random() < 0.10:
            out += learner.on_event(f"v{i}", "purchase", 50.0, ts + 60.0)
        taught += [(o.arm, o.reward) for o in out if o.taught]
    return taught


def test_steady_rewards_learned_out_of_order_raise_no_alarm():
    """Conversions are learned within a minute, non-conversions only when the 30-minute
    window closes: in that order each traffic swing looks like a jump. In decision
    order it does not, and the learner hands the policy the decision times."""
    learner = Learner({"hero": SlotConfig(arms=("a", "b"), goal="purchase", policy="thompson", window=1800.0)})
    taught = bursty_store(learner)
    assert learner.policies["hero"].restarts == 0
    # the same rewards in the order they were learned, without decision times: false alarms
    naive = make_policy("thompson", "purchase", seed=1)
    for arm, reward in taught:
        naive.update(arm, reward)
    assert naive.restarts >= 1


def test_linucb_also_watches_all_arms_prediction_errors_as_one_stream():
    from slotwise.bandits.policies import JOINT
    policy = make_policy("linucb", "purchase", seed=3)
    run_phases(policy, ["a"], 3_000)
    joint = policy.detectors[JOINT]
    per_arm = [d for arm, d in policy.detectors.items() if arm != JOINT]
    assert joint.count == sum(d.count for d in per_arm) > 0  # every watched value, once
    policy.keep_arms(["a", "b"])
    assert JOINT in policy.detectors
    thompson = make_policy("thompson", "purchase", seed=3)  # arms' raw rewards differ: no joint stream
    run_phases(thompson, ["a"], 500)
    assert thompson.detectors and JOINT not in thompson.detectors


def test_restart_message_says_what_shifted_and_by_how_much():
    from slotwise.bandits.records import Restart
    from slotwise.proxy.operations.reporting import restart_message
    assert "the reward of variant hero-b went from 3.1% to 1.5%" in restart_message(
        Restart(T0, "hero-b", "reward", 0.031, 0.015), "purchase")
    assert "the reward of variant hero-b went from 42.00 to 12.50" in restart_message(
        Restart(T0, "hero-b", "reward", 42.0, 12.5), "revenue")
    assert "all variants together earned 3.4 points less than the model predicted" in restart_message(
        Restart(T0, "", "error", 0.001, -0.033), "purchase")
    assert "the reward of variant a shifted" in restart_message(Restart(T0, "a"), "click")


def test_the_daily_shape_is_the_profile_without_its_level():
    """``daily_shape`` (the short memory's reference, ``policies/recent.py``): a +-30% cycle is found
    from per-hour sums; the level is left out (doubling every expectation moves nothing); no counts,
    or a handful, give a flat or nearly flat profile."""
    from slotwise.bandits.change import daily_shape

    hours = np.arange(24) + 0.5
    expected = np.full(24, 400.0)
    counts = expected * (1.0 + 0.3 * np.sin(2.0 * math.pi * hours / 24.0))
    shape = daily_shape(counts, expected)
    assert shape[5] > 1.2 and shape[17] < 0.8
    assert np.allclose(shape, 1.0 + 0.3 * np.sin(2.0 * math.pi * hours / 24.0), atol=0.06)
    assert np.allclose(daily_shape(counts, 2.0 * expected), shape, atol=1e-6)
    assert (daily_shape(np.zeros(24), expected) == 1.0).all()
    few, k = counts / 400.0, expected / 400.0  # ~1 count an hour: the ridge shrinks it towards flat
    assert np.abs(np.log(daily_shape(few, k, ridge=50.0))).max() < np.abs(np.log(daily_shape(few, k))).max() \
        < np.abs(np.log(shape)).max()
