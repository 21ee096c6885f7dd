"""Fetches recommendation candidates from the store for the pure ranker in ``rules``.

Popular lists and a product's co-viewed list change slowly (counts over
many visits) and are the same for every visitor of a category or product, so
they are kept for a few seconds per process (``LIST_TTL_S``). The products
themselves are read fresh (the store keeps them per catalog version: a price
or stock change shows at once).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from cachetools import TTLCache

from slotwise.profile import Profile
from slotwise.rules.recommend import rank
from slotwise.store.base import Store

CANDIDATES = 24
LIST_TTL_S = 10.0
_popular_cache: TTLCache[tuple[int, str | None], list[str]] = TTLCache(maxsize=512, ttl=LIST_TTL_S)
_co_viewed_cache: TTLCache[tuple[int, str], list[str]] = TTLCache(maxsize=4096, ttl=LIST_TTL_S)


async def _kept(cache: TTLCache[Any, list[str]], key: Any, fetch: Callable[[], Awaitable[list[str]]]) -> list[str]:
    """A candidate list from ``cache`` while it is fresh, else fetched from the store and kept."""
    cached = cache.get(key)
    if cached is None:
        cached = cache[key] = await fetch()
    return cached


async def _popular(store: Store, category: str | None) -> list[str]:
    return await _kept(_popular_cache, (id(store), category), lambda: store.popular(category, CANDIDATES))


async def _co_viewed(store: Store, product: str) -> list[str]:
    return await _kept(_co_viewed_cache, (id(store), product), lambda: store.co_viewed(product, CANDIDATES))


async def fetch_recommendations(store: Store, spec: Any, page: Any, profile: Profile | None) -> list[dict[str, Any]]:
    """Products for a recommendation variant: candidates from the store, ranked purely."""
    current = str(page.product["id"]) if page.product and page.product.get("id") else None
    recent = profile.recent_products[:CANDIDATES] if profile is not None else []
    co_viewed = await _co_viewed(store, current) if current else []
    popular = await _popular(store, page.category)
    if len(popular) < spec.limit + 2 and page.category is not None:
        popular = popular + [p for p in await _popular(store, None) if p not in popular]
    catalog = await store.get_products([*recent, *co_viewed, *popular])
    return rank(
        spec.strategy, spec.limit,
        current_product=current, profile=profile, catalog=catalog, popular=popular, co_viewed=co_viewed,
    )


class _NoPage:
    """What ``fetch_recommendations`` reads of a page, for picks made off any page (an e-mail)."""

    product = None

    def __init__(self, category: str | None) -> None:
        self.category = category


async def picks_for(store: Store, spec: Any, profile: Profile, category: str | None) -> list[dict[str, Any]]:
    """The recommendation slot's own ranking for a person, away from any page (the follow-up e-mail's
    picks): ``category`` (their strongest interest) stands for the page's."""
    return await fetch_recommendations(store, spec, _NoPage(category), profile)
