"""The rules' settings for the journeys that read more than the profile: ``replenish``,
``reminders`` and ``stores`` (docs/rules.md, "Journeys"), and the store's add-to-cart form.

Parsed with the same located errors as the rest of a rules file; every store
fact (which products are consumable, what "low stock" means, how the store's
cart form looks) comes from here, never from code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from slotwise.keys import category_key, product_key, store_key
from slotwise.rules.checker import Checker, Entry
from slotwise.rules.replenish import ReplenishSettings
from slotwise.rules.yaml_marks import MappingNode, Node, kind_of

JOURNEY_KEYS = ("replenish", "reminders", "stores")
REPLENISH_KEYS = ("categories", "products", "per", "due_within", "interval", "min_buyers")
INTERVAL_KEYS = ("min", "max")
REMINDER_KEYS = ("low_stock", "min_price_drop", "max_age", "recently_viewed")
STORES_KEYS = ("names", "low_stock")
PER = ("category", "product")

_DAYS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$")
_DAY_UNITS = {"h": 1 / 24, "d": 1.0, "w": 7.0}
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_FORM_FIELD_RE = re.compile(r"^\s*(form|query)\.([A-Za-z_][\w\-\[\]]*)\s*$|^\s*(form|query)\[['\"]([^'\"]+)['\"]\]\s*$")
_LITERAL_PATH_RE = re.compile(r"^/[^*?{}\s]*$")


@dataclass(frozen=True)
class ReminderSettings:
    """The cart that waits and recently viewed products: when stock is low, what a price drop is."""

    low_stock: int = 3  # "only N left" when the store's own stock count is at most this
    min_price_drop: float = 0.01  # a drop of at least this share of the earlier price
    max_age_days: float = 30.0  # a cart left longer ago than this no longer waits
    recently_viewed: int = 20  # how many recently viewed products are watched


@dataclass(frozen=True)
class StoresSettings:
    """Physical stores: display names (else what the inventory import named) and low stock."""

    names: Mapping[str, str] = field(default_factory=dict)
    low_stock: int = 2


@dataclass(frozen=True)
class CartForm:
    """The store's own add-to-cart request, from the rules' ``capture`` (one-click re-add)."""

    action: str
    method: str
    product: str  # field names
    size: str | None = None
    qty: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "method": self.method, "product": self.product, "size": self.size,
                "qty": self.qty}


@dataclass(frozen=True)
class JourneySettings:
    replenish: ReplenishSettings = field(default_factory=ReplenishSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    stores: StoresSettings = field(default_factory=StoresSettings)
    cart_form: CartForm | None = None


# -- parsing ---------------------------------------------------------------------------------


def _days(check: Checker, node: Node, what: str) -> float | None:
    value = check.scalar(node)
    if isinstance(value, str) and (m := _DAYS_RE.match(value)):
        days = float(m.group(1)) * _DAY_UNITS[m.group(2)]
        if days > 0:
            return days
    check.error(node, f"{what} must be a duration like '12h', '3d' or '2w', got {kind_of(node)}")
    return None


def _share(check: Checker, node: Node, what: str) -> float | None:
    value = check.scalar(node)
    if isinstance(value, str) and (m := _PERCENT_RE.match(value)):
        value = float(m.group(1)) / 100
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1:
        return float(value)
    check.error(node, f"{what} must be a share from 0 to below 1 (like 0.05 or '5%'), got {kind_of(node)}")
    return None


def _keys(check: Checker, node: Node, what: str, normalise: Any) -> frozenset[str]:
    texts = check.texts(node, what) or []
    return frozenset(k for k in (normalise(t.value) for t in texts) if k)


def _replenish(check: Checker, node: Node) -> ReplenishSettings:
    entries = check.mapping(node, REPLENISH_KEYS, "'replenish'") or {}
    values: dict[str, Any] = {"enabled": True}
    if "categories" in entries:
        values["categories"] = _keys(check, entries["categories"].node, "'replenish.categories'", category_key)
    if "products" in entries:
        values["products"] = _keys(check, entries["products"].node, "'replenish.products'", product_key)
    if "per" in entries:
        values["per"] = check.choice(entries["per"].node, PER, "'replenish.per'") or "category"
    if "due_within" in entries:
        due = _days(check, entries["due_within"].node, "'replenish.due_within'")
        if due is not None:
            values["due_within_days"] = due
    if "interval" in entries:
        bounds = check.mapping(entries["interval"].node, INTERVAL_KEYS, "'replenish.interval'") or {}
        for name in INTERVAL_KEYS:
            if name in bounds:
                days = _days(check, bounds[name].node, f"'replenish.interval.{name}'")
                if days is not None:
                    values[f"{name}_days"] = days
        if values.get("min_days", 0) > values.get("max_days", float("inf")):
            check.error(entries["interval"].node, "'replenish.interval.min' is longer than 'max'")
    if "min_buyers" in entries:
        values["min_buyers"] = check.integer(entries["min_buyers"].node, "'replenish.min_buyers'",
                                             minimum=1, maximum=1_000_000) or 3
    return ReplenishSettings(**values)


def _reminders(check: Checker, node: Node) -> ReminderSettings:
    entries = check.mapping(node, REMINDER_KEYS, "'reminders'") or {}
    values: dict[str, Any] = {}
    if "low_stock" in entries:
        values["low_stock"] = check.integer(entries["low_stock"].node, "'reminders.low_stock'", minimum=0, maximum=1000)
    if "min_price_drop" in entries:
        values["min_price_drop"] = _share(check, entries["min_price_drop"].node, "'reminders.min_price_drop'")
    if "max_age" in entries:
        values["max_age_days"] = _days(check, entries["max_age"].node, "'reminders.max_age'")
    if "recently_viewed" in entries:
        values["recently_viewed"] = check.integer(entries["recently_viewed"].node, "'reminders.recently_viewed'",
                                                  minimum=1, maximum=200)
    return ReminderSettings(**{k: v for k, v in values.items() if v is not None})


def _stores(check: Checker, node: Node) -> StoresSettings:
    entries = check.mapping(node, STORES_KEYS, "'stores'") or {}
    names: dict[str, str] = {}
    low = 2
    if "names" in entries:
        node_names = entries["names"].node
        if not isinstance(node_names, MappingNode):
            check.error(node_names, f"'stores.names' must be a mapping of store id to name, got {kind_of(node_names)}")
        else:
            for key_node, value_node in node_names.value:
                key, name = check.text(key_node, "a store id"), check.text(value_node, "a store name")
                if key is not None and name is not None and store_key(key.value):
                    names[store_key(key.value) or ""] = name.value.strip()
    if "low_stock" in entries:
        low = check.integer(entries["low_stock"].node, "'stores.low_stock'", minimum=0, maximum=1000) or 0
    return StoresSettings(names=names, low_stock=low)


_PARSERS = {"replenish": _replenish, "reminders": _reminders, "stores": _stores}


@dataclass(frozen=True)
class Section:
    """One journey section as a file set it (where, for "set in more than one file")."""

    value: Any
    node: Node
    source: Any


def parse_journeys(check: Checker, entries: Mapping[str, Entry]) -> dict[str, Section]:
    """The journey sections one file sets (the main file or an include: each may be set once)."""
    return {name: Section(_PARSERS[name](check, entries[name].node), entries[name].key_node, check.source)
            for name in JOURNEY_KEYS if name in entries}


def merge_journeys(parts: list[dict[str, Section]], issues: list[Any]) -> JourneySettings:
    """Every file's sections together; a section set in two files is an error at the second."""
    merged: dict[str, Any] = {}
    for part in parts:
        for name, section in part.items():
            if name in merged:
                issues.append(section.source.loc(section.node).issue(f"{name!r} is set in more than one file"))
                continue
            merged[name] = section.value
    return JourneySettings(**merged)


def cart_form_of(events: Any) -> CartForm | None:
    """The store's add-to-cart form, read off the ``capture`` event that records it: a request
    source with a literal path whose product (and size, qty) fields are form or query fields."""
    for spec in events:
        if spec.event != "add_to_cart" or spec.kind != "request" or spec.request is None or spec.request.path is None:
            continue
        path = spec.request.path.value.strip()
        if not _LITERAL_PATH_RE.match(path):
            continue
        names = {name: _form_field(text.value) for name, text in spec.expressions.items()}
        if not names.get("product"):
            continue
        method = "GET" if spec.methods == ("GET",) else "POST"
        return CartForm(action=path, method=method, product=names["product"] or "", size=names.get("size"),
                        qty=names.get("qty"))
    return None


def _form_field(expression: str) -> str | None:
    m = _FORM_FIELD_RE.match(expression)
    if m is None:
        return None
    return m.group(2) or m.group(4)
