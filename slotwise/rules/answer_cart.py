"""``capture.cart`` read from a JSON answer the page fetches, where the store's mini basket is a script's.

Some storefronts render the mini basket in the browser from JSON (Magento's
customer-data ``cart`` section from ``/customer/section/load/``, Shopify's
``/cart.js``): the page's HTML has no basket to read, the answer has it all.
Here the cart's truth is that answer, read as the proxy streams it on, or, in
tag-only mode, as the tag reads it (the ``answer`` script: the tag sends only
what ``reach`` names of it, and it is read here all the same): ``request`` says which
request (``capture.events``' ``request``), ``lines`` where the lines are in its
JSON and each line's values (``capture.orders.lines``' key paths and
transforms: one definition), ``count`` its item count. An answer without the
list (Magento's sections loaded without ``cart``) says nothing; an empty list
is an empty cart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from slotwise.rules.capture import RequestSource, cart_lines
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.checker import Checker
from slotwise.rules.extract import MAX_ITEMS, Field, Values
from slotwise.rules.feed_mapping import FeedValue, parse_value, parse_values, scalar_text
from slotwise.rules.order_mapping import LINE_KEYS, TEXTS
from slotwise.rules.yaml_marks import Node

KEYS = ("request", "lines", "count")


@dataclass(frozen=True)
class AnswerCart:
    """The request whose JSON answer holds the cart, and where in it the lines (and the count) are."""

    source: RequestSource  # the request: methods, path, query, headers (no fields: the answer is read)
    items: Field
    lines: Mapping[str, FeedValue]
    count: FeedValue | None = None
    path: str = ""  # the request's path (or regex) as the rules write it

    def read(self, answer: Any, catalog: CatalogSettings) -> tuple[list[dict[str, Any]] | None, int | None]:
        """The cart's lines (None: the answer holds no list of them) and count (None: none), as the mini
        basket's reading gives them (``capture.cart_lines``)."""
        found = self.items.pick_raw(answer) if isinstance(answer, (dict, list)) else None
        count = self.count.read(answer) if self.count is not None and isinstance(answer, (dict, list)) else None
        if not isinstance(found, list) and count is None:
            return None, None
        values: Values = {"present": True, "fields": {"count": count}}
        if isinstance(found, list):
            values["lines"] = [self._line(item, answer) for item in found[:MAX_ITEMS]]
        return cart_lines(values, catalog, reads_lines=isinstance(found, list))

    def _line(self, item: Any, answer: Any) -> dict[str, Any]:
        """One element's raw values (ids and names as text), as a basket line's reading has them."""
        out: dict[str, Any] = {}
        for name, value in self.lines.items():
            got = value.read(item, answer)
            out[name] = scalar_text(got) if name in TEXTS else got
        return out

    def reach(self) -> dict[str, list[list[str]]]:
        """The key paths ``read`` follows: ``items`` (the list), ``item`` (in each element of it), ``root`` (in the
        answer: the count, a ``fill``'s value). The tag keeps only what they reach of an answer, so that it reads here
        as the whole would. A step with ``{}`` (``fill``) is any key: what holds it is kept whole ([]: all of it)."""
        item = [path for value in self.lines.values() for path in _paths(value)]
        root = [path for value in (self.count, *(v.fill for v in self.lines.values())) if value is not None
                for path in _paths(value)]
        return {"items": list(self.items.key or ()), "item": _unique(item), "root": _unique(root)}

    def tag_json(self) -> dict[str, Any]:
        """What the tag needs to read the answer (tag-only mode): its request, as a request source's (the page's
        requests are observed for both alike), and what of the answer the rule reaches (``reach``)."""
        return {**self.source.tag_json(), "answer": self.reach()}

    def describe(self) -> str:
        """What ``rules check`` prints."""
        return (f"the JSON answer to {'/'.join(sorted(self.source.methods))} {self.path}: "
                f"lines {'.'.join(self.items.key or ())}[]: "
                + ", ".join(f"{name} {value.describe()}" for name, value in self.lines.items())
                + (f"; count {self.count.describe()}" if self.count is not None else ""))


def _paths(value: FeedValue) -> list[list[str]]:
    """The key paths ``value`` reads in what it reads (its ``fill``'s are read in the item around: the answer)."""
    out = []
    for key in (value.key, value.minor_units):
        if key is not None:
            steps = list(key.key or ())
            out.append(steps[:next((n for n, step in enumerate(steps) if "{}" in step), len(steps))])
    return out


def _unique(paths: list[list[str]]) -> list[list[str]]:
    return [list(p) for p in sorted({tuple(p) for p in paths})]


@dataclass
class AnswerCartValues:
    """``lines`` and ``count`` as parsed (the request is parsed as ``capture.events``' is)."""

    items: Field
    lines: dict[str, FeedValue]
    count: FeedValue | None


def parse_answer_values(check: Checker, entries: Mapping[str, Any], node: Node) -> AnswerCartValues | None:
    """``lines: {items: PATH, product: PATH, ...}`` and ``count: PATH`` of ``capture.cart`` with ``request``."""
    if "lines" not in entries:
        check.error(node, "'capture.cart' with 'request' needs 'lines': where the cart's lines are in the answer "
                          "(lines: {items: cart.items, product: product_url, qty: qty})")
        return None
    fields = check.mapping(entries["lines"].node, LINE_KEYS, "'capture.cart.lines'")
    lines = parse_values(check, fields, "'capture.cart.lines'", items=True) if fields is not None else None
    count = parse_value(check, entries["count"].node, "'capture.cart.count'") if "count" in entries else None
    if lines is not None and not {"items", "product"} <= set(lines):
        check.error(entries["lines"].node, "'capture.cart.lines' needs 'items' and 'product' "
                                           "(items: cart.items, product: product_url)")
        return None
    if lines is None or ("count" in entries and count is None):
        return None
    return AnswerCartValues(lines.pop("items").key, lines, count)
