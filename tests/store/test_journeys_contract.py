"""The stores' additions for the journeys (issue 15): physical stores' stock and reorder intervals,
on SQLite and Redis alike (conftest's ``backend``)."""

from __future__ import annotations

from typing import Any

import pytest

from slotwise.profile import record_view
from slotwise.store.base import InventoryChange, InventoryRow

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0
NAMES = {"ams": "Amsterdam Centraal", "ber": "Berlin Mitte"}


def rows(*items: tuple[str, str, str | None, int]) -> list[InventoryRow]:
    return [InventoryRow(*item) for item in items]


async def test_replacing_a_stores_stock_is_idempotent_and_reports_what_changed(store: Any) -> None:
    first = rows(("ams", "p1", "M", 3), ("ams", "p1", "L", 0), ("ber", "p1", "M", 1), ("ams", "p2", None, 7))
    assert await store.replace_inventory(NAMES, first, NOW) == InventoryChange(added=4)
    assert await store.replace_inventory(NAMES, first, NOW + 1) == InventoryChange(unchanged=4)  # the same file again
    assert await store.store_stock(["p1", "p2", "nope"]) == [
        InventoryRow("ams", "p1", "L", 0), InventoryRow("ams", "p1", "M", 3), InventoryRow("ams", "p2", None, 7),
        InventoryRow("ber", "p1", "M", 1),
    ]
    assert await store.inventory_stores() == NAMES


async def test_a_new_file_for_a_store_replaces_only_that_stores_stock(store: Any, backend: Any) -> None:
    await store.replace_inventory(NAMES, rows(("ams", "p1", "M", 3), ("ams", "p2", None, 7), ("ber", "p1", "M", 1)), NOW)
    change = await store.replace_inventory({"ams": "Amsterdam C."}, rows(("ams", "p1", "M", 2)), NOW + 1)
    assert change == InventoryChange(changed=1, removed=1)  # p2 left Amsterdam's file: it is gone there
    other = backend.open()  # a second instance sees the same stock
    assert await other.store_stock(["p1", "p2"]) == [InventoryRow("ams", "p1", "M", 2), InventoryRow("ber", "p1", "M", 1)]
    assert (await other.inventory_stores())["ams"] == "Amsterdam C."


async def test_stock_of_nothing(store: Any) -> None:
    assert await store.store_stock([]) == []
    assert await store.inventory_stores() == {}
    assert await store.replace_inventory({}, [], NOW) == InventoryChange()


async def test_reorder_intervals_replace_a_persons_values_and_are_sampled_per_key(store: Any) -> None:
    await store.set_reorder_intervals({"a": {"category:dog-food": 30.0, "category:socks": 90.0},
                                       "b": {"category:dog-food": 28.0}})
    await store.set_reorder_intervals({"a": {"category:dog-food": 31.0}})  # socks no longer a's: dropped
    await store.set_reorder_intervals({})
    got = await store.reorder_intervals(["category:dog-food", "category:socks", "category:none"])
    assert sorted(got["category:dog-food"]) == [28.0, 31.0] and "category:socks" not in got
    assert len((await store.reorder_intervals(["category:dog-food"], limit=1))["category:dog-food"]) == 1


async def test_erasing_a_person_erases_their_reorder_intervals(store: Any) -> None:
    await store.update_profile("v1", lambda p: record_view(p, NOW, category="dog-food"), NOW)
    await store.set_reorder_intervals({"v1": {"category:dog-food": 30.0}, "other": {"category:dog-food": 20.0}})
    exported = await store.export_profile("v1")
    assert exported["reorder_intervals"] == {"category:dog-food": 30.0}
    assert await store.delete_profile("v1") is True
    assert await store.reorder_intervals(["category:dog-food"]) == {"category:dog-food": [20.0]}


async def test_many_peoples_intervals_in_one_call(store: Any) -> None:
    await store.set_reorder_intervals({f"p{n}": {"category:socks": float(n + 1)} for n in range(1200)})
    sample = (await store.reorder_intervals(["category:socks"], limit=5000))["category:socks"]
    assert sorted(sample) == [float(n + 1) for n in range(1200)]
