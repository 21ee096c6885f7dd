"""The rules' size vocabulary: which values name no size (``catalog.not_sizes``) and which labels name one
size (``catalog.size_names``): one decision for every path a size enters or is read.

Shopify gives a product without options one variant whose option is ``Default Title``: it is no size,
yet it arrives as one from the feed, a page, an event the store's own JS or the tag sends, a capture,
an order webhook and a POS import. And a store's channels spell one size several ways: the web shop's
selector says ``M``, the POS export ``Medium``. Each path records ``SizeVocabulary.size_of(value)``: no
size, or the size key the rules say. What was recorded before the rules said so (a profile's purchases,
a catalog row's ``variants``, an inventory row) is read through it too, so a rules change takes effect
at once and the stored history stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Mapping, TypeVar

from slotwise.keys import label_key, size_key
from slotwise.rules.checker import Checker, Text
from slotwise.rules.yaml_marks import MappingNode, Node, kind_of

V = TypeVar("V")

OWN = "catalog.not_sizes"
FEED = "catalog.feed.sizes.not_sizes"
"""The older spelling, under the feed mapping: read as ``catalog.not_sizes`` (every source, not the feed's alone)."""
NAMES = "catalog.size_names"


@dataclass(frozen=True)
class SizeVocabulary:
    """The values (``label_key``s) that name no size, each size's other names, and where the rules say them.

    ``names``: (size key, its other labels as size keys), as the rules list them; a label claimed by an
    earlier size (or that is a size key itself) names that one (the parser reports it as an error)."""

    keys: frozenset[str] = frozenset()
    names: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sources: tuple[str, ...] = field(default=(), compare=False)

    @cached_property
    def _canonical(self) -> dict[str, str]:
        """``label_key`` → the size key it names: each key itself first, then the labels."""
        out: dict[str, str] = {}
        for size, _ in self.names:
            out.setdefault(label_key(size) or "", size)
        for size, labels in self.names:
            for label in labels:
                out.setdefault(label_key(label) or "", size)
        return out

    def is_not_size(self, label: object) -> bool:
        """Whether ``label`` names no size (one of ``not_sizes``, or a name of one)."""
        return bool(self.keys) and self.size_of(label) is None and size_key(label) is not None

    def size_of(self, value: object) -> str | None:
        """The size key the rules say (``Medium`` → ``M``), or None for no value and for a value that names
        no size (``not_sizes`` wins over a name)."""
        size = size_key(value)
        if size is None:
            return None
        if not self.keys and not self.names:
            return size
        folded = size.casefold()
        if folded in self.keys:
            return None
        size = self._canonical.get(folded, size)
        return None if size.casefold() in self.keys else size

    def names_of(self, value: object) -> tuple[str, ...]:
        """Every label of ``value``'s size: its key, then its other names (none when the rules give it none)."""
        size = self.size_of(value)
        for key, labels in self.names:
            if key == size:
                return (key, *labels)
        return ()

    def keyed(self, by_size: Mapping[str, V]) -> Mapping[str, V]:
        """``by_size`` (a ``variants`` map: size → child id) by the rules' size keys: without the values that
        are no size, a name under its size's key (the first of a size's entries kept)."""
        if not self.keys and not self.names:
            return by_size
        out: dict[str, V] = {}
        for written, value in by_size.items():
            size = self.size_of(written)
            if size is not None:
                out.setdefault(size, value)
        return out if out.keys() != by_size.keys() else by_size

    def joined(self, other: "SizeVocabulary") -> "SizeVocabulary":
        """Both, as one."""
        return SizeVocabulary(self.keys | other.keys, self.names + other.names,
                              tuple(dict.fromkeys(self.sources + other.sources)))

    def describe(self) -> list[str]:
        """What ``rules check`` prints (nothing when the rules say nothing of sizes)."""
        lines = []
        if self.keys:
            where = ", ".join(s for s in self.sources if s != NAMES)
            older = f"; {FEED} is read as {OWN}" if FEED in self.sources else ""
            lines.append(f"not sizes ({where}): {', '.join(sorted(self.keys))}: an event, an order, an import or a "
                         f"page with one records no size, and one recorded before is skipped where read{older}")
        if self.names:
            said = "; ".join(f"{key} <- {', '.join(labels)}" for key, labels in self.names)
            lines.append(f"size names ({NAMES}): {said}: recorded, read and chosen on a page as that size")
        return lines


PLAIN_SIZES = SizeVocabulary()


def parse_not_sizes(check: Checker, node: Node, where: str) -> SizeVocabulary | None:
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
    return SizeVocabulary(frozenset(key for text in texts if text is not None and (key := label_key(text.value))),
                          sources=(where,))


@dataclass(frozen=True)
class SizeNames:
    """``catalog.size_names`` as written: each size key's text and its labels' texts (for later errors)."""

    sizes: tuple[tuple[Text, tuple[Text, ...]], ...]

    def vocabulary(self) -> SizeVocabulary:
        """The map, as size keys."""
        return SizeVocabulary(names=tuple((size_key(key.value) or "", tuple(size_key(t.value) or "" for t in labels))
                                          for key, labels in self.sizes), sources=(NAMES,))

    def texts(self) -> Iterable[Text]:
        """Every size key and label written."""
        for key, labels in self.sizes:
            yield key
            yield from labels


def parse_size_names(check: Checker, node: Node) -> SizeNames | None:
    """``size_names: {M: [Medium, Med]}``: each size key, the other labels it goes by (a text or a list). A
    label under two sizes (a size key among them) or an empty list is an error where it is written."""
    what = f"'{NAMES}'"
    if not isinstance(node, MappingNode) or not node.value:
        check.error(node, f"{what} must map a size to the other labels it goes by ({{M: [Medium, Med]}}), "
                          f"got {kind_of(node) if not isinstance(node, MappingNode) else 'an empty mapping'}")
        return None
    sizes: list[tuple[Text, tuple[Text, ...]]] = []
    claimed: dict[str, Text] = {}

    def claim(text: Text, size: str) -> bool:
        first = claimed.setdefault(label_key(text.value) or "", text)
        if first is text:
            return True
        line, other = check.source.loc(first.node).line, _size_named(sizes, first) or size
        said = (f"is listed twice under {size!r} (line {line})" if other == size else
                f"names {size!r} and is already a name of {other!r} (line {line}): a label names one size")
        check.error(text.node, f"{what}: {text.value.strip()!r} {said}")
        return False

    for key_node, value_node in node.value:
        key = check.text(key_node, f"{what} size")
        items = check.sequence(value_node, f"{what} labels of {key.value.strip()!r}" if key else what, single_ok=True)
        if key is None or items is None:
            continue
        if not items:
            check.error(value_node, f"{what}: {key.value.strip()!r} lists no labels: give the other labels it goes by "
                                    f"({{{key.value.strip()}: [...]}}) or leave it out")
            continue
        size = size_key(key.value) or ""
        labels = [t for item in items if (t := check.text(item, f"{what} label of {key.value.strip()!r}")) is not None]
        claim(key, size)
        sizes.append((key, tuple(t for t in labels if claim(t, size))))  # every clash said (the file is refused)
    return SizeNames(tuple(sizes))


def _size_named(sizes: list[tuple[Text, tuple[Text, ...]]], label: Text) -> str | None:
    """The size key whose entry holds ``label`` (for the message)."""
    for key, labels in sizes:
        if label is key or label in labels:
            return size_key(key.value)
    return None


def named_not_sizes(names: SizeNames, not_sizes: SizeVocabulary) -> list[tuple[Text, str]]:
    """Each label (or size key) of ``names`` that ``not_sizes`` lists too, with what to say there."""
    return [(text, f"'{NAMES}': {text.value.strip()!r} is also one of {OWN}: a value names a size or none, not both")
            for text in names.texts() if not_sizes.is_not_size(text.value)]
