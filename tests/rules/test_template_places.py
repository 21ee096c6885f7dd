"""A template's syntax error lands on the rules file's line and column of the token at fault,
whichever way the YAML writes the template (``|``, ``>``, quoted, plain) or in a template file.

Properties over the mapping from a value's characters to the file's (``scalar_places``), and
over whole rules files loaded by the real loader with a broken tag somewhere in a template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slotwise.rules import RulesError, load_rules
from slotwise.rules.scalar_places import value_offsets

STYLES = ["|", ">", "'", '"', None]  # None: plain, as PyYAML writes it when it can

# characters a marketer's HTML has, and YAML's troublemakers: quotes, ': ', ' #', backslashes, tabs
text_chars = st.sampled_from(list("abcXYZ019 <>/=-_.,!?&;{}%()[]'\"#:\\\t") + ["é", "€", "→"])
word_chars = st.sampled_from(list("abcXYZ019<>/=-_.,!?&;{}%()[]") + ["é", "€"])  # words YAML can write plain
lines = st.lists(st.text(text_chars, max_size=30), min_size=1, max_size=6)


def _dump(value: str, style: str | None, width: int) -> str:
    return yaml.dump({"slots": [{"id": "a", "html": value}]}, default_style=style, width=width,
                     allow_unicode=True, sort_keys=False)


def _html_node(text: str) -> yaml.ScalarNode:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    slot = root.value[0][1].value[0]
    return next(v for k, v in slot.value if k.value == "html")


def _check_mapping(value: str, style: str | None, width: int) -> None:
    """Each value character lands on itself in the file — or, where YAML made it, on the line break
    it folded into a space or kept, or on the backslash of the escape that wrote it."""
    text = _dump(value, style, width)
    node = _html_node(text)
    assert node.value == value
    event(f"written {node.style or 'plain'}{' over several lines' if node.end_mark.line > node.start_mark.line else ''}")
    offsets = value_offsets(text, node)
    assert len(offsets) == len(value) + 1
    assert offsets == sorted(offsets) and len(set(offsets[:-1])) == len(value)
    for ch, offset in zip(value, offsets):
        got = text[offset]
        assert got == ch or (ch in " \n" and got == "\n") or (node.style == '"' and got == "\\"), (
            ch, got, offset, node.style, text)


@settings(max_examples=300, deadline=None)
@given(lines=lines, style=st.sampled_from(STYLES), width=st.integers(20, 80), indent_first=st.booleans())
def test_every_character_of_a_value_maps_to_the_file_character_it_came_from(
        lines: list[str], style: str | None, width: int, indent_first: bool) -> None:
    _check_mapping(("  " if indent_first and style else "") + "\n".join(lines), style, width)


@settings(max_examples=100, deadline=None)
@given(words=st.lists(st.text(word_chars, min_size=1, max_size=12), min_size=2, max_size=25),
       width=st.integers(20, 60))
def test_a_long_plain_value_folded_over_lines_maps_back_too(words: list[str], width: int) -> None:
    _check_mapping(" ".join(["a", *words, "a"]), None, width)


@pytest.mark.parametrize("yaml_text, line_starts", [
    # as marketers write them: the file line each template line starts on
    ("html: |\n  <p>a</p>\n    <b>{{ x }}</b>\n\n  <i>z</i>\n", [2, 3, 4, 5]),
    ("html: |-  # a comment with <p> in it\n    <p>a</p>\n    <b>b</b>\n", [2, 3]),
    ("html: >\n  <p>a</p>\n  <b>b</b>\n\n  <i>c</i>\n", [2, 5]),
    ("html: \"<p>a</p>\n\n  <b>b</b>\"\n", [1, 3]),
    ("html: '<p>it''s</p>\n\n  <b>b</b>'\n", [1, 3]),
    ("html: <p>a</p>\n  more words\n\n  <b>b</b>\n", [1, 4]),
    ("html: \"<p>a</p>\\n<b>b</b>\"\n", [1, 1]),  # an escaped \n: a new template line, the same file line
])
def test_template_lines_start_on_the_file_lines_they_were_written_on(yaml_text: str, line_starts: list[int]) -> None:
    root = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    node = root.value[0][1]
    offsets = value_offsets(yaml_text, node)
    starts, at = [], 0
    for line in node.value.split("\n")[:len(line_starts)]:
        first = at + len(line) - len(line.lstrip(" "))
        starts.append(yaml_text.count("\n", 0, offsets[first]) + 1)
        at += len(line) + 1
    assert starts == line_starts


BROKEN = [  # a broken tag, what the error must point at, and whether it leaves the rest of the text inside it
    ("{% endfor %}", "endfor", False),  # a tag closing nothing
    ("{{ visitor.visits + }}", "}}", False),  # an operand missing
    ("{{ visitor.visits ) }}", ")", False),  # a bracket never opened (the lexer's own error)
    ("{% if visitor.has_cart %}", "{% if", False),  # a block never closed: where it opens
    ("{{ visitor.visits", "{{", True),  # a tag never closed
    ("{{ visitor.recent_categories[0", "[", True),  # a bracket never closed
    ("{# a note", "{#", True),  # a comment never closed
    ("{{ visitor.visits @ 2 }}", "@", False),  # a character Jinja does not know
]
OK_TAGS = ["{{ visitor.visits }}", "{% if visitor.has_cart %}<b>cart</b>{% endif %}", "<p>Hello</p>", "{# ok #}"]


def _slot_yaml(template: str, style: str | None, width: int) -> str:
    slot = {"id": "banner", "pages": "/", "selector": ".hero", "action": "replace", "html": template}
    return yaml.dump({"slots": [slot]}, default_style=style, width=width, allow_unicode=True, sort_keys=False)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(before=st.lists(st.sampled_from(OK_TAGS), max_size=6), after=st.lists(st.sampled_from(OK_TAGS), max_size=3),
       broken=st.sampled_from(BROKEN), breaks=st.lists(st.booleans(), min_size=10, max_size=10),
       style=st.sampled_from(STYLES), width=st.integers(30, 100))
def test_a_broken_tag_is_reported_where_it_is_in_the_rules_file(
        tmp_path: Path, before: list[str], after: list[str], broken: tuple[str, str, bool], breaks: list[bool],
        style: str | None, width: int) -> None:
    snippet, at, swallows = broken
    if swallows:  # the rest would be read inside it: it ends the template
        after = []
    parts = [*before, snippet, *after]
    template = "".join(p + ("\n" if b else " ") for p, b in zip(parts, breaks + [False] * len(parts)))
    text = _slot_yaml(template.rstrip(), style, width)
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(rules)
    (issue,) = info.value.issues
    assert issue.message.startswith("template syntax error: ")
    assert not re.search(r" at \d+", issue.message)  # Jinja's offset into the template: the column says where
    line = text.splitlines()[issue.line - 1]
    assert line[issue.column - 1:].startswith(at), (issue, line, text)


def test_a_template_files_syntax_error_names_its_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "banner.html").write_text("<section>\n  <p>{{ visitor.visits }}</p> <p>{{ 1 + }}</p>\n</section>\n",
                                          encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("slots:\n  - id: banner\n    pages: /\n    selector: .hero\n    action: replace\n"
                     "    template: banner.html\n", encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(rules)
    (issue,) = info.value.issues
    assert (Path(issue.file).name, issue.line, issue.column) == ("banner.html", 2, 41)
    assert issue.message.startswith("template syntax error: unexpected")


@pytest.mark.parametrize("when, at", [
    ("when: visitor.visits > 1 and (visitor.has_cart", "("),
    ("when: \"visitor.visits > 1 and\"", "and"),
    ("when: >\n      visitor.visits > 1\n      and visitor.visits <", "<"),
    ("when: 'visitor.visits > 1 visitor.has_cart'", "visitor.has_cart'"),
])
def test_an_expressions_syntax_error_points_at_the_token(tmp_path: Path, when: str, at: str) -> None:
    rules = tmp_path / "rules.yaml"
    text = f"slots:\n  - id: banner\n    pages: /\n    selector: .hero\n    action: remove\n    {when}\n"
    rules.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(rules)
    (issue,) = info.value.issues
    assert issue.message.startswith("syntax error in expression")
    assert text.splitlines()[issue.line - 1][issue.column - 1:].startswith(at), issue


jinja_bits = st.sampled_from(["{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "(", ")", "[", "]", "'", '"', " ", "\n",
                              "if", "endif", "for", "x", "in", "raw", "endraw", "+", "@", "|", "1", "<p>", "\r\n"])


@settings(max_examples=400, deadline=None)
@given(bits=st.lists(jinja_bits, max_size=25), expression=st.booleans())
def test_any_broken_text_gets_a_place_inside_it(bits: list[str], expression: bool) -> None:
    """Whatever a marketer types, placing its syntax error never fails and lands inside the text."""
    from slotwise.rules.expressions import HTML_ENV, compile_expression, template_problems

    source = "".join(bits)
    problems = (compile_expression(source, ["x"])[1] if expression
                else template_problems(HTML_ENV, source, ["x"])[1])
    lines = source.replace("\r\n", "\n").split("\n")
    for problem in problems:
        if problem.column is not None:
            assert 1 <= problem.line <= len(lines)
            assert 1 <= problem.column <= len(lines[problem.line - 1]) + 1, (problem, source)
