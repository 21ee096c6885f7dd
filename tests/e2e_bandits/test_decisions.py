"""Decisions through the real proxy: logged propensities, holdout, sticky assignment."""

from __future__ import annotations

import math
from typing import Any

from bandit_helpers import HOLDOUT, RULES


def test_logged_propensities_are_the_policy_probabilities_that_sum_to_one(edge: Any) -> None:
    e = edge()
    visitors = [e.visitor(holdout=None) for _ in range(16)]
    for v in visitors:
        for slot, decision_id in v.view().items():
            if slot == "hero":
                v.expose(decision_id)
                if v.id < visitors[8].id:
                    v.click(decision_id)  # teach hero something, so its probabilities are not all equal
    e.clock.advance(2000)  # close every window
    e.learn()
    assert e.learner.policies["hero"].version > 0
    late = [e.visitor(holdout=False) for _ in range(6)]
    for v in late:
        v.view()
    records = e.decisions()
    assert len(records) >= 4 * (len(visitors) + len(late))
    configs = e.learner.slots
    checked_current = 0
    for rec in records:
        assert 0.0 < rec["propensity"] <= 1.0, rec
        if rec["holdout"]:
            assert rec["arm"] is None and rec["policy"] == "holdout"
            continue
        policy = e.learner.policies[rec["slot"]]
        assert rec["policy"] == policy.name
        probs = policy.probabilities(configs[rec["slot"]].arms, rec["context"] if policy.contextual else None)
        assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-9)
        assert all(p > 0 for p in probs.values())
        if rec["model_version"] == policy.model_version:  # the same model state: the very same number
            assert probs[rec["arm"]] == rec["propensity"]
            checked_current += 1
    assert checked_current >= 4 * len(late)
    hero_now = [r for r in records if r["slot"] == "hero" and r["visitor_id"] in {v.id for v in late}]
    assert len({r["propensity"] for r in hero_now}) > 1 or len({r["arm"] for r in hero_now}) == 1
    assert any(r["propensity"] != 1 / 3 for r in hero_now)  # learned: no longer the uniform prior


def test_holdout_visitors_see_the_store_and_their_decisions_say_holdout(edge: Any) -> None:
    e = edge()
    v = e.visitor(holdout=True)
    marked = v.view()  # nothing edited: each slot's element only carries its holdout decision's id
    assert "Welcome" in v.last_page and "<b>A</b>" not in v.last_page
    records = e.decisions(v.id)
    assert marked and all(slot in {r["slot"] for r in records} for slot in marked)
    assert sorted(r["slot"] for r in records) == ["banner", "hero", "offer", "recs"]
    for rec in records:
        assert rec["holdout"] is True and rec["arm"] is None
        assert 0.0 < rec["propensity"] <= 1.0
        assert rec["holdout_share"] == HOLDOUT
    v.view()  # sticky: the same holdout decisions (offer is sticky: none, so it is decided again)
    again = e.decisions(v.id)
    assert sorted(r["slot"] for r in again) == ["banner", "hero", "offer", "offer", "recs"]
    # the report side sees them as holdout rows
    rows = [r for r in e.decision_log().rows if r.visitor == v.id]
    assert rows and all(r.holdout and r.arm is None for r in rows)


def test_sticky_session_visitor_and_none(edge: Any) -> None:
    e = edge()
    v = e.visitor()
    first = v.view()
    assert set(first) == {"hero", "banner", "offer", "recs"}
    page = v.last_page
    e.clock.advance(60)
    second = v.view()
    assert second["hero"] == first["hero"] and second["recs"] == first["recs"]  # sticky: session
    assert second["banner"] == first["banner"]  # sticky: visitor
    assert second["offer"] != first["offer"]  # sticky: none → decided on every view
    hero = page.split('data-sw-decision="' + first["hero"] + '" data-sw-slot="hero">')[1][:1]
    assert f'data-sw-decision="{first["hero"]}" data-sw-slot="hero">{hero}' in v.last_page  # same variant shown
    counts = {s: len(e.decisions(v.id, s)) for s in ("hero", "banner", "offer", "recs")}
    assert counts == {"hero": 1, "banner": 1, "offer": 2, "recs": 1}  # no new decision logged

    e.clock.advance(31 * 60)  # 31 idle minutes: a new session
    third = v.view()
    assert third["hero"] != first["hero"] and third["recs"] != first["recs"]
    assert third["banner"] == first["banner"]  # sticky: visitor holds across sessions
    counts = {s: len(e.decisions(v.id, s)) for s in ("hero", "banner", "offer", "recs")}
    assert counts == {"hero": 2, "banner": 1, "offer": 3, "recs": 2}
    e.clock.advance(5 * 60)
    fourth = v.view()
    assert fourth["hero"] == third["hero"]  # the new session's assignment sticks in turn


def test_sticky_visitor_decision_stays_while_the_variant_exists(edge: Any) -> None:
    e = edge(RULES.replace("policy: {name: uniform, sticky: visitor}", "policy: {name: uniform, sticky: visitor}\n"
                           "    description: sticky per visitor"))
    v = e.visitor()
    first = v.view()["banner"]
    for _ in range(3):
        e.clock.advance(3 * 3600)
        assert v.view()["banner"] == first
    assert len(e.decisions(v.id, "banner")) == 1
