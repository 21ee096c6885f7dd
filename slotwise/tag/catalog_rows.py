"""Product rows as the event recorder and a page's catalog category read them: kept per catalog stamp, so a
line or a product page costs no store round trip.

Why: a mini basket is read on every page view, and whether it changed the profile's cart can only be told
once its lines are resolved through the catalog (a variant id is its parent in a size,
``EventRecorder.resolve_lines``). On Redis each product read is a round trip; SQLite keeps its rows per
catalog version already. A row (or its absence: an id the catalog does not know) is kept with the
``Store.catalog_stamp`` it was read under and used while the stamp holds, as ``CatalogCategories`` keeps a
row's category: a feed's refresh or a page teaching a product changes the stamp, and the row is read again.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from slotwise.lru import LRUCache
from slotwise.store.base import Store

SIZE = 20_000
"""Product ids whose row a worker keeps (least recently used go first)."""


class CatalogRows:
    """``get(ids)``: the known rows among ``ids``, read once per catalog stamp (shared: never changed)."""

    def __init__(self, store: Store, size: int = SIZE) -> None:
        self.store = store
        # product id -> (catalog stamp, its row or None: not in the catalog at that stamp)
        self._kept: LRUCache[str, tuple[int, Mapping[str, Any] | None]] = LRUCache(maxsize=size)

    async def get(self, ids: Iterable[str], stamp: int | None = None) -> dict[str, Mapping[str, Any]]:
        """The rows of ``ids`` the catalog holds (shared dicts: read them, never change them); ``stamp``: the
        catalog stamp the caller just read (else read here, before the rows: what is kept is never newer)."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return {}
        if stamp is None:
            stamp = await self.store.catalog_stamp()
        found: dict[str, Mapping[str, Any]] = {}
        missing: list[str] = []
        for product_id in wanted:
            kept = self._kept.get(product_id)
            if kept is None or kept[0] != stamp:
                missing.append(product_id)
            elif kept[1] is not None:
                found[product_id] = kept[1]
        if missing:
            rows = await self.store.get_products(missing)
            for product_id in missing:
                row = rows.get(product_id)
                self._kept[product_id] = (stamp, row)
                if row is not None:
                    found[product_id] = row
        return found
