"""Recommendations from the store's kept rows, uncopied, with the card keys worked out once per row:
the same picks, the same render keys and the same cards as copying every candidate and keying each pick."""

from __future__ import annotations

import asyncio
import copy
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slotwise.profile import Profile
from slotwise.proxy.personalization import recommendations
from slotwise.rules.recommend import KeyedPicks, rank
from slotwise.rules.render_cache import frozen_key
from slotwise.rules.ruleset import _frozen_recommendations
from slotwise.rules.schema import STRATEGIES, RecommendSpec
from slotwise.store.sqlite import SQLiteStore

NOW = 1_700_000_000.0
IDS = [f"p{i}" for i in range(9)] + ["1", "2", "3"]  # "1".."3" may be stored under int ids

values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, -0.0, 1.0, 19.9]), st.text(max_size=3),
    st.lists(st.integers(0, 2), max_size=2), st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 2), max_size=2),
)


@st.composite
def products(draw: Any) -> list[dict[str, Any]]:
    out = []
    for pid in draw(st.lists(st.sampled_from(IDS), unique=True, min_size=1, max_size=12)):
        # the row's own "id" is its key as written, a string or (for "1".."3") a number
        row: dict[str, Any] = {"id": int(pid) if pid.isdigit() and draw(st.booleans()) else pid}
        fields = draw(st.dictionaries(st.sampled_from(["name", "price", "url", "in_stock", "parent", "extra"]), values,
                                      max_size=5))
        if draw(st.booleans()):  # "id" first or last among the fields
            row = {**fields, **row}
        else:
            row.update(fields)
        if draw(st.booleans()):
            row["category"] = draw(st.sampled_from(["shoes", "bags", None]))
        out.append({"pid": pid, "row": row, "first": draw(st.booleans())})
    return out


def profile_of(recent: list[str], bought: list[str], cart: list[str], categories: list[str]) -> Profile:
    p = Profile.new("v1", NOW)
    for i, pid in enumerate(recent):
        p.products[pid] = {"count": 1, "last": NOW + i}
    for i, c in enumerate(categories):
        p.categories[c] = {"count": i + 1, "last": NOW + i}
    p.purchases = [{"product": pid} for pid in bought]
    p.cart = [{"product": pid} for pid in cart]
    return p


def typed(value: Any) -> Any:
    """A value with every scalar's type (and a float's sign): ``==`` alone takes 1 for 1.0 and True."""
    if isinstance(value, dict):
        return [(k, typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value), repr(value))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=products(),
    strategy=st.sampled_from(sorted(STRATEGIES)),
    limit=st.integers(0, 5),
    current=st.one_of(st.none(), st.sampled_from(IDS)),
    category=st.one_of(st.none(), st.sampled_from(["shoes", "bags"])),
    recent=st.lists(st.sampled_from(IDS), unique=True, max_size=6),
    bought=st.lists(st.sampled_from(IDS), max_size=2),
    cart=st.lists(st.sampled_from(IDS), max_size=2),
    categories=st.lists(st.sampled_from(["shoes", "bags"]), unique=True, max_size=2),
    coviews=st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from(IDS)), max_size=6),
    anonymous=st.booleans(),
)
def test_picks_from_kept_rows_are_those_of_copied_rows(rows: list[dict[str, Any]], strategy: str, limit: int,
                                                      current: str | None, category: str | None, recent: list[str],
                                                      bought: list[str], cart: list[str], categories: list[str],
                                                      coviews: list[tuple[str, str]], anonymous: bool) -> None:
    async def run(tmp: str) -> None:
        store = SQLiteStore(Path(tmp) / "slotwise.db")
        try:
            await store.upsert_products([r["row"] for r in rows], NOW)
            for a, b in coviews:
                await store.record_product_view(a, [b])
            # some rows are kept before the page (the kept path), others read by it (the missing path)
            await store.get_products([r["pid"] for r in rows if r["first"]])
            recommendations._co_viewed_cache.clear()
            recommendations._popular_cache.clear()
            spec = RecommendSpec(strategy=strategy, limit=limit)
            page = SimpleNamespace(product={"id": current} if current else None, category=category)
            profile = None if anonymous else profile_of(recent, bought, cart, categories)
            before = copy.deepcopy(await store.get_products(IDS))

            new = await recommendations.fetch_recommendations(store, spec, page, profile)
            again = await recommendations.fetch_recommendations(store, spec, page, profile)  # keys from the memo

            # the previous path: every candidate copied (get_products), each pick keyed from itself
            cur = str(page.product["id"]) if page.product else None
            recent_ids = profile.recent_products[: recommendations.CANDIDATES] if profile else []
            co = await store.co_viewed(cur, recommendations.CANDIDATES) if cur else []
            popular = await store.popular(category, recommendations.CANDIDATES)
            if len(popular) < limit + 2 and category is not None:
                popular = popular + [p for p in await store.popular(None, recommendations.CANDIDATES) if p not in popular]
            old = rank(strategy, limit, current_product=cur, profile=profile,
                       catalog=await store.get_products([*recent_ids, *co, *popular]), popular=popular, co_viewed=co)

            stored = await store.read_products(IDS)
            assert [k is not None for k in new.render_keys] == [
                type(stored[p["id"]]["id"]) is str for p in new]  # keyed once per row, but for numeric ids
            for got in (new, again):
                assert type(got) is KeyedPicks
                assert typed(list(got)) == typed(old)
                assert len(got.render_keys) == len(got)
                for pick, key in zip(got, got.render_keys):
                    assert key is None or key == frozen_key(pick)
                    assert all(pick is not row for row in (await store.read_products(IDS)).values())
                known = _frozen_recommendations(list(got), got.render_keys)
                plain = _frozen_recommendations(old)
                assert known[0]() == plain[0]()
                assert known[1]() == plain[1]()
            # the kept rows were lent, never changed
            assert typed(await store.get_products(IDS)) == typed(before)
        finally:
            await store.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(tmp))


def test_a_changed_row_is_keyed_again() -> None:
    """A new catalog version gives new row objects: the memo never answers for an old one."""

    async def run(tmp: str) -> None:
        store = SQLiteStore(Path(tmp) / "slotwise.db")
        try:
            spec = RecommendSpec(strategy="popular_in_category", limit=2)
            page = SimpleNamespace(product=None, category="shoes")
            await store.upsert_products([{"id": "p1", "category": "shoes", "price": 10}], NOW)
            await store.record_product_view("p1", [])
            recommendations._popular_cache.clear()
            first = await recommendations.fetch_recommendations(store, spec, page, None)
            await store.upsert_products([{"id": "p1", "category": "shoes", "price": 10.0}], NOW + 1)
            second = await recommendations.fetch_recommendations(store, spec, page, None)
            assert first.render_keys[0] == frozen_key({"id": "p1", "category": "shoes", "price": 10})
            assert second.render_keys[0] == frozen_key({"id": "p1", "category": "shoes", "price": 10.0})
            assert first.render_keys[0] != second.render_keys[0]
        finally:
            recommendations._popular_cache.clear()
            await store.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(tmp))


def test_stores_without_kept_rows_give_plain_picks() -> None:
    class Plain:
        async def get_products(self, ids: Any) -> dict[str, dict[str, Any]]:
            return {"p1": {"id": "p1", "name": "A"}}

        async def popular(self, category: Any, limit: int) -> list[str]:
            return ["p1"]

        async def co_viewed(self, product: str, limit: int) -> list[str]:
            return []

    recommendations._popular_cache.clear()
    got = asyncio.run(recommendations.fetch_recommendations(
        Plain(), RecommendSpec(strategy="mixed", limit=4), SimpleNamespace(product=None, category=None), None))
    recommendations._popular_cache.clear()
    assert type(got) is list and got == [{"id": "p1", "name": "A"}]


def test_keyed_picks_need_one_key_a_pick() -> None:
    with pytest.raises(ValueError):
        KeyedPicks([{"id": "p1"}], [])


def test_the_slot_renders_keyed_picks_as_plain_ones() -> None:
    """Through ``Slot.render``: the same edit from ``KeyedPicks`` as from the plain list, and the card
    template's cache answers the plain list's render with the keyed one's entry (the same key)."""
    from slotwise.rules import build_context, page_facts, request_facts
    from slotwise.rules.loader import load_rules

    rules = load_rules(Path(__file__).resolve().parents[2] / "bench" / "proxy" / "rules-4-slots.yaml")
    slot = rules.slot("recommendations")
    variant = slot.variants[0]
    ctx = build_context(None, page_facts("/p/p1", [], None), request_facts([], []), "v1")
    rows = [{"id": f"p{i}", "name": f"P{i}", "price": 10.0 + i, "url": f"/p/p{i}"} for i in range(6)]
    keyed = KeyedPicks([dict(r) for r in rows], [frozen_key(r) for r in rows[:3]] + [None] * 3)
    template = variant.template
    misses = template.misses
    one = slot.render(variant, ctx, "d-1", recommendations=keyed)
    hits = template.hits
    two = slot.render(variant, ctx, "d-1", recommendations=[dict(r) for r in rows])
    assert one == two and one is not None and "P3" in one.html and "P4" not in one.html  # the limit's four
    assert template.hits == hits + 1 and template.misses <= misses + 1
