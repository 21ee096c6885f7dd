"""What to change on a page: an :class:`Edit` is a CSS selector plus one action.

Read an edit like a Cloudflare HTMLRewriter handler: *for each element
matching ``selector``, do ``action``*. ``html`` is trusted markup (the caller
rendered it with an autoescaping sandbox) and goes in raw; every other string
(``value``, attribute values) is text and is escaped here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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

# What the HTML tokenizer accepts as an attribute name, minus the characters that would
# end it early; we also refuse quotes and "<" so a name can never smuggle markup.
_ATTR_NAME = re.compile(r"[^\t\n\f\r />=\"'<>\x00-\x1f\x7f]+")
_EMPTY: Mapping[str, str | None] = MappingProxyType({})


def valid_attribute_name(name: object) -> bool:
    return isinstance(name, str) and _ATTR_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class Edit:
    """For each element matching ``selector`` (up to ``limit``), do ``action``."""

    slot: str
    selector: str
    action: str
    html: str = ""
    attributes: Mapping[str, str | None] = field(default_factory=lambda: _EMPTY)
    order: Sequence[str] = ()
    key: str = "data-category"
    value: str = ""
    decision_id: str | None = None
    limit: int | None = None

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
        if self.action == "reorder" and not valid_attribute_name(self.key):
            raise ValueError(f"invalid reorder key attribute {self.key!r} (slot {self.slot!r})")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 0):
            raise ValueError(f"limit must be a non-negative integer or None, got {self.limit!r}")
        if isinstance(self.order, str):
            raise ValueError(f"order must be a sequence of keys, not the string {self.order!r}")


Method = Literal["none", "splice", "serialize"]


@dataclass
class RewriteResult:
    """The rewritten page and what each edit did.

    ``matches[i]`` is how many elements edit ``i`` changed (0 if its selector
    matched nothing, or its targets vanished under an earlier edit).
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
    errors: dict[int, str] = field(default_factory=dict)  # edit index -> selector error
