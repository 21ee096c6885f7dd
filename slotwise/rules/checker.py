"""Small typed readers over YAML nodes that record issues instead of raising.

Every reader returns ``None`` (and records one located issue naming the bad
value) when a node is not what the schema wants, so one pass over a file
reports all of its errors at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Collection, Iterable, Mapping

from slotwise.rules.errors import Issue
from slotwise.rules.yaml_marks import MappingNode, Node, ScalarNode, SequenceNode, Source, construct, flatten_merges, kind_of


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Text:
    """A string from the file with the node (and file) it came from, for later errors."""

    value: str
    node: Node
    source: Source


@dataclass(frozen=True)
class Entry:
    """One key of a mapping: its name, key node and value node."""

    key: str
    key_node: Node
    node: Node


class AnyKey(tuple):  # type: ignore[type-arg]
    """An 'allowed keys' collection that allows every key (free-form mappings)."""

    def __contains__(self, key: object) -> bool:
        return True


class Checker:
    """Reads nodes of one source file, collecting issues."""

    def __init__(self, source: Source, issues: list[Issue], *, secrets: bool = True) -> None:
        self.source = source
        self.issues = issues
        self.secrets = secrets  # False: a command that never checks a signature (report, import, preview)

    def error(self, node: Node, message: str) -> None:
        self.issues.append(self.source.loc(node).issue(message))

    # -- containers ------------------------------------------------------
    def mapping(self, node: Node, allowed: Collection[str], what: str,
                elsewhere: Mapping[str, str] | None = None) -> dict[str, Entry] | None:
        """Keys of a mapping; unknown keys are reported with a suggestion, duplicates too; a key that belongs
        at another level (``elsewhere``: key -> where it goes, an example) says where."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping, got {kind_of(node)}")
            return None
        explicit = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        problem = flatten_merges(node)
        if problem:
            self.error(node, problem)
            return None
        out: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            key = construct(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, f"keys of {what} must be strings, got {kind_of(key_node)}")
                continue
            if key in out and id(out[key].key_node) not in explicit:
                if id(key_node) in explicit:  # an explicit key overrides one merged in with `<<:`
                    out[key] = Entry(key, key_node, value_node)
                continue
            if key in out:
                first = self.source.loc(out[key].key_node)
                self.error(key_node, f"duplicate key {key!r} in {what} (first at line {first.line})")
                continue
            if key not in allowed:
                there = (elsewhere or {}).get(key)
                self.error(key_node, f"unknown key {key!r} in {what}: {there}" if there else
                           f"unknown key {key!r} in {what}{did_you_mean(key, allowed)}")
                continue
            out[key] = Entry(key, key_node, value_node)
        return out

    def sequence(self, node: Node, what: str, *, single_ok: bool = False) -> list[Node] | None:
        """Items of a list; with ``single_ok`` a lone item counts as a list of one."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        if single_ok and not isinstance(node, MappingNode):
            return [node]
        self.error(node, f"{what} must be a list, got {kind_of(node)}")
        return None

    # -- scalars -----------------------------------------------------------
    def scalar(self, node: Node) -> object:
        return construct(node) if isinstance(node, ScalarNode) else node

    def text(self, node: Node, what: str, *, empty_ok: bool = False) -> Text | None:
        value = self.scalar(node)
        if not isinstance(value, str):
            hint = " (YAML reads yes/no/on/off/true/false as booleans: quote it)" if isinstance(value, bool) else ""
            self.error(node, f"{what} must be a string, got {kind_of(node)}{hint}")
            return None
        if not empty_ok and not value.strip():
            self.error(node, f"{what} must not be empty")
            return None
        return Text(value, node, self.source)

    def boolean(self, node: Node, what: str) -> bool | None:
        value = self.scalar(node)
        if not isinstance(value, bool):
            self.error(node, f"{what} must be true or false, got {kind_of(node)}")
            return None
        return value

    def integer(self, node: Node, what: str, *, minimum: int, maximum: int) -> int | None:
        value = self.scalar(node)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.error(node, f"{what} must be a whole number from {minimum} to {maximum}, got {kind_of(node)}")
            return None
        return value

    def choice(self, node: Node, choices: Collection[str], what: str) -> str | None:
        value = self.scalar(node)
        if isinstance(value, str) and value in choices:
            return value
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        self.error(node, f"{what} must be one of {', '.join(choices)}, got {kind_of(node)}{hint}")
        return None

    def texts(self, node: Node, what: str) -> list[Text] | None:
        """A string or a list of strings."""
        items = self.sequence(node, what, single_ok=True)
        if items is None:
            return None
        if not items:
            self.error(node, f"{what} must not be an empty list")
            return None
        out = [self.text(item, what) for item in items]
        return None if any(t is None for t in out) else [t for t in out if t is not None]
