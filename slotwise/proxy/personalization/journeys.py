"""Loads what a page view's journey facts read besides the profile (``rules.journey_facts``).

Only the facts the page's slots name are loaded (``Slot.reads``): a page
without such a slot costs nothing. Each kind of data is one store call:
the catalog entries of the products the facts show (cart, recently viewed,
consumables bought), the typical reorder intervals of the visitor's
consumables (cached for minutes: they move slowly), the page product's stock
in the physical stores. A visitor's own reorder intervals are written back
when they changed, so every buyer's history feeds the category's typical one.
"""

from __future__ import annotations

from typing import Any, Iterable

from cachetools import TTLCache

from slotwise.lru import LRUCache

from slotwise.profile import Profile
from slotwise.rules.journey_facts import JourneyData
from slotwise.rules.replenish import estimates, own_intervals, typical_interval
from slotwise.rules.ruleset import RuleSet
from slotwise.rules.shown_on import ShownOn
from slotwise.store.base import Store

REORDER_FACTS = frozenset({"due_for_reorder", "next_purchase"})
VIEWED_FACTS = frozenset({"back_in_stock", "price_dropped"})
STORE_FACTS = frozenset({"preferred_store", "size_in_store"})
MAX_PURCHASED = 50  # purchased products looked up for replenishment: the most recent distinct ones
SAMPLE = 1000  # buyers' intervals a typical interval is read from


class JourneyLoader:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._typical: TTLCache[str, float | None] = TTLCache(maxsize=10_000, ttl=600.0)
        self._names: TTLCache[int, dict[str, str]] = TTLCache(maxsize=1, ttl=60.0)
        self._written: LRUCache[str, tuple[Any, ...]] = LRUCache(maxsize=50_000)  # profile -> purchases seen

    async def load(self, ruleset: RuleSet, profile: Profile | None, page: Any, slots: Iterable[Any],
                   now: float, *, record: bool = True) -> JourneyData:
        """``record`` False (a preview): read only, the visitor's own intervals are not written."""
        product = str(page.product["id"]) if page.product and page.product.get("id") else None
        base = {"now": now, "settings": ruleset.journeys, "page_product": product, "page_category": page.category,
                "sizes": ruleset.catalog.size_vocabulary, "shown": ShownOn.page(page, ruleset.catalog.patterns)}
        needed = frozenset().union(*(slot.reads for slot in slots))
        if not needed or profile is None:
            return JourneyData(**base)
        ids: list[str] = []
        if "waiting_cart" in needed:
            ids += [str(line["product"]) for line in (profile.saved_cart or profile.cart)]
        if needed & VIEWED_FACTS:
            recent = [pid for pid in profile.recent_products if profile.products[pid].get("seen")]
            ids += recent[: ruleset.journeys.reminders.recently_viewed]
        reorder = bool(needed & REORDER_FACTS) and ruleset.journeys.replenish.enabled
        if reorder:
            ids += list(dict.fromkeys(str(p["product"]) for p in reversed(profile.purchases)))[:MAX_PURCHASED]
        catalog = await self.store.get_products(ids) if ids else {}
        typical: dict[str, float] = {}
        if reorder:
            if record:
                await self._write_own(profile)
            typical = await self._typicals(profile, ruleset, catalog)
        stock: list[Any] = []
        names: dict[str, str] = {}
        if needed & STORE_FACTS:
            names = await self._store_names()
            if "size_in_store" in needed and product is not None:
                stock = await self.store.store_stock([product])
        return JourneyData(**base, catalog=catalog, typical=typical, stock=stock, imported_names=names)

    async def _write_own(self, profile: Profile) -> None:
        """This buyer's own intervals, for every category's typical one (written when their purchases
        changed: computed again only then)."""
        purchases = profile.purchases
        seen = (len(purchases), purchases[-1]["ts"] if purchases else None, purchases[-1]["order_id"] if purchases else None)
        if self._written.get(profile.id) == seen:
            return
        own = own_intervals(purchases)
        if own:
            await self.store.set_reorder_intervals({profile.id: own})
        self._written[profile.id] = seen

    async def _typicals(self, profile: Profile, ruleset: RuleSet, catalog: dict[str, Any]) -> dict[str, float]:
        """Typical intervals for the consumables this visitor bought only once."""
        settings = ruleset.journeys.replenish
        have = {e.key for e in estimates(profile.purchases, settings, catalog, {})}
        keys = {settings.key_of(line) for line in profile.purchases
                if line.get("product") and settings.consumable(line, catalog)} - have
        missing = [k for k in keys if k not in self._typical]
        if missing:
            samples = await self.store.reorder_intervals(missing, SAMPLE)
            for key in missing:
                self._typical[key] = typical_interval(samples.get(key, []), settings)
        return {k: v for k in keys if (v := self._typical.get(k)) is not None}

    async def _store_names(self) -> dict[str, str]:
        names = self._names.get(0)
        if names is None:
            names = self._names[0] = await self.store.inventory_stores()
        return names
