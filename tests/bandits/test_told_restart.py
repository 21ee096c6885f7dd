"""``Learner.restart``: learning told to start over, as after a detected change.

The bandit bench restarts a slot at a store change of its own making (``bench.bandits_twin
--restart-after-swap``) to measure how late a detector may see a change. For that figure to mean
what it says, a told restart must leave the learner exactly as a detected one would: decisions
already settled forgotten, the ones still pending counted as trials again, so that their rewards,
when they come, land on a model that also holds their trials.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from slotwise.bandits.learner import Learner, SlotConfig
from slotwise.bandits.records import DecisionRecord

T0 = 1_800_000_000.0
ARMS = ("a", "b", "c")
WINDOW = 600.0
POLICY = {"name": "linucb", "params": {"recent_half_life": None}}
CONTEXTS = [{"bias": 1.0, "device=mobile": 1.0}, {"bias": 1.0, "device=desktop": 1.0},
            {"bias": 1.0, "device=desktop": 1.0, "returning": 1.0}]


def learner() -> Learner:
    return Learner({"hero": SlotConfig(arms=ARMS, goal="click", policy=POLICY, window=WINDOW)}, seed=3)


def decisions(lrn: Learner, n: int, start: float) -> list[DecisionRecord]:
    out = []
    for i in range(n):
        at = start + i * 2.0
        ctx = CONTEXTS[i % len(CONTEXTS)]
        decision_id = f"d{start:.0f}-{i}"
        d = lrn.decide("hero", features=ctx, decision_id=decision_id)
        rec = d.record(decision_id, at, f"v{start:.0f}-{i}", "hero")
        lrn.on_decision(rec)
        lrn.on_exposure(decision_id, at + 1.0)
        out.append(rec)
    return out


def replay(lrn: Learner, records: list[DecisionRecord]) -> None:
    for rec in records:
        lrn.on_decision(rec)
        lrn.on_exposure(rec.decision_id, rec.ts + 1.0)


def clicks(lrn: Learner, records: list[DecisionRecord], at: float, rng: random.Random) -> None:
    for rec in records:
        if rng.random() < 0.3:
            lrn.on_event(rec.visitor_id, "click", None, at, [rec.decision_id])


def test_a_told_restart_leaves_the_model_of_the_decisions_still_pending_alone():
    rng = random.Random(5)
    told = learner()
    settled = decisions(told, 300, T0)
    clicks(told, settled[:200], T0 + 700.0, rng)
    told.tick(T0 + 2_000.0)  # every window of the first 300 has closed: learned
    pending = decisions(told, 40, T0 + 2_000.0)  # decided, their windows still open
    told.restart("hero", T0 + 2_100.0)

    policy = told.policies["hero"]
    assert policy.restarts == 1
    (restart,) = told.restarts["hero"]
    assert restart.watched == "told" and restart.ts == T0 + 2_100.0

    fresh = learner()
    replay(fresh, pending)  # the same decisions, in a learner that never saw the first 300
    for lrn in (told, fresh):
        clicks(lrn, pending[:25], T0 + 2_200.0, random.Random(9))
        lrn.tick(T0 + 10_000.0)

    a, b = told.policies["hero"], fresh.policies["hero"]
    for ctx in CONTEXTS:
        pa, pb = a.probabilities(ARMS, ctx), b.probabilities(ARMS, ctx)
        np.testing.assert_allclose([pa[x] for x in ARMS], [pb[x] for x in ARMS], atol=1e-9)
        np.testing.assert_allclose(a.scores(ARMS, ctx), b.scores(ARMS, ctx), rtol=1e-9, atol=1e-12)


def test_rewards_of_pending_decisions_after_a_told_restart_are_not_counted_without_their_trials():
    """Through the policy alone (what the bench once did), rewards of decisions begun before the restart
    would land on a model that forgot their trials: estimates over 100% for the arm clicked."""
    lrn = learner()
    decisions(lrn, 200, T0)
    lrn.tick(T0 + 2_000.0)
    pending = decisions(lrn, 60, T0 + 2_000.0)
    lrn.restart("hero", T0 + 2_100.0)
    for rec in pending:  # every pending decision clicked
        lrn.on_event(rec.visitor_id, "click", None, T0 + 2_200.0, [rec.decision_id])
    lrn.tick(T0 + 10_000.0)
    policy = lrn.policies["hero"]
    for ctx in CONTEXTS:
        means, _, _ = policy._estimates(ARMS, ctx)
        assert means.max() <= 1.0 + 1e-9, means


@pytest.mark.parametrize("delay", [0, 500])
def test_the_twin_restarts_once_at_the_swap_plus_the_delay(delay):
    from bench.bandits_twin import twin

    def told_at(swap: bool) -> list[int]:
        """The views whose decision was the first after a told restart."""
        seen: list[int] = []

        def watch(view, learner, shopper, arm):
            told = sum(c["watched"] == "told" for c in learner.policies["hero"].changes)
            if told > len(seen):
                seen.append(view)

        twin("linucb", 1, 2_000, 3_000.0, swap=swap, watch=watch, restart_after_swap=delay)
        return seen

    assert told_at(swap=True) == [1_000 + delay]  # the swap is at the run's halfway view
    assert told_at(swap=False) == []  # only a swap run is told


# -- a restart record in the shared log (the admin page's "Restart learning") --------------------------

def stream(n: int, start: float, seq0: int) -> list[dict]:
    """Decision, exposure and click records of ``n`` visitors, numbered from ``seq0`` as the log numbers them."""
    lrn, out, seq = learner(), [], seq0
    rng = random.Random(int(start))
    for rec in decisions(lrn, n, start):
        out.append({**rec.to_dict(), "type": "decision", "seq": (seq := seq + 1)})
        out.append({"type": "exposure", "decision_id": rec.decision_id, "ts": rec.ts + 1.0, "seq": (seq := seq + 1)})
        if rng.random() < 0.3:
            out.append({"type": "event", "visitor_id": rec.visitor_id, "event_type": "click", "value": None,
                        "ts": rec.ts + 5.0, "decision_ids": [rec.decision_id], "seq": (seq := seq + 1)})
    return out


def test_a_restart_record_restarts_the_slot_where_it_stands_in_the_log_and_only_once():
    before = stream(150, T0, 0)
    # after every window of the first 150 has closed (the pending ones' case is the test above's)
    restart = {"type": "restart", "slot": "hero", "ts": T0 + 1_000.0, "by": "admin at 10.0.0.7",
               "seq": before[-1]["seq"] + 1}
    after = stream(50, T0 + 1_001.0, restart["seq"])
    lrn = learner()
    for record in before + [restart, restart] + after:  # the restart delivered twice: applied once
        lrn.apply(record)
    policy = lrn.policies["hero"]
    assert policy.restarts == 1 and policy.changes[-1]["by"] == "admin at 10.0.0.7"
    (told,) = lrn.restarts["hero"]
    assert (told.ts, told.watched, told.arm, told.by) == (T0 + 1_000.0, "told", "", "admin at 10.0.0.7")
    # what it learned since is what a learner that never saw the first 150 learns from the same records
    fresh = learner()
    for record in after:
        fresh.apply(record)
    fresh.tick(T0 + 10_000.0)
    lrn.tick(T0 + 10_000.0)
    for ctx in CONTEXTS:
        np.testing.assert_allclose(lrn.policies["hero"].scores(ARMS, ctx), fresh.policies["hero"].scores(ARMS, ctx),
                                   rtol=1e-9, atol=1e-12)


def test_a_learner_restored_from_a_snapshot_replays_a_restart_record_to_the_same_state():
    records = stream(80, T0, 0)
    restart = {"type": "restart", "slot": "hero", "ts": T0 + 200.0, "by": "admin", "seq": records[-1]["seq"] + 1}
    records += [restart] + stream(40, T0 + 201.0, restart["seq"])
    whole = learner()
    for record in records:
        whole.apply(record)
    cut = len(records) // 3  # a snapshot taken before the restart, the rest replayed after it
    part = learner()
    for record in records[:cut]:
        part.apply(record)
    restored = Learner.from_snapshot(json.loads(json.dumps(part.snapshot())))
    for record in records:  # the whole log again: records up to the snapshot's seq are skipped
        restored.apply(record)
    assert restored.policies["hero"].restarts == whole.policies["hero"].restarts == 1
    assert json.dumps(restored.snapshot(), sort_keys=True) == json.dumps(whole.snapshot(), sort_keys=True)


def test_a_restart_record_for_a_slot_the_rules_no_longer_have_changes_nothing():
    lrn = learner()
    lrn.apply({"type": "restart", "slot": "gone", "ts": T0, "seq": 4})
    assert lrn.seq == 4 and lrn.policies["hero"].restarts == 0 and not lrn.restarts


def test_the_log_carries_a_restart_as_its_own_record_kind():
    from slotwise.proxy.operations.learning import learner_record
    from slotwise.store.base import LogRecord

    rec = LogRecord("restart", "restart:hero:1", "", T0, {"slot": "hero", "by": "admin at 127.0.0.1"}, seq=9)
    assert learner_record(rec) == {"type": "restart", "slot": "hero", "arm": "", "ts": T0, "by": "admin at 127.0.0.1",
                                   "seq": 9}
    one = LogRecord("restart", "restart:hero:2", "", T0, {"slot": "hero", "variant": "b", "by": "admin"}, seq=10)
    assert learner_record(one)["arm"] == "b"


POLICIES = ["thompson", "ucb", "epsilon-greedy", "exp3", "linucb", "river-model"]


def arm_evidence(policy, arm: str):
    """What a policy holds about one arm, whatever its kind: its statistics, and its values waiting to
    be settled (river models learn from those)."""
    state = policy.state()
    held = [state[key][arm] for key in ("arms", "log_weights", "counts")
            if isinstance(state.get(key), dict) and arm in state[key]]
    return held, [u for u in state.get("unsettled", []) if u[2] == arm]


@pytest.mark.parametrize("name", POLICIES)
def test_one_variant_restarted_starts_from_nothing_and_the_others_keep_theirs(name):
    lrn = learner_with(name)
    learned = stream(100, T0, 0)
    for record in learned:
        lrn.apply(record)
    lrn.tick(T0 + 1_000.0)  # their windows closed: learned
    for record in stream(60, T0 + 1_001.0, learned[-1]["seq"]):  # windows still open at the restart
        lrn.apply(record)
    policy = lrn.policies["hero"]
    kept = {a: json.dumps(arm_evidence(policy, a)) for a in ("a", "c")}
    waiting_b = sorted(p.record.decision_id for p in lrn._pending.values() if p.record.arm == "b")
    waiting_other = sorted(p.record.decision_id for p in lrn._pending.values() if p.record.arm != "b")
    assert arm_evidence(policy, "b") != arm_evidence(learner_with(name).policies["hero"], "b")  # b has evidence
    assert waiting_b and waiting_other

    out = lrn.apply({"type": "restart", "slot": "hero", "arm": "b", "ts": T0 + 1_200.0, "by": "admin", "seq": 10**6})
    assert sorted(o.decision_id for o in out if o.reason == "arm_removed") == waiting_b  # they showed the old b
    policy = lrn.policies["hero"]
    assert policy.restarts == 0  # the slot did not restart: one variant did
    assert arm_evidence(policy, "b") == arm_evidence(learner_with(name).policies["hero"], "b")  # from nothing
    assert {a: json.dumps(arm_evidence(policy, a)) for a in ("a", "c")} == kept
    assert sorted(p.record.decision_id for p in lrn._pending.values()) == waiting_other
    (told,) = lrn.restarts["hero"]
    assert (told.arm, told.watched, told.by) == ("b", "told", "admin")
    # it learns on: b is tried again and its rewards land on its new start
    for record in stream(60, T0 + 1_300.0, 2 * 10**6):
        lrn.apply(record)
    lrn.tick(T0 + 5_000.0)
    assert arm_evidence(lrn.policies["hero"], "b") != arm_evidence(learner_with(name).policies["hero"], "b")


def learner_with(name: str) -> Learner:
    """A learner of that policy that has learned nothing."""
    return Learner({"hero": SlotConfig(arms=ARMS, goal="click", policy=name, window=WINDOW)}, seed=3)
