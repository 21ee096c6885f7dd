"""Visitor facts that need more than the profile: the catalog's current prices and stock, the
category intervals all visitors give, the physical stores' stock (``JourneyData``).

The proxy loads a ``JourneyData`` only for page views whose slots read one of
these facts (``Slot.reads``, found by the loader), with one store call per
kind of data. Without it (a caller that built the context itself, a test)
every fact is still computed, from the profile alone: never an error, at
worst empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from slotwise.profile import Profile
from slotwise.rules import inventory, replenish, waiting_cart
from slotwise.rules.journey_settings import JourneySettings
from slotwise.rules.shown_on import ShownOn
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary
from slotwise.rules.waiting_cart import card


@dataclass(frozen=True)
class JourneyData:
    """What a page view's journey facts read besides the profile (loaded by ``proxy/personalization/journeys.py``)."""

    now: float
    settings: JourneySettings = field(default_factory=JourneySettings)
    catalog: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    typical: Mapping[str, float] = field(default_factory=dict)  # key -> typical days per unit
    stock: Sequence[Any] = ()  # InventoryRow-like rows of the page's product
    imported_names: Mapping[str, str] = field(default_factory=dict)  # store -> name the import gave
    page_product: str | None = None
    page_category: str | None = None
    shown: ShownOn = ShownOn()  # the page's currency and locale: cards are shown in them, prices compared in it
    sizes: SizeVocabulary = PLAIN_SIZES  # ``catalog.not_sizes``/``size_names``: sizes as read (the preferred size's)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # estimates, once per page


def _estimates(p: Profile, d: JourneyData) -> list[replenish.Estimate]:
    if "estimates" not in d.memo:
        d.memo["estimates"] = replenish.estimates(p.purchases, d.settings.replenish, d.catalog, d.typical)
    return d.memo["estimates"]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).date().isoformat()


def _reorder_item(e: replenish.Estimate, d: JourneyData) -> dict[str, Any]:
    item = card(e.product, d.catalog, d.settings.reminders.low_stock, e.size, sizes=d.sizes, shown=d.shown)
    item.update(key=e.key, category=item.get("category") or e.category, qty=e.qty, last_bought=_iso(e.last_bought),
                next_date=_iso(e.next_date), days_left=round(e.days_left(d.now)), interval_days=round(e.interval_days, 1),
                basis=e.basis)
    return item


def due_for_reorder(p: Profile, d: JourneyData) -> list[dict[str, Any]]:
    in_cart = {str(line["product"]) for line in p.cart}
    return [_reorder_item(e, d) for e in replenish.due(_estimates(p, d), d.settings.replenish, d.now)
            if e.product not in in_cart]


def next_purchase(p: Profile, d: JourneyData) -> dict[str, Any]:
    return {e.key: {"date": _iso(e.next_date), "days_left": round(e.days_left(d.now)), "basis": e.basis,
                    "product": e.product} for e in _estimates(p, d)}


def preferred_store(p: Profile, d: JourneyData) -> dict[str, Any] | None:
    found = inventory.preferred_store(p)
    if found is None:
        return None
    store, source = found
    return {"id": store, "name": inventory.store_name(store, d.settings.stores.names, d.imported_names),
            "source": source}


def size_in_store(p: Profile, d: JourneyData) -> dict[str, Any] | None:
    found = inventory.preferred_store(p)
    if found is None or d.page_product is None:
        return None
    size = p.preferred_sizes_read(d.sizes.size_of).get(d.page_category) if d.page_category else None
    return inventory.availability(d.stock, d.page_product, size, found[0], d.settings.stores.names,
                                  d.imported_names, d.settings.stores.low_stock, d.sizes.size_of)


JOURNEY_FACTS: dict[str, Callable[[Profile, JourneyData], Any]] = {
    "due_for_reorder": due_for_reorder,
    "next_purchase": next_purchase,
    "waiting_cart": lambda p, d: waiting_cart.waiting_cart(p, d.catalog, d.settings.reminders, d.now, d.sizes,
                                                            d.shown),
    "back_in_stock": lambda p, d: waiting_cart.back_in_stock(p, d.catalog, d.settings.reminders, d.shown),
    "price_dropped": lambda p, d: waiting_cart.price_dropped(p, d.catalog, d.settings.reminders, d.shown),
    "preferred_store": preferred_store,
    "size_in_store": size_in_store,
}
"""``visitor.X`` facts computed with a ``JourneyData`` (docs/rules.md, "Journeys")."""

_NAME_RE = re.compile(r"\bvisitor\s*(?:\.\s*|\[\s*['\"])(" + "|".join(JOURNEY_FACTS) + r")\b")


def facts_read(texts: Iterable[str]) -> frozenset[str]:
    """The journey facts named in a slot's expressions and templates (what its page views must load)."""
    return frozenset(m.group(1) for text in texts for m in _NAME_RE.finditer(text))
