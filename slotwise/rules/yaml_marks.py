"""YAML with places: compose (not load) so every value keeps its line and column.

Validation walks PyYAML's node graph instead of plain dicts, so each error
can name ``file:line:column`` of the exact key or value at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from slotwise.rules.errors import Issue
from slotwise.rules.scalar_places import offset_place, value_offsets

__all__ = ["Loc", "Source", "MappingNode", "Node", "ScalarNode", "SequenceNode", "compose", "construct", "kind_of"]


@dataclass(frozen=True)
class Loc:
    """A 1-based place in a file."""

    file: str
    line: int
    column: int

    def issue(self, message: str) -> Issue:
        return Issue(self.file, self.line, self.column, message)


class Source:
    """One YAML file: its display name (as errors show it) and its text."""

    def __init__(self, display: str, text: str) -> None:
        self.display = display
        self.text = text

    def loc(self, node: Node) -> Loc:
        mark = node.start_mark
        return Loc(self.display, mark.line + 1, mark.column + 1)

    def text_loc(self, node: Node, text_line: int, text_column: int | None = None) -> Loc:
        """Where line ``text_line`` (1-based) of a scalar's text sits in the file, at ``text_column``
        of that line when given, else at its first character that is not a space (``scalar_places``
        follows the text through YAML's indentation, folding and quoting). Without a column, line 1
        of a quoted or plain scalar is the scalar itself, its opening quote included."""
        if not isinstance(node, ScalarNode) or (text_column is None and text_line <= 1
                                                 and node.style not in ("|", ">")):
            return self.loc(node)
        lines = node.value.split("\n")
        index = min(max(text_line, 1), len(lines)) - 1
        line = lines[index]
        column = len(line) - len(line.lstrip(" ")) if text_column is None else min(max(text_column - 1, 0), len(line))
        offset = value_offsets(self.text, node)[sum(len(s) + 1 for s in lines[:index]) + column]
        return Loc(self.display, *offset_place(self.text, offset))


# PyYAML's words for the usual slips, and how to fix each: (a part of the problem, of the context
# or "", whether to point at where the construct began rather than where the parser gave up, the hint)
_HINTS: tuple[tuple[str, str, bool, str], ...] = (
    ("'\\t'", "", False, "a tab: YAML indents with spaces only, replace it with spaces"),
    ("that cannot start any token", "", False, "a value that starts with @, ` or % needs quotes"),
    ("", "while scanning an alias", False, "a value that starts with * or & needs quotes"),
    ("", "while scanning a quoted scalar", True, "the quote opened here is never closed"),
    ("could not find expected ':'", "", True, "a key without ':' (write 'key: value'), or a quote left open"),
    ("mapping values are not allowed here", "", False,
     "a ': ' inside a value: put the whole value in quotes, or check the indentation"),
    ("", "while parsing a flow", True, "a [ or { opened here is not closed, or a value inside it needs quotes"),
    ("expected <block end>, but found '<scalar>'", "", False,
     "text after a closing quote: a value that starts with a quote must end with it, so quote the whole "
     "value (when: \"'a' in b\"), or a quote was left open on an earlier line"),
    ("expected <block end>", "", False,
     "check this line's indentation against the lines above (a slot's keys line up, a list item "
     "starts with '- '), or a quote left open before it"),
)


def _syntax_issue(display: str, exc: yaml.MarkedYAMLError) -> Issue:
    """PyYAML's problem, located, with how to fix it when it is one of the usual slips."""
    problem = exc.problem or exc.context or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    for part, context, at_start, hint in _HINTS:
        if part in problem and context in (exc.context or ""):
            if at_start and exc.context_mark is not None:
                mark = exc.context_mark
            problem = f"{problem}; {hint}"
            break
    else:
        problem = f"{problem}; check this line and the one above: indentation, quotes, brackets"
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Issue(display, line, column, f"YAML syntax error: {problem}")


_MERGE = "tag:yaml.org,2002:merge"  # the ``<<`` key: flattened, never constructed


def _unreadable(source: Source, root: Node) -> list[Issue]:
    """Values YAML parses but cannot turn into data: a tag (``html: !Sale now``, ``!!! Big sale``)
    or a date that is no date (``2026-02-30``). Found here, located, rather than raised later."""
    issues: list[Issue] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:  # an alias may point back at its own ancestor
            continue
        seen.add(id(node))
        if node.tag == _MERGE:
            continue
        if node.tag not in SafeConstructor.yaml_constructors:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!", 1)  # as written
            issues.append(source.loc(node).issue(f"unknown YAML tag {tag!r}: a value that starts with ! needs quotes"))
            continue
        if isinstance(node, ScalarNode):
            try:
                construct(node)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
                reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else str(exc)
                issues.append(source.loc(node).issue(
                    f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]} ({reason}): "
                    "put it in quotes to keep it as text"))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, MappingNode):
            stack.extend(part for pair in node.value for part in pair)
    return issues


_FAST_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it (the wheels are): ~9× faster than the pure-Python one,
which took 0.66 s of a 1,000-slot file's 1.6 s load on every worker, reload and ``rules check``. Its nodes
carry the same marks (character index, line, column); a plain scalar's ``style`` is '' instead of None."""

_PURE_PYTHON_ONLY = re.compile(r"[\t\x85\u2028\u2029]|(?:^|[\s\[{,])[!?]|[|>][-+0-9]*#|^(?:---|\.\.\.)|[\[{][^\n]*\?",
                               re.MULTILINE)
"""What the two parsers read differently (found by comparing them on random text,
``tests/rules/test_yaml_fast_loader.py``): libyaml takes a tab after ``:``, ``|#``, a ``?`` inside a flow
collection, where the pure-Python parser refuses them (with our hint for the tab); a lone ``!`` tag gives
'' instead of null; ``?`` keys and document markers get other marks. A file with any of these, or with
NEL or Unicode line separators, is read by the pure-Python parser: the same results as ever."""


def _loader_for(text: str) -> type:
    return yaml.SafeLoader if _PURE_PYTHON_ONLY.search(text) else _FAST_LOADER


def compose(source: Source, text: str) -> tuple[Node | None, list[Issue]]:
    """Parse YAML text into a node graph; a syntax error becomes one located issue."""
    try:
        root = yaml.compose(text, Loader=_loader_for(text))
    except yaml.YAMLError:
        # a file that does not parse is read again by the pure-Python parser: its messages and marks are
        # the ones ``_HINTS`` knows (libyaml words some differently), and a broken file is not a hot path
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            return None, [_syntax_issue(source.display, exc)]
        except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
            return None, [Issue(source.display, 1, 1, f"YAML error: {exc}")]
    issues = _unreadable(source, root) if root is not None else []
    return (None if issues else root), issues


def construct(node: Node) -> Any:
    """The plain Python value of a node (str, int, float, bool, None, list, dict)."""
    return SafeConstructor().construct_object(node, deep=True)


def flatten_merges(node: MappingNode) -> str | None:
    """Apply ``<<:`` merge keys in place; returns an error message if they are malformed."""
    try:
        SafeConstructor().flatten_mapping(node)
    except ConstructorError as exc:
        return f"invalid merge key: {exc.problem}"
    return None


def kind_of(node: Node) -> str:
    """A human name for what a node holds, for 'expected X, got Y' messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = construct(node)
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    return type(value).__name__
