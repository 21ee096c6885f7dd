"""Nearby store availability: the visitor's preferred store, and their size's stock there. Pure.

The preferred store is the one the visitor picked on the site (a captured
``store_chosen`` event), else the store of most of their in-store orders
(POS imports with a ``store`` column; ties go to the latest).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Iterable, Mapping

from slotwise.keys import size_key
from slotwise.profile import Profile


def preferred_store(profile: Profile) -> tuple[str, str] | None:
    """(store id, how it is known: ``chosen`` or ``purchases``), or None."""
    chosen = profile.chosen_store
    if chosen and chosen.get("id"):
        return str(chosen["id"]), "chosen"
    orders: Counter[str] = Counter()
    latest: dict[str, float] = {}
    seen: set[tuple[str, str]] = set()
    for line in profile.purchases:
        store = line.get("store")
        if not store or line.get("channel") != "store":
            continue
        if (store, line["order_id"]) not in seen:
            seen.add((store, line["order_id"]))
            orders[store] += 1
        latest[store] = max(latest.get(store, 0.0), float(line.get("ts") or 0.0))
    if not orders:
        return None
    return max(orders, key=lambda s: (orders[s], latest[s])), "purchases"


def store_name(store: str, names: Mapping[str, str], imported: Mapping[str, str]) -> str:
    """The rules' name for a store, else the inventory import's, else its id."""
    return names.get(store) or imported.get(store) or store


def availability(rows: Iterable[Any], product: str, size: str | None, store: str, names: Mapping[str, str],
                 imported: Mapping[str, str], low_stock: int,
                 size_of: Callable[[object], str | None] = size_key) -> dict[str, Any] | None:
    """``{store, name, size, qty, in_stock, low, elsewhere}`` of one product (in one size) at the
    preferred store; ``elsewhere`` names the other stores that have it. None when no import
    covered the product in that store. ``size_of``: how a row's size is read (the rules' size vocabulary:
    a row imported as ``Medium`` before ``size_names`` said so is ``M``'s stock)."""
    size = size_of(size)
    here: int | None = None
    elsewhere: list[dict[str, Any]] = []
    for row in rows:
        if row.product != product or (size is not None and row.size is not None and size_of(row.size) not in (size, None)):
            continue  # another size's (a row of a value that is no size is the product's, as one imported without)
        if row.store == store:
            here = (here or 0) + int(row.qty)
        elif row.qty > 0:
            elsewhere.append({"store": row.store, "name": store_name(row.store, names, imported), "qty": int(row.qty)})
    if here is None:
        return None
    return {"store": store, "name": store_name(store, names, imported), "size": size, "qty": here,
            "in_stock": here > 0, "low": 0 < here <= low_stock,
            "elsewhere": sorted(elsewhere, key=lambda e: (-e["qty"], e["name"]))}
