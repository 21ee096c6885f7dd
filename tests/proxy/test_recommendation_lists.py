"""The co-viewed list a recommendation ranks is kept a few seconds per store and product, never mixed up."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from slotwise.proxy.personalization import recommendations
from slotwise.rules.schema import RecommendSpec
from slotwise.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio
NOW = 1_700_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def page(product: str) -> Any:
    return SimpleNamespace(product={"id": product}, category=None)


async def test_each_product_has_its_own_co_viewed_list_and_each_store_its_own(tmp_path: Path) -> None:
    spec = RecommendSpec(strategy="viewed_together", limit=3)
    one, two = SQLiteStore(tmp_path / "one.db"), SQLiteStore(tmp_path / "two.db")
    for store in (one, two):
        await store.upsert_products([{"id": f"p{i}", "name": f"P{i}"} for i in range(1, 6)], NOW)
    await one.record_product_view("p1", ["p2"])
    await one.record_product_view("p3", ["p4"])
    await two.record_product_view("p1", ["p5"])
    calls: list[str] = []
    real = SQLiteStore.co_viewed

    async def counted(self: SQLiteStore, product: str, limit: int) -> list[str]:
        calls.append(product)
        return await real(self, product, limit)

    SQLiteStore.co_viewed = counted  # type: ignore[method-assign]
    try:
        recommendations._co_viewed_cache.clear()
        assert [p["id"] for p in await recommendations.fetch_recommendations(one, spec, page("p1"), None)] == ["p2"]
        assert [p["id"] for p in await recommendations.fetch_recommendations(one, spec, page("p3"), None)] == ["p4"]
        assert [p["id"] for p in await recommendations.fetch_recommendations(two, spec, page("p1"), None)] == ["p5"]
        await one.record_product_view("p1", ["p3"])  # within the few seconds: the kept list is used
        assert [p["id"] for p in await recommendations.fetch_recommendations(one, spec, page("p1"), None)] == ["p2"]
        assert calls == ["p1", "p3", "p1"]
    finally:
        SQLiteStore.co_viewed = real  # type: ignore[method-assign]
        recommendations._co_viewed_cache.clear()
        await one.close()
        await two.close()


def test_kept_lists_expire_and_stay_bounded() -> None:
    now = [100.0]
    lists = recommendations._Lists(maxsize=3, ttl=10.0, clock=lambda: now[0])
    lists.put("a", ["p1"])
    assert lists.get("a") == ["p1"]
    now[0] += 9.9
    assert lists.get("a") == ["p1"]
    now[0] += 0.1  # its ten seconds are up: fetched again
    assert lists.get("a") is None
    lists.put("b", ["p2"])
    lists.put("c", ["p3"])
    lists.put("d", ["p4"])  # full: the expired "a" made room
    assert len(lists) == 3 and lists.get("b") == ["p2"] and lists.get("d") == ["p4"]
    lists.put("e", ["p5"])  # full of fresh lists: all dropped, the new one kept
    assert len(lists) == 1 and lists.get("e") == ["p5"] and lists.get("b") is None
