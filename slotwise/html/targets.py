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
from typing import Any, Sequence

from selectolax.lexbor import LexborNode

from slotwise.keys import label_key

from .edits import Edit, ItemKey
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
    tag: str = "option"  # option, or what the rules' ``items`` picks (input, a, li...)


NOT_TYPED_INPUTS = ("radio", "checkbox", "file", "image", "submit", "reset", "button")
"""``<input>`` types whose value is not what a visitor types: a radio's or a checkbox's value is the choice it
stands for (a ``set-value`` would change what the form sends, not which one is checked: ``select-option`` with
``items`` chooses among them), a file's cannot be set, a button's is its caption."""

TYPED_FIELD_CSS = "textarea, input" + "".join(f":not([type={t} i])" for t in NOT_TYPED_INPUTS)
"""The elements ``set-value`` fills, as CSS (tag.js matches the element against this very string)."""


def is_typed_field(tag: str, input_type: str | None) -> bool:
    """Whether ``set-value`` fills this element: a ``<textarea>``, or an ``<input>`` not of ``NOT_TYPED_INPUTS``
    (an enumerated attribute: compared without case, as CSS's ``i`` flag does, but not stripped)."""
    return tag == "textarea" or (tag == "input" and (input_type or "").lower() not in NOT_TYPED_INPUTS)


@dataclass(frozen=True, slots=True)
class Target:
    ref: Any  # Span or LexborNode
    tag: str
    kind: str  # "normal" | "void" | "raw" | "empty"
    parent_tag: str  # parsing context for fragments inserted next to it
    children: tuple[Child, ...] = ()
    options: tuple[Option, ...] = ()
    typed: bool = False  # a field whose value a visitor types (``is_typed_field``): what set-value fills


def _kind(node: LexborNode, tag: str) -> str:
    if tag in VOID:
        return "void"
    if tag in RAW_TEXT:
        return "raw"
    return "normal"


def matches_self(node: LexborNode, css: str) -> bool:
    """Whether ``node`` itself matches ``css`` (Lexbor's ``css_matches`` also counts descendants)."""
    parent = getattr(node, "parent", None)  # a whole document (the parser) has none
    if parent is None or not parent.is_element_node:
        return False
    try:
        return any(n.mem_id == node.mem_id for n in parent.css(css))
    except Exception:
        return False


def item_key(item: LexborNode, key: ItemKey) -> str | None:
    """An item's key as ``key`` reads it: the item itself if it matches ``css``, else its first match inside."""
    node = item if not key.css or matches_self(item, key.css) else item.css_first(key.css)
    if node is None:
        return None
    if key.attr is None:
        raw = _WS.sub(" ", node.text(deep=True, separator="", strip=False) or "").strip()
    else:
        raw = node.attributes.get(key.attr)
    return key.normalize(raw)


def child_key(child: LexborNode, key: str | ItemKey | None) -> str | None:
    """The child's key: read by an ``ItemKey``, or the ``key`` attribute of the child or its first descendant."""
    if isinstance(key, ItemKey):
        return item_key(child, key)
    if key is None:
        return None
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


def choices_css(edit: Edit, tag: str) -> str | None:
    """The CSS of the choices a select-option edit picks among in an element of ``tag``."""
    if edit.items:
        return edit.items
    if tag == "select" and edit.action in ("select-option", "set-value"):
        return "option"
    return None


def _options(node: LexborNode, edit: Edit, css: str, locator: Locator | None) -> tuple[Option, ...]:
    out = []
    for opt in node.css(css):
        attrs = opt.attributes
        parent = opt.parent
        disabled = "disabled" in attrs or attrs.get("aria-disabled") == "true" or (
            parent is not None and tag_of(parent) == "optgroup" and "disabled" in parent.attributes
        )
        if locator is None:
            ref: Any = opt
        else:
            start = locator.start_of(opt)
            ref = (start, locator.tag_end(start))
        if isinstance(edit.key, ItemKey):
            value = item_key(opt, edit.key) or ""
        elif tag_of(opt) == "option":
            value = option_value(opt)
        else:
            value = attrs.get("value") or _WS.sub(" ", opt.text(deep=True) or "").strip()
        selected = "selected" in attrs or "checked" in attrs or attrs.get("aria-current") not in (None, "false")
        out.append(Option(value, disabled, selected, ref, tag_of(opt)))
    return tuple(out)


def needs_options(edit: Edit, tag: str) -> bool:
    return choices_css(edit, tag) is not None


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
        options = _options(node, edit, choices_css(edit, tag) or "option", locator)
    return Target(ref, tag, kind, parent_tag, children, options,
                  is_typed_field(tag, node.attributes.get("type")) if tag in ("input", "textarea") else False)


def _check_children(span: Any, children: tuple[Child, ...]) -> None:
    pos = span.tag_end
    for c in children:
        start, end = c.ref
        if start < pos or end < start:
            raise LocateError("children overlap or are out of order")
        pos = end
    if pos > span.content_end:
        raise LocateError("children extend past their parent")


def chosen_option(target: Target, value: str, names: Sequence[str] = ()) -> int | None:
    """Index of the enabled choice whose key is ``value`` (first one), else None.

    Exact first; then as sizes compare (``'m'`` is ``'M'``, ``'Size: 42'`` is ``'42'``), ``value`` or one of
    ``names``: the labels of its size (the rules' ``catalog.size_names``: ``Medium`` is chosen for ``M``).
    """
    for i, opt in enumerate(target.options):
        if opt.value == value:
            return None if opt.disabled else i
    wanted = {key for key in map(label_key, (value, *names)) if key}
    if not wanted:
        return None
    for i, opt in enumerate(target.options):
        if label_key(opt.value) in wanted:
            return None if opt.disabled else i
    return None


def choice_marks(tag: str, attributes: Any, chosen: bool, selected: bool) -> list[tuple[str, str | None]]:
    """Attribute changes that make one choice the chosen one (or no longer it).

    ``<option>`` gets ``selected``, a radio or checkbox ``checked``; any other
    item (a size link) gets the rules' ``attributes`` (default
    ``aria-current="true"``), which are taken off the others.
    """
    if tag == "option":
        flag = "selected"
    elif tag == "input":
        flag = "checked"
    else:
        marks = dict(attributes) if attributes else {"aria-current": "true"}
        if chosen:
            return list(marks.items())
        return [(name, None) for name in marks] if selected else []
    if chosen and not selected:
        return [(flag, "")]
    if not chosen and selected:
        return [(flag, None)]
    return []


def applies(edit: Edit, target: Target) -> bool:
    """Whether ``edit`` can act on ``target`` at all (else it counts 0 and changes nothing)."""
    a = edit.action
    if target.tag == "html" and a in ("replace", "remove", "before", "after"):
        return False  # the document element stays (Lexbor refuses it, browsers would re-create it)
    if a in ("append", "prepend", "reorder"):
        return target.kind == "normal"
    if a == "select-option":
        return bool(target.options) and chosen_option(target, edit.value, edit.names) is not None
    if a == "set-value":
        if target.tag == "select":
            return chosen_option(target, edit.value) is not None
        return target.typed
    return True
