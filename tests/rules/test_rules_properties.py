"""Properties: any valid rules + any visitor + any HTML render and apply without raising;
reorder moves children but never loses or duplicates one."""

from __future__ import annotations

import tempfile
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from slotwise.html import rewrite
from slotwise.rules import load_rules
from slotwise.rules.testing import make_context, make_profile

SELECTORS = ["ul", "li", "div", ".a", "#x", "p", "body", "section.related", "nav ul, .tiles", "select#size", "input[name=q]", "div > p"]
CONDITIONS = [
    "true", "visitor.has_cart", "not visitor.subscribed", "visitor.visits > 1", "page.type == 'home'",
    "'bags' in visitor.recent_categories", "request.device != 'mobile'", "visitor.cart_value >= 10 or visitor.known",
    "page.query.q", "visitor.preferred_size[page.category]",
]
TEMPLATES = [
    "<p>{{ visitor.last_category }}</p>",
    "<ul>{% for c in visitor.recent_categories %}<li data-category=\"{{ c }}\">{{ c }}</li>{% endfor %}</ul>",
    "<div class=\"a\">{{ page.query.q }} {{ request.country }}</div>",
    "{% if visitor.has_cart %}<b>{{ visitor.cart_count }}</b>{% endif %}",
    "<section>{% for p in recommendations %}<a href=\"/p/{{ p.id }}\">{{ p.name }}</a>{% endfor %}</section>",
    "<form data-sw-signup><input type=email name=email>{{ vars.offer }}</form>",
    "<p>unclosed <div>",
]
ORDERS = ["visitor.recent_categories", "visitor.top_categories", "visitor.viewed_products", "['b', 'a', 'b']", "[]"]
VALUES = ["visitor.preferred_size[page.category]", "visitor.last_category", "'M'", "visitor.cart_count", "page.query.q"]
INSERTS = ["replace", "append", "prepend", "before", "after", "popup"]

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
keys = st.one_of(st.sampled_from(["a", "b", "bags", "<script>", 'x"y', "sneakers"]), text)


@st.composite
def variant_for(draw: Any, action: str) -> dict[str, Any]:
    if draw(st.integers(0, 5)) == 0:
        return {"control": True}
    if action in INSERTS:
        v: dict[str, Any] = {"html": draw(st.sampled_from(TEMPLATES)), "vars": {"offer": draw(text)}}
        if draw(st.booleans()):
            v["recommend"] = {"strategy": draw(st.sampled_from(["mixed", "viewed_together"])), "limit": draw(st.integers(1, 5))}
        return v
    if action == "reorder":
        return {"order": draw(st.sampled_from(ORDERS))}
    if action in ("select-option", "set-value"):
        return {"value": draw(st.sampled_from(VALUES))}
    if action == "set-attribute":
        return {"attributes": {"title": "{{ visitor.last_category }}", "data-x": None, "href": "/c/{{ page.category }}"}}
    return {}


@st.composite
def slot(draw: Any, index: int) -> dict[str, Any]:
    action = draw(st.sampled_from(INSERTS + ["reorder", "select-option", "set-value", "set-attribute", "remove"]))
    out: dict[str, Any] = {"id": f"s{index}", "pages": draw(st.sampled_from(["/", "/**", ["/p/*", "/"]])), "action": action}
    if action != "popup":
        out["selector"] = draw(st.sampled_from(SELECTORS))
    if draw(st.booleans()):
        out["when"] = draw(st.sampled_from(CONDITIONS))
    if draw(st.booleans()):
        out["limit"] = draw(st.integers(1, 3))
    variants = draw(st.lists(variant_for(action), min_size=1, max_size=3))
    if action == "remove":
        variants = [v or {"id": f"r{i}"} for i, v in enumerate(variants)]
    out["variants"] = [{"id": f"v{i}", **v} for i, v in enumerate(variants)]
    return out


@st.composite
def rules(draw: Any) -> dict[str, Any]:
    count = draw(st.integers(1, 4))
    return {"holdout": draw(st.sampled_from([0, 0.1, "25%"])), "slots": [draw(slot(i)) for i in range(count)]}


@st.composite
def page_html(draw: Any) -> bytes:
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["ul", "div", "p", "select", "input", "section", "nav", "junk"]))
        body = escape(draw(text))
        if kind == "ul":
            items = "".join(f'<li data-category="{escape(k)}">{escape(k)}</li>' for k in draw(st.lists(keys, max_size=5)))
            parts.append(f"<ul>{items}</ul>")
        elif kind == "select":
            options = "".join(f'<option value="{escape(k)}">{escape(k)}</option>' for k in draw(st.lists(keys, max_size=4)))
            parts.append(f'<select id="size" name="size">{options}</select>')
        elif kind == "input":
            parts.append('<input name="q" value="">')
        elif kind == "nav":
            parts.append('<nav><ul><li data-category="a">A</li></ul></nav><div class="tiles"><a data-category="b">B</a></div>')
        elif kind == "junk":
            parts.append(draw(st.sampled_from(["<div><p>", "</span>", "<!-- x", "<p class=a id=x>", "&amp;<", "<script>var a='<p>'</script>"])))
        else:
            parts.append(f'<{kind} class="a related">{body}</{kind}>')
    return ("<!doctype html><html><body>" + "".join(parts) + "</body></html>").encode()


@st.composite
def profiles(draw: Any) -> Any:
    if draw(st.integers(0, 4)) == 0:
        return None
    views = draw(st.lists(st.tuples(keys, st.one_of(st.none(), st.sampled_from(["1", "2", "3"]))), max_size=6))
    purchases = [{"product": p, "category": c, "size": s} for p, c, s in
                 draw(st.lists(st.tuples(st.sampled_from(["1", "4"]), keys, keys), max_size=3))]
    cart = [{"product": "9", "qty": draw(st.integers(1, 3)), "price": 12.5}] if draw(st.booleans()) else []
    return make_profile(views=views, purchases=purchases, cart=cart, subscribed=draw(st.booleans()))


PRODUCTS = [{"id": str(i), "name": f"<i>P{i}</i>", "url": f"/p/{i}", "image": None, "price": 1.0 * i,
             "currency": "EUR", "category": "bags", "in_stock": True} for i in range(6)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=rules(), html=page_html(), profile=profiles(), path=st.sampled_from(["/", "/p/1"]),
       query=st.sampled_from([None, "q=%3Cb%3E", "utm_source=x"]))
def test_valid_rules_render_and_apply_without_raising(spec: dict[str, Any], html: bytes, profile: Any, path: str, query: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "rules.yaml"
        file.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        ruleset = load_rules(file)
    ctx = make_context(profile, path=path, query=query, html=html, ruleset=ruleset,
                       headers={"user-agent": "Mozilla/5.0 (iPhone) Mobile", "cf-ipcountry": "DE"})
    edits = []
    for s in ruleset.slots_for(path, query, {}):
        if not s.applies(ctx):
            continue
        for v in s.variants:
            edit = s.render(v, ctx, f"d-{s.id}-{v.id}", recommendations=PRODUCTS if v.recommend else None)
            assert edit is None or (edit.slot == s.id and edit.decision_id == f"d-{s.id}-{v.id}")
            if edit is not None:
                edits.append(edit)
    for edit in edits:
        event(f"edit {edit.action}")
    result = rewrite(html, edits)
    event(f"page changed: {result.changed}")
    assert isinstance(result.body, bytes)
    tree = LexborHTMLParser(result.body)
    assert all(node.text() == "var a='<p>'" for node in tree.css("script"))  # no script from visitor data


def _children(html: bytes) -> list[tuple[str | None, str]]:
    ul = LexborHTMLParser(html).css_first("ul")
    assert ul is not None
    return [(li.attributes.get("data-category"), li.text()) for li in ul.css("li")]


@settings(max_examples=80, deadline=None)
@given(children=st.lists(keys, max_size=8), recent=st.lists(keys, max_size=6))
def test_reorder_moves_children_never_loses_or_duplicates(children: list[str], recent: list[str]) -> None:
    html = ("<html><body><ul>" + "".join(f'<li data-category="{escape(k)}">{escape(k)}|{i}</li>' for i, k in enumerate(children))
            + "</ul></body></html>").encode()
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "rules.yaml"
        file.write_text(yaml.safe_dump({"slots": [{"id": "cats", "pages": "/", "selector": "ul", "action": "reorder",
                                                   "order": "visitor.recent_categories"}]}), encoding="utf-8")
        ruleset = load_rules(file)
    profile = make_profile(views=[(k, None) for k in reversed(recent)])  # the last viewed is recent[0]
    ctx = make_context(profile, path="/", ruleset=ruleset)
    edit = ruleset.slots[0].render("default", ctx, "d")
    before = _children(html)
    if edit is None:
        assert not [k for k in recent if k.strip()] or not any(ctx.visitor["recent_categories"])
        return
    after = _children(rewrite(html, [edit]).body)
    event(f"moved: {after != before}")
    assert Counter(after) == Counter(before)  # nothing lost, nothing duplicated
    wanted = [k for k in edit.order if any(c[0] == k for c in before)]
    if len(set(children)) == len(children):  # unique keys: exact order is defined
        head = [key for key, _ in after[: len(wanted)]]
        assert head == wanted
        rest = [c for c in before if c[0] not in wanted]
        assert after[len(wanted):] == rest
