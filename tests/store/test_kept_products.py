"""SQLite keeps parsed products per catalog version: every product write changes the version, counts do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.store.sqlite import SQLiteStore
from slotwise.store.sqlite.catalog import KeptProducts

pytestmark = pytest.mark.anyio
NOW = 1_700_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_version_changes_with_product_rows_only(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    first = store.catalog_version()
    await store.upsert_products([{"id": "p1", "name": "A"}], NOW)
    second = store.catalog_version()
    assert second != first
    await store.upsert_products([], NOW)  # nothing written: nothing changed
    await store.record_product_view("p1", ["p2"])  # a view count: not product data
    assert store.catalog_version() == second
    await store.upsert_products([{"id": "p1", "name": "A"}], NOW + 1)  # the same facts: no row changed
    assert store.catalog_version() == second
    await store.upsert_products([{"id": "p1", "price": 10}], NOW + 2)  # merged: the row changed
    assert store.catalog_version() != second
    assert (await store.get_products(["p1"]))["p1"] == {"id": "p1", "name": "A", "price": 10}
    await store.close()


async def test_products_are_parsed_once_per_version(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    await store.upsert_products([{"id": "p1", "name": "A"}, {"id": "p2", "name": "B"}], NOW)
    queries: list[str] = []
    store.db.conn.set_trace_callback(queries.append)
    assert (await store.get_products(["p1", "p3"])).keys() == {"p1"}
    reads = [q for q in queries if "FROM products" in q]
    assert len(reads) == 1
    assert (await store.get_products(["p3", "p1"])).keys() == {"p1"}  # p1 kept, p3 known to be absent
    assert [q for q in queries if "FROM products" in q] == reads
    await store.get_products(["p2", "p1"])  # only p2 is read
    assert "'p2'" in queries[-1] and "'p1'" not in queries[-1]
    store.db.conn.set_trace_callback(None)
    await store.close()


def test_kept_products_are_bounded_and_dropped_with_their_version() -> None:
    kept = KeptProducts(size=2)
    assert kept.lookup(1, ["a", "b", "c"]) == ({}, ["a", "b", "c"])
    kept.keep(1, {"a": {"id": "a"}, "b": {"id": "b"}}, ["a", "b", "c"])  # c: absent, kept as absent
    # two kept at most: "a" went first; "c" is known to be absent (neither found nor to be read)
    assert kept.lookup(1, ["a", "b", "c"]) == ({"b": {"id": "b"}}, ["a"])
    assert kept.lookup(2, ["a", "b", "c"]) == ({}, ["a", "b", "c"])  # another version: nothing kept
    kept.keep(1, {"a": {"id": "a"}}, ["a"])  # read under a version already replaced: not kept
    assert kept.lookup(2, ["a"]) == ({}, ["a"])


async def test_a_page_reads_the_catalog_version_with_its_profile(tmp_path: Path) -> None:
    store, other = SQLiteStore(tmp_path / "slotwise.db"), SQLiteStore(tmp_path / "slotwise.db")
    await store.upsert_products([{"id": "p1", "price": 1}], NOW)
    assert (await store.get_products(["p1"]))["p1"]["price"] == 1
    await other.upsert_products([{"id": "p1", "price": 2}], NOW)  # another worker, before the next page
    queries: list[str] = []
    store.db.conn.set_trace_callback(queries.append)
    store.profile_head("v1")  # the next page reads its visitor's profile head: the catalog's version with it
    assert (await store.get_products(["p1"]))["p1"]["price"] == 2
    assert len(queries) == 2 and "catalog_version" in queries[0] and "FROM products" in queries[1]
    await store.upsert_products([{"id": "p1", "price": 3}], NOW)  # its own write: seen at once
    assert (await store.get_products(["p1"]))["p1"]["price"] == 3
    store.db.conn.set_trace_callback(None)
    await store.close()
    await other.close()
