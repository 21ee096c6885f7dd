"""Which values name no size (``catalog.not_sizes``): one decision for every path a size enters or is read.

Shopify gives a product without options one variant whose option is ``Default Title``: it is no size,
yet it arrives as one from the feed, a page, an event the store's own JS or the tag sends, a capture,
an order webhook and a POS import. Each of them records ``NotSizes.size_of(value)``; what was recorded
before the rule said so (a profile's purchases, a catalog row's ``variants``) is skipped where it is
read, so a rules change takes effect at once and the stored history stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, TypeVar

from slotwise.keys import size_key
from slotwise.rules.checker import Checker
from slotwise.rules.yaml_marks import Node

V = TypeVar("V")

OWN = "catalog.not_sizes"
FEED = "catalog.feed.sizes.not_sizes"
"""The older spelling, under the feed mapping: read as ``catalog.not_sizes`` (every source, not the feed's alone)."""


def not_size_key(label: object) -> str | None:
    """How a value is compared with ``not_sizes``: its size key, case aside (``Default Title``, ``default title``)."""
    key = size_key(label)
    return key.casefold() if key else None


@dataclass(frozen=True)
class NotSizes:
    """The values (``not_size_key``s) that name no size, and where the rules say them (``rules check``)."""

    keys: frozenset[str] = frozenset()
    sources: tuple[str, ...] = field(default=(), compare=False)

    def is_not_size(self, label: object) -> bool:
        """Whether ``label`` is one of them."""
        return bool(self.keys) and not_size_key(label) in self.keys

    def size_of(self, value: object) -> str | None:
        """A size key, or None for no value and for a value that names no size."""
        size = size_key(value)
        return None if size is None or self.is_not_size(size) else size

    def without(self, by_size: Mapping[str, V]) -> Mapping[str, V]:
        """``by_size`` (a ``variants`` map: size → child id) without the values that are no size."""
        if not self.keys or not any(self.is_not_size(size) for size in by_size):
            return by_size
        return {size: value for size, value in by_size.items() if not self.is_not_size(size)}

    def joined(self, other: "NotSizes") -> "NotSizes":
        """Both lists, as one."""
        return NotSizes(self.keys | other.keys, tuple(dict.fromkeys(self.sources + other.sources)))

    def describe(self) -> str | None:
        """What ``rules check`` prints, or None when the rules list none."""
        if not self.keys:
            return None
        older = f"; {FEED} is read as {OWN}" if FEED in self.sources else ""
        return (f"not sizes ({', '.join(self.sources)}): {', '.join(sorted(self.keys))}: an event, an order, an "
                f"import or a page with one records no size, and one recorded before is skipped where read{older}")


NO_NOT_SIZES = NotSizes()


def parse_not_sizes(check: Checker, node: Node, where: str) -> NotSizes | None:
    """``not_sizes: ["Default Title"]`` at ``where``: a text or a list of texts, each a value that names no size."""
    what = f"'{where}'"
    items = check.sequence(node, what, single_ok=True)
    if items is None:
        return None
    if not items:
        check.error(node, f"{what} must list at least one value (\"Default Title\")")
        return None
    texts = [check.text(item, f"{what} item") for item in items]  # every bad item said, not the first
    if any(text is None for text in texts):
        return None
    return NotSizes(frozenset(key for text in texts if text is not None and (key := not_size_key(text.value))),
                    (where,))
