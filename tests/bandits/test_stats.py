import math
import random
from collections import Counter

import numpy as np
import pytest

from slotwise.bandits.stats import lift, mean_interval, prob_best, slot_report, srm_check, traffic_share, wilson_interval


def test_wilson_covers_the_true_rate_about_95_percent():
    rng = np.random.default_rng(1)
    p, n = 0.02, 800
    hits = rng.binomial(n, p, 2000)
    covered = np.mean([wilson_interval(h, n).low <= p <= wilson_interval(h, n).high for h in hits])
    assert 0.93 <= covered <= 0.975


def test_mean_interval_covers_the_true_mean():
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(1000):
        vals = rng.exponential(50.0, 60)  # skewed, like order values
        iv = mean_interval(list(vals))
        covered += iv.low <= 50.0 <= iv.high
    assert 0.91 <= covered / 1000 <= 0.975


def test_lift_interval_covers_known_difference():
    rng = np.random.default_rng(3)
    covered = 0
    for _ in range(500):
        a = rng.binomial(1, 0.05, 4000)
        b = rng.binomial(1, 0.04, 4000)
        res = lift(list(a), list(b))
        covered += res.difference_interval.low <= 0.01 <= res.difference_interval.high
    assert 0.92 <= covered / 500 <= 0.98
    res = lift([1.0] * 50 + [0.0] * 950, [1.0] * 40 + [0.0] * 960)
    assert res.relative == pytest.approx(0.25)
    assert res.relative_interval.low < 0.25 < res.relative_interval.high


def test_srm_detects_a_broken_split_and_not_a_fair_one():
    assert srm_check({"a": 5000, "b": 5000}, {"a": 0.5, "b": 0.5}).warning is False
    bad = srm_check({"a": 5200, "b": 4800}, {"a": 0.5, "b": 0.5})
    assert bad.warning and bad.p_value < 0.001
    # false alarm rate stays near 0.1% on fair splits
    rng = random.Random(4)
    alarms = 0
    for _ in range(300):
        a = sum(rng.random() < 0.9 for _ in range(2000))
        alarms += srm_check({"holdout": 2000 - a, "rest": a}, {"holdout": 0.1, "rest": 0.9}).warning
    assert alarms <= 2


def test_prob_best():
    pb = prob_best({"a": [1.0] * 60 + [0.0] * 940, "b": [1.0] * 20 + [0.0] * 980}, binary=True)
    assert pb["a"] > 0.99 and math.isclose(sum(pb.values()), 1.0)
    pb = prob_best({"a": [10.0, 12.0, 11.0], "b": [10.0, 12.0, 11.0]}, binary=False)
    assert abs(pb["a"] - 0.5) < 0.05


def test_traffic_share_buckets():
    recs = [{"ts": 10, "arm": "a"}, {"ts": 20, "arm": "b"}, {"ts": 3700, "arm": "a"},
            {"ts": 3800, "arm": None, "holdout": True}]
    buckets = traffic_share(recs, 3600)
    assert [b.start for b in buckets] == [0, 3600]
    assert buckets[0].shares == {"a": 0.5, "b": 0.5}
    assert buckets[1].counts == {"a": 1, "holdout": 1}


def test_slot_report_end_to_end():
    rng = random.Random(5)
    recs = []
    for i in range(6000):
        hold = rng.random() < 0.1
        arm = None if hold else rng.choice(["a", "b"])
        p = 0.02 if hold else (0.05 if arm == "a" else 0.03)
        recs.append({"slot": "home", "arm": arm, "holdout": hold, "ts": i * 10.0,
                     "reward": float(rng.random() < p) if i < 5900 else None,
                     "exposed_at": i * 10.0 + 1 if rng.random() < 0.8 else None})
    rep = slot_report(recs, "home", "purchase", intended_split={"a": 0.5, "b": 0.5}, holdout_share=0.1)
    arms = {a.arm: a for a in rep.arms}
    assert arms["a"].interval.low < 0.05 < arms["a"].interval.high
    assert arms["a"].p_best > 0.95
    assert arms["a"].closed < arms["a"].decisions  # open windows are not in the rate
    assert 0.75 < arms["a"].exposures / arms["a"].decisions < 0.85
    assert rep.lift.difference > 0 and not any(c.warning for c in rep.srm)
    assert {c.name for c in rep.srm} == {"arms", "holdout"}
    assert len(rep.traffic) == math.ceil(6000 * 10 / 3600)


def test_a_variant_added_to_an_even_split_does_not_trip_the_split_check():
    rng = random.Random(6)
    recs = [{"slot": "home", "arm": rng.choice(["a", "b"]), "ts": float(i)} for i in range(3000)]
    recs += [{"slot": "home", "arm": rng.choice(["a", "b", "c"]), "ts": float(3000 + i)} for i in range(3000)]
    third = {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}
    rep = slot_report(recs, "home", "purchase", intended_split=third)
    (check,) = rep.srm
    assert not check.warning and sum(check.observed.values()) == pytest.approx(3000, abs=5)
    # over the whole history the same counts would have been flagged
    whole = Counter(r["arm"] for r in recs)
    assert srm_check(whole, third).warning
    # and a split that is really broken since the variant was added still is
    skewed = recs[:3000] + [{"slot": "home", "arm": rng.choice(["a", "a", "b", "c"]), "ts": float(3000 + i)}
                            for i in range(3000)]
    assert slot_report(skewed, "home", "purchase", intended_split=third).srm[0].warning


def test_decisions_drawn_while_a_variant_was_out_of_its_window_do_not_trip_the_split_check():
    """An even split of three, then c's ``active`` window closes: a and b get half each (propensity 0.5)."""
    rng = random.Random(7)
    recs = [{"slot": "home", "arm": rng.choice("abc"), "propensity": 1 / 3, "ts": float(i)} for i in range(3000)]
    recs += [{"slot": "home", "arm": rng.choice("ab"), "propensity": 0.5, "ts": float(3000 + i)} for i in range(3000)]
    third = {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}
    (check,) = slot_report(recs, "home", "purchase", intended_split=third).srm
    assert not check.warning and sum(check.observed.values()) == pytest.approx(3000, abs=10)
    assert srm_check(Counter(r["arm"] for r in recs), third).warning  # all of them together would be flagged
    skewed = [{**r, "arm": "a" if rng.random() < 0.2 else r["arm"]} for r in recs[:3000]] + recs[3000:]
    assert slot_report(skewed, "home", "purchase", intended_split=third).srm[0].warning  # still caught


def test_the_split_check_reads_the_arms_a_decision_was_drawn_among_where_the_record_names_them():
    """A log whose records name the arms each decision was drawn among (``offered``) and round propensities
    (0.3333, as a hand-written or another tool's log does): ``offered`` says which decisions were drawn among
    every variant, not the propensity, which no longer equals its share to the last digit."""
    rng = random.Random(8)
    every, two = ["a", "b", "c"], ["a", "b"]
    recs = [{"slot": "home", "arm": rng.choice(every), "propensity": 0.3333, "offered": every, "ts": float(i)}
            for i in range(3000)]
    recs += [{"slot": "home", "arm": rng.choice(two), "propensity": 0.5, "offered": two, "ts": float(3000 + i)}
             for i in range(3000)]
    third = {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}
    (check,) = slot_report(recs, "home", "purchase", intended_split=third).srm
    assert not check.warning and sum(check.observed.values()) == pytest.approx(3000, abs=10)
    skewed = [{**r, "arm": "a" if rng.random() < 0.2 else r["arm"]} for r in recs[:3000]] + recs[3000:]
    assert slot_report(skewed, "home", "purchase", intended_split=third).srm[0].warning  # still caught
