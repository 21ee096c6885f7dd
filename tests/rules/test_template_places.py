"""A template's syntax error lands on the rules file's line and column of the token at fault,
whichever way the YAML writes the template (``|``, ``>``, quoted, plain) or in a template file.

Properties over the mapping from a value's characters to the file's (``scalar_places``), and
over whole rules files loaded by the real loader with a broken tag somewhere in a template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from slotwise.rules import RulesError, load_rules
from slotwise.rules.errors import Issue
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


RULES_FILES = settings(max_examples=120, deadline=None,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
AROUND = {  # the template around the tag under test, and how the YAML writes it
    "before": st.lists(st.sampled_from(OK_TAGS), max_size=6), "after": st.lists(st.sampled_from(OK_TAGS), max_size=3),
    "breaks": st.lists(st.booleans(), min_size=10, max_size=10), "style": st.sampled_from(STYLES),
    "width": st.integers(30, 100),
}


def _slot_yaml(template: str, style: str | None, width: int) -> str:
    slot = {"id": "banner", "pages": "/", "selector": ".hero", "action": "replace", "html": template}
    return yaml.dump({"slots": [slot]}, default_style=style, width=width, allow_unicode=True, sort_keys=False)


def _template_yaml(parts: list[str], breaks: list[bool], style: str | None, width: int) -> str:
    """A slot whose template is ``parts``, each followed by a line break or a space."""
    template = "".join(p + ("\n" if b else " ") for p, b in zip(parts, breaks + [False] * len(parts)))
    return _slot_yaml(template.rstrip(), style, width)


def _only_issue(rules: Path, text: str) -> Issue:
    """The one problem loading ``text`` as the rules file ``rules`` finds."""
    rules.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(rules)
    (issue,) = info.value.issues
    return issue


def _pointed_at(issue: Issue, text: str) -> str:
    """What the issue points at: the rest of the line from its column on, and the lines after it as a folded
    scalar reads them (a tag the emitter folded, ``{%`` at a line's end and ``if`` on the next, is one tag);
    in a double-quoted scalar a ``\\`` at a line's end joins the next line without a space, and ``\\ `` is a
    space (the emitter folds ``{%\\`` / ``\\ if``: the templates here have no backslash of their own)."""
    lines = text.splitlines()
    rest = [lines[issue.line - 1][issue.column - 1:], *(line.strip() for line in lines[issue.line:])]
    joined = rest[0]
    for line in rest[1:]:
        joined = joined[:-1] + line if joined.endswith("\\") else f"{joined} {line}"
    return re.sub(r"\s+", " ", joined.replace("\\ ", " "))


@RULES_FILES
@given(broken=st.sampled_from(BROKEN), **AROUND)
@example(broken=("{% if visitor.has_cart %}", "{% if", False),  # the emitter folds the tag after its "{%"
         before=["{{ visitor.visits }}", "{% if visitor.has_cart %}<b>cart</b>{% endif %}"], after=[],
         breaks=[True] + [False] * 9, style=">", width=51)
@example(broken=("{% if visitor.has_cart %}", "{% if", False),  # double-quoted: folded as "{%\\" and "\\ if"
         before=["{{ visitor.visits }}"], after=[], breaks=[False] * 10, style='"', width=31)
def test_a_broken_tag_is_reported_where_it_is_in_the_rules_file(
        tmp_path: Path, before: list[str], after: list[str], broken: tuple[str, str, bool], breaks: list[bool],
        style: str | None, width: int) -> None:
    snippet, at, swallows = broken
    if swallows:  # the rest would be read inside it: it ends the template
        after = []
    text = _template_yaml([*before, snippet, *after], breaks, style, width)
    issue = _only_issue(tmp_path / "rules.yaml", text)
    assert issue.message.startswith("template syntax error: ")
    assert not re.search(r" at \d+", issue.message)  # Jinja's offset into the template: the column says where
    assert _pointed_at(issue, text).startswith(at), (issue, text)


def _template_file_issue(tmp_path: Path, snippet: str) -> Issue:
    """The one problem of a slot whose variant's template file has ``snippet`` on its line 2."""
    (tmp_path / "banner.html").write_text(f"<section>\n  <p>{{{{ visitor.visits }}}}</p> <p>{snippet}</p>\n</section>\n",
                                          encoding="utf-8")
    return _only_issue(tmp_path / "rules.yaml", "slots:\n  - id: banner\n    pages: /\n    selector: .hero\n"
                       "    action: replace\n    variants:\n      - {id: a, template: banner.html, vars: {title: Hi}}\n")


def test_a_template_files_syntax_error_names_its_line_and_column(tmp_path: Path) -> None:
    issue = _template_file_issue(tmp_path, "{{ 1 + }}")
    assert (Path(issue.file).name, issue.line, issue.column) == ("banner.html", 2, 41)
    assert issue.message.startswith("template syntax error: unexpected")


@pytest.mark.parametrize("when, at, says", [
    ("when: visitor.visits > 1 and (visitor.has_cart", "(", "syntax error in expression"),
    ("when: \"visitor.visits > 1 and\"", "and", "syntax error in expression"),
    ("when: >\n      visitor.visits > 1\n      and visitor.visits <", "<", "syntax error in expression"),
    ("when: 'visitor.visits > 1 visitor.has_cart'", "visitor.has_cart'", "syntax error in expression"),
    # what parses but names what is not there: at it too, not at the value's opening quote
    ("when: \"visitor.visits > 1 and vistor.has_cart\"", "vistor", "unknown name 'vistor'"),
    ("when: 'visitor.visits > 1 and visitor.hascart'", "visitor.hascart", "unknown fact 'visitor.hascart'"),
    ("when: >\n      visitor.visits > 1\n      and visitor.visits | lenght", "lenght", "No filter named 'lenght'"),
])
def test_an_expressions_error_points_at_the_token(tmp_path: Path, when: str, at: str, says: str) -> None:
    text = f"slots:\n  - id: banner\n    pages: /\n    selector: .hero\n    action: remove\n    {when}\n"
    issue = _only_issue(tmp_path / "rules.yaml", text)
    assert says in issue.message
    assert _pointed_at(issue, text).startswith(at), issue


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


UNKNOWN = [  # a tag that parses but names what is not there, what the error must point at, and its words
    ("{{ vistor.name }}", "vistor", "unknown name 'vistor'"),
    ("{{ visitor.recnt_categories }}", "visitor.recnt_categories", "unknown fact 'visitor.recnt_categories'"),
    ("{{ visitor.visits | lenght }}", "lenght", "No filter named 'lenght'"),  # Jinja's compile stops on it
    ("{% if visitor.has_cart %}{{ 1 | lenght }}{% endif %}", "lenght", "No filter named 'lenght'"),  # it does not
    ("{% if request.device == 'phone' %}x{% endif %}", "request.device", "request.device is never 'phone'"),
]


@RULES_FILES
@given(unknown=st.sampled_from(UNKNOWN), **AROUND)
def test_an_unknown_name_fact_or_filter_is_reported_where_it_is_in_the_rules_file(
        tmp_path: Path, before: list[str], after: list[str], unknown: tuple[str, str, str], breaks: list[bool],
        style: str | None, width: int) -> None:
    """As a syntax error: on the file's line and column of the name, not at the value's first
    character (a one-line quoted value: its opening quote)."""
    snippet, at, says = unknown
    text = _template_yaml([*before, snippet, *after], breaks, style, width)
    issue = _only_issue(tmp_path / "rules.yaml", text)
    assert says in issue.message
    assert _pointed_at(issue, text).startswith(at), (issue, text)


@pytest.mark.parametrize("snippet, at, says", [
    *UNKNOWN, ("{{ vars.titel }}", "vars.titel", "unknown var 'titel'"),
])
def test_a_template_files_unknown_name_fact_or_filter_names_its_line_and_column(
        tmp_path: Path, snippet: str, at: str, says: str) -> None:
    issue = _template_file_issue(tmp_path, snippet)
    assert (Path(issue.file).name, issue.line) == ("banner.html", 2) and says in issue.message
    assert _pointed_at(issue, (tmp_path / "banner.html").read_text(encoding="utf-8")).startswith(at), issue

