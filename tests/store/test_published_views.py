"""Views a profile writer publishes (``sqlite.deltas``): another worker catches up on them, never past the row.

Two workers are two cached stores on one SQLite file (their own connections and writer threads, the
change board and the published views shared as between processes; ``test_profile_cache.py`` runs
real processes). After each step a copy is compared with the row, field for field.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from slotwise.profile import AssignRecord, Profile, ViewRecord, record_view
from slotwise.store.profile_cache import CachedProfiles
from slotwise.store.profile_json import decode_profile
from slotwise.store.sqlite import SQLiteStore
from slotwise.store.sqlite.board import slot_of
from slotwise.store.sqlite.deltas import CELL, HEAD, chain, views_since

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Worker:
    """A cached store with the queries its connection ran (a catch-up must run none)."""

    def __init__(self, path: Path) -> None:
        self.cache = CachedProfiles(SQLiteStore(path))
        self.queries: list[str] = []
        self.cache.inner.db.conn.set_trace_callback(self.queries.append)

    async def view(self, visitor: str, now: float, product: str = "p1", price: Any = 19.5) -> None:
        await self.cache.update_profile_soon(visitor, ViewRecord(now, "socks", product, price, True), now)
        await self.cache.flush()

    async def read(self, visitor: str) -> tuple[Profile | None, list[str]]:
        self.queries.clear()
        return await self.cache.get_profile(visitor), [q for q in self.queries if "profiles" in q]


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Worker, Worker, SQLiteStore]]:
    path = tmp_path / "slotwise.db"
    a, b, tag_api = Worker(path), Worker(path), SQLiteStore(path)
    yield a, b, tag_api
    for w in (a, b):
        await w.cache.close()
    await tag_api.close()


async def row(store: SQLiteStore, visitor: str) -> dict[str, Any] | None:
    found = await store.get_profile(visitor)
    return found.to_dict() if found is not None else None


async def test_a_worker_catches_up_on_the_other_workers_views_without_a_query(two: Any) -> None:
    a, b, tag_api = two
    await a.view("v", 1000.0)
    await b.read("v")  # b knows the row now
    await a.view("v", 1001.0, product="p2", price=float("nan"))  # NaN as a page's JSON-LD can give it
    await a.view("v", 1002.0, product="p3", price=2**40)  # two writes since b's copy: a chain of two
    copy, queries = await b.read("v")
    assert queries == []
    assert b.cache.replayed == 1
    assert copy is not None and repr(copy.to_dict()) == repr(await row(tag_api, "v"))
    await b.view("v", 1003.0)  # b's writer catches up its own copy too: no decode
    assert b.cache._views.kept.replayed == 0 and b.cache._views.kept.decoded == 1  # its first read only
    await a.view("v", 1004.0)
    await b.view("v", 1005.0)
    assert b.cache._views.kept.replayed == 1 and b.cache._views.kept.decoded == 1
    for w in (a, b):
        copy, _ = await w.read("v")
        assert repr(copy.to_dict()) == repr(await row(tag_api, "v"))


async def test_a_write_by_anything_else_in_between_is_read_from_the_database(two: Any) -> None:
    a, b, tag_api = two
    await a.view("v", 1000.0)
    await b.read("v")
    await a.view("v", 1001.0)
    await tag_api.update_profile("v", lambda p: record_view(p, 1002.0, category="hats"), 1002.0)  # an event
    await a.view("v", 1003.0)  # published, but made on the event's version, not on b's
    copy, queries = await b.read("v")
    assert queries and b.cache.replayed == 0
    assert copy is not None and copy.categories["hats"]["count"] == 1
    assert copy.to_dict() == await row(tag_api, "v")


async def test_a_view_that_is_not_data_is_not_published(two: Any) -> None:
    a, b, tag_api = two
    await a.view("v", 1000.0)
    await b.read("v")
    await a.cache.update_profile_soon("v", lambda p: record_view(p, 1001.0, category="bags"), 1001.0)
    await a.cache.flush()
    copy, queries = await b.read("v")
    assert queries and b.cache.replayed == 0 and copy.to_dict() == await row(tag_api, "v")


async def test_a_pages_assignments_are_published_with_its_view(two: Any) -> None:
    """The first page of a session makes decisions: its sticky assignments go with the view, so the
    visitor's next page on the other worker needs no read of the row (before, a closure: read back)."""
    a, b, tag_api = two
    await a.view("v", 1000.0)
    await b.read("v")
    sticky = AssignRecord((("hero", "b", "d" * 32, 1001.0, 1000.0), ("size", "__holdout__", "e" * 32, 1001.0, 1000.0)))
    await a.cache.update_profile_soon("v", ViewRecord(1001.0, "bags"), 1001.0)
    await a.cache.update_profile_soon("v", sticky, 1001.0)
    await a.cache.flush()
    copy, queries = await b.read("v")
    assert queries == [] and b.cache.replayed == 1
    assert copy is not None and repr(copy.to_dict()) == repr(await row(tag_api, "v"))
    assert copy.assignments["hero"] == {"arm": "b", "decision_id": "d" * 32, "ts": 1001.0, "session_start": 1000.0}
    await b.view("v", 1002.0)  # b's writer replays them on its own copy too: no decode
    assert b.cache._views.kept.decoded == 1  # its first read only


def test_assignments_are_new_dicts_on_every_copy_and_as_the_closure_made_them() -> None:
    sticky = AssignRecord((("hero", "b", "d1", 5.0, 1.0), ("size", "__holdout__", "d2", 5.0, 1.0)))
    one, two = Profile.new("v", 1.0), Profile.new("v", 1.0)
    one.assignments["old"] = {"arm": "a", "decision_id": "d0", "ts": 2.0, "session_start": 1.0}
    sticky(one)
    sticky(two)
    assert one.assignments["hero"] == two.assignments["hero"] == {
        "arm": "b", "decision_id": "d1", "ts": 5.0, "session_start": 1.0}
    assert one.assignments["hero"] is not two.assignments["hero"]  # a copy changed later leaves the other alone
    assert set(one.assignments) == {"old", "hero", "size"}


def test_only_exact_assignments_are_published_and_a_cell_of_an_older_format_is_not_used() -> None:
    from slotwise.store.sqlite.deltas import publishable
    sticky = AssignRecord((("hero", "b", "d1", 5.0, 1.0),))
    assert publishable([ViewRecord(5.0, "c"), sticky])
    assert not publishable([AssignRecord((("hero", "b", "d1", 5, 1.0),))])  # an int time
    assert not publishable([AssignRecord((("hero", None, "d1", 5.0, 1.0),))])  # type: ignore[arg-type]
    assert not publishable([AssignRecord([("hero", "b", "d1", 5.0, 1.0)])])  # type: ignore[arg-type]  # a list
    both = chain("v", None, 10, 10, 11, [ViewRecord(5.0, "c"), sticky])
    assert both is not None and views_since(both, "v", 10) == [ViewRecord(5.0, "c"), sticky]
    import msgspec  # a cell an older release wrote: its views had no kind

    old = msgspec.msgpack.encode(("v", [(10, 10, 11, msgspec.Raw(msgspec.msgpack.encode([(5.0, "c", None, None, None)])))]))
    assert views_since(old, "v", 10) is None


async def test_an_alias_moved_in_between_is_not_caught_up_on(two: Any) -> None:
    """The board slot was marked by the alias's change (``prev``): the visitor's head is asked again,
    even though the profile's row itself did not change in between."""
    a, b, tag_api = two
    with tag_api.db.transaction() as cur:
        cur.execute("INSERT INTO aliases(alias, profile_id) VALUES ('cookie', 'person')")
    await a.view("person", 1000.0)
    copy, _ = await b.read("cookie")
    assert copy is not None and copy.id == "person"
    with tag_api.db.transaction() as cur:  # the cookie now names someone else (an import re-pointing it)
        cur.execute("INSERT OR REPLACE INTO aliases(alias, profile_id) VALUES ('cookie', 'other')")
    await a.view("person", 1001.0)  # made on the version b has, published
    copy, queries = await b.read("cookie")
    assert queries and b.cache.replayed == 0
    assert copy is None  # 'other' has no profile: not the person's


async def test_an_erase_leaves_no_published_view_and_no_catch_up(two: Any, tmp_path: Path) -> None:
    a, b, tag_api = two
    await a.view("v", 1000.0)
    await b.read("v")
    await a.view("v", 1001.0, product="erased-persons-product")
    deltas = (tmp_path / "slotwise.db-deltas").read_bytes()
    assert b"erased-persons-product" in deltas
    assert await a.cache.delete_profile("v")
    assert b"erased-persons-product" not in (tmp_path / "slotwise.db-deltas").read_bytes()
    copy, queries = await b.read("v")
    assert copy is None and queries and b.cache.replayed == 0


async def test_a_copy_with_views_of_its_own_queued_is_read_again(two: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """This worker's queued views would have to come after the other worker's: not caught up on."""
    from slotwise.store import profile_cache
    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)
    a, b, tag_api = two
    await a.view("v", 1000.0)
    await b.read("v")
    await b.cache.update_profile_soon("v", ViewRecord(1002.0, "bags"), 1002.0)  # queued for 30 s
    await a.view("v", 1003.0)  # written on the version b's copy is at, published
    await b.read("v")
    assert b.cache.replayed == 0
    await b.cache.flush()
    copy, _ = await b.read("v")
    assert copy.to_dict() == await row(tag_api, "v")


def test_an_uncommitted_or_torn_cell_is_not_used(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    deltas = store.db.deltas
    assert deltas is not None
    slot = slot_of("v")
    payload = chain("v", None, 5, 5, 6, [ViewRecord(1000.0, "socks")])
    assert payload is not None
    deltas.write(slot, 6, payload)  # written under the lock, the commit not done (failed, or killed)
    assert deltas.read(slot) is None
    deltas.done(slot, 6)
    assert deltas.read(slot) == (6, payload)
    at = (slot & (len(deltas._map) // CELL - 1)) * CELL + HEAD.size
    deltas._map[at + 3] ^= 0xFF  # a reader copying it while another write rewrites it
    assert deltas.read(slot) is None
    deltas.done(slot, 7)  # another write's late ``done`` on a cell it no longer holds: ignored
    assert HEAD.unpack_from(deltas._map, at - HEAD.size)[0] == 6


def test_a_chain_is_followed_only_from_a_version_it_holds_and_only_unmarked() -> None:
    one = [ViewRecord(1000.0, "a")]
    two = [ViewRecord(1001.0, "b"), ViewRecord(1002.0, "c", "p", None, False)]
    first = chain("v", None, 10, 10, 11, one)
    both = chain("v", first, 11, 11, 12, two)
    assert both is not None
    assert views_since(both, "v", 10) == one + two
    assert views_since(both, "v", 11) == two
    assert views_since(both, "v", 12) is None and views_since(both, "w", 10) is None
    marked = chain("v", first, 11, 999, 12, two)  # something else marked the slot before the second write
    assert views_since(marked, "v", 10) is None and views_since(marked, "v", 11) is None
    assert views_since(marked, "v", 10, unmarked=False) == one + two  # the writer checks the row itself
    long = None
    for i in range(40):  # the oldest writes go to fit a cell
        long = chain("v", long, i, i, i + 1, [ViewRecord(float(i), "category-" + "x" * 20, f"product-{i}")])
    assert views_since(long, "v", 39) is not None and views_since(long, "v", 0) is None


def test_values_msgpack_would_change_are_not_published() -> None:
    from slotwise.store.sqlite.deltas import publishable
    assert publishable([ViewRecord(1.0, "c", "p", 2.5, True), ViewRecord(2.0, None, None, None, None)])
    assert not publishable([lambda p: None])
    assert not publishable([ViewRecord(1, "c")])  # an int time: JSON would write 1, msgpack reads 1.0 here
    assert not publishable([ViewRecord(1.0, "c", "p", {"amount": 1}, True)])  # a mapping: not a scalar
    assert publishable([ViewRecord(1.0, "c", "p", 2.5, True, "GBP")])  # the currency its price was seen in
    assert not publishable([ViewRecord(1.0, "c", "p", 2.5, True, 3)])  # type: ignore[arg-type]  # no text
    assert chain("v", None, 1, 1, 2, [ViewRecord(1.0, "c", "p", 2**70, True)]) is None  # beyond 64 bits
    assert chain("v", None, 1, 1, 2, [ViewRecord(1.0, "\ud800", "p")]) is None  # a lone surrogate


# -- two real processes -----------------------------------------------------------------------------

WORKER = Path(__file__).with_name("profile_cache_worker.py")


def test_two_processes_catch_up_on_each_others_views_and_agree_with_the_row(tmp_path: Path) -> None:
    """A visitor's pages alternating between two worker processes: each catches up on the other's
    published views (no query), and every copy is the row; a kill -9 after that loses nothing written."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)]

    def ask(proc: subprocess.Popen[str], command: str) -> Any:
        import json
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(command + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    try:
        for i in range(12):
            proc = procs[i % 2]
            ask(proc, f"page v cat{i % 3}")
            ask(proc, "flush")
        stats = [ask(p, "stats") for p in procs]
        assert all(s["replayed"] >= 4 for s in stats), stats
        store = SQLiteStore(tmp_path / "slotwise.db")
        expected = asyncio.run(row(store, "v"))
        for p in procs:
            assert ask(p, "dump v") == expected
        assert expected is not None and sum(e["count"] for e in expected["categories"].values()) == 12
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        assert ask(procs[1], "dump v") == expected
        asyncio.run(store.close())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


def test_the_deltas_file_is_private(tmp_path: Path) -> None:
    import stat
    SQLiteStore(tmp_path / "slotwise.db")
    assert stat.S_IMODE((tmp_path / "slotwise.db-deltas").stat().st_mode) == 0o600


def test_decode_of_a_row_equals_a_caught_up_copy_after_many_views(tmp_path: Path) -> None:
    """Past the products' bound (eviction by the oldest ``last``) and across a new visit."""
    async def go() -> None:
        path = tmp_path / "slotwise.db"
        a, b = Worker(path), Worker(path)
        try:
            now = 1000.0
            for i in range(230):
                now += 7000.0 if i % 50 == 0 else 1.0  # a new visit now and then
                await (a if i % 2 else b).view("v", now, product=f"p{i}")
                copy, _ = await (b if i % 2 else a).read("v")
            text = a.cache.inner.db.query("SELECT data FROM profiles WHERE id = 'v'")[0][0]
            assert copy.to_dict() == decode_profile(text).to_dict()
            assert a.cache.replayed + b.cache.replayed > 150
        finally:
            await a.cache.close()
            await b.cache.close()
    asyncio.run(go())
