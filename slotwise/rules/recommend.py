"""Ranking recommendation candidates: pure, so the proxy fetches and this decides.

The proxy passes what it knows (the catalog, popular products, products
co-viewed with the current one); ``rank`` orders them by a strategy and
applies the rules every recommendation block must keep: never the page's own
product, nothing out of stock, never a size that is a product of its own (a
child product), nothing already bought (or already in the cart), no
duplicates.
"""

from __future__ import annotations

from itertools import chain, zip_longest
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from slotwise.profile import Profile
from slotwise.rules.schema import STRATEGIES

Product = Mapping[str, Any]


class KeyedPicks(list):  # type: ignore[type-arg]
    """``rank``'s products with each one's render key (``render_cache.frozen_key``, None: not known)
    worked out by whoever fetched them, so the card template's cache need not key four products a
    page. The keys hold for the dicts as they are: made just before the slot renders them."""

    __slots__ = ("render_keys",)

    def __init__(self, picks: Iterable[dict[str, Any]], render_keys: Sequence[Any]) -> None:
        super().__init__(picks)
        if len(render_keys) != len(self):
            raise ValueError("one render key (or None) per pick")
        self.render_keys = tuple(render_keys)


def _id(product: str | int | Product | None) -> str | None:
    if product is None:
        return None
    if isinstance(product, Mapping):
        value = product.get("id")
        return None if value is None else str(value)
    return str(product)


def _category_ids(catalog: Mapping[str, Product], ids: Iterable[str], category: str | None) -> Iterator[str]:
    for pid in ids:
        if category is None or (catalog.get(pid) or {}).get("category") == category:
            yield pid


def _round_robin(*sources: Sequence[str]) -> Iterator[str]:
    for group in zip_longest(*sources):
        for pid in group:
            if pid is not None:
                yield pid


def rank(
    strategy: str,
    limit: int,
    *,
    current_product: str | Product | None,
    profile: Profile | None,
    catalog: Mapping[str, Product],
    popular: Sequence[str],
    co_viewed: Sequence[str],
) -> list[dict[str, Any]]:
    """Up to ``limit`` product dicts from ``catalog``, best first, for one strategy.

    viewed_together: products co-viewed with the current one; recently_viewed:
    the visitor's own recent views; popular_in_category: popular products of
    the current product's category (else the visitor's top category, else
    all); mixed: those three interleaved, then popular overall to fill.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown recommendation strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if limit <= 0:
        return []
    catalog = {str(k): v for k, v in catalog.items()}
    current = _id(current_product)
    category = None
    if isinstance(current_product, Mapping):
        category = current_product.get("category")
    if category is None and current is not None:
        category = (catalog.get(current) or {}).get("category")
    if category is None and profile is not None:
        category = next(iter(profile.top_categories), None)

    popular_ids = [str(p) for p in popular]
    together = [str(p) for p in co_viewed]
    recent = list(profile.recent_products) if profile is not None else []
    # lazily: the loop below stops at ``limit`` picks, mostly a few candidates in
    in_category = _category_ids(catalog, popular_ids, category)
    candidates: Iterable[str]
    if strategy == "viewed_together":
        candidates = together
    elif strategy == "recently_viewed":
        candidates = recent
    elif strategy == "popular_in_category":
        candidates = in_category
    else:
        candidates = chain(_round_robin(together, recent, in_category), popular_ids)

    excluded: set[str] = set()
    if current is not None:
        excluded.add(current)
    if profile is not None:
        excluded |= profile.purchased_products
        excluded |= {str(line.get("product")) for line in profile.cart}
    out: list[dict[str, Any]] = []
    for pid in candidates:
        if pid in excluded:
            continue
        product = catalog.get(pid)
        if product is None or product.get("in_stock") is False or product.get("parent"):
            continue  # unknown, known to be sold out, or a size (a child product) rather than a product
        excluded.add(pid)
        out.append({**product, "id": pid})
        if len(out) >= limit:
            break
    return out
