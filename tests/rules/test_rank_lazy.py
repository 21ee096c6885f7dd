"""``rank`` walks its candidates lazily (it stops at ``limit`` picks): the same picks, in the same
order, as the previous ``rank`` that listed every candidate first (kept here as the reference)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.profile import Profile
from slotwise.rules.recommend import _category_ids, _id, _round_robin, rank
from slotwise.rules.schema import STRATEGIES

NOW = 1_700_000_000.0
IDS = [f"p{i}" for i in range(10)] + ["1", "2"]


def eager_rank(strategy: str, limit: int, *, current_product: Any, profile: Profile | None,
               catalog: Mapping[Any, Any], popular: Sequence[Any], co_viewed: Sequence[Any]) -> list[dict[str, Any]]:
    """``rank`` before this pass, verbatim but for the name."""
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
    in_category = list(_category_ids(catalog, popular_ids, category))
    candidates: Iterable[str]
    if strategy == "viewed_together":
        candidates = together
    elif strategy == "recently_viewed":
        candidates = recent
    elif strategy == "popular_in_category":
        candidates = in_category
    else:
        candidates = list(_round_robin(together, recent, in_category)) + popular_ids
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
            continue
        excluded.add(pid)
        out.append({**product, "id": pid})
        if len(out) >= limit:
            break
    return out


ids = st.sampled_from(IDS)
keys = st.one_of(ids, st.sampled_from([1, 2]))  # an int key and its string may both be there
product = st.fixed_dictionaries({}, optional={
    "category": st.sampled_from(["shoes", "bags", None]), "in_stock": st.sampled_from([True, False, None]),
    "parent": st.sampled_from(["", "p1", None]), "id": st.one_of(ids, st.integers(0, 3)), "name": st.text(max_size=2)})


@st.composite
def profiles(draw: Any) -> Profile | None:
    if draw(st.booleans()):
        return None
    p = Profile.new("v", NOW)
    for i, pid in enumerate(draw(st.lists(ids, unique=True, max_size=6))):
        p.products[pid] = {"count": 1, "last": NOW + draw(st.integers(0, 5)) + i / 10}
    for c in draw(st.lists(st.sampled_from(["shoes", "bags"]), unique=True, max_size=2)):
        p.categories[c] = {"count": draw(st.integers(1, 3)), "last": NOW}
    p.purchases = [{"product": pid} for pid in draw(st.lists(ids, max_size=2))]
    p.cart = [{"product": pid} for pid in draw(st.lists(ids, max_size=2))]
    return p


@settings(max_examples=600, deadline=None)
@given(
    strategy=st.sampled_from(sorted(STRATEGIES)), limit=st.integers(-1, 6),
    current=st.one_of(st.none(), ids, st.fixed_dictionaries({"id": ids}, optional={"category": st.sampled_from(["shoes", None])})),
    profile=profiles(), catalog=st.dictionaries(keys, product, max_size=12),
    popular=st.lists(st.one_of(ids, st.integers(1, 2)), max_size=10), co_viewed=st.lists(ids, max_size=6),
)
def test_lazy_rank_picks_what_the_eager_one_did(strategy: str, limit: int, current: Any, profile: Profile | None,
                                                catalog: dict[Any, Any], popular: list[Any], co_viewed: list[str]) -> None:
    args = dict(current_product=current, profile=profile, catalog=catalog, popular=popular, co_viewed=co_viewed)
    got = rank(strategy, limit, **args)
    want = eager_rank(strategy, limit, **args)
    assert got == want
    assert [list(map(type, p.values())) for p in got] == [list(map(type, p.values())) for p in want]
