"""``capture.orders``: order webhooks in the store's own shape, signed the platform's way.

Shopify, WooCommerce and most platforms post an order as they keep it and sign it with a header of their
own; a mapping reads it as it is into the fixed order ``tag/orders.py`` validates, so no store has to run
a translator service. Values are ``catalog.feed``'s ``FeedValue``s (key paths and transforms: one
definition). Parsed in one pass: every problem lands on its ``file:line:column``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Mapping

from slotwise.rules.checker import Checker
from slotwise.rules.extract import Field
from slotwise.rules.feed_mapping import (Conditions, FeedValue, describe_conditions, holds, parse_conditions,
                                        parse_values, scalar_text)
from slotwise.rules.yaml_marks import MappingNode, Node

ORDER_KEYS = ("signature", "skip", "fields", "lines")
SIGNATURE_KEYS = ("header", "encoding", "prefix")
ENCODINGS = ("hex", "base64")
FIELDS = ("order_id", "email", "customer_id", "ts", "currency", "total", "coupon", "discount", "channel")
LINE_KEYS = ("items", "product", "size", "qty", "price", "category", "name")
TEXTS = frozenset({"order_id", "email", "customer_id", "currency", "coupon", "channel",
                   "product", "size", "category", "name"})
"""Values the order takes as text: an id the platform sends as a number is its digits."""
MAX_LINES = 500  # as the fixed order's
MAX_SKIPS = 20


@dataclass(frozen=True)
class OrderSignature:
    """Where the webhook's HMAC-SHA256 of the raw body is, and how it is written."""

    header: str = "X-Slotwise-Signature"
    encoding: str = "hex"  # or base64 (Shopify's X-Shopify-Hmac-Sha256, WooCommerce's X-WC-Webhook-Signature)
    prefix: str = "sha256="

    def of(self, secret: str, body: bytes) -> str:
        """The header's value for ``body`` signed with ``secret``."""
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return self.prefix + (base64.b64encode(digest).decode() if self.encoding == "base64" else digest.hex())

    def holds(self, secret: str, body: bytes, given: str) -> bool:
        """Whether ``given`` (the header's value) signs ``body``: compared in constant time."""
        return hmac.compare_digest(given.strip().encode(), self.of(secret, body).encode())

    def describe(self) -> str:
        prefix = f"{self.prefix!r} + " if self.prefix else ""
        return f"{self.header}: {prefix}{self.encoding} HMAC-SHA256 of the body with --order-secret"


SLOTWISE_SIGNATURE = OrderSignature()
"""The fixed shape's: ``X-Slotwise-Signature: sha256=<hex>``."""


@dataclass(frozen=True)
class MappedOrder:
    """An order read through a mapping: the fixed order, and where each of its values came from."""

    order: dict[str, Any]
    sources: Mapping[str, str]  # ``lines.0.qty`` → ``line_items.2.quantity``, ``email`` → ``billing.email``
    problems: list[dict[str, str]] = field(default_factory=list)  # a list the mapping needs is not there

    def field(self, loc: tuple[Any, ...]) -> str | None:
        """The order's field a validation error's ``loc`` names; the order as a whole: who bought it."""
        if loc:
            return ".".join(str(p) for p in loc)
        return " or ".join(n for n in ("customer_id", "email") if n in self.sources) or None

    def source(self, loc: tuple[Any, ...]) -> str | None:
        """The key path behind a validation error's ``loc`` (the nearest mapped part of it)."""
        if not loc:  # about the order as a whole: who bought it
            named = [self.sources[n] for n in ("customer_id", "email") if n in self.sources]
            return " or ".join(named) or None
        parts = [str(p) for p in loc]
        for end in range(len(parts), 0, -1):
            found = self.sources.get(".".join(parts[:end]))
            if found is not None:
                return found
        return None


@dataclass(frozen=True)
class OrderMapping:
    """An order webhook in the store's own shape: its signature, its fields, its lines."""

    fields: Mapping[str, FeedValue]
    items: Field
    lines: Mapping[str, FeedValue]
    signature: OrderSignature = SLOTWISE_SIGNATURE
    skip: tuple[Conditions, ...] = ()  # orders that are no purchase (Shopify's test notification: test: true)

    def skipped(self, document: Mapping[str, Any]) -> str | None:
        """Why ``document`` is stored as nothing (the first of ``skip`` it matches), or None."""
        for conditions in self.skip:
            if holds(document, conditions):
                return "skipped: " + " and ".join(f"{'.'.join(f.key or ())} is {want}" for f, want in conditions)
        return None

    def order_id(self, document: Any) -> str | None:
        """The order's id, or None: a body without one is no order (a platform's ping)."""
        return scalar_text(self.fields["order_id"].read(document)) if isinstance(document, Mapping) else None

    def no_order(self, document: Any) -> str | None:
        """Why ``document`` is no order (the answer to a ping), or None when it names one."""
        if self.order_id(document) is not None:
            return None
        return f"no order id at {self.fields['order_id'].describe()!r}: not an order (a ping?), nothing stored"

    def read(self, document: Mapping[str, Any]) -> MappedOrder:
        """The fixed order (``tag.orders.Order``'s shape) ``document`` holds; what it lacks is left out."""
        order: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, value in self.fields.items():
            sources[name] = value.describe()
            got = _of(name, value.read(document))
            if got is not None:
                order[name] = got
        items = self.items.pick_raw(document)
        where = ".".join(self.items.key or ())
        if not isinstance(items, list):
            return MappedOrder(order, sources, [{"field": "lines", "path": where, "reason": f"no list at {where!r}"}])
        lines: list[dict[str, Any]] = []
        for index, item in enumerate(items[:MAX_LINES]):
            line = {name: got for name, value in self.lines.items()
                    if (got := _of(name, value.read(item, document))) is not None}
            if "product" not in line:
                continue  # a line that is no product (a tip, a fee): nothing to learn from
            for name, value in self.lines.items():
                sources[f"lines.{len(lines)}.{name}"] = f"{where}.{index}.{value.describe()}"
            sources[f"lines.{len(lines)}"] = f"{where}.{index}"
            lines.append(line)
        sources["lines"] = where
        if not lines:
            product = f"{where}[].{self.lines['product'].describe()}"
            return MappedOrder(order, sources, [{"field": "lines", "path": product,
                                                 "reason": f"no line names a product at {product!r}"}])
        order["lines"] = lines
        return MappedOrder(order, sources)

    def describe(self) -> list[str]:
        """What ``rules check`` prints: the signature, each value's source, the lines."""
        out = [f"signed: {self.signature.describe()}"]
        out += [f"skipped (200, nothing stored): {describe_conditions(c)}" for c in self.skip]
        out += [f"{name} <- {value.describe()}" for name, value in self.fields.items()]
        out.append(f"lines <- {'.'.join(self.items.key or ())}[]: "
                   + ", ".join(f"{name} {value.describe()}" for name, value in self.lines.items()))
        out.append(f"a body without {self.fields['order_id'].describe()} is answered 200, nothing stored "
                   "(a platform's ping), signed or not")
        return out


def _of(name: str, value: Any) -> Any:
    """A mapped value as the fixed order takes it: ids and codes as text, numbers as they are."""
    return scalar_text(value) if name in TEXTS else value


# -- parsing (one pass) ------------------------------------------------------------------------------


def parse_order_mapping(check: Checker, node: Node) -> OrderMapping | None:
    """``capture.orders: {signature, fields, lines}``."""
    entries = check.mapping(node, ORDER_KEYS, "'capture.orders'")
    if entries is None:
        return None
    missing = [k for k in ("fields", "lines") if k not in entries]
    if missing:
        check.error(node, f"'capture.orders' needs {' and '.join(repr(k) for k in missing)} "
                          "(fields: {order_id: id, email: email}, lines: {items: line_items, product: product_id})")
        return None
    signature = _signature(check, entries["signature"].node) if "signature" in entries else SLOTWISE_SIGNATURE
    skip = _skip(check, entries["skip"].node) if "skip" in entries else ()
    fields = _values(check, entries["fields"].node, FIELDS, "'capture.orders.fields'")
    lines = _values(check, entries["lines"].node, LINE_KEYS, "'capture.orders.lines'", items=True)
    if fields is not None and "order_id" not in fields:
        check.error(entries["fields"].node, "'capture.orders.fields' needs 'order_id': the key path of the order's id")
        fields = None
    if fields is not None and not {"email", "customer_id"} & set(fields):
        check.error(entries["fields"].node, "'capture.orders.fields' needs 'email' or 'customer_id': who bought it")
        fields = None
    if lines is not None and not {"items", "product"} <= set(lines):
        check.error(entries["lines"].node, "'capture.orders.lines' needs 'items' and 'product' "
                                           "(items: line_items, product: product_id)")
        lines = None
    if signature is None or skip is None or fields is None or lines is None:
        return None
    items = lines.pop("items").key
    return OrderMapping(fields=fields, items=items, lines=lines, signature=signature, skip=skip)


def _skip(check: Checker, node: Node) -> tuple[Conditions, ...] | None:
    """``skip: {test: true}`` or a list of such: an order matching any of them is answered 200, not stored."""
    items = [node] if isinstance(node, MappingNode) else check.sequence(node, "'capture.orders.skip'")
    if items is None:
        return None
    if not items or len(items) > MAX_SKIPS:
        check.error(node, f"'capture.orders.skip' lists 1 to {MAX_SKIPS} conditions ({{test: true}})")
        return None
    out = [parse_conditions(check, item, "'capture.orders.skip'", "{test: true}") for item in items]
    return tuple(c for c in out if c is not None) if None not in out else None


def _values(check: Checker, node: Node, names: tuple[str, ...], what: str,
            items: bool = False) -> dict[str, FeedValue] | None:
    entries = check.mapping(node, names, what)
    return parse_values(check, entries, what, items) if entries is not None else None


def _signature(check: Checker, node: Node) -> OrderSignature | None:
    entries = check.mapping(node, SIGNATURE_KEYS, "'capture.orders.signature'")
    if entries is None:
        return None
    if "header" not in entries:
        check.error(node, "'capture.orders.signature' needs 'header': the header the platform signs with "
                          "(X-Shopify-Hmac-Sha256)")
        return None
    header = check.text(entries["header"].node, "'capture.orders.signature.header'")
    encoding = check.choice(entries["encoding"].node, ENCODINGS, "'capture.orders.signature.encoding'") \
        if "encoding" in entries else "hex"
    prefix = check.text(entries["prefix"].node, "'capture.orders.signature.prefix'", empty_ok=True) \
        if "prefix" in entries else None
    if header is None or encoding is None or ("prefix" in entries and prefix is None):
        return None
    name = header.value.strip()
    if not name or any(not (33 <= ord(c) < 127) or c in '()<>@,;:\\"/[]?={}' for c in name):
        check.error(entries["header"].node, f"'capture.orders.signature.header': {header.value!r} is not a header name")
        return None
    return OrderSignature(name, encoding, prefix.value if prefix is not None else "")
