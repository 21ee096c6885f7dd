"""From an evaluated variant to one rewriter ``Edit``, action by action.

Each helper takes already-evaluated values and returns an ``Edit`` or None
when there is nothing to do (an empty list to reorder, no size to select).
Values of the wrong shape raise ``ValueError``; the slot turns that into a
``RuleEvaluationError`` so the proxy fails open.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from jinja2 import Undefined

from slotwise.rules.html_api import Edit, ItemKey
from slotwise.rules.size_vocabulary import SizeVocabulary

MAX_ORDER = 500
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster", "data", "srcset", "background"})
_UNSAFE_URL_RE = re.compile(r"^(javascript|vbscript|data(?!:image/(png|gif|jpe?g|webp|avif);))\s*:", re.IGNORECASE)
_STRIP_RE = re.compile(r"[\x00-\x20\x7f]+")


def insert_edit(slot: str, selector: str, action: str, html: str, *, decision_id: str | None, limit: int | None) -> Edit | None:
    """replace / append / prepend / before / after with rendered, trusted HTML."""
    html = html.strip()
    if not html:
        return None
    return Edit(slot=slot, selector=selector, action=action, html=html, decision_id=decision_id, limit=limit)


def popup_edit(slot: str, selector: str, trigger: str, fragment: str, *, decision_id: str | None) -> Edit | None:
    """A fragment the tag shows on a trigger, parked in an inert ``<template>`` at the end of body."""
    fragment = fragment.strip()
    if not fragment:
        return None
    return popup_place(slot, selector, f"{_popup_open(slot, trigger)}{fragment}</template>", decision_id=decision_id)


def popup_place(slot: str, selector: str, html: str, *, decision_id: str | None) -> Edit:
    """``html`` appended where a popup goes: in the first element ``selector`` finds (``body`` by default).
    Its no-popup arm goes there too, with nothing (``choices.mark_only``): on the same pages, no other."""
    return Edit(slot=slot, selector=selector, action="append", html=html, decision_id=decision_id, limit=1)


@functools.lru_cache(maxsize=256)
def _popup_open(slot: str, trigger: str) -> str:
    """The popup's opening tag: the same for every page of a slot (its id and trigger come from the rules)."""
    return f'<template data-sw-popup="{escape(slot, quote=True)}" data-sw-trigger="{escape(trigger, quote=True)}">'


def order_keys(value: Any) -> tuple[str, ...]:
    """A reorder list from an expression value: strings in order, deduplicated, capped."""
    if value.__class__ is not tuple:  # a frozen list, the usual value, passes all of these
        if value is None or value == "":
            return ()
        if isinstance(value, (str, bytes)) or isinstance(value, Mapping) or not isinstance(value, Iterable):
            raise ValueError(f"'order' must give a list of keys, got {type(value).__name__} {str(value)[:60]!r}")
    out: dict[str, None] = {}
    for item in value:
        if item.__class__ is not str:  # most keys are (category slugs): no isinstance against the ABCs
            if item is None or isinstance(item, Undefined):
                continue  # a fact a first visit does not have yet (`[visitor.last_category]`) is nothing, not an error
            if isinstance(item, (list, tuple, dict)) or isinstance(item, Mapping):
                raise ValueError(f"'order' items must be strings or numbers, got {item!r}"[:120])
            item = str(item)
        out.setdefault(item, None)
        if len(out) >= MAX_ORDER:
            break
    return tuple(out)


def reorder_edit(slot: str, selector: str, key: str | ItemKey, value: Any, *, decision_id: str | None,
                 limit: int | None) -> Edit | None:
    keys = order_keys(value)
    if not keys:
        return None
    return Edit(slot=slot, selector=selector, action="reorder", order=keys, key=key, decision_id=decision_id, limit=limit)


def field_value(value: Any) -> str | None:
    """A form value from an expression: None when empty or undefined, else its text."""
    if value.__class__ is str:  # most values (a size, a text): no isinstance against the ABCs
        return value.strip() or None
    if value is None or value is False or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, (Mapping, list, tuple, set)):
        raise ValueError(f"'value' must give text or a number, got {type(value).__name__} {str(value)[:60]!r}")
    text = str(value).strip()
    return text or None


def value_edit(slot: str, selector: str, action: str, value: Any, *, decision_id: str | None, limit: int | None,
               key: str | ItemKey | None = None, items: str | None = None,
               attributes: Mapping[str, str | None] | None = None,
               sizes: SizeVocabulary | None = None) -> Edit | None:
    """select-option / set-value: the choice (or field) to set; ``key``/``items`` say how choices name themselves,
    ``sizes`` (select-option: the rules' size vocabulary) which other labels of the value's size match too."""
    text = field_value(value)
    if text is None:
        return None
    for name, attr_value in (attributes or {}).items():
        check_attribute(name, attr_value)
    return Edit(slot=slot, selector=selector, action=action, value=text, decision_id=decision_id, limit=limit,
                key=key if isinstance(key, ItemKey) else None, items=items, attributes=dict(attributes or {}),
                names=sizes.names_of(text) if sizes is not None else ())


def check_attribute(name: str, value: str | None) -> None:
    """Refuses script URLs in URL-valued attributes (a visitor-controlled value could be one), and ``srcdoc``.

    ``srcdoc`` holds a whole HTML document (scripts included): escaping does
    not make a value safe there, so no rule may set it.
    """
    if value is not None and name.lower() == "srcdoc":
        raise ValueError("attribute 'srcdoc' cannot be set (its value is a whole HTML document)")
    if value is not None and name.lower() in URL_ATTRIBUTES and _UNSAFE_URL_RE.match(_STRIP_RE.sub("", value)):
        raise ValueError(f"unsafe URL in attribute {name!r}: {value[:60]!r}")


_SCHEME_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def safe_link(value: Any) -> Any:
    """A product's ``url``/``image`` as a template may use it: http(s) or relative, else None.

    Catalog values come from pages and feeds, i.e. from anyone who can get
    markup onto a page; a ``javascript:`` URL would run when a recommendation
    card is clicked, and a template's autoescaping does not look at schemes.
    """
    if not isinstance(value, str):
        return value
    m = _SCHEME_RE.match(_STRIP_RE.sub("", value))
    return value if m is None or m.group(1).lower() in ("http", "https") else None


def attribute_edit(slot: str, selector: str, attributes: Mapping[str, str | None], *, decision_id: str | None, limit: int | None) -> Edit:
    for name, value in attributes.items():
        check_attribute(name, value)
    return Edit(slot=slot, selector=selector, action="set-attribute", attributes=dict(attributes), decision_id=decision_id, limit=limit)


def remove_edit(slot: str, selector: str, *, decision_id: str | None, limit: int | None) -> Edit:
    return Edit(slot=slot, selector=selector, action="remove", decision_id=decision_id, limit=limit)
