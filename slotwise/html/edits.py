"""What to change on a page: an :class:`Edit` is a CSS selector plus one action.

Read an edit like a Cloudflare HTMLRewriter handler: *for each element
matching ``selector``, do ``action``*. ``html`` is trusted markup (the caller
rendered it with an autoescaping sandbox) and goes in raw; every other string
(``value``, attribute values) is text and is escaped here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

ACTIONS = (
    "replace", "append", "prepend", "before", "after",
    "set-attribute", "remove", "reorder", "select-option", "set-value",
)
#: actions whose ``html`` is inserted (and whose top-level elements get the decision id)
INSERTING = frozenset({"replace", "append", "prepend", "before", "after"})
DECISION_ATTRIBUTE = "data-sw-decision"
SLOT_ATTRIBUTE = "data-sw-slot"  # beside the decision: the tag's exposure and click events name their slot

# What the HTML tokenizer accepts as an attribute name, minus the characters that would
# end it early; we also refuse quotes and "<" so a name can never smuggle markup.
_ATTR_NAME = re.compile(r"[^\t\n\f\r />=\"'<>\x00-\x1f\x7f]+")
_EMPTY: Mapping[str, str | None] = MappingProxyType({})


def valid_attribute_name(name: object) -> bool:
    return isinstance(name, str) and _ATTR_NAME.fullmatch(name) is not None


KEY_MODES = ("raw", "slug", "size", "link")


@dataclass(frozen=True)
class ItemKey:
    """How an item (a child to reorder, a choice to select) names itself.

    Read ``attr`` (None: the text) of the first ``css`` match inside the item
    (None: the item itself), then normalise by ``mode``: ``raw`` (trimmed),
    ``slug`` (a category name), ``size`` (a size label), or ``category-link`` /
    ``product-link`` (a URL named by the store's URL patterns, through
    ``resolve``). The tag applies the same keys in tag-only mode.
    """

    css: str | None = None
    attr: str | None = None
    mode: str = "raw"
    resolve: Callable[[str], str | None] | None = field(default=None, repr=False)  # same rules, same resolver
    match: str | None = None  # a regex: its first group (or the whole match) is the raw key
    js: tuple[str, str] | None = None  # ``match`` as the tag's RegExp (source, flags): rules/js_regex.py

    def normalize(self, raw: str | None) -> str | None:
        from slotwise.keys import category_key, size_key

        if raw is None:
            return None
        if self.match is not None:
            found = _compiled(self.match).search(" ".join(raw.split()))
            if found is None:
                return None
            raw = found.group(1) if found.re.groups else found.group(0)
        if self.mode == "slug":
            return category_key(raw)
        if self.mode == "size":
            return size_key(raw)
        if self.mode == "link":
            return self.resolve(raw) if self.resolve is not None else None
        return raw.strip() or None

    def to_json(self) -> dict[str, object]:
        source, flags = self.js if self.js is not None else (self.match, "")  # untranslatable: as written (rules check warns)
        return {"c": self.css, "a": self.attr, "mode": self.mode, "match": source, "flags": flags}


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> "re.Pattern[str]":
    return re.compile(pattern)


@dataclass(frozen=True, init=False)
class Edit:
    """For each element matching ``selector`` (up to ``limit``), do ``action``."""

    slot: str
    selector: str
    action: str
    html: str
    attributes: Mapping[str, str | None]
    order: Sequence[str]
    key: str | ItemKey | None  # reorder / select-option: how items name themselves
    value: str
    decision_id: str | None
    limit: int | None
    items: str | None  # select-option: CSS of the choices inside the element (default: its options)
    names: Sequence[str]  # select-option: the labels of ``value``'s size (the rules' ``catalog.size_names``)

    def __init__(
        self, slot: str, selector: str, action: str, html: str = "",
        attributes: Mapping[str, str | None] = _EMPTY, order: Sequence[str] = (),
        key: str | ItemKey | None = "data-category", value: str = "", decision_id: str | None = None,
        limit: int | None = None, items: str | None = None, names: Sequence[str] = (),
    ) -> None:
        """The fields in one assignment of the instance's ``__dict__``: a frozen dataclass's own
        ``__init__`` makes one ``object.__setattr__`` call per field, twelve of them (~7x this; four
        edits a page). Still frozen, compared and printed by the dataclass; checked as before."""
        object.__setattr__(self, "__dict__", {
            "slot": slot, "selector": selector, "action": action, "html": html, "attributes": attributes,
            "order": order, "key": key, "value": value, "decision_id": decision_id, "limit": limit, "items": items,
            "names": names,
        })
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r} (slot {self.slot!r}); expected one of {', '.join(ACTIONS)}")
        if not isinstance(self.selector, str) or not self.selector.strip():
            raise ValueError(f"empty selector (slot {self.slot!r})")
        for name, value in self.attributes.items():
            if not valid_attribute_name(name):
                raise ValueError(f"invalid attribute name {name!r} (slot {self.slot!r})")
            if value is not None and not isinstance(value, str):
                raise ValueError(f"attribute {name!r} value must be a string or None, got {value!r}")
        if isinstance(self.key, str) and self.action == "reorder" and not valid_attribute_name(self.key):
            raise ValueError(f"invalid reorder key attribute {self.key!r} (slot {self.slot!r})")
        if isinstance(self.key, ItemKey) and self.key.mode not in KEY_MODES:
            raise ValueError(f"unknown key mode {self.key.mode!r} (slot {self.slot!r})")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 0):
            raise ValueError(f"limit must be a non-negative integer or None, got {self.limit!r}")
        if isinstance(self.order, str):
            raise ValueError(f"order must be a sequence of keys, not the string {self.order!r}")


Method = Literal["none", "splice", "serialize"]


@dataclass
class RewriteResult:
    """The rewritten page and what each edit did.

    ``matches[i]`` is how many elements edit ``i`` changed (0 if its selector
    matched nothing, or its targets vanished under an earlier edit). An edit
    with a decision that cannot act on an element it found (a
    ``select-option`` whose value is not offered) still marks it with the
    decision, and that counts: the decision is on the page.
    ``method`` says how the bytes were produced: ``"none"`` (input returned
    as is), ``"splice"`` (edits spliced into the original bytes; everything
    else untouched) or ``"serialize"`` (Lexbor tree edited and re-serialised,
    the fallback for markup whose bytes could not be mapped with certainty).
    """

    body: bytes
    matches: dict[int, int]
    changed: bool
    method: Method = "none"
    cached: bool = False  # element positions came from the per-page cache (no parse)
    fallback_reason: str | None = None  # why the splice path was not possible
    tailed: bool = False  # ``rewrite``'s ``tail`` is in ``body`` (else the caller inserts it, if it still wants it)
    errors: dict[int, str] = field(default_factory=dict)  # edit index -> selector error


def decision_marks(edit: Edit) -> list[tuple[str, str]]:
    """The attributes that tie an edited element to its decision (none for an edit without one)."""
    if edit.decision_id is None:
        return []
    return [(DECISION_ATTRIBUTE, edit.decision_id), (SLOT_ATTRIBUTE, edit.slot)]

