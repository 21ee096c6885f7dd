"""Fetches recommendation candidates from the store for the pure ranker in ``rules``.

Popular lists change slowly and are the same for every visitor of a
category, so they are cached for a few seconds per process.
"""

from __future__ import annotations

from typing import Any

from cachetools import TTLCache

from slotwise.profile import Profile
from slotwise.rules.recommend import rank
from slotwise.store.base import Store

CANDIDATES = 24
_popular_cache: TTLCache[tuple[int, str | None], list[str]] = TTLCache(maxsize=512, ttl=10.0)


async def _popular(store: Store, category: str | None) -> list[str]:
    key = (id(store), category)
    cached = _popular_cache.get(key)
    if cached is None:
        cached = await store.popular(category, CANDIDATES)
        _popular_cache[key] = cached
    return cached


async def fetch_recommendations(store: Store, spec: Any, page: Any, profile: Profile | None) -> list[dict[str, Any]]:
    """Products for a recommendation variant: candidates from the store, ranked purely."""
    current = str(page.product["id"]) if page.product and page.product.get("id") else None
    recent = profile.recent_products[:CANDIDATES] if profile is not None else []
    co_viewed = await store.co_viewed(current, CANDIDATES) if current else []
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
