"""YAML with places: compose (not load) so every value keeps its line and column.

Validation walks PyYAML's node graph instead of plain dicts, so each error
can name ``file:line:column`` of the exact key or value at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from slotwise.rules.errors import Issue

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
        self.lines = text.splitlines()

    def loc(self, node: Node) -> Loc:
        mark = node.start_mark
        return Loc(self.display, mark.line + 1, mark.column + 1)

    def text_loc(self, node: Node, text_line: int) -> Loc:
        """Where line ``text_line`` (1-based) of a scalar's text sits in the file.

        Block scalars (``|``, ``>``) start on the line after their indicator;
        the column is that line's indentation. Flow scalars are one line in
        practice, so errors point at the scalar itself.
        """
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            index = node.start_mark.line + text_line  # 0-based line in the file
            column = 1
            if 0 <= index < len(self.lines):
                text = self.lines[index]
                column = len(text) - len(text.lstrip(" ")) + 1
            return Loc(self.display, index + 1, column)
        base = self.loc(node)
        return Loc(base.file, base.line + max(text_line - 1, 0), base.column)


def compose(source: Source, text: str) -> tuple[Node | None, list[Issue]]:
    """Parse YAML text into a node graph; a syntax error becomes one located issue."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        return None, [Issue(source.display, line, column, f"YAML syntax error: {problem}")]
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        return None, [Issue(source.display, 1, 1, f"YAML error: {exc}")]


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
