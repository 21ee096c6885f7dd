"""The learner driven by a shared log: local configure/tick keep the log position; margin costs."""

from __future__ import annotations

from dataclasses import replace

from slotwise.bandits.learner import Learner, SlotConfig

from .conftest import make_record


def test_local_configure_and_tick_do_not_consume_log_positions() -> None:
    learner = Learner({"home": SlotConfig(arms=("a", "b"), goal="purchase", window=60)})
    rec = make_record(ts=0.0)
    learner.on_decision(rec, seq=1)
    learner.configure_local({"home": SlotConfig(arms=("a", "b", "c"), goal="purchase", window=60)})
    learner.tick_local(1.0)
    assert learner.seq == 1
    out = learner.on_event("v1", "purchase", 10.0, 5.0, seq=2)  # seq 2 must still be applied
    assert [o.decision_id for o in out] == [rec.decision_id] and out[0].reward == 1.0
    learner.skip_to(7)
    assert learner.seq == 7 and learner.on_event("v1", "purchase", 1.0, 6.0, seq=7) == []


def test_margin_subtracts_the_decisions_coupon_cost() -> None:
    learner = Learner({"popup": SlotConfig(arms=("ten", "none"), goal="margin", window=600)})
    ten = replace(make_record(visitor="v1", slot="popup", arm="ten", ts=0.0), cost_rate=0.10)
    flat = replace(make_record(visitor="v2", slot="popup", arm="none", ts=0.0), cost=5.0)
    learner.on_decision(ten)
    learner.on_decision(flat)
    (a,) = learner.on_event("v1", "purchase", 80.0, 10.0)
    (b,) = learner.on_event("v2", "purchase", 80.0, 10.0)
    assert a.reward == 72.0  # 80 - 10% of 80
    assert b.reward == 75.0  # 80 - 5
    snap = Learner.from_snapshot(learner.snapshot())
    assert snap.seq == learner.seq


def _popup(visitor: str, **cost: float) -> Learner:
    learner = Learner({"popup": SlotConfig(arms=("ten", "none"), goal="margin", window=600)})
    learner.on_decision(replace(make_record(visitor=visitor, slot="popup", arm="ten", ts=0.0), **cost))
    return learner


def test_margin_counts_a_redeemed_coupons_real_discount() -> None:
    (out,) = _popup("v1", cost_rate=0.10).on_event("v1", "purchase", 80.0, 10.0, redeemed=True, discount=12.0)
    assert out.reward == 68.0  # what the order says the coupon took off, not the declared 10%


def test_margin_charges_nothing_for_an_order_without_the_coupon() -> None:
    (out,) = _popup("v1", cost=5.0).on_event("v1", "purchase", 80.0, 10.0, redeemed=False)
    assert out.reward == 80.0


def test_margin_charges_the_declared_cost_when_the_order_does_not_say_or_says_no_amount() -> None:
    (unsaid,) = _popup("v1", cost_rate=0.10).on_event("v1", "purchase", 80.0, 10.0)
    (no_amount,) = _popup("v1", cost_rate=0.10).on_event("v1", "purchase", 80.0, 10.0, redeemed=True)
    assert unsaid.reward == no_amount.reward == 72.0


def test_the_coupon_travels_through_the_stream_record() -> None:
    learner = _popup("v1", cost_rate=0.10)
    (out,) = learner.apply({"type": "event", "visitor_id": "v1", "event_type": "purchase", "value": 50.0,
                            "ts": 5.0, "decision_ids": None, "redeemed": True, "discount": 7.5, "seq": 9})
    assert out.reward == 42.5


def test_a_discount_above_the_order_is_capped_at_the_order() -> None:
    """A browser may claim any discount: it can take the reward to 0, never below."""
    (out,) = _popup("v1", cost_rate=0.10).on_event("v1", "purchase", 30.0, 10.0, redeemed=True, discount=9999.0)
    assert out.reward == 0.0


def test_pending_decisions_with_the_same_context_hold_one_dict_and_learn_the_same() -> None:
    """Memory: a pending decision's context is most of its size; equal contexts are held once."""
    learner = Learner({"home": SlotConfig(arms=("a", "b"), goal="purchase", window=600)})
    for i in range(50):
        learner.on_decision(make_record(visitor=f"v{i}", slot="home", arm="a", ts=float(i),
                                        context={"device=mobile": 1.0, "bias": 1.0}))
    learner.on_decision(make_record(visitor="w", slot="home", arm="b", ts=60.0, context={"device=desktop": 1.0}))
    contexts = {id(p.record.context) for p in learner._pending.values()}
    assert len(learner._pending) == 51 and len(contexts) == 2
    (outcome,) = learner.on_event("v7", "purchase", 30.0, 70.0)
    assert outcome.reward == 1.0 and outcome.arm == "a"  # a purchase goal: converted
    restored = Learner.from_snapshot(learner.snapshot())
    assert {d: p.record.context for d, p in restored._pending.items()} == {
        d: p.record.context for d, p in learner._pending.items()}
