"""Property tests: rewrite never raises and never touches bytes outside edited elements."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.html import ACTIONS, Edit, rewrite
from slotwise.html.locate import Locator
from slotwise.html.rewriter import _parse, count_matches
from slotwise.proxy.personalization.inject import inject_before_body_end, last_body_end

MARK = "\u2603SWMARK\u2603"  # cannot occur in generated pages

TAGS = ["div", "p", "li", "ul", "span", "a", "b", "i", "section", "option", "select", "td", "tr", "table", "svg", "use", "br", "img", "input", "textarea", "script", "title"]
TEXT = st.sampled_from(["x", " ", "\n", "&amp;", "&copy", "a<b", "&lt;div&gt;", "é", ">", "\"", "'", "&"])


@st.composite
def attrs(draw: st.DrawFn) -> str:
    out = ""
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["class", "id", "data-category", "data-k", "HREF", "title", "selected", "disabled", "value"]))
        val = draw(st.sampled_from(["t", "a b", "&amp;", "x>y", "", "1", "q&copy=2"]))
        quote = draw(st.sampled_from(['"', "'", ""]))
        if quote == "" and (val == "" or " " in val or ">" in val):
            quote = '"'
        out += f" {name}={quote}{val}{quote}" if draw(st.booleans()) else f" {name}"
    return out


@st.composite
def html_docs(draw: st.DrawFn) -> str:
    """A fragment of (often malformed) markup, usually inside an explicit document skeleton."""
    body = draw(markup())
    if draw(st.integers(0, 2)):
        return f"<!DOCTYPE html>\n<html><head><title>t</title></head>\n<body>{body}</body>\n</html>\n"
    return body


@st.composite
def markup(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4 if depth < 3 else 1))):
        kind = draw(st.integers(0, 9))
        if kind <= 2:
            parts.append(draw(TEXT))
        elif kind == 3:
            parts.append("<!-- " + draw(st.sampled_from(["<div class=t>", "</ul>", "x", "<li>"])) + " -->")
        elif kind == 4:
            parts.append("<script>var s='<div class=t>'; a</b</script>")
        elif kind == 5:
            parts.append(draw(st.sampled_from(["</div>", "</p>", "</li>", "<br/>", "<use/>", "</b>", "<p>", "<li>", "<DIV CLASS=t>"])))
        else:
            tag = draw(st.sampled_from(TAGS))
            if draw(st.booleans()):
                tag = tag.upper()
            inner = draw(markup(depth + 1)) if depth < 3 else ""
            close = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", "", "/"]))
            if close == "/":
                parts.append(f"<{tag}{draw(attrs())}/>")
            else:
                parts.append(f"<{tag}{draw(attrs())}>{inner}{close}")
    return "".join(parts)


SELECTORS = st.sampled_from(["div", "p", "li", "ul", ".t", "[data-category]", "span", "a", "section", "select", "td", "use", "b", "*", "body", "textarea", "input", "#nope", "svg", "title"])


@st.composite
def edit_lists(draw: st.DrawFn, actions: list[str] = list(ACTIONS)) -> list[Edit]:
    edits = []
    for i in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(actions))
        edits.append(Edit(
            slot=f"s{i}", selector=draw(SELECTORS), action=action,
            html=f"<em>{MARK}</em>" if draw(st.booleans()) else MARK,
            attributes={"data-sw-x": MARK} if draw(st.booleans()) else {"class": None},
            order=draw(st.lists(st.sampled_from(["t", "a b", "1", ""]), max_size=3)),
            key=draw(st.sampled_from(["data-category", "class"])),
            value=draw(st.sampled_from(["t", "1", "", MARK])),
            decision_id=draw(st.sampled_from([None, "d1"])),
            limit=draw(st.sampled_from([None, 1, 2])),
        ))
    return edits


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@FAST
@given(doc=html_docs(), edits=edit_lists())
def test_never_raises_and_counts_are_sane(doc: str, edits: list[Edit]) -> None:
    src = doc.encode()
    result = rewrite(src, edits, cache=False)
    assert set(result.matches) == set(range(len(edits)))
    assert all(v >= 0 for v in result.matches.values())
    if not any(result.matches.values()):
        assert result.body is src
    assert result.changed == (result.body != src)


@FAST
@given(doc=html_docs(), edits=edit_lists(["before", "after", "append", "prepend"]))
def test_insertions_only_add_markers(doc: str, edits: list[Edit]) -> None:
    """Remove what we inserted and the original bytes come back, exactly."""
    src = doc.encode()
    edits = [Edit(e.slot, e.selector, e.action, html=MARK, limit=e.limit) for e in edits]
    result = rewrite(src, edits, cache=False)
    if result.method == "splice":
        assert result.body.replace(MARK.encode(), b"") == src
        assert result.body.count(MARK.encode()) == sum(result.matches.values())


@FAST
@given(doc=html_docs(), selector=SELECTORS)
def test_set_attribute_only_changes_start_tags(doc: str, selector: str) -> None:
    src = doc.encode()
    result = rewrite(src, [Edit("s", selector, "set-attribute", attributes={"data-sw-x": MARK})], cache=False)
    if result.method == "splice":
        stripped = re.sub(rb' data-sw-x="' + re.escape(MARK.encode()) + rb'"', b"", result.body)
        assert stripped == src


@FAST
@given(doc=html_docs(), selector=SELECTORS)
def test_replace_keeps_bytes_outside_the_element(doc: str, selector: str) -> None:
    """The bytes before the first and after the last replaced element are untouched."""
    src = doc.encode()
    result = rewrite(src, [Edit("s", selector, "replace", html=MARK, limit=1)], cache=False)
    if result.method == "splice" and result.matches[0]:
        mark = MARK.encode()
        before, _, after = result.body.partition(mark)
        assert src.startswith(before) and src.endswith(after)
        assert len(before) + len(after) <= len(src)


@FAST
@given(doc=html_docs(), edits=edit_lists())
def test_cached_positions_give_same_result(doc: str, edits: list[Edit]) -> None:
    """The per-page cache (positions without a parse) gives the very same bytes and counts."""
    src = doc.encode()
    result = rewrite(src, edits, cache=False)
    if result.method != "splice":
        return
    # the cached path must produce the very same bytes
    again = rewrite(bytes(bytearray(src)), edits)
    cached = rewrite(bytes(bytearray(src)), edits)
    assert again.body == result.body == cached.body
    assert cached.matches == result.matches


@st.composite
def another_visitor(draw: st.DrawFn, edits: list[Edit]) -> list[Edit]:
    """The same rules' edits for another visitor: what a page's kept targets and plan do not key on
    (order, value, decision, fragment, attributes) drawn afresh; selectors, actions, keys, limits kept."""
    return [Edit(
        slot=e.slot, selector=e.selector, action=e.action, key=e.key, limit=e.limit, items=e.items,
        html=draw(st.sampled_from([e.html, f"<i>{MARK}</i>", MARK])),
        attributes=draw(st.sampled_from([e.attributes, {"data-sw-y": MARK}])),
        order=draw(st.lists(st.sampled_from(["t", "a b", "1", ""]), max_size=3)),
        value=draw(st.sampled_from(["t", "1", "", MARK, "a b"])),
        decision_id=draw(st.sampled_from([None, "d1", "d2"])),
    ) for e in edits]


@FAST
@given(doc=html_docs(), edits=edit_lists(), data=st.data())
def test_a_kept_plan_serves_another_visitor_as_a_fresh_rewrite(doc: str, edits: list[Edit], data: st.DataObject) -> None:
    """The per-page plan (admitted applications, reordered contents) kept for one visitor's edits gives
    another visitor's edits the very bytes and counts a rewrite without any cache gives: a key that
    missed something the plan depends on (an order, a decision, which option exists) fails here."""
    src = doc.encode()
    for _ in range(2):  # the first keeps the targets, the second the plan
        rewrite(src, edits)
    other = data.draw(another_visitor(edits))
    fresh = rewrite(src, other, cache=False)
    if fresh.method != "splice":
        return
    kept = rewrite(bytes(bytearray(src)), other)
    assert kept.body == fresh.body
    assert kept.matches == fresh.matches


@FAST
@given(doc=html_docs())
def test_reorder_is_a_permutation(doc: str) -> None:
    src = doc.encode()
    parser = _parse(src, "utf-8")
    for node in parser.css("*"):
        kids = [c for c in _children(node)]
        if len(kids) < 2:
            continue
        keys = [c.attributes.get("data-category") for c in kids]
        order = list(reversed([k for k in keys if k]))
        result = rewrite(src, [Edit("r", _path(node), "reorder", order=order, limit=1)], cache=False)
        if result.method != "splice":
            continue
        loc = Locator(src, parser, "utf-8")
        try:
            span = loc.span(node)
            ranges = loc.children(node, span)
        except Exception:
            continue
        before = sorted(src[a:b] for a, b in ranges)
        delta = len(result.body) - len(src)
        assert delta == 0
        assert src[: span.tag_end] == result.body[: span.tag_end]
        assert src[span.content_end :] == result.body[span.content_end :]
        inner = result.body[span.tag_end : span.content_end]
        assert sorted(src[a:b] for a, b in ranges) == before and len(inner) == span.content_end - span.tag_end
        assert sorted(inner) == sorted(src[span.tag_end : span.content_end])  # same bytes, moved
        break


def _children(node):  # type: ignore[no-untyped-def]
    c = node.first_child
    while c is not None:
        if c.is_element_node:
            yield c
        c = c.next


def _path(node) -> str:  # type: ignore[no-untyped-def]
    """A selector for exactly this node (nth-child chain)."""
    parts = []
    while node is not None and node.is_element_node and node.parent is not None and node.parent.is_element_node:
        idx = 1 + sum(1 for _ in _prev_elements(node))
        parts.append(f"*:nth-child({idx})")
        node = node.parent
    return "html > " + " > ".join(reversed(parts)) if parts else "html"


def _prev_elements(node):  # type: ignore[no-untyped-def]
    p = node.prev
    while p is not None:
        if p.is_element_node:
            yield p
        p = p.prev


@FAST
@given(doc=html_docs(), edits=edit_lists())
def test_latin1_round_trip(doc: str, edits: list[Edit]) -> None:
    src = doc.encode("latin-1", "xmlcharrefreplace")
    result = rewrite(src, edits, "latin-1", cache=False)
    result.body.decode("latin-1")
    if not any(result.matches.values()):
        assert result.body is src


@given(
    tag=st.sampled_from(TAGS),
    attributes=attrs(),
    changes=st.lists(st.tuples(st.sampled_from(["class", "data-sw-decision", "selected", "id", "Title"]),
                               st.sampled_from([None, "", "d1", "d2", "é ü", "a\"b", "x>y"])), max_size=3),
)
def test_a_kept_start_tag_rewrite_is_the_rewrite(tag: str, attributes: str, changes: list) -> None:
    """``rewrite_start_tag`` keeps its answers: always those of the function itself, for these very arguments
    (the same tag with other changes, or in another encoding, is another answer)."""
    from slotwise.html.splice import _rewrite_start_tag, rewrite_start_tag

    data = f"<{tag}{attributes}>".encode()
    for encoding in ("utf-8", "latin-1", "ascii"):
        for these in (changes, changes[:-1], changes[::-1]):
            assert rewrite_start_tag(data, these, encoding) == _rewrite_start_tag(data, these, encoding)


SCRIPT = b'<script src="/_sw/t.js" data-pageview="off"></script>'


@FAST
@given(doc=html_docs(), edits=edit_lists(), extra=st.sampled_from(["", "</BODY >", "<p>x</p></body>", " after", "</body"]))
def test_the_tag_s_script_spliced_in_is_where_inject_puts_it_in_the_spliced_page(doc: str, edits: list[Edit], extra: str) -> None:
    """``rewrite(..., tail=(last </body>, script))`` gives the bytes ``inject_before_body_end`` gives on
    the plain rewrite's page, and the same ``changed``, ``method`` and counts; when it cannot (an edit
    past the ``</body>``, a page whose length the edits keep), the plain rewrite's page, untailed."""
    src = (doc + extra).encode()
    found = last_body_end(src)
    if found is None:
        return
    rewrite(src, edits)  # keeps the targets: the next two are splices of kept targets when the page allows
    plain = rewrite(bytes(bytearray(src)), edits)
    tailed = rewrite(bytes(bytearray(src)), edits, tail=(found.start(), SCRIPT))
    assert (tailed.changed, tailed.method, tailed.matches, tailed.cached, tailed.errors) == (
        plain.changed, plain.method, plain.matches, plain.cached, plain.errors)
    if tailed.tailed:
        assert tailed.body == inject_before_body_end(plain.body, SCRIPT)
    else:
        assert tailed.body == plain.body


def test_a_page_s_usual_edits_take_the_script_in_their_one_copy() -> None:
    """Reordered categories, a selected size, cards before a block and a popup at the end of the body:
    all end before the ``</body>``, so the script goes in with them."""
    src = (b"<html><body><ul class=n><li data-category=a>A</li><li data-category=b>B</li></ul>"
           b"<select id=size><option>41</option><option>42</option></select><section class=r>r</section>"
           b"</body>\n</html>")
    edits = [Edit("c", "ul.n", "reorder", order=("b", "a"), decision_id="d1"),
             Edit("s", "select#size", "select-option", value="42", key=None, decision_id="d2"),
             Edit("r", "section.r", "before", html="<div>cards</div>", decision_id="d3"),
             Edit("p", "body", "append", html="<template>popup</template>", decision_id="d4", limit=1)]
    rewrite(src, edits)
    plain = rewrite(src, edits)
    tailed = rewrite(src, edits, tail=(last_body_end(src).start(), SCRIPT))  # type: ignore[union-attr]
    assert tailed.tailed and tailed.changed and tailed.cached
    assert tailed.body == inject_before_body_end(plain.body, SCRIPT)
    assert tailed.body.index(b"popup</template>") < tailed.body.index(SCRIPT) < tailed.body.index(b"</body>")


@FAST
@given(doc=html_docs(), selector=st.sampled_from(["select", "input", "textarea", "title", "body", "#nope"]),
       value=st.sampled_from(["t", "1", "", MARK, "none-such"]), items=st.sampled_from([None, "li", "option"]))
def test_a_value_edit_with_a_decision_marks_every_element_it_finds(doc: str, selector: str, value: str,
                                                                   items: str | None) -> None:
    """Whether the value is offered or not, each element a select-option/set-value decision's selector
    finds carries the decision: every variant of a slot is marked (seen, clicked) on the same pages.
    (Selectors whose elements never nest, so no element is refused for lying inside a chosen one.)"""
    src = doc.encode()
    for action in ("select-option", "set-value"):
        edit = Edit("s", selector, action, value=value, items=items, decision_id="d1")
        result = rewrite(src, [edit], cache=False)
        found = count_matches(src, [selector])[selector]
        assert result.matches == {0: found}
        assert result.body.count(b' data-sw-decision="d1"') == found
