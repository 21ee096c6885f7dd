"""The change board: a worker's cache skips the profile-head query while shared memory says the row is
unchanged, and still sees every write made elsewhere on the next read (other processes, logins, erases)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from slotwise.profile import record_view
from slotwise.store import open_store
from slotwise.store.profile_cache import CachedProfiles
from slotwise.store.sqlite import SQLiteStore
from slotwise.store.sqlite.board import board_for, slot_of, take_marks
from slotwise.store.sqlite.db import Database
from slotwise.store.sqlite.profiles import encode_profile, write_profile

from test_profile_cache import Worker, view

pytestmark = pytest.mark.anyio


def counted(store: CachedProfiles) -> list[str]:
    """The visitor ids the cache asked the database about (its head query)."""
    asked: list[str] = []
    real = store.inner.read_profile
    store.inner.read_profile = lambda visitor, known: asked.append(visitor) or real(visitor, known)  # type: ignore[method-assign]
    return asked


def counts(profile: Any) -> dict[str, int] | None:
    return {c: e["count"] for c, e in profile.categories.items()} if profile is not None else None


async def test_after_its_own_writes_a_worker_reads_without_a_query(tmp_path: Path) -> None:
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    await store.update_profile_soon("v", view("socks"), 1000.0)  # a new visitor: its row is made by the writer
    await store.flush()
    asked = counted(store)
    for i in range(5):
        await store.update_profile_soon("v", view("bags"), 1001.0 + i)
        await store.flush()  # the writer commits each view: the cache moves onto the version it wrote
        assert counts(await store.get_profile("v")) == {"socks": 1, "bags": i + 1}
    assert asked == []
    assert store.stats()["unasked"] >= 10
    await store.close()


async def test_a_write_from_another_connection_is_seen_on_the_next_read(tmp_path: Path) -> None:
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    await store.update_profile_soon("v", view("socks"), 1000.0)
    await store.flush()
    assert counts(await store.get_profile("v")) == {"socks": 1}
    elsewhere = SQLiteStore(tmp_path / "slotwise.db")  # its own connection, as the tag API of another worker
    await elsewhere.update_profile("v", view("hats"), 1001.0)
    asked = counted(store)
    loads: list[str] = []
    real = store.inner.load_profile
    store.inner.load_profile = lambda pid: loads.append(pid) or real(pid)  # type: ignore[method-assign]
    assert counts(await store.get_profile("v")) == {"socks": 1, "hats": 1}
    assert asked == ["v"] and loads == []  # the board showed the change: one query read the head and the row
    assert counts(await store.get_profile("v")) == {"socks": 1, "hats": 1}
    assert asked == ["v"]  # and now trusts the version it read
    await store.close()
    await elsewhere.close()


def test_other_processes_writes_logins_and_erases_are_seen_on_the_next_read(tmp_path: Path) -> None:
    a, b = Worker(tmp_path), Worker(tmp_path)
    try:
        a("view v socks")
        a("flush")
        a("get v")
        before = a("stats")["unasked"]
        assert a("get v") == {"socks": 1} and a("stats")["unasked"] == before + 1  # the board answered
        b("event v bags")  # another process writes the row
        assert a("get v") == {"socks": 1, "bags": 1}
        b("view c hats")  # a known customer
        b("link c email:c")
        a("get v")
        b("link v email:c")  # v logs in as that customer: v's profile merges into c's, v becomes c's alias
        assert a("get v") == {"socks": 1, "bags": 1, "hats": 1}
        a("get c")
        b("erase v")  # the person (c, with v) is erased elsewhere
        assert a("get v") is None and a("get c") is None
    finally:
        for w in (a, b):
            w.stop()


async def test_an_alias_replaced_in_place_moves_the_visitor(tmp_path: Path) -> None:
    """``INSERT OR REPLACE`` on an alias replaces its row without a DELETE: the board still shows it."""
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    elsewhere = SQLiteStore(tmp_path / "slotwise.db")
    await elsewhere.update_profile("owner", view("socks"), 1000.0)
    await elsewhere.update_profile("other", view("hats"), 1000.0)
    with elsewhere.db.transaction() as cur:  # alias-x names owner
        cur.execute("INSERT INTO aliases(alias, profile_id) VALUES (?, ?)", ("alias-x", "owner"))
    assert counts(await store.get_profile("alias-x")) == {"socks": 1}
    assert counts(await store.get_profile("alias-x")) == {"socks": 1}
    with elsewhere.db.transaction() as cur:  # a bare replace of the alias row (as merges and imports do)
        cur.execute("INSERT OR REPLACE INTO aliases(alias, profile_id) VALUES (?, ?)", ("alias-x", "other"))
    assert counts(await store.get_profile("alias-x")) == {"hats": 1}
    await store.close()
    await elsewhere.close()


async def test_a_write_in_flight_is_not_trusted_until_it_commits(tmp_path: Path) -> None:
    """Marks go on the board before the commit: a reader in between reads the old row and must not
    trust the version it read (the board holds another), so it sees the commit on its next read."""
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    await store.update_profile_soon("v", view("socks"), 1000.0)
    await store.flush()
    other = Database(tmp_path / "slotwise.db")
    cur = other.conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    loaded = store.inner.load_profile("v")
    assert loaded is not None
    record_view(loaded[0], 1001.0, category="bags")
    write_profile(cur, "v", encode_profile(loaded[0]), 1001.0)
    assert other.board is not None
    for slot, value in take_marks(cur):  # what ``Database.transaction`` does before its COMMIT
        other.board.mark(slot, value)
    assert counts(await store.get_profile("v")) == {"socks": 1}  # not committed yet: the old row
    cur.execute("COMMIT")
    assert counts(await store.get_profile("v")) == {"socks": 1, "bags": 1}
    await store.close()
    other.close()


async def test_a_write_outside_a_transaction_is_marked_as_unknown(tmp_path: Path) -> None:
    """An autocommit write (``Database.query``) is marked after its commit, so only as "ask the database"."""
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    await store.update_profile_soon("v", view("socks"), 1000.0)
    await store.flush()
    await store.get_profile("v")
    other = SQLiteStore(tmp_path / "slotwise.db")
    other.db.query("UPDATE profiles SET version = 7 WHERE id = 'v'")
    board = board_for(tmp_path / "slotwise.db")
    assert board.get("v") not in (0, 7)
    asked = counted(store)
    await store.get_profile("v")
    await store.get_profile("v")
    assert asked == ["v", "v"]  # never trusted until a write in a transaction marks it
    await store.close()
    await other.close()


async def test_the_catalog_version_is_read_once_until_a_product_is_written(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    elsewhere = SQLiteStore(tmp_path / "slotwise.db")
    await store.upsert_products([{"id": "p1", "name": "Socks"}], 1000.0)
    queries: list[str] = []
    store.db.conn.set_trace_callback(queries.append)
    assert (await store.get_products(["p1"]))["p1"]["name"] == "Socks"
    assert (await store.get_products(["p1"]))["p1"]["name"] == "Socks"
    assert sum("catalog_version" in q for q in queries) == 1
    await elsewhere.upsert_products([{"id": "p1", "name": "Wool socks"}], 1001.0)
    assert (await store.get_products(["p1"]))["p1"]["name"] == "Wool socks"
    await store.close()
    await elsewhere.close()


def test_the_board_is_private_and_holds_no_ids(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    with store.db.transaction() as cur:
        write_profile(cur, "visitor-secret-id", "{}", 1000.0)
    board = tmp_path / "slotwise.db-board"
    assert stat.S_IMODE(board.stat().st_mode) == 0o600
    assert b"visitor-secret-id" not in board.read_bytes()
    assert board_for(tmp_path / "slotwise.db").get("visitor-secret-id") == int(
        store.db.query("SELECT version FROM profiles WHERE id = 'visitor-secret-id'")[0][0])
    assert 1 <= slot_of("visitor-secret-id") and slot_of("a") == slot_of("a")


def test_other_programs_see_no_trigger(tmp_path: Path) -> None:
    """The triggers are TEMP: the sqlite3 shell or a backup tool writes the file without Slotwise's function."""
    SQLiteStore(tmp_path / "slotwise.db")
    conn = sqlite3.connect(tmp_path / "slotwise.db")
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0] == 0
    conn.execute("INSERT INTO profiles(id, data, updated, version) VALUES ('x', '{}', 0, 5)")
    conn.commit()
    conn.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_board_made_by_root_belongs_to_the_databases_owner(tmp_path: Path) -> None:
    """As SQLite does for -wal and -shm: ``slotwise`` commands run as root must not lock the service out."""
    (tmp_path / "slotwise.db").touch(mode=0o600)
    os.chown(tmp_path / "slotwise.db", 4321, 4321)
    SQLiteStore(tmp_path / "slotwise.db")
    board = (tmp_path / "slotwise.db-board").stat()
    assert (board.st_uid, board.st_gid) == (4321, 4321)
