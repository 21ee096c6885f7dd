"""Slots render to the rewriter's edits, action by action; failures are RuleEvaluationError."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from slotwise.rules import RuleEvaluationError, RuleSet
from slotwise.rules.testing import make_context, make_profile, rules_from_text

EXAMPLES = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"

DEMO_HOME = (
    b'<html><body data-page="home"><nav class="category-nav"><ul>'
    b'<li data-category="running-shoes"><a href="/c/running-shoes">Running Shoes</a></li>'
    b'<li data-category="sneakers"><a href="/c/sneakers">Sneakers</a></li>'
    b'<li data-category="t-shirts"><a href="/c/t-shirts">T-Shirts</a></li>'
    b'<li data-category="bags"><a href="/c/bags">Bags</a></li>'
    b'</ul></nav><section class="category-tiles">'
    b'<a class="tile" data-category="running-shoes" href="/c/running-shoes">RS</a>'
    b'<a class="tile" data-category="sneakers" href="/c/sneakers">S</a>'
    b'<a class="tile" data-category="t-shirts" href="/c/t-shirts">T</a>'
    b'<a class="tile" data-category="bags" href="/c/bags">B</a>'
    b'</section><section class="featured"><h2>Featured</h2><div class="product-grid"></div></section></body></html>'
)
DEMO_PRODUCT = (
    b'<html><head><script type="application/ld+json">{"@context":"https://schema.org","@type":"Product",'
    b'"sku":"103","name":"Northpeak Trail Grip","category":"Running Shoes","offers":{"@type":"Offer",'
    b'"price":"139.50","priceCurrency":"EUR","availability":"https://schema.org/InStock"}}</script></head>'
    b'<body data-page="product"><main class="product" data-product-id="103" data-category="running-shoes">'
    b'<form class="add-to-cart"><select name="size" id="size"><option value="">Choose a size</option>'
    b'<option value="41">41</option><option value="42">42</option></select></form>'
    b'<section class="related"></section></main></body></html>'
)


@pytest.fixture(scope="module")
def demo() -> RuleSet:
    from slotwise.rules import load_rules

    return load_rules(EXAMPLES / "demo.yaml")


def _keys(html: bytes, selector: str) -> list[str]:
    tree = LexborHTMLParser(html)
    node = tree.css_first(selector)
    assert node is not None
    return [child.attributes.get("data-category") for child in node.iter() if child.tag != "-text"]


def test_reorder_moves_recent_categories_first_and_keeps_the_rest(demo: RuleSet) -> None:
    from slotwise.html import rewrite

    profile = make_profile(views=[("t-shirts", None), ("bags", None)])
    ctx = make_context(profile, path="/", ruleset=demo)
    slot = demo.slot("home-categories")
    assert slot.applies(ctx)
    edit = slot.render("recent", ctx, "d-1")
    assert edit is not None and edit.action == "reorder" and tuple(edit.order) == ("bags", "t-shirts")
    body = rewrite(DEMO_HOME, [edit]).body
    expected = ["bags", "t-shirts", "running-shoes", "sneakers"]
    assert _keys(body, "nav.category-nav ul") == expected
    assert _keys(body, ".category-tiles") == expected


def test_reorder_with_no_history_is_nothing_to_do(demo: RuleSet) -> None:
    ctx = make_context(None, path="/", ruleset=demo)
    assert demo.slot("home-categories").render("recent", ctx, "d-1") is None


def test_control_variant_renders_nothing(demo: RuleSet) -> None:
    ctx = make_context(make_profile(views=[("bags", None)]), path="/", ruleset=demo)
    assert demo.slot("home-categories").render("control", ctx, "d-1") is None


def test_size_prefill_selects_the_usual_size_in_this_category(demo: RuleSet) -> None:
    from slotwise.html import rewrite

    profile = make_profile(purchases=[
        {"product": "101", "category": "running-shoes", "size": "42", "channel": "store"},
        {"product": "201", "category": "sneakers", "size": "44"},
    ])
    ctx = make_context(profile, path="/p/103", html=DEMO_PRODUCT, ruleset=demo)
    slot = demo.slot("size-prefill")
    assert ctx.page.category == "running-shoes"
    assert slot.applies(ctx)
    edit = slot.render("prefill", ctx, "d-2")
    assert edit is not None and edit.action == "select-option" and edit.value == "42"
    body = rewrite(DEMO_PRODUCT, [edit]).body
    option = LexborHTMLParser(body).css_first('option[value="42"]')
    assert option is not None and "selected" in option.attributes


def test_size_prefill_without_a_known_size_does_nothing(demo: RuleSet) -> None:
    profile = make_profile(purchases=[{"product": "201", "category": "sneakers", "size": "44"}])
    ctx = make_context(profile, path="/p/103", html=DEMO_PRODUCT, ruleset=demo)
    slot = demo.slot("size-prefill")
    assert not slot.applies(ctx)  # the `when` guards it
    assert slot.render("prefill", ctx, "d") is None  # and render alone is a no-op too


def test_popup_is_an_inert_template_appended_to_body(demo: RuleSet) -> None:
    profile = make_profile(cart=[{"product": "101", "qty": 2, "price": 10}])
    ctx = make_context(profile, path="/cart", ruleset=demo)
    slot = demo.slot("exit-coupon")
    assert slot.applies(ctx)
    edit = slot.render("pct15", ctx, "d-3")
    assert edit is not None
    assert (edit.selector, edit.action, edit.decision_id) == ("body", "append", "d-3")
    assert edit.html.startswith('<template data-sw-popup="exit-coupon" data-sw-trigger="exit-intent">')
    assert edit.html.endswith("</template>")
    assert LexborHTMLParser(edit.html).css_first("template") is not None
    assert "data-sw-signup" in edit.html and 'type="email"' in edit.html and "15%" in edit.html
    assert slot.render("no-popup", ctx, "d-3") is None


def test_popup_audience(demo: RuleSet) -> None:
    slot = demo.slot("exit-coupon")
    empty_cart = make_context(make_profile(), path="/", ruleset=demo)
    subscribed = make_context(make_profile(cart=[{"product": "1", "price": 5}], subscribed=True), path="/", ruleset=demo)
    has_coupon = make_context(make_profile(cart=[{"product": "1", "price": 5}], coupon="SAVE10"), path="/", ruleset=demo)
    assert not slot.applies(empty_cart) and not slot.applies(subscribed) and not slot.applies(has_coupon)


def test_recommendations_render_cards_and_skip_when_empty(demo: RuleSet) -> None:
    ctx = make_context(make_profile(), path="/p/103", html=DEMO_PRODUCT, ruleset=demo)
    slot = demo.slot("product-recommendations")
    variant = slot.variant("together")
    assert variant.recommend is not None and variant.recommend.strategy == "viewed_together"
    products = [
        {"id": str(i), "name": f"P{i}", "url": f"/p/{i}", "image": f"/static/img/{i}.svg", "price": 10.0 + i,
         "currency": "EUR", "category": "running-shoes", "in_stock": True}
        for i in range(6)
    ]
    edit = slot.render(variant, ctx, "d-4", recommendations=products)
    assert edit is not None and edit.action == "replace" and edit.selector == "section.related"
    cards = LexborHTMLParser(edit.html).css("article.product-card")
    assert [c.attributes["data-product-id"] for c in cards] == ["0", "1", "2", "3"]  # limit 4
    assert "€10.00" in edit.html
    assert slot.render(variant, ctx, "d-4", recommendations=[]) is None
    assert slot.render(variant, ctx, "d-4") is None


def test_minimal_first_issue_format_still_works(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - {id: hello, pages: "/", selector: ".hero", action: replace, html: "<p>Hello</p>"}
    """)
    (slot,) = ruleset.slots
    assert [v.id for v in slot.variants] == ["default"]
    assert slot.goal == "click" and slot.policy.name == "thompson" and slot.sticky == "session"
    edit = slot.render("default", make_context(), "d")
    assert edit is not None and (edit.action, edit.html, edit.selector) == ("replace", "<p>Hello</p>", ".hero")


def test_slot_level_content_is_inherited_by_variants(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - id: banner
            pages: "/"
            selector: ".hero"
            action: append
            html: "<p>{{ vars.greeting }}</p>"
            variants:
              - {id: hi, vars: {greeting: Hi}}
              - {id: hello, vars: {greeting: Hello}}
              - {id: own, html: "<b>own</b>"}
    """)
    slot = ruleset.slots[0]
    ctx = make_context()
    assert [slot.render(v, ctx, "d").html for v in slot.arms] == ["<p>Hi</p>", "<p>Hello</p>", "<b>own</b>"]


def test_set_attribute_and_remove(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - id: link
            pages: "/"
            selector: "a.promo"
            action: set-attribute
            attributes:
              href: "/c/{{ visitor.last_category }}"
              title: "{{ visitor.last_category }}"
              data-old: null
          - {id: gone, pages: "/", selector: ".promo-banner", action: remove, limit: 1}
    """)
    ctx = make_context(make_profile(views=[("bags", None)]))
    edit = ruleset.slot("link").render("default", ctx, "d")
    assert edit is not None and dict(edit.attributes) == {"href": "/c/bags", "title": "bags", "data-old": None}
    gone = ruleset.slot("gone").render("default", ctx, "d")
    assert gone is not None and gone.action == "remove" and gone.limit == 1


def test_script_url_from_visitor_data_is_refused(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - id: link
            pages: "/"
            selector: "a.promo"
            action: set-attribute
            attributes: {href: "{{ visitor.last_category }}"}
    """)
    ctx = make_context(make_profile(views=[(" JaVaScript:alert(1)", None)]))
    with pytest.raises(RuleEvaluationError) as info:
        ruleset.slot("link").render("default", ctx, "d")
    assert info.value.slot_id == "link" and "unsafe URL" in info.value.reason


def test_evaluation_errors_name_the_slot(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - id: pricey
            pages: "/p/*"
            selector: ".hero"
            action: remove
            when: page.product.price > 50
          - id: badorder
            pages: "/"
            selector: "ul"
            action: reorder
            order: visitor.last_category
    """)
    no_price = make_context(path="/p/1")
    with pytest.raises(RuleEvaluationError) as info:
        ruleset.slot("pricey").applies(no_price)
    assert info.value.slot_id == "pricey" and "when" in info.value.reason
    ctx = make_context(make_profile(views=[("bags", None)]))
    with pytest.raises(RuleEvaluationError) as info:
        ruleset.slot("badorder").render("default", ctx, "d")
    assert "must give a list" in info.value.reason
    with pytest.raises(RuleEvaluationError):
        ruleset.slot("badorder").render("nope", ctx, "d")


def test_disabled_slot_is_validated_but_never_applies(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - {id: paused, pages: "/", selector: ".hero", action: remove, enabled: false}
          - {id: live, pages: "/", selector: ".hero", action: remove}
    """)
    assert [s.id for s in ruleset.slots] == ["paused", "live"]
    assert [s.id for s in ruleset.slots_for("/")] == ["live"]
    assert not ruleset.slot("paused").applies(make_context())
    broken = tmp_path / "broken.yaml"
    broken.write_text('slots:\n  - {id: paused, pages: "/", selector: "p..x", action: remove, enabled: false}\n')
    from slotwise.rules import RulesError, load_rules

    with pytest.raises(RulesError):
        load_rules(broken)


def test_holdout_is_stable_and_close_to_its_share(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, "holdout: 20%\nslots: []\n")
    ids = [f"visitor-{i}" for i in range(4000)]
    first = [ruleset.in_holdout(v) for v in ids]
    assert first == [ruleset.in_holdout(v) for v in ids]
    assert 0.17 < sum(first) / len(ids) < 0.23
    assert not rules_from_text(tmp_path, "slots: []\n", name="none.yaml").in_holdout("visitor-1")


def test_attribution_windows(tmp_path: Path) -> None:
    assert rules_from_text(tmp_path, "attribution_window: 2h\n").attribution_window == (7200.0, "fixed")
    assert rules_from_text(tmp_path, "attribution_window: 30m\n").attribution_window == (1800.0, "fixed")
    assert rules_from_text(tmp_path, "attribution_window: session\n").attribution_window.mode == "inactivity"


def test_policy_params_flat_or_nested(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - {id: a, pages: /, selector: p, action: remove, policy: {name: epsilon-greedy, epsilon: 0.2, sticky: none}}
          - {id: b, pages: /, selector: p, action: remove, policy: {name: ucb, params: {delta: 2}}}
    """)
    assert ruleset.slot("a").policy_spec == {"name": "epsilon-greedy", "params": {"epsilon": 0.2}}
    assert ruleset.slot("a").sticky == "none"
    assert ruleset.slot("b").policy_spec == {"name": "ucb", "params": {"delta": 2}}
