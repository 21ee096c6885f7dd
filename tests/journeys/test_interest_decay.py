"""Interests: weighted, decaying affinities per category, in `when`, in templates, tuned in YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.profile import Profile, add_to_cart, import_purchase_lines, record_purchase, record_view
from slotwise.rules import RulesError
from slotwise.rules.interests import DAY_S, InterestRules, decay, interests, scores
from slotwise.rules.testing import make_context, rules_from_text

T0 = 1_700_000_000.0


def viewer(*views: tuple[str, float]) -> Profile:
    """Views of categories at (category, days after T0); the profile's now is the last one."""
    p = Profile.new("v", T0)
    for category, day in sorted(views, key=lambda v: v[1]):
        record_view(p, T0 + day * DAY_S, category=category)
    return p


def test_shares_follow_views_and_purchases_weigh_more() -> None:
    p = viewer(("dog", 0), ("dog", 0), ("cat", 0))
    assert interests(p) == {"dog": pytest.approx(2 / 3, abs=1e-4), "cat": pytest.approx(1 / 3, abs=1e-4)}
    record_purchase(p, "o1", [{"product": "9", "category": "cat", "ts": T0}], T0)
    assert list(interests(p)) == ["cat", "dog"]  # one purchase (5) outweighs two views (2)
    assert interests(p)["cat"] == pytest.approx(6 / 8, abs=1e-4)


def test_in_store_purchases_from_an_import_count_too() -> None:
    p = viewer(("dog", 0))
    import_purchase_lines(p, "pos-1", [{"product": "7", "category": "aquarium", "qty": 2, "ts": T0}], T0)
    assert interests(p)["aquarium"] == pytest.approx(10 / 11, abs=1e-4)


def test_the_cart_counts_with_its_own_weight() -> None:
    p = viewer(("dog", 0))
    add_to_cart(p, {"product": "1", "category": "cat"})
    assert scores(p) == {"dog": 1.0, "cat": 3.0}


def test_old_interest_fades_with_the_half_life() -> None:
    p = viewer(("dog", 0), ("dog", 0), ("cat", 30))  # dog's two views are one half-life older
    assert scores(p)["dog"] == pytest.approx(1.0)  # 2 × ½
    assert scores(p)["cat"] == pytest.approx(1.0)
    assert interests(p)["dog"] == pytest.approx(0.5)


def test_weak_interests_are_left_out_and_unknown_ones_read_zero() -> None:
    p = viewer(*[("dog", 0)] * 30, ("cat", 0))
    assert "cat" not in interests(p)  # 1/31 < min_share 0.05
    assert "cat" in interests(p, InterestRules(min_share=0))
    ctx = make_context(p)
    assert ctx.visitor["interest"]["cat"] == 0.0 and ctx.visitor["interest"]["hamster"] == 0.0
    assert ctx.visitor["interests"] == ("dog",)


def test_interest_in_when_and_weights_from_yaml(tmp_path: Path) -> None:
    text = """
        interests: {view: 1, purchase: 20, half_life_days: 7, min_share: 0}
        slots:
          - id: dog-content
            pages: "/"
            selector: main
            action: append
            when: visitor.interest['dog'] > 0.3
            html: "<p>{{ visitor.interests[0] }} {{ '%.2f' | format(visitor.interest['dog']) }}</p>"
    """
    rules = rules_from_text(tmp_path, text)
    assert rules.signals.interests == InterestRules(view=1, purchase=20, half_life_days=7, min_share=0)
    slot = rules.slot("dog-content")
    cat_person = viewer(("cat", 0), ("cat", 0), ("cat", 0), ("dog", 0))
    assert not slot.applies(make_context(cat_person, ruleset=rules))  # dog is 0.25
    record_purchase(cat_person, "o", [{"product": "1", "category": "dog", "ts": T0}], T0)
    ctx = make_context(cat_person, ruleset=rules)
    assert slot.applies(ctx)  # a dog purchase weighs 20 here: dog is 21/24
    assert slot.applies(make_context(None, ruleset=rules)) is False  # a first visit: no interest, no error
    edit = slot.render(slot.variants[0], ctx, "d1")
    assert edit is not None and "<p>dog 0.88</p>" in str(edit)


@pytest.mark.parametrize(("yaml", "message"), [
    ("interests: {veiw: 1}", "unknown key 'veiw' in 'interests' (did you mean 'view'?)"),
    ("interests: {min_share: 2}", "'interests.min_share' must be a number from 0 to 1, got a number (2)"),
    ("interests: {half_life_days: yes}", "'interests.half_life_days' must be a number"),
])
def test_a_bad_weight_is_rejected_at_its_line(tmp_path: Path, yaml: str, message: str) -> None:
    with pytest.raises(RulesError) as error:
        rules_from_text(tmp_path, yaml + "\nslots: []\n")
    assert "rules.yaml:1:" in str(error.value) and message in str(error.value)


# -- properties ------------------------------------------------------------------------------------------


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(st.floats(0, 1e9), st.floats(0, 1e9), st.floats(0.1, 1000))
def test_decay_is_at_most_one_and_never_grows_with_age(a: float, b: float, half_life: float) -> None:
    young, old = sorted((a, b))
    assert 0.0 <= decay(old, half_life) <= decay(young, half_life) <= 1.0


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(st.floats(0.1, 1000), st.integers(0, 5))
def test_each_half_life_halves(half_life: float, n: int) -> None:
    assert decay(n * half_life * DAY_S, half_life) == pytest.approx(0.5 ** n)


view_lists = st.lists(st.tuples(st.sampled_from(["dog", "cat", "fish", "bird"]), st.floats(0, 365)),
                      min_size=1, max_size=40)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(view_lists)
def test_shares_are_between_zero_and_one_and_add_up_to_one(views: list[tuple[str, float]]) -> None:
    shares = interests(viewer(*views), InterestRules(min_share=0))
    assert all(0 < s <= 1 for s in shares.values())
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert list(shares.values()) == sorted(shares.values(), reverse=True)  # strongest first


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(view_lists, st.sampled_from(["dog", "cat", "fish", "bird"]))
def test_a_new_view_never_lowers_that_categorys_share(views: list[tuple[str, float]], category: str) -> None:
    p = viewer(*views)
    rules = InterestRules(min_share=0)
    before = interests(p, rules).get(category, 0.0)
    record_view(p, p.last_seen, category=category)
    assert interests(p, rules)[category] >= before - 1e-4


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # speed lives in bench/
@given(view_lists, st.floats(1, 3650))
def test_time_alone_never_changes_who_leads_among_views_of_one_moment(views: list[tuple[str, float]], wait: float) -> None:
    same_time = [(c, 0.0) for c, _ in views]
    p = viewer(*same_time)
    rules = InterestRules(min_share=0)
    now = interests(p, rules)
    later = interests(p, rules, now=p.last_seen + wait * DAY_S)
    assert list(now) == list(later)  # everything aged alike: shares unchanged
    assert all(now[c] == pytest.approx(later[c], abs=1e-3) for c in now)
