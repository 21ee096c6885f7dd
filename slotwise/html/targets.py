"""What an edit needs to know about each matched element, as plain data.

A :class:`Target` is built once from the Lexbor tree. In the splice path its
``ref``\\s are byte spans (so targets can be cached per page and reused
without a parse); in the fallback path they are the Lexbor nodes themselves.
Either way the same rules decide whether an edit applies, so both paths
report the same match counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborNode

from .edits import Edit
from .locate import LocateError, Locator, element_children, tag_of
from .scan import RAW_TEXT, VOID

_WS = re.compile(r"[\t\n\f\r ]+")
_CSS_IDENT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class Child:
    """A reorderable element child: its key and where it is."""

    key: str | None
    ref: Any  # (start, end) or LexborNode


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    disabled: bool
    selected: bool
    ref: Any  # (start, tag_end) or LexborNode


@dataclass(frozen=True, slots=True)
class Target:
    ref: Any  # Span or LexborNode
    tag: str
    kind: str  # "normal" | "void" | "raw" | "empty"
    parent_tag: str  # parsing context for fragments inserted next to it
    children: tuple[Child, ...] = ()
    options: tuple[Option, ...] = ()


def _kind(node: LexborNode, tag: str) -> str:
    if tag in VOID:
        return "void"
    if tag in RAW_TEXT:
        return "raw"
    return "normal"


def child_key(child: LexborNode, key: str) -> str | None:
    """The child's key: its own ``key`` attribute or, failing that, its first descendant's."""
    value = child.attributes.get(key)
    if value is not None:
        return value
    sel = "[" + _CSS_IDENT_UNSAFE.sub(lambda m: "\\" + m.group(0), key) + "]"
    try:
        found = child.css_first(sel)
    except Exception:  # an attribute name Lexbor cannot select on: no key
        return None
    if found is None:
        return None
    return found.attributes.get(key)


def option_value(option: LexborNode) -> str:
    attrs = option.attributes
    if "value" in attrs:
        return attrs["value"] or ""
    return _WS.sub(" ", option.text(deep=True)).strip("\t\n\f\r ")


def _options(select: LexborNode, locator: Locator | None) -> tuple[Option, ...]:
    out = []
    for opt in select.css("option"):
        attrs = opt.attributes
        parent = opt.parent
        disabled = "disabled" in attrs or (
            parent is not None and tag_of(parent) == "optgroup" and "disabled" in parent.attributes
        )
        if locator is None:
            ref: Any = opt
        else:
            start = locator.start_of(opt)
            ref = (start, locator.tag_end(start))
        out.append(Option(option_value(opt), disabled, "selected" in attrs, ref))
    return tuple(out)


def needs_options(edit: Edit, tag: str) -> bool:
    return tag == "select" and edit.action in ("select-option", "set-value")


def build(node: LexborNode, edit: Edit, locator: Locator | None) -> Target:
    """Describe ``node`` for ``edit``; with a locator, refs are verified byte spans.

    Raises :class:`~.locate.LocateError` when the bytes cannot be mapped.
    """
    tag = tag_of(node)
    parent = node.parent
    parent_tag = tag_of(parent) if parent is not None and parent.is_element_node else "body"
    if locator is None:
        ref: Any = node
        kind = _kind(node, tag)
    else:
        ref = locator.span(node)
        kind = ref.kind
    children: tuple[Child, ...] = ()
    options: tuple[Option, ...] = ()
    if edit.action == "reorder" and kind == "normal":
        kids = element_children(node)
        refs: list[Any] = kids if locator is None else locator.children(node, ref)
        children = tuple(Child(child_key(k, edit.key), r) for k, r in zip(kids, refs))
        if locator is not None:
            _check_children(ref, children)
    elif needs_options(edit, tag):
        options = _options(node, locator)
    return Target(ref, tag, kind, parent_tag, children, options)


def _check_children(span: Any, children: tuple[Child, ...]) -> None:
    pos = span.tag_end
    for c in children:
        start, end = c.ref
        if start < pos or end < start:
            raise LocateError("children overlap or are out of order")
        pos = end
    if pos > span.content_end:
        raise LocateError("children extend past their parent")


def chosen_option(target: Target, value: str) -> int | None:
    """Index of the enabled option whose value is ``value`` (first one), else None."""
    for i, opt in enumerate(target.options):
        if opt.value == value:
            return None if opt.disabled else i
    return None


def applies(edit: Edit, target: Target) -> bool:
    """Whether ``edit`` can act on ``target`` at all (else it counts 0 and changes nothing)."""
    a = edit.action
    if target.tag == "html" and a in ("replace", "remove", "before", "after"):
        return False  # the document element stays (Lexbor refuses it, browsers would re-create it)
    if a in ("append", "prepend", "reorder"):
        return target.kind == "normal"
    if a == "select-option":
        return target.tag == "select" and chosen_option(target, edit.value) is not None
    if a == "set-value":
        if target.tag == "select":
            return chosen_option(target, edit.value) is not None
        return target.tag in ("input", "textarea")
    return True
