"""Funnel stages from behaviour: the documented thresholds, overrides in YAML, and properties of the derivation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.profile import Profile, add_to_cart, record_purchase, record_view
from slotwise.rules import RulesError
from slotwise.rules.stage import DAY_S, NO_STAGE, STAGES, CategoryActivity, StageRules, activity, stage_counts, stage_of, stages
from slotwise.rules.testing import make_context, rules_from_text

T0 = 1_700_000_000.0


def shopper(*steps: tuple[str, Any], start: float = T0) -> Profile:
    """A profile from steps: ("view", (category, product|None)), ("cart", (category, product)),
    ("buy", (category, product)), ("wait", days)."""
    profile = Profile.new("v", start)
    now = start
    for kind, arg in steps:
        now += 1
        if kind == "view":
            record_view(profile, now, category=arg[0], product=arg[1])
        elif kind == "cart":
            add_to_cart(profile, {"product": arg[1], "category": arg[0]})
        elif kind == "buy":
            record_purchase(profile, f"o{now}", [{"product": arg[1], "category": arg[0], "ts": now}], now)
        elif kind == "wait":
            now += arg * DAY_S
            profile.last_seen = now
    return profile


CASES = [
    ("one category view: awareness", [("view", ("tv", None))], "awareness"),
    ("three views: consideration", [("view", ("tv", None))] * 3, "consideration"),
    ("two products: consideration", [("view", ("tv", "1")), ("view", ("tv", "2"))], "consideration"),
    ("three products compared: decision", [("view", ("tv", p)) for p in "123"], "decision"),
    ("one product three times: decision", [("view", ("tv", "1"))] * 3, "decision"),
    ("in the cart: decision", [("view", ("tv", "1")), ("cart", ("tv", "1"))], "decision"),
    ("bought today: purchase", [("view", ("tv", "1")), ("buy", ("tv", "1"))], "purchase"),
    ("bought 10 days ago: evaluation", [("buy", ("tv", "1")), ("wait", 10)], "evaluation"),
    ("bought 90 days ago, not browsed since: awareness", [("buy", ("tv", "1")), ("wait", 90)], "awareness"),
    ("evaluation, then a new one in the cart: decision",
     [("buy", ("tv", "1")), ("wait", 10), ("cart", ("tv", "2"))], "decision"),
    ("compared, then quiet for 40 days: awareness", [*[("view", ("tv", p)) for p in "123"], ("wait", 40)], "awareness"),
]


@pytest.mark.parametrize(("what", "steps", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_documented_thresholds(what: str, steps: list[tuple[str, Any]], expected: str) -> None:
    assert stages(shopper(*steps))["tv"] == expected


def test_categories_have_their_own_stage_and_untouched_ones_none() -> None:
    p = shopper(("view", ("tv", "1")), ("cart", ("tv", "1")), ("view", ("radio", None)))
    ctx = make_context(p)
    assert ctx.visitor["stage"]["tv"] == "decision" and ctx.visitor["stage"]["radio"] == "awareness"
    assert ctx.visitor["stage"]["fridge"] == NO_STAGE  # a category never seen
    assert dict(ctx.visitor["stage"]) == {"tv": "decision", "radio": "awareness"}


def test_a_new_visitor_has_no_stage_and_a_when_on_it_is_simply_false(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, """
        catalog: {category_pages: "/c/{category}"}
        slots:
          - id: s
            pages: "/c/*"
            selector: main
            action: append
            when: visitor.stage[page.category] == "decision"
            html: "<p>deciding</p>"
    """)
    slot = rules.slot("s")
    assert not slot.applies(make_context(None, path="/c/tv", ruleset=rules))
    deciding = shopper(*[("view", ("tv", p)) for p in "123"])
    assert slot.applies(make_context(deciding, path="/c/tv", ruleset=rules))
    assert not slot.applies(make_context(deciding, path="/c/radio", ruleset=rules))


def test_thresholds_are_overridden_in_yaml_and_reach_the_rules(tmp_path: Path) -> None:
    rules = rules_from_text(tmp_path, """
        stages:
          decision: {compares: 5, repeat_views: 10}
          purchase: {days: 1}
          active_days: 7
        catalog: {category_pages: "/c/{category}"}
        slots:
          - id: s
            pages: "/c/*"
            selector: main
            action: append
            when: visitor.stage[page.category] == "decision"
            html: "<p>{{ visitor.stage[page.category] }}</p>"
    """)
    assert rules.signals.stages == StageRules(decision_compares=5, decision_repeat_views=10, purchase_days=1.0,
                                              active_days=7.0)
    three = shopper(*[("view", ("tv", p)) for p in "123"])
    assert not rules.slot("s").applies(make_context(three, path="/c/tv", ruleset=rules))  # 3 < 5 now
    five = shopper(*[("view", ("tv", p)) for p in "12345"])
    assert rules.slot("s").applies(make_context(five, path="/c/tv", ruleset=rules))
    assert stages(shopper(("buy", ("tv", "1")), ("wait", 2)), rules.signals.stages)["tv"] == "evaluation"


@pytest.mark.parametrize(("yaml", "message"), [
    ("stages: {decision: {compare: 3}}", "rules.yaml:1:21: unknown key 'compare' in 'stages.decision' (did you mean 'compares'?)"),
    ("stages: {decision: {compares: -1}}", "rules.yaml:1:31: 'stages.decision.compares' must be a whole number from 0 to 10000, got a number (-1)"),
    ("stages: {consideration: {views: 2.5}}", "'stages.consideration.views' must be a whole number"),
    ("stages: {purchase: {days: 10}, evaluation: {days: 5}}", "'stages.evaluation.days' (5) must not be shorter than 'stages.purchase.days' (10)"),
    ("stages: {shopping: {views: 1}}", "unknown key 'shopping' in 'stages'"),
    ("stages: [1]", "'stages' must be a mapping"),
])
def test_a_bad_threshold_is_rejected_at_its_line(tmp_path: Path, yaml: str, message: str) -> None:
    with pytest.raises(RulesError) as error:
        rules_from_text(tmp_path, yaml + "\nslots: []\n")
    assert message in str(error.value)


@pytest.mark.parametrize(("off", "steps", "expected"), [
    ({"consideration_views": 0, "consideration_products": 0}, [("view", ("tv", None))] * 9, "awareness"),
    ({"decision_add_to_cart": 0}, [("view", ("tv", None)), ("cart", ("tv", "1"))], "awareness"),
    ({"purchase_days": 0}, [("buy", ("tv", "1"))], "evaluation"),
    ({"active_days": 0}, [*[("view", ("tv", p)) for p in "123"], ("wait", 400)], "decision"),
])
def test_a_threshold_of_zero_is_off(off: dict[str, Any], steps: list[tuple[str, Any]], expected: str) -> None:
    assert stages(shopper(*steps), StageRules(**off))["tv"] == expected


def test_stage_counts_per_category() -> None:
    people = [shopper(*[("view", ("tv", p)) for p in "123"]), shopper(("view", ("tv", None))),
              shopper(("buy", ("tv", "1")), ("view", ("radio", None)))]
    counts = stage_counts(people)
    assert counts["tv"] == {"awareness": 1, "consideration": 0, "decision": 1, "purchase": 1, "evaluation": 0}
    assert counts["radio"]["awareness"] == 1 and sum(counts["radio"].values()) == 1


# -- properties ------------------------------------------------------------------------------------------

RANK = {NO_STAGE: 0, **{s: i + 1 for i, s in enumerate(STAGES[:3])}}
activities = st.builds(
    CategoryActivity,
    views=st.integers(0, 50), last_view=st.floats(0, 100 * DAY_S), products=st.integers(0, 30),
    most_views_of_one=st.integers(0, 30), cart_items=st.integers(0, 5),
    last_purchase=st.none() | st.floats(0, 100 * DAY_S),
)
rules_st = st.builds(
    StageRules, consideration_views=st.integers(1, 10), consideration_products=st.integers(1, 10),
    decision_compares=st.integers(1, 10), decision_repeat_views=st.integers(1, 10), decision_add_to_cart=st.integers(1, 3),
    purchase_days=st.floats(0.01, 10), evaluation_days=st.floats(10, 100), active_days=st.floats(1, 60),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(activities, rules_st, st.floats(0, 200 * DAY_S))
def test_every_category_has_exactly_one_known_stage(a: CategoryActivity, rules: StageRules, now: float) -> None:
    assert stage_of(a, now, rules) in (*STAGES, NO_STAGE)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(activities, rules_st, st.integers(1, 5))
def test_more_browsing_never_moves_a_browser_back(a: CategoryActivity, rules: StageRules, more: int) -> None:
    a.last_purchase = None
    now = a.last_view
    before = stage_of(a, now, rules)
    a.views += more
    a.products += more
    a.most_views_of_one += more
    assert RANK[stage_of(a, now, rules)] >= RANK[before]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(activities, rules_st, st.integers(0, 400 * 86_400))
def test_after_a_purchase_time_only_moves_forward(a: CategoryActivity, rules: StageRules, later: int) -> None:
    a.cart_items = 0
    a.last_purchase = a.last_view
    now = a.last_purchase
    order = ["purchase", "evaluation", "awareness", "consideration", "decision"]  # after evaluation: browsing again
    first, then = stage_of(a, now, rules), stage_of(a, now + later, rules)
    assert first == "purchase"
    assert then in order
    if then == "purchase":
        assert later <= rules.purchase_days * DAY_S
    if then == "evaluation":
        assert rules.purchase_days * DAY_S < later <= rules.evaluation_days * DAY_S


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["view", "cart", "buy"]), st.sampled_from(["tv", "radio"]),
                          st.sampled_from(["1", "2", "3", None])), max_size=30))
def test_stages_cover_exactly_the_categories_the_profile_knows(steps: list[tuple[str, str, str | None]]) -> None:
    p = shopper(*[(kind, (cat, prod or "9")) if kind != "view" else (kind, (cat, prod)) for kind, cat, prod in steps])
    known = set(activity(p))
    assert set(stages(p)) == known
    assert all(s != NO_STAGE for s in stages(p).values())
