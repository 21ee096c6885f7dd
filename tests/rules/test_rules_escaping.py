"""Visitor-controlled values are escaped; the sandbox is immutable and blocks Python internals."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from slotwise.rules import RuleEvaluationError
from slotwise.rules.testing import make_context, make_profile, rules_from_text

EVIL = '<script>alert("x")</script>'


def test_category_named_script_renders_escaped(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - id: hello
            pages: "/"
            selector: ".hero"
            action: append
            html: '<p class="{{ visitor.last_category }}">You liked {{ visitor.last_category }}</p>'
    """)
    ctx = make_context(make_profile(views=[(EVIL, None)]))
    edit = ruleset.slots[0].render("default", ctx, "d")
    assert edit is not None
    assert "<script>" not in edit.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in edit.html
    tree = LexborHTMLParser(f"<body>{edit.html}</body>")
    assert tree.css("script") == []
    assert tree.css_first("p").attributes["class"] == EVIL  # the value survives as text


def test_query_and_recommendation_values_are_escaped(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - id: recs
            pages: "/"
            selector: ".hero"
            action: append
            html: "<p>{{ page.query.q }}</p>{% for p in recommendations %}<i>{{ p.name }}</i>{% endfor %}"
    """)
    ctx = make_context(path="/", query={"q": "<img src=x onerror=alert(1)>"})
    edit = ruleset.slots[0].render("default", ctx, "d", recommendations=[{"id": "1", "name": "<b>bold</b>"}])
    assert edit is not None
    tree = LexborHTMLParser(f"<body>{edit.html}</body>")
    assert tree.css("img") == [] and tree.css("b") == []
    assert "&lt;b&gt;bold&lt;/b&gt;" in edit.html


def test_popup_fragment_is_escaped_too(tmp_path: Path) -> None:
    ruleset = rules_from_text(tmp_path, """
        slots:
          - id: pop
            pages: "/"
            action: popup
            html: "<p>{{ visitor.last_category }}</p>"
    """)
    edit = ruleset.slots[0].render("default", make_context(make_profile(views=[(EVIL, None)])), "d")
    assert edit is not None and "<script>" not in edit.html and edit.html.count("<template") == 1


@pytest.mark.parametrize(
    "expression",
    ["visitor.__class__", "page.__class__.__mro__", "visitor._profile", "request.utm.clear()"],
)
def test_internals_of_facts_are_unknown_facts_at_load(tmp_path: Path, expression: str) -> None:
    from slotwise.rules import RulesError

    with pytest.raises(RulesError, match="unknown fact"):
        rules_from_text(tmp_path, f"""
            slots:
              - {{id: evil, pages: "/", selector: ul, action: reorder, order: "{expression}"}}
        """)


@pytest.mark.parametrize(
    "expression",
    [
        "visitor.recent_categories.append('x')",
        "visitor.preferred_size.__class__.__mro__",
        "vars.__class__.__init__.__globals__",
        "(visitor.cart | first).update({'qty': 99})",
        "visitor.recent_categories.__len__()",
    ],
)
def test_sandbox_refuses_mutation_and_internals_at_runtime(tmp_path: Path, expression: str) -> None:
    ruleset = rules_from_text(tmp_path, f"""
        slots:
          - {{id: evil, pages: "/", selector: ul, action: reorder, order: "{expression}"}}
    """)
    profile = make_profile(views=[("bags", None)], cart=[{"product": "1", "price": 2}])
    ctx = make_context(profile)
    try:
        edit = ruleset.slots[0].render("default", ctx, "d")
    except RuleEvaluationError as exc:  # calling a blocked or missing method
        assert exc.slot_id == "evil"
    else:  # a blocked attribute is simply undefined: nothing to reorder
        assert edit is None
    assert profile.cart[0]["qty"] == 1 and ctx.visitor["recent_categories"] == ("bags",)


def test_visitor_view_is_read_only() -> None:
    ctx = make_context(make_profile(views=[("bags", None)], cart=[{"product": "1", "price": 2}]))
    with pytest.raises(TypeError):
        ctx.visitor["cart"][0]["qty"] = 5  # type: ignore[index]
    with pytest.raises((TypeError, AttributeError)):
        ctx.visitor["recent_categories"].append("x")  # type: ignore[attr-defined]
