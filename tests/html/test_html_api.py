"""API-level behaviour: identity, encodings, selectors, conflicts, cache, fallback."""

from __future__ import annotations

import pytest

from slotwise.html import Edit, clear_cache, count_matches, rewrite, validate_selector
from slotwise.html.testing import make_storefront_page

PAGE = make_storefront_page(16)


def test_no_match_returns_the_same_object() -> None:
    r = rewrite(PAGE, [Edit("x", "#missing", "replace", html="<p>")])
    assert r.body is PAGE and not r.changed and r.matches == {0: 0} and r.method == "none"
    assert rewrite(PAGE, []).body is PAGE


def test_storefront_all_actions_splice_and_keep_the_rest() -> None:
    edits = [
        Edit("cats", "nav.category-nav ul", "reorder", order=["sale"], decision_id="d1"),
        Edit("recs", "section.related", "replace", html="<section>R</section>", decision_id="d2"),
        Edit("size", "#size", "select-option", value="42"),
        Edit("pop", "body", "append", html="<div id=p></div>"),
    ]
    r = rewrite(PAGE, edits, cache=False)
    assert r.method == "splice" and r.matches == {0: 1, 1: 1, 2: 1, 3: 1}
    # bytes Lexbor would normalise are still there, untouched
    assert b'<use href="#heart"/>' in r.body and b"&amp;pos=" in r.body and b"loading=lazy" in r.body
    assert b'<option value="42" selected>' in r.body


def test_select_option_missing_or_disabled_chooses_nothing_and_only_marks_the_decision() -> None:
    for value in ("41", "99"):  # 41 is disabled in the demo page
        r = rewrite(PAGE, [Edit("s", "#size", "select-option", value=value)])
        assert r.body is PAGE and r.matches == {0: 0}
        marked = rewrite(PAGE, [Edit("s", "#size", "select-option", value=value, decision_id="d")])
        assert marked.matches == {0: 1}  # the decision is on the page: its element says so
        assert marked.body.replace(b' data-sw-decision="d" data-sw-slot="s"', b"", 1) == PAGE


def test_option_value_falls_back_to_text() -> None:
    src = b"<select><option> Small  size </option><option selected>L</option></select>"
    r = rewrite(src, [Edit("s", "select", "select-option", value="Small size")])
    assert r.body == b"<select><option selected> Small  size </option><option>L</option></select>"


def test_latin1_round_trip_and_escaping() -> None:
    src = "<p class=x>Caf\xe9</p><div id=t>\xe0</div>".encode("latin-1")
    r = rewrite(src, [Edit("t", "#t", "set-attribute", attributes={"title": "\u20ac & \xe9"}), Edit("a", "#t", "append", html="<b>\u2603\xe9</b>")], "latin-1")
    assert r.method == "splice"
    assert r.body == '<p class=x>Caf\xe9</p><div id=t title="&#8364; &amp; \xe9">\xe0<b>&#9731;\xe9</b></div>'.encode("latin-1")


def test_utf16_is_transcoded_and_back() -> None:
    src = "<p id=t>h\xe9</p><use/>".encode("utf-16")
    r = rewrite(src, [Edit("t", "#t", "append", html="!")], "utf-16")
    assert r.body.decode("utf-16") == "<p id=t>h\xe9!</p><use/>"
    assert rewrite(src, [Edit("t", "#none", "remove")], "utf-16").body is src


def test_unknown_encoding_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        rewrite(PAGE, [Edit("x", "p", "remove")], "no-such-codec")


def test_validate_selector() -> None:
    assert validate_selector("nav.category-nav ul > li:first-child") is None
    assert validate_selector("a:has(b)") is None
    for bad in ("", "  ", "div >", "div[", "::before", "a:contains(x)", "a, ", ":nth-child(x)"):
        assert validate_selector(bad), bad


def test_count_matches() -> None:
    counts = count_matches(PAGE, ["nav.category-nav li", "#size option", "#nope"])
    assert counts == {"nav.category-nav li": 10, "#size option": 4, "#nope": 0}
    with pytest.raises(ValueError):
        count_matches(PAGE, ["div["])


def test_invalid_selector_in_rewrite_matches_nothing() -> None:
    r = rewrite(PAGE, [Edit("x", "div[", "remove"), Edit("y", "#size", "set-value", value="40")])
    assert r.matches == {0: 0, 1: 1} and 0 in r.errors


def test_edit_validation() -> None:
    with pytest.raises(ValueError):
        Edit("x", "p", "explode")
    with pytest.raises(ValueError):
        Edit("x", "p", "set-attribute", attributes={'a"b': "1"})
    with pytest.raises(ValueError):
        Edit("x", "p", "remove", limit=-1)


def test_overlap_first_edit_wins() -> None:
    src = b'<div id=a><p id=b>x</p></div>'
    r = rewrite(src, [Edit("1", "#b", "append", html="!"), Edit("2", "#a", "replace", html="R")])
    assert r.body == b'<div id=a><p id=b>x!</p></div>' and r.matches == {0: 1, 1: 0}
    r = rewrite(src, [Edit("1", "#a", "replace", html="R"), Edit("2", "#b", "append", html="!")])
    assert r.body == b"R" and r.matches == {0: 1, 1: 0}
    r = rewrite(src, [Edit("1", "#a", "before", html="<i>"), Edit("2", "#a", "remove")])
    assert r.body == b"<i>" and r.matches == {0: 1, 1: 1}


def test_overlap_rules_match_in_fallback_path() -> None:
    src = b'<b><div id=a><p id=b>x</b>y</p></div>'  # adoption agency: not spliceable
    edits = [Edit("1", "#b", "append", html="!"), Edit("2", "#a", "replace", html="R")]
    r = rewrite(src, edits)
    assert r.method == "serialize" and r.matches == {0: 1, 1: 0} and r.fallback_reason


def test_limit_and_document_order() -> None:
    src = b"<ul><li>1<li>2<li>3</ul>"
    r = rewrite(src, [Edit("x", "li", "set-attribute", attributes={"class": "k"}, limit=2)])
    assert r.body == b'<ul><li class="k">1<li class="k">2<li>3</ul>' and r.matches == {0: 2}


def test_cache_hit_skips_parse_and_gives_same_bytes() -> None:
    clear_cache()
    edits = [Edit("r", "nav.category-nav ul", "reorder", order=["bags"], decision_id="d1")]
    first = rewrite(PAGE, edits)
    second = rewrite(bytes(bytearray(PAGE)), [Edit("r", "nav.category-nav ul", "reorder", order=["hats"], decision_id="d2")])
    assert not first.cached and second.cached and second.method == "splice"
    assert second.body == rewrite(PAGE, [Edit("r", "nav.category-nav ul", "reorder", order=["hats"], decision_id="d2")], cache=False).body


def test_kept_plan_follows_what_each_visitor_gets() -> None:
    """A page's kept plan and reordered content are per order, per decision and per chosen option."""
    clear_cache()
    page = bytes(bytearray(PAGE))

    def edits(order: list[str], size: str, decision: str | None) -> list[Edit]:
        return [Edit("r", "nav.category-nav ul", "reorder", order=order, decision_id=decision),
                Edit("s", "#size", "select-option", value=size, decision_id=decision)]

    visitors = [(["bags"], "42", "d1"), (["hats"], "42", "d2"), (["bags"], "41", None), (["hats"], "99", "d3"),
                (["bags"], "42", None)]
    for _ in range(2):
        for order, size, decision in visitors:
            kept = rewrite(page, edits(order, size, decision))
            fresh = rewrite(page, edits(order, size, decision), cache=False)
            assert kept.body == fresh.body and kept.matches == fresh.matches, (order, size, decision)
    assert rewrite(page, edits(["bags"], "42", "d1")).cached


def test_textarea_value_keeps_leading_newline() -> None:
    r = rewrite(b"<textarea>old</textarea>", [Edit("t", "textarea", "set-value", value="\nnew")])
    assert r.body == b"<textarea>\n\nnew</textarea>"


def test_fake_tags_in_attribute_values_fall_back_safely() -> None:
    src = b'<div data-tpl="<div class=t><!--">a</div><div class=t>b</div><!-- -->'
    r = rewrite(src, [Edit("t", "div.t", "replace", html="X")])
    assert r.matches == {0: 1}
    assert b"X" in r.body and b"<div class=t>b" not in r.body.replace(b'"<div class=t>', b"")


@pytest.mark.parametrize("fake", [b"", b'<div data-tpl="<div class=t><!--">a</div>'])  # splice, and the tree's fallback
def test_set_value_fills_fields_a_visitor_types_in_and_only_marks_radios_checkboxes_files_and_buttons(fake: bytes) -> None:
    """A radio's or a checkbox's value is the choice it stands for: a set-value on it changed what the form
    sends (a size radio labelled M sent L) instead of checking it. It is marked with the decision and
    counted, as a wrapper div is, and its value left as the store wrote it; fields a visitor types in are set."""
    untouched = ("radio", "checkbox", "CheckBox", "file", "image", "submit", "reset", "button")
    filled = ("text", "email", "hidden", "number", "", " radio")  # an unknown type (" radio") is a text field
    src = fake + b"<form>" + b"".join(
        f'<input type="{t}" name="f{i}" value="old">'.encode() for i, t in enumerate(untouched + filled)
    ) + b"<textarea>old</textarea></form>"
    r = rewrite(src, [Edit("v", "input, textarea", "set-value", value="new", decision_id="d1")], cache=False)
    assert r.method == ("splice" if not fake else "serialize")
    assert r.matches == {0: len(untouched) + len(filled) + 1}  # every element there: marked and counted
    assert r.body.count(b'data-sw-decision="d1"') == len(untouched) + len(filled) + 1
    assert r.body.count(b'value="old"') == len(untouched) and r.body.count(b'value="new"') == len(filled)
    for i, t in enumerate(untouched):
        assert f'type="{t}" name="f{i}" value="old"'.encode() in r.body
    assert b">new</textarea>" in r.body
    without = rewrite(src, [Edit("v", "input[type=radio]", "set-value", value="new")], cache=False)
    assert without.matches == {0: 0} and without.body is src  # no decision to mark: nothing at all


def test_the_tag_fills_the_fields_the_rewriter_fills() -> None:
    """tag.js (tag-only mode) matches an element against the rewriter's own list of typed fields."""
    from pathlib import Path

    from slotwise.html.targets import TYPED_FIELD_CSS

    tag = (Path(__file__).resolve().parents[2] / "slotwise" / "tag" / "tag.js").read_text()
    assert f"var TYPED = '{TYPED_FIELD_CSS}';" in tag and "el.matches(TYPED)" in tag
