"""Reward attribution, expiry, exposure, dedupe, arm changes and restart recovery."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.bandits import Learner
from slotwise.bandits.records import ARM_REMOVED, EXPIRED, REWARDED, SLOT_REMOVED, UNEXPOSED, UNKNOWN_SLOT



def learner(**slot) -> Learner:
    cfg = {"arms": ["a", "b"], "goal": "purchase", "window": 100.0, "policy": "epsilon-greedy"}
    cfg.update(slot)
    return Learner({"home": cfg}, seed=1)


def n_updates(lrn: Learner, slot: str = "home") -> float:
    return sum(st_[0] for st_ in lrn.policies[slot].state()["arms"].values())


def test_reward_joins_the_preceding_decision_inside_the_window(record):
    lrn = learner()
    lrn.on_decision(record(visitor="v1", arm="a", ts=10))
    assert lrn.on_event("v2", "purchase", 30.0, 20) == []  # another visitor
    assert lrn.on_event("v1", "add_to_cart", None, 21) == []  # not the goal
    (out,) = lrn.on_event("v1", "purchase", 30.0, 50)
    assert (out.reason, out.reward, out.taught, out.arm) == (REWARDED, 1.0, True, "a")
    assert lrn.policies["home"].arms["a"] == [1.0, 1.0, 1.0]


def test_event_before_decision_or_after_window_does_not_reward(record):
    lrn = learner()
    lrn.on_decision(record(visitor="v1", ts=100))
    assert lrn.on_event("v1", "purchase", None, 99) == []  # late-delivered, happened before
    (out,) = lrn.on_event("v1", "purchase", None, 201)  # window closed at 200: expiry first
    assert (out.reason, out.reward) == (EXPIRED, 0.0)


def test_window_expiry_teaches_zero_exactly_once(record):
    lrn = learner()
    lrn.on_decision(record(ts=0))
    assert lrn.tick(100) == []  # deadline is inclusive
    (out,) = lrn.tick(100.5)
    assert (out.reason, out.reward, out.taught, out.ts) == (EXPIRED, 0.0, True, 100.0)
    assert lrn.tick(1000) == [] and lrn.tick(2000) == []
    assert n_updates(lrn) == 1.0


def test_no_double_counting_of_duplicate_events_and_records(record):
    lrn = learner()
    rec = record(visitor="v1", arm="b", ts=0)
    lrn.on_decision(rec)
    lrn.on_decision(rec)  # the proxy logged it twice
    assert len(lrn.on_event("v1", "purchase", 10.0, 5)) == 1
    assert lrn.on_event("v1", "purchase", 10.0, 5) == []  # duplicate delivery
    assert lrn.on_event("v1", "purchase", 12.0, 6) == []  # a second order: already taught
    lrn.on_decision(rec)  # re-delivered after closing: remembered, ignored
    assert lrn.tick(500) == []
    assert n_updates(lrn) == 1.0


def test_seq_makes_replayed_records_idempotent(record):
    lrn = learner()
    lrn.on_decision(record(ts=0, visitor="v1"), seq=1)
    assert len(lrn.on_event("v1", "purchase", None, 1, seq=2)) == 1
    assert lrn.on_event("v1", "purchase", None, 1, seq=2) == []
    assert lrn.seq == 2


def test_every_pending_decision_of_the_visitor_is_rewarded_once(record):
    lrn = Learner({
        "home": {"arms": ["a", "b"], "goal": "purchase", "window": 100},
        "pdp": {"arms": ["x", "y"], "goal": "purchase", "window": 100},
        "popup": {"arms": ["p", "q"], "goal": "signup", "window": 100},
    })
    for slot, arm, ts in [("home", "a", 0), ("home", "a", 10), ("pdp", "y", 20), ("popup", "p", 30)]:
        lrn.on_decision(record(slot=slot, arm=arm, ts=ts, visitor="v"))
    out = lrn.on_event("v", "purchase", 80.0, 40)
    assert sorted((o.slot, o.arm) for o in out) == [("home", "a"), ("home", "a"), ("pdp", "y")]
    assert lrn.pending_count == 1  # the signup popup still waits


def test_click_needs_its_decision_id_and_exposure(record):
    lrn = learner(goal="click")
    seen, unseen, anonymous = (record(visitor="v", ts=0, decision_id=i) for i in ("seen", "unseen", "anon"))
    for r in (seen, unseen, anonymous):
        lrn.on_decision(r)
    lrn.on_exposure("seen", 1)
    lrn.on_exposure("anon", 1)
    assert lrn.on_event("v", "click", None, 2) == []  # a click that names no decision
    (out,) = lrn.on_event("v", "click", None, 3, decision_ids=["seen"])
    assert out.decision_id == "seen" and out.reward == 1.0
    assert lrn.on_event("other", "click", None, 3, decision_ids=["anon"]) == []  # not their decision
    expired = {o.decision_id: o for o in lrn.tick(200)}
    assert expired["anon"].reason == EXPIRED and expired["anon"].taught
    assert expired["unseen"].reason == UNEXPOSED and not expired["unseen"].taught
    assert n_updates(lrn) == 2.0


def test_click_implies_exposure(record):
    lrn = learner(goal="click")
    lrn.on_decision(record(visitor="v", ts=0, decision_id="d"))
    (out,) = lrn.on_event("v", "click", None, 5, decision_ids=["d"])
    assert out.reason == REWARDED


def test_exposure_can_be_required_for_other_goals(record):
    lrn = learner(goal="signup", require_exposure=True)
    lrn.on_decision(record(visitor="v", ts=0, decision_id="d"))
    assert lrn.on_event("v", "signup", None, 5) == []
    (out,) = lrn.tick(101)
    assert out.reason == UNEXPOSED and not out.taught


def test_revenue_and_margin_rewards(record):
    lrn = Learner({
        "rev": {"arms": ["a"], "goal": "revenue", "window": 100},
        "mar": {"arms": ["a"], "goal": "margin", "window": 100},
    })
    lrn.on_decision(record(slot="rev", visitor="v", ts=0))
    lrn.on_decision(record(slot="mar", visitor="v", ts=0))
    out = {o.slot: o.reward for o in lrn.on_event("v", "purchase", 80.0, 10, cost=5.0)}
    assert out == {"rev": 80.0, "mar": 75.0}


def test_holdout_decisions_get_rewards_but_teach_nothing(record):
    lrn = learner()
    lrn.on_decision(record(visitor="v", arm=None, holdout=True, ts=0))
    (out,) = lrn.on_event("v", "purchase", None, 5)
    assert out.holdout and out.reward == 1.0 and not out.taught
    assert n_updates(lrn) == 0


def test_inactivity_window_extends_with_activity(record):
    lrn = learner(window_mode="inactivity")
    lrn.on_decision(record(visitor="v", ts=0))
    lrn.on_event("v", "add_to_cart", None, 90)  # still active
    assert lrn.tick(150) == []
    (out,) = lrn.on_event("v", "purchase", None, 180)
    assert out.reason == REWARDED
    lrn.on_decision(record(visitor="w", ts=200))
    (out,) = lrn.tick(301)
    assert out.reason == EXPIRED and out.ts == 300


def test_unknown_slot_or_arm_is_reported_not_crashing(record):
    lrn = learner()
    (out,) = lrn.on_decision(record(slot="nope"))
    assert out.reason == UNKNOWN_SLOT
    (out,) = lrn.on_decision(record(arm="zzz"))
    assert out.reason == UNKNOWN_SLOT


def test_arm_changes_keep_stats_drop_pending_of_removed_arms(record):
    lrn = learner()
    for i, arm in enumerate(["a", "b", "a", "b"]):
        lrn.on_decision(record(visitor=f"v{i}", arm=arm, ts=i))
    lrn.tick(200)
    stats_a = list(lrn.policies["home"].arms["a"])
    lrn.on_decision(record(visitor="x", arm="b", ts=300))
    lrn.on_decision(record(visitor="y", arm="a", ts=300))
    out = lrn.configure({"home": {"arms": ["a", "c"], "goal": "purchase", "window": 100.0,
                                  "policy": "epsilon-greedy"}})
    assert [(o.reason, o.arm) for o in out] == [(ARM_REMOVED, "b")]
    # a's statistics are kept; y's decision for a, still pending, counts as a trial (Policy.begin)
    assert lrn.policies["home"].arms["a"] == [stats_a[0] + 1, stats_a[1], stats_a[2]]
    assert "b" not in lrn.policies["home"].arms
    assert lrn.on_event("x", "purchase", None, 301) == []  # dropped: nothing to reward
    assert len(lrn.on_event("y", "purchase", None, 301)) == 1
    d = lrn.decide("home", {})
    assert d.arm in ("a", "c")
    out = lrn.configure({})
    assert lrn.policies == {} and all(o.reason == SLOT_REMOVED for o in out)


def test_policy_change_keeps_statistics(record):
    lrn = learner()
    lrn.on_decision(record(visitor="v", arm="a", ts=0))
    lrn.on_event("v", "purchase", None, 1)
    lrn.configure({"home": {"arms": ["a", "b"], "goal": "purchase", "window": 100.0, "policy": "ucb"}})
    assert lrn.policies["home"].name == "ucb" and lrn.policies["home"].arms["a"][1] == 1.0


def test_apply_dispatches_stream_records():
    lrn = Learner()
    recs = [
        {"type": "configure", "slots": {"home": {"arms": ["a", "b"], "goal": "click", "window": 60}}},
        {"type": "decision", "decision_id": "d1", "ts": 0, "visitor_id": "v", "slot": "home", "arm": "a",
         "propensity": 0.5},
        {"type": "exposure", "decision_id": "d1", "ts": 1},
        {"type": "event", "visitor_id": "v", "event_type": "click", "value": None, "ts": 2, "decision_ids": ["d1"]},
        {"type": "tick", "now": 100},
    ]
    outs = [lrn.apply(r) for r in recs]
    assert outs[3][0].reason == REWARDED and lrn.seq == 5
    with pytest.raises(ValueError, match="unknown record type"):
        lrn.apply({"type": "bogus"})


# -- restart recovery -----------------------------------------------------------------------------
SLOTS = {
    "home": {"arms": ["a", "b", "c"], "goal": "purchase", "window": 50.0, "policy": "thompson"},
    "recs": {"arms": ["x", "y"], "goal": "click", "window": 30.0, "policy": "linucb"},
    "popup": {"arms": ["p", "q"], "goal": "margin", "window": 40.0, "policy": "exp3",
              "window_mode": "inactivity"},
    "pdp": {"arms": ["s", "t"], "goal": "add_to_cart", "window": 20.0,
            "policy": {"name": "ucb", "params": {"half_life": 20}}},
}


def make_stream(seed: int, n: int = 400) -> list[dict]:
    """A random but valid stream of records produced by a decide-as-you-go proxy."""
    rng = random.Random(seed)
    proxy = Learner(SLOTS, seed=seed)
    records: list[dict] = [{"type": "configure", "slots": SLOTS}]
    ts = 0.0
    ids: list[tuple[str, str]] = []
    for i in range(n):
        ts += rng.expovariate(1.0)
        visitor = f"v{rng.randrange(30)}"
        kind = rng.random()
        if kind < 0.45:
            slot = rng.choice(list(SLOTS))
            holdout = rng.random() < 0.1
            d = proxy.decide(slot, {"device": rng.choice(["mobile", "desktop"]), "is_new": rng.random() < 0.5})
            rec = d.record(f"d{i}", ts, visitor, slot).to_dict()
            if holdout:
                rec.update(arm=None, holdout=True, propensity=1.0)
            records.append({"type": "decision", **rec})
            proxy.on_decision(rec)
            ids.append((rec["decision_id"], visitor))
        elif kind < 0.6 and ids:
            records.append({"type": "exposure", "decision_id": rng.choice(ids)[0], "ts": ts})
        elif kind < 0.95:
            event = rng.choice(["click", "add_to_cart", "purchase", "signup"])
            named = [i for i, v in ids[-10:] if v == visitor] if event == "click" else None
            records.append({"type": "event", "visitor_id": visitor, "event_type": event,
                            "value": round(rng.uniform(5, 100), 2), "ts": ts, "decision_ids": named,
                            "cost": 3.0})
        else:
            records.append({"type": "tick", "now": ts})
        for r in records[-1:]:
            if r["type"] != "decision":
                proxy.apply(r)
    if rng.random() < 0.5:  # an arm change mid-stream
        cut = len(records) // 2
        slots2 = json.loads(json.dumps(SLOTS))
        slots2["home"]["arms"] = ["a", "c", "d"]
        records.insert(cut, {"type": "configure", "slots": slots2})
    return [dict(r, seq=k + 1) for k, r in enumerate(records)]


def outcomes(lrn: Learner, records: list[dict]) -> list[dict]:
    return [o.to_dict() for r in records for o in lrn.apply(r)]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.floats(0.05, 0.95))
def test_snapshot_then_replay_equals_uninterrupted_run(seed, cut):
    records = make_stream(seed)
    k = int(len(records) * cut)
    straight = Learner(seed=3)
    out_straight = outcomes(straight, records)

    first = Learner(seed=3)
    out_first = outcomes(first, records[:k])
    snap = json.loads(json.dumps(first.snapshot()))  # through JSON, as it would be stored
    assert snap["seq"] == k
    restarted = Learner.from_snapshot(snap)
    # the consumer re-reads from a little before the snapshot: already-applied records are skipped
    out_rest = outcomes(restarted, records[max(0, k - 5):])
    assert out_first + out_rest == out_straight
    assert restarted.snapshot() == straight.snapshot()
    for slot in restarted.slots:
        a = restarted.decide(slot, {"device": "mobile"}, random.Random(1))
        b = straight.decide(slot, {"device": "mobile"}, random.Random(1))
        assert (a.arm, a.propensity, a.model_version) == (b.arm, b.propensity, b.model_version)
