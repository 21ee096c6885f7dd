"""The rules' YAML is composed by libyaml (``yaml_marks._FAST_LOADER``) for speed: it must give the
pure-Python parser's node graph, marks included (every error names file:line:column from them), and
accept nothing the pure-Python parser refuses (a broken file is re-read by it for its messages)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, Node, ScalarNode

from slotwise.rules.yaml_marks import _FAST_LOADER, Source, _loader_for, compose


def shape(node: Node, in_flow: bool = False) -> Any:
    """Everything of a node the rules read: kind, tag, value, style (plain as None), where it starts, and
    where a scalar ends (``scalar_places`` walks its text; a collection's end is never read: libyaml ends
    one at the next line's start where the file has no last line break). An empty value in a flow
    collection (``{b: }``) is placed at the next token by libyaml, a few characters on: not compared."""
    marks: tuple[int, ...] = (node.start_mark.index, node.start_mark.line, node.start_mark.column)
    if isinstance(node, ScalarNode):
        if in_flow and node.value == "" and not node.style:
            marks = ()
        return ("scalar", node.tag, node.value, node.style or None, marks + (node.end_mark.index,) if marks else ())
    flow = in_flow or bool(node.flow_style)
    if isinstance(node, MappingNode):
        return ("map", node.tag, marks, [(shape(k, flow), shape(v, flow)) for k, v in node.value])
    return ("seq", node.tag, marks, [shape(v, flow) for v in node.value])


def parsed(text: str, loader: type) -> Any:
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        return "refused"
    return None if node is None else shape(node)


def both(text: str) -> tuple[Any, Any]:
    """What the pure-Python parser reads, and what the parser ``compose`` picks for this text reads."""
    return parsed(text, yaml.SafeLoader), parsed(text, _loader_for(text))


def test_libyaml_is_the_parser_where_pyyaml_has_it() -> None:
    assert _FAST_LOADER is yaml.CSafeLoader  # the pinned PyYAML wheels are built with libyaml


RULE_TEXT = ("slots:\n  - id: hé-1  # 日本\n    html: |\n      <p>{{ visitor.visits }} 🎉</p>\n"
             "      <b>x</b>\n    when: \"page.category == 'schuhe' and \\u00e9\"\n"
             "    variants: [{id: a, weight: 2}, {id: 'b''s'}]\n    folded: >\n      one\n\n      two\n")


def test_a_rules_file_with_every_scalar_style_and_wide_characters_composes_the_same() -> None:
    assert _loader_for(RULE_TEXT) is _FAST_LOADER
    python, fast = both(RULE_TEXT)
    assert python != "refused" and python == fast
    assert both(RULE_TEXT.replace("\n", "\r\n")) == (parsed(RULE_TEXT.replace("\n", "\r\n"), yaml.SafeLoader),) * 2


def test_what_libyaml_reads_differently_goes_to_the_pure_python_parser() -> None:
    assert parsed("a:\tb", _FAST_LOADER) != "refused"  # libyaml takes the tab; we must not
    for text in ("a:\tb", "a: !\n", "a: |#c\n  x\n", "? a\n: b", "x: [b?\"]", "a: b\u2028c: d"):
        assert _loader_for(text) is yaml.SafeLoader, text
    root, issues = compose(Source("rules.yaml", "a:\tb"), "a:\tb")
    assert root is None and "a tab: YAML indents with spaces only" in issues[0].message


def test_a_broken_file_gets_the_pure_python_parsers_message_and_place() -> None:
    text = "slots:\n  - id: a\n    html: \"<p>open\n  - id: b\n"
    root, issues = compose(Source("rules.yaml", text), text)
    assert root is None and len(issues) == 1
    assert (issues[0].line, issues[0].column) == (3, 11)  # where the quote opened (a _HINTS rule)
    assert "the quote opened here is never closed" in issues[0].message


scalars = st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
data = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data, st.sampled_from([None, '"', "'", "|", ">"]), st.sampled_from([False, True, None]),
       st.booleans())
def test_any_dumped_document_composes_the_same(value: Any, style: str | None, flow: bool | None,
                                                  unicode: bool) -> None:
    text = yaml.safe_dump(value, default_style=style, default_flow_style=flow, allow_unicode=unicode)
    python, fast = both(text)
    assert python == fast


yaml_ish = st.text(alphabet=st.sampled_from(list("ab: -\n\r\t'\"|>#[]{},&*!?%@`.é日\u2028\x85")), max_size=60)


@settings(max_examples=2000, deadline=None)
@given(yaml_ish)
def test_whatever_the_chosen_parser_accepts_the_pure_python_parser_reads_the_same(text: str) -> None:
    python, chosen = both(text)
    if chosen != "refused":  # a refusal is read again by the pure-Python parser (its message)
        assert python == chosen
