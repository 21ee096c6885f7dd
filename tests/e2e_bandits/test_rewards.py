"""Rewards joined to decisions through ``POST /_sw/events``, checked in the learner and the report."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import pytest

from bandit_helpers import WINDOW_S, Edge


def arm_of(e: Edge, decision_id: str) -> str:
    return next(d["arm"] for d in e.decisions() if d["decision_id"] == decision_id)


def row(e: Edge, decision_id: str) -> Any:
    return next(r for r in e.decision_log().rows if r.decision_id == decision_id)


def n_total(e: Edge, slot: str) -> float:
    """Decisions the slot's policy has learned (closed, not pending)."""
    return sum(st[0] for st in e.learned(slot).values())


def assert_report_agrees_with_learner(e: Edge) -> None:
    """The report replays the log through a fresh learner: it must find what the live one learned."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in e.decision_log().rows:
        if r.reward is not None and not r.holdout:
            sums[(r.slot, r.arm)][0] += 1
            sums[(r.slot, r.arm)][1] += r.reward
    live = {(slot, arm): [st[0], st[1]] for slot in e.learner.policies for arm, st in e.stats(slot).items() if st[0]}
    assert {k: pytest.approx(v) for k, v in sums.items()} == live


def test_a_click_naming_its_decision_rewards_one_once(edge: Any) -> None:
    e = edge()
    v = e.visitor()
    hero = v.view()["hero"]
    arm = arm_of(e, hero)
    v.expose(hero, "hero")
    e.clock.advance(5)
    click_id = uuid.uuid4().hex
    assert v.click(hero, event_id=click_id)["stored"] == 1
    assert v.click(hero, event_id=click_id)["duplicates"] == 1  # the tag retried: stored once
    e.clock.advance(5)
    v.click(hero)  # a second, real click on the same decision
    e.learn()
    assert e.stats("hero") == {arm: [1.0, 1.0, 1.0]}
    logged = row(e, hero)
    assert logged.reward == 1.0 and logged.exposed_at == pytest.approx(e.clock() - 10)
    e.clock.advance(WINDOW_S + 60)  # the window closes: nothing more to teach
    e.learn()
    e.learn()
    assert e.stats("hero") == {arm: [1.0, 1.0, 1.0]}
    assert_report_agrees_with_learner(e)


def test_a_click_implies_exposure_and_unexposed_click_goal_decisions_are_dropped(edge: Any) -> None:
    e = edge()
    clicked, seen, unseen = e.visitor(), e.visitor(), e.visitor()
    d_clicked = clicked.view()["hero"]
    d_seen = seen.view()["hero"]
    d_unseen = unseen.view()["hero"]
    clicked.click(d_clicked)  # no exposure event first: the click says it was seen
    seen.expose(d_seen)
    other = e.visitor()
    other.click(d_unseen)  # someone else's click on unseen's decision: not unseen's click
    e.learn()
    assert n_total(e, "hero") == 1
    e.clock.advance(WINDOW_S + 1)
    e.learn()
    e.learn()  # expiry teaches exactly once
    stats = e.stats("hero")
    assert n_total(e, "hero") == 2  # clicked (1) + seen (0); unseen dropped, not taught 0
    assert sum(st[0] for st in stats.values()) == 2  # and its trial, counted when it was made, taken back
    assert stats[arm_of(e, d_clicked)][1] >= 1.0 and sum(st[1] for st in stats.values()) == 1.0
    assert row(e, d_seen).reward == 0.0
    assert row(e, d_unseen).reward is None and row(e, d_unseen).exposed_at is None
    assert_report_agrees_with_learner(e)


def test_a_purchase_in_the_window_rewards_purchase_revenue_and_margin(edge: Any) -> None:
    e = edge()
    v = e.visitor()
    d = v.view()
    arms = {slot: arm_of(e, decision_id) for slot, decision_id in d.items()}
    e.clock.advance(10 * 60)
    v.purchase(80.0)
    e.learn()
    assert e.stats("banner") == {arms["banner"]: [1.0, 1.0, 1.0]}  # purchase: 1
    assert e.stats("recs") == {arms["recs"]: [1.0, 80.0, 6400.0]}  # revenue: the order total
    margin = 80.0 * 0.9 if arms["offer"] == "pct10" else 80.0 - 5.0  # margin: total - the variant's coupon
    assert e.stats("offer") == {arms["offer"]: [1.0, margin, margin * margin]}
    assert e.learned("hero") == {}  # a purchase is not a click
    assert row(e, d["offer"]).reward == pytest.approx(margin)
    e.clock.advance(60)
    v.purchase(120.0)  # a second order: each decision teaches once
    e.clock.advance(WINDOW_S)
    e.learn()
    assert n_total(e, "banner") == 1 and n_total(e, "recs") == 1 and n_total(e, "offer") == 1
    assert_report_agrees_with_learner(e)


def test_every_view_of_a_sticky_none_slot_is_rewarded_by_the_purchase(edge: Any) -> None:
    e = edge()
    v = e.visitor()
    offers = [v.view()["offer"]]
    e.clock.advance(30)
    offers.append(v.view()["offer"])
    assert offers[0] != offers[1]
    e.clock.advance(30)
    v.purchase(50.0)
    e.learn()
    assert n_total(e, "offer") == 2
    assert all(row(e, o).reward is not None and row(e, o).reward > 0 for o in offers)


def test_a_purchase_after_the_window_does_not_count_and_expiry_teaches_zero_once(edge: Any) -> None:
    e = edge()
    v = e.visitor()
    d = v.view()
    arms = {slot: arm_of(e, decision_id) for slot, decision_id in d.items()}
    e.clock.advance(WINDOW_S + 1)
    v.purchase(99.0)
    e.learn()
    e.learn()
    e.clock.advance(3600)
    e.learn()
    assert e.stats("banner") == {arms["banner"]: [1.0, 0.0, 0.0]}
    assert e.stats("recs") == {arms["recs"]: [1.0, 0.0, 0.0]}
    assert row(e, d["banner"]).reward == 0.0
    assert row(e, d["banner"]).rewarded_at == pytest.approx(e.clock() - 3600 - 1)  # the window's end
    assert_report_agrees_with_learner(e)


def test_holdout_rewards_reach_the_report_but_teach_no_policy(edge: Any) -> None:
    e = edge()
    v = e.visitor(holdout=True)
    v.view()
    e.clock.advance(60)
    v.purchase(40.0)
    e.learn()
    assert all(e.stats(slot) == {} for slot in ("banner", "recs", "offer", "hero"))
    rows = {r.slot: r for r in e.decision_log().rows if r.visitor == v.id}
    assert rows["banner"].reward == 1.0 and rows["recs"].reward == 40.0
    assert rows["offer"].reward == 40.0  # nothing shown: no coupon to pay


def test_a_late_event_with_an_old_client_time_settles_like_the_report_and_a_restart_say(edge: Any) -> None:
    """The tag may send an event long after it happened (offline queue, ``ts`` up to a week old). Once the
    live learner has closed the window, that event must not reward the decision in a replay of the log
    either (report, restart from an older snapshot): every reader of the log settles a decision the same way."""
    e = edge()
    v = e.visitor()
    d = v.view()
    e.clock.advance(WINDOW_S + 100)
    e.learn()  # the live learner closes the windows: banner and recs taught 0
    arms = {slot: arm_of(e, d[slot]) for slot in ("banner", "recs")}
    assert e.stats("banner") == {arms["banner"]: [1.0, 0.0, 0.0]}
    happened = e.clock() - WINDOW_S  # inside the window, but it arrives only now
    v.events({"type": "purchase", "ts": happened, "props": {
        "order_id": "late-1", "total": 70.0, "lines": [{"product": "p1", "qty": 1, "price": 70.0}]}})
    e.learn()
    assert e.stats("banner") == {arms["banner"]: [1.0, 0.0, 0.0]}  # settled once, as 0
    assert row(e, d["banner"]).reward == 0.0  # the report agrees
    assert_report_agrees_with_learner(e)
    replayed = e.run(_fresh_replay(e))
    assert replayed.policies["banner"].state()["arms"] == e.learner.policies["banner"].state()["arms"]


async def _fresh_replay(e: Edge) -> Any:
    """What a restarted process without any snapshot learns from the same log."""
    from slotwise.proxy.operations.learning import LearningLoop

    loop = LearningLoop(e.p.store, clock=e.clock)
    loop.configure(e.p.learning.slots)
    await loop.catch_up()
    return loop.learner
