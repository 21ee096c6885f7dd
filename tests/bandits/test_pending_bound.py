"""The learner's memory is bounded: at most ``max_pending`` decisions wait for their reward.

A decision arriving beyond the bound is not held: it teaches nothing and gets
no reward — never a wrong one, e.g. a 0 for a window closed early — and it is
counted. The ids kept to ignore a decision logged twice are bounded too.
"""

from __future__ import annotations

import random
from pathlib import Path

from slotwise.bandits import features
from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.bandits.records import EXPIRED, NOT_HELD, REWARDED

T0 = 1_800_000_000.0
SLOTS = {"s": SlotConfig(arms=("a", "b"), goal="purchase", policy="thompson", window=600.0)}


def decision(i: int, arm: str, ts: float) -> dict:
    return {"decision_id": f"d{i}", "ts": ts, "visitor_id": f"v{i}", "slot": "s", "arm": arm,
            "propensity": 0.5, "context": features({"device": "mobile"})}


def test_beyond_the_bound_a_decision_is_not_held_and_teaches_nothing() -> None:
    learner = Learner(SLOTS, max_pending=3)
    for i in range(3):
        assert learner.on_decision(decision(i, "a", T0 + i)) == []
    out = learner.on_decision(decision(3, "b", T0 + 3))
    assert [(o.decision_id, o.reason, o.reward, o.taught) for o in out] == [("d3", NOT_HELD, None, False)]
    assert learner.pending_count == 3 and learner.not_held == 1
    assert learner.policies["s"].arms.get("b", [0.0])[0] == 0.0  # not even counted as a trial
    # its purchase finds nothing to reward; the held ones are rewarded as without a bound
    assert learner.on_event("v3", "purchase", 20.0, T0 + 10) == []
    rewarded = learner.on_event("v1", "purchase", 20.0, T0 + 11)
    assert [(o.decision_id, o.reason, o.reward) for o in rewarded] == [("d1", REWARDED, 1.0)]
    # room again: the next decision is held
    assert learner.on_decision(decision(4, "b", T0 + 12)) == []
    assert learner.pending_count == 3
    closed = learner.tick(T0 + 10_000)
    assert sorted((o.decision_id, o.reason) for o in closed) == [("d0", EXPIRED), ("d2", EXPIRED), ("d4", EXPIRED)]


def test_what_is_held_is_learned_exactly_as_an_unbounded_learner_learns_it() -> None:
    """The bound drops decisions by when they arrive, never by their outcome: every held decision gets the
    reward an unbounded learner gives it."""
    bounded, unbounded = Learner(SLOTS, max_pending=50), Learner(SLOTS)
    rng = random.Random(5)
    outcomes: dict[str, dict[str, tuple[str, float | None]]] = {"bounded": {}, "unbounded": {}}
    for i in range(2_000):
        ts = T0 + i
        records = [("decision", decision(i, rng.choice("ab"), ts))]
        if rng.random() < 0.3:
            buyer = rng.randrange(max(0, i - 400), i + 1)
            records.append(("event", {"visitor_id": f"v{buyer}", "value": 10.0, "ts": ts + 0.5}))
        for kind, body in records:
            for name, learner in (("bounded", bounded), ("unbounded", unbounded)):
                out = (learner.on_decision(body) if kind == "decision"
                       else learner.on_event(body["visitor_id"], "purchase", body["value"], body["ts"]))
                outcomes[name].update({o.decision_id: (o.reason, o.reward) for o in out})
    for name, learner in (("bounded", bounded), ("unbounded", unbounded)):
        outcomes[name].update({o.decision_id: (o.reason, o.reward) for o in learner.tick(T0 + 10**6)})
    not_held = {d for d, (reason, _) in outcomes["bounded"].items() if reason == NOT_HELD}
    assert len(not_held) == bounded.not_held > 0
    assert all(outcomes["bounded"][d] == outcomes["unbounded"][d] for d in outcomes["unbounded"] if d not in not_held)
    assert max(bounded.pending_count, len(bounded._pending)) <= 50


def test_the_ids_kept_against_duplicates_are_bounded_too() -> None:
    learner = Learner(SLOTS, max_pending=10, dedupe_seconds=10**9)  # the watermark alone would keep them all
    for i in range(3000):
        learner.on_decision(decision(i, "a", T0 + i / 10))
        learner.on_event(f"v{i}", "purchase", 5.0, T0 + i / 10 + 0.05)  # closes it at once
    assert len(learner._closed) <= 10
    assert len(learner._heap) <= 2 * learner.pending_count + 1024  # rewarded long before their deadline
    assert learner.on_decision(decision(2999, "a", T0 + 400)) == []  # the newest are still recognised
    assert learner.pending_count == 0


def test_the_count_and_the_state_survive_a_snapshot_and_replay_the_same() -> None:
    learner = Learner(SLOTS, max_pending=2)
    for i in range(5):
        learner.on_decision(decision(i, "a", T0 + i), seq=i + 1)
    restored = Learner.from_snapshot(learner.snapshot())
    restored.max_pending = 2
    assert restored.not_held == 3 and restored.pending_count == 2
    for copy in (learner, restored):
        out = copy.on_decision(decision(9, "b", T0 + 9), seq=10)
        assert [o.reason for o in out] == [NOT_HELD]
    assert restored.snapshot() == learner.snapshot()


def test_the_policies_snapshot_decides_the_same_without_the_pending_decisions() -> None:
    learner = Learner({"s": SlotConfig(arms=("a", "b"), goal="purchase", policy="linucb", window=600.0)})
    for i in range(300):
        learner.on_decision(decision(i, "ab"[i % 3 == 0], T0 + i), seq=i + 1)
        if i % 4 == 0:
            learner.on_event(f"v{i}", "purchase", 10.0, T0 + i + 0.5)
    light = learner.policies_snapshot()
    assert light["pending"] == [] and light["pending_omitted"] and light["pending_count"] == learner.pending_count
    assert len(str(light)) < len(str(learner.snapshot())) / 4
    follower = Learner.from_snapshot(light)
    assert follower.seq == learner.seq and follower.pending_count == learner.pending_count
    assert len(follower._pending) == 0
    ctx = features({"device": "mobile"})
    assert follower.policies["s"].probabilities(["a", "b"], ctx) == learner.policies["s"].probabilities(["a", "b"], ctx)


def test_the_bound_is_a_setting_of_the_store_engineer(tmp_path: Path) -> None:
    """``--learner-max-pending`` reaches the learning loop of the serving process; a bound below 1 is refused."""
    import pytest

    from slotwise.proxy.config import ConfigError, Settings
    from slotwise.proxy.personalization.personalize import build_personalizer

    rules = tmp_path / "rules.yaml"
    rules.write_text("slots: []\n")
    settings = Settings.from_mapping({"upstream": "http://127.0.0.1:9", "data": str(tmp_path), "rules": str(rules),
                                      "learner_max_pending": "7"})
    personalizer = build_personalizer(settings)
    assert personalizer.learning.max_pending == 7 and personalizer.learning.learner.max_pending == 7
    with pytest.raises(ConfigError, match="learner-max-pending"):
        Settings.from_mapping({"upstream": "http://127.0.0.1:9", "data": str(tmp_path), "learner_max_pending": "0"})
