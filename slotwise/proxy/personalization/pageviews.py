"""Records what a page view tells about the visitor and about the catalog.

The profile learns the category and product the page showed; the catalog
learns the product from its JSON-LD; co-views pair the product with the
others viewed in the same visit. Product rows are only rewritten when the
product's facts changed or another source changed the catalog since (a feed's
refresh may have written other values of them), so a busy product page costs
one profile write; and when the facts are the very read-only object learned
last time under the same catalog (the personalizer keeps a page's facts per
page), not even compared again. A product shown in several currencies (one page in EUR, in GBP for
another visitor) is learned per currency: its pages alternate without a read each time.
"""

from __future__ import annotations

import hashlib
import json
from types import MappingProxyType
from collections.abc import Callable, Mapping
from typing import Any

from slotwise.lru import LRUCache
from slotwise.profile import Profile, ViewRecord
from slotwise.rules.jsonld import VIEWED_KEYS
from slotwise.proxy.personalization.catalog_feed import catalog_rows, localize
from slotwise.store.base import Store
from slotwise.store.catalog_merge import changes


class PageViewRecorder:
    def __init__(self, store: Store, upstream_netloc: str = "", seen_cache_size: int = 20_000,
                 own_currency: Callable[[], str | None] = lambda: None) -> None:
        self.store = store
        self.upstream_netloc = upstream_netloc
        self.own_currency = own_currency  # the rules' ``catalog.currency``: a row's own price is in it (``catalog_merge``)
        # (product id, currency) -> (catalog stamp, the page's facts object, their digest) last learned
        self._learned: LRUCache[tuple[str, Any], tuple[int, Mapping[str, Any], str]] = LRUCache(maxsize=seen_cache_size)

    async def record(
        self,
        visitor_id: str,
        now: float,
        *,
        category: str | None,
        product: Mapping[str, Any] | None,
    ) -> Profile:
        """One update of the profile (batched by the store's writer); catalog writes only when something is new."""
        product_id = str(product["id"]) if product and product.get("id") else None
        view = (ViewRecord(now, category, product_id, product.get("price"), product.get("in_stock"),
                           product.get("currency"))
                if product_id and product else ViewRecord(now, category))  # data: other workers replay it
        profile = await self.store.update_profile_soon(visitor_id, view, now)
        if product_id and product is not None:
            await self.learn(product, now)
            co_viewed = _this_visit(profile, product_id)
            await self.store.record_product_view_soon(product_id, co_viewed)
        return profile

    async def learn(self, product: Mapping[str, Any], now: float) -> None:
        """The catalog learns a product from its page (and its sizes that are products of their own).

        Facts the page does not show (``None``) are left out: the stored ones (a feed's) stay. The same
        facts are skipped while the catalog's stamp holds; once another source changed the catalog they
        are checked against the stored rows (a read) and written again where the rows lost them."""
        source = product
        key = str(product["id"])
        seen = (key, product.get("currency"))  # each currency's page its own: they alternate, each unchanged
        stamp = await self.store.catalog_stamp()
        learned = self._learned.get(seen)
        if learned is not None and learned[0] == stamp and isinstance(source, MappingProxyType) and learned[1] is source:
            return  # the same read-only facts, already learned (or found unchanged) under this catalog
        product = {k: v for k, v in localize({k: _plain(v) for k, v in product.items() if k not in VIEWED_KEYS},
                                             self.upstream_netloc).items() if v is not None}  # the page's, not the row's
        digest = hashlib.blake2b(
            json.dumps(product, sort_keys=True, default=str).encode(), digest_size=12
        ).hexdigest()
        if learned is not None and learned[0] == stamp and learned[2] == digest:
            self._learned[seen] = (stamp, source, digest)
            return
        # the product, its ``other_id`` as an alias and its sizes as children (a size is not a product to list:
        # a line naming it takes the parent's category, name and price, ``EventRecorder.resolve_lines``), as a
        # feed's products are written; a size's own page stays that size of its parent (the store's merge)
        children = [str(c) for c in (product.get("other_id"), *(product.get("variants") or {}).values(),
                                     *(product.get("aliases") or ()),
                                     *(child for child, _ in product.get("more_sizes") or ())) if c]
        stored = await self.store.get_products([key, *children])
        rows = catalog_rows([product], stored)
        own = self.own_currency()
        if learned is None or learned[2] != digest or changes(stored, rows, own):
            await self.store.upsert_products(rows, now, own)
        self._learned[seen] = (stamp, source, digest)  # the stamp read before the rows: never newer than them


def _this_visit(profile: Profile, product_id: str, limit: int = 20) -> list[str]:
    """The last ``limit`` other products (in the profile's order) viewed in this visit: read from the
    end, so a long visit's profile (up to ``MAX_PRODUCTS``) is not walked whole on every page."""
    start = profile.session_start
    found: list[str] = []
    for pid, entry in reversed(profile.products.items()):
        if pid != product_id and entry["last"] >= start:
            found.append(pid)
            if len(found) == limit:
                break
    found.reverse()
    return found


def _plain(value: Any) -> Any:
    """Read-only page facts (mappings, tuples) as JSON-ready dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value
