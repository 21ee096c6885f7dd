"""Logged propensities are the real ones: every policy, across two workers and snapshot reloads.

Two workers (or instances) hold the same model, and followers reload it from
snapshots. If the draw came from a generator seeded per slot, every reload
would restart the same sequence and the workers would repeat each other — the
arm frequencies would not be the propensities the log claims (Thompson once
chose one variant 15 times in a row while logging 1/3). The draw comes from
the decision id instead.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter

import pytest
from scipy import stats

from slotwise.bandits import POLICY_NAMES, features
from slotwise.bandits.exploration import sample
from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.bandits.randomness import decision_uniform

ARMS = ("a", "b", "c")
VISITOR = {"device": "mobile", "is_new": True, "top_category": "shoes", "visit_count": 1}
# explored enough that every learning policy gives every arm some chance
EXPLORING = {"linucb": {"epsilon": 0.3}, "ucb": {"epsilon": 0.3}, "epsilon-greedy": {"epsilon": 0.3},
             "river-model": {"epsilon": 0.3, "bootstrap": 4}}


def trained_snapshot(name: str) -> dict:
    """A slot that has learned a little: a leads, b and c still have a chance."""
    spec = {"name": name, "params": EXPLORING.get(name, {})}
    learner = Learner({"s": SlotConfig(arms=ARMS, goal="click", policy=spec, window=60.0)}, seed=3)
    rng = random.Random(1)
    policy = learner.policies["s"]
    for _ in range(200):
        arm = rng.choice(ARMS)
        rate = {"a": 0.3, "b": 0.2, "c": 0.15}[arm]
        policy.update(arm, float(rng.random() < rate), features(VISITOR) if policy.contextual else None, 1 / 3)
    return learner.snapshot()


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_arm_frequencies_match_logged_propensities_across_workers_and_reloads(name):
    snapshot = trained_snapshot(name)
    workers = [Learner.from_snapshot(snapshot), Learner.from_snapshot(snapshot)]
    ids = random.Random(7)
    counts: Counter[str] = Counter()
    logged: dict[str, float] = {}
    repeats = 0
    previous = None
    n = 1200
    for i in range(n):
        if i % 10 == 0:  # followers reload the published snapshot now and then
            workers = [Learner.from_snapshot(snapshot) for _ in workers]
        decision_id = uuid.UUID(int=ids.getrandbits(128)).hex
        decision = workers[i % 2].decide("s", VISITOR, decision_id=decision_id)
        counts[decision.arm] += 1
        logged.setdefault(decision.arm, decision.propensity)
        assert logged[decision.arm] == decision.propensity  # the model did not move
        assert decision.probabilities[decision.arm] == decision.propensity
        # reproducible from the log: the same id draws the same arm
        assert sample(decision.probabilities, decision_uniform(decision_id)) == decision.arm
        repeats += decision.arm == previous
        previous = decision.arm
    probs = workers[0].decide("s", VISITOR, decision_id="x").probabilities
    assert_frequencies(counts, probs, n)
    # consecutive decisions (alternating workers) are independent: repeats ~ n * sum(p^2)
    same = n * sum(p * p for p in probs.values())
    assert abs(repeats - same) < 5 * (same * (1 - same / n)) ** 0.5


def assert_frequencies(counts: Counter[str], probs: dict[str, float], n: int) -> None:
    """A chi-square test that ``n`` draws fell on the arms as ``probs`` says."""
    assert sorted(probs.values())[-2] > 0.05, probs  # a test with power: two arms with a real chance
    big = [a for a in probs if n * probs[a] >= 5]  # arms with few expected picks are pooled
    observed = [counts[a] for a in big] + [n - sum(counts[a] for a in big)]
    expected = [n * probs[a] for a in big] + [n * (1 - sum(probs[a] for a in big))]
    if expected[-1] < 1e-9:
        observed, expected = observed[:-1], expected[:-1]
    assert stats.chisquare(observed, expected).pvalue > 1e-3, (observed, expected)


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_a_variant_out_of_its_window_drops_out_and_propensities_stay_exact(name):
    """Variant c's ``active`` window closes: the policy draws among the others alone (their
    probabilities sum to 1), each logged propensity is the chance it had, and what was learned of the
    variant that left is kept for when it comes back."""
    snapshot = trained_snapshot(name)
    learner = Learner.from_snapshot(snapshot)
    before = learner.decide("s", VISITOR, decision_id="x").probabilities
    ids = random.Random(11)
    counts: Counter[str] = Counter()
    n = 1200
    for _ in range(n):
        decision = learner.decide("s", VISITOR, decision_id=uuid.UUID(int=ids.getrandbits(128)).hex, arms=("a", "b"))
        assert decision.arm in ("a", "b")
        assert decision.propensity == decision.probabilities[decision.arm]
        counts[decision.arm] += 1
    probs = learner.decide("s", VISITOR, decision_id="x", arms=("a", "b")).probabilities
    assert set(probs) == {"a", "b"} and abs(sum(probs.values()) - 1.0) < 1e-9
    assert_frequencies(counts, probs, n)
    assert learner.decide("s", VISITOR, decision_id="x").probabilities == before  # back: as it was
    with pytest.raises(ValueError, match="not all arms"):
        learner.decide("s", VISITOR, arms=("b", "z"))


def test_a_generator_rebuilt_at_every_reload_repeats_itself():
    """What the decision-id draw replaces: the policy's own generator, reseeded at each load."""
    snapshot = trained_snapshot("thompson")
    picks = [Learner.from_snapshot(snapshot).decide("s", VISITOR).arm for _ in range(15)]
    assert len(set(picks)) == 1  # 15 of 15 alike, whatever the propensities say


def test_decision_uniform_is_uniform_and_stable():
    draws = [decision_uniform(uuid.UUID(int=random.Random(i).getrandbits(128)).hex) for i in range(4000)]
    assert stats.kstest(draws, "uniform").pvalue > 1e-3
    assert decision_uniform("d1") == decision_uniform("d1") != decision_uniform("d2")
