"""Fetches recommendation candidates from the store for the pure ranker in ``rules``.

Popular lists and a product's co-viewed list change slowly (counts over
many visits) and are the same for every visitor of a category or product, so
they are kept for a few seconds per process (``LIST_TTL_S``). The products
themselves are read fresh (the store keeps them per catalog version: a price
or stock change shows at once).

The lists are kept in ``_Lists``, a dict with an expiry per entry, rather than
a ``cachetools.TTLCache``: three lookups a recommendation slot, and the
TTLCache's ~1.1 µs each (its timer context, its links) was most of their cost.

Picks are shown as the page shows every card (``rules.shown_on``, as journey cards are): priced in
the page's currency — a pick in it already (nearly all) costs a lookup and keeps its row's render key;
one in another currency shows that currency's price, or none — and, where the rules' product URL
patterns name a ``{locale}`` prefix, linked within the page's.
"""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Hashable

from slotwise.lru import LRUCache
from slotwise.profile import Profile
from slotwise.rules.pages import CatalogPatterns
from slotwise.rules.prices import visitor_currency
from slotwise.rules.recommend import KeyedPicks, rank
from slotwise.rules.render_cache import Uncacheable, frozen_key
from slotwise.rules.shown_on import ShownOn
from slotwise.store.base import Store

CANDIDATES = 24
LIST_TTL_S = 10.0


class _Lists:
    """Candidate lists by key, each good for ``ttl`` seconds; at most ``maxsize`` (when full, the
    expired go, and if none had, all: a flood of distinct keys costs refetches, never memory)."""

    def __init__(self, maxsize: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.maxsize = maxsize
        self.ttl = ttl
        self.clock = clock
        self._kept: dict[Hashable, tuple[float, list[str]]] = {}

    def get(self, key: Hashable) -> list[str] | None:
        kept = self._kept.get(key)
        if kept is None or kept[0] <= self.clock():
            return None
        return kept[1]

    def put(self, key: Hashable, value: list[str]) -> None:
        now = self.clock()
        if len(self._kept) >= self.maxsize and key not in self._kept:
            self._kept = {k: v for k, v in self._kept.items() if v[0] > now}
            if len(self._kept) >= self.maxsize:
                self._kept.clear()
        self._kept[key] = (now + self.ttl, value)

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


_popular_cache = _Lists(maxsize=512, ttl=LIST_TTL_S)
_co_viewed_cache = _Lists(maxsize=4096, ttl=LIST_TTL_S)


async def _kept(cache: _Lists, key: Hashable, fetch: Callable[[], Awaitable[list[str]]]) -> list[str]:
    """A candidate list from ``cache`` while it is fresh, else fetched from the store and kept."""
    cached = cache.get(key)
    if cached is None:
        cached = await fetch()
        cache.put(key, cached)
    return cached


async def _popular(store: Store, category: str | None) -> list[str]:
    return await _kept(_popular_cache, (id(store), category), lambda: store.popular(category, CANDIDATES))


async def _co_viewed(store: Store, product: str) -> list[str]:
    return await _kept(_co_viewed_cache, (id(store), product), lambda: store.co_viewed(product, CANDIDATES))


async def fetch_recommendations(store: Store, spec: Any, page: Any, profile: Profile | None,
                                patterns: CatalogPatterns | None = None) -> list[dict[str, Any]]:
    """Products for a recommendation variant: candidates from the store, ranked purely, priced in the page's
    currency and, when ``patterns`` (the rules' URL patterns) name a ``{locale}``, linked within its locale."""
    current = str(page.product["id"]) if page.product and page.product.get("id") else None
    recent = profile.recent_products[:CANDIDATES] if profile is not None else []
    co_viewed = await _co_viewed(store, current) if current else []
    popular = await _popular(store, page.category)
    if len(popular) < spec.limit + 2 and page.category is not None:
        popular = popular + [p for p in await _popular(store, None) if p not in popular]
    ids = [*recent, *co_viewed, *popular]
    read = getattr(store, "read_products", None)  # the store's kept rows, uncopied (read-only)
    catalog = await (read(ids) if read is not None else store.get_products(ids))
    picks = rank(
        spec.strategy, spec.limit,
        current_product=current, profile=profile, catalog=catalog, popular=popular, co_viewed=co_viewed,
    )
    on = ShownOn.page(page, patterns)  # a page that names no currency (a test's): each row's own price
    shown = [on.row(p) for p in picks] if on.currency is not None or on.patterns is not None else picks
    if read is None:
        return shown
    return KeyedPicks(shown, [_row_key(catalog.get(p["id"]), p["id"]) if s is p else None for s, p in zip(shown, picks)])


_row_keys: LRUCache[int, tuple[dict[str, Any], Hashable]] = LRUCache(maxsize=4096)


def _row_key(row: dict[str, Any] | None, pid: str) -> Hashable | None:
    """The render key of ``rank``'s copy of a kept row (``{**row, "id": pid}``): the row's own when
    its id is that very string (the copy then has the same items in the same order), worked out
    once per row object — kept rows are never changed, and the entry holds the row, so its ``id``
    is not reused while the entry lives. None (key the copy itself) for any other row."""
    if row is None or type(row) is not dict or row.get("id") != pid or type(row.get("id")) is not str:
        return None
    kept = _row_keys.get(id(row))
    if kept is not None and kept[0] is row:
        return kept[1]
    try:
        key = frozen_key(row)
    except Uncacheable:
        return None
    _row_keys[id(row)] = (row, key)
    return key


class _NoPage:
    """What ``fetch_recommendations`` reads of a page, for picks made off any page (an e-mail)."""

    product = None

    def __init__(self, category: str | None, currency: str | None) -> None:
        self.category = category
        self.currency = currency  # None: each product's own price, as its row keeps it


async def picks_for(store: Store, spec: Any, profile: Profile, category: str | None) -> list[dict[str, Any]]:
    """The recommendation slot's own ranking for a person, away from any page (the follow-up e-mail's
    picks): ``category`` (their strongest interest) stands for the page's, the currency they last shopped
    in (``visitor_currency``) for the page's currency: a pick with no price in it has none."""
    return await fetch_recommendations(store, spec, _NoPage(category, visitor_currency(profile)), profile)
