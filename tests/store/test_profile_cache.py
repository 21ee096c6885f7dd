"""The per-worker profile cache and its writer: right across processes, after an erase, after a crash."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from slotwise.profile import Profile, record_view
from slotwise.store import open_store
from slotwise.store.base import ProductView, ViewUpdate
from slotwise.store.profile_cache import CachedProfiles
from slotwise.store.sqlite import SQLiteStore
from slotwise.store.sqlite.profiles import write_views

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("profile_cache_worker.py")


class Worker:
    """A separate process with its own cached store on the shared database (as a server worker has)."""

    def __init__(self, data: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def __call__(self, command: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"worker died on {command!r}"
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self("close")
            self.proc.wait(10)


@pytest.fixture
def workers(tmp_path: Path) -> Any:
    started: list[Worker] = []

    def start() -> Worker:
        started.append(Worker(tmp_path))
        return started[-1]

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def view(category: str, now: float = 1000.0) -> Any:
    return lambda p: record_view(p, now, category=category)


def test_two_processes_see_each_others_views_and_lose_none(workers: Any) -> None:
    a, b = workers(), workers()
    a("view v1 socks")
    assert a("get v1") == {"socks": 1}  # its own view at once, before it is written
    a("flush")
    assert b("get v1") == {"socks": 1}
    b("view v1 bags")
    b("flush")
    # a has v1 cached from its own view: the version moved, so it reads afresh
    assert a("get v1") == {"socks": 1, "bags": 1}
    for _ in range(25):  # both workers count the same visitor, no flush in between
        a("view v1 hats")
        b("view v1 hats")
    a("flush")
    b("flush")
    assert a("get v1")["hats"] == 50 and b("get v1")["hats"] == 50  # updates replayed, none lost


def test_a_synchronous_event_elsewhere_is_seen_by_a_cached_worker(workers: Any) -> None:
    a, b = workers(), workers()
    a("view v2 socks")
    a("flush")
    assert a("get v2") == {"socks": 1}
    b("event v2 bags")  # e.g. the tag API in another worker: written before it answered
    assert a("get v2") == {"socks": 1, "bags": 1}


def test_close_writes_everything_queued(tmp_path: Path, workers: Any) -> None:
    a = workers()
    for i in range(40):
        a(f"view v{i % 4} c{i}")
    a.stop()
    store = SQLiteStore(tmp_path / "slotwise.db")
    total = sum(e["count"] for i in range(4) for e in store.load_profile(f"v{i}")[0].categories.values())
    assert total == 40


def test_a_kill_loses_nothing_acknowledged(tmp_path: Path, workers: Any) -> None:
    """Acknowledged: synchronous updates (the tag API's events) and views a ``flush`` returned for.
    Views still queued when the process is killed may be lost (at most the last group)."""
    a = workers()
    a("event v9 acked")
    for _ in range(30):
        a("view v9 flushed")
    a("flush")
    for _ in range(30):
        a("view v9 queued")
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(10)
    loaded = SQLiteStore(tmp_path / "slotwise.db").load_profile("v9")
    assert loaded is not None
    counts = {c: e["count"] for c, e in loaded[0].categories.items()}
    assert counts["acked"] == 1 and counts["flushed"] == 30
    assert counts.get("queued", 0) <= 30


async def test_a_close_on_a_locked_database_gives_up_within_its_timeout_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A worker's stop writes its queued views within its share of ``--stop-timeout`` (``close_timeout``). On a
    database another process keeps locked, a close waited 30 s for the queue and 30 more for the thread: past
    the stop timeout, whose kill then came mid-write and said nothing of the views."""
    store = open_store("", tmp_path, close_timeout=0.5)
    assert isinstance(store, CachedProfiles)
    await store.update_profile("v", view("socks"), 1000.0)  # the row exists: the views below only queue
    other = sqlite3.connect(str(tmp_path / "slotwise.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock (the writer waits up to 10 s)
    try:
        for category in ("bags", "hats", "belts"):
            await store.update_profile_soon("v", view(category), 1001.0)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="slotwise.store"):
            await store.close()
        assert time.monotonic() - started < 2.0
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "profile writer: 3 page view(s) not written 0.5 s into the stop" in caplog.text
    assert store.writer.flush(15)  # the thread goes on while the process lives: the lock gone, they are written
    loaded = SQLiteStore(tmp_path / "slotwise.db").load_profile("v")
    assert loaded is not None and set(loaded[0].categories) == {"socks", "bags", "hats", "belts"}


async def test_a_cache_hit_reads_no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from slotwise.store import profile_cache

    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)  # the group gathers until flushed: no commit mid-test
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    loads: list[str] = []
    real, read = store.inner.load_profile, store.inner.read_profile
    store.inner.load_profile = lambda pid: loads.append(pid) or real(pid)  # type: ignore[method-assign]

    def read_counted(visitor_id: str, known: int | None) -> Any:
        answer = read(visitor_id, known)
        if answer[2] is not None:  # the row's JSON was read
            loads.append(answer[0])
        return answer

    store.inner.read_profile = read_counted  # type: ignore[method-assign]
    await store.update_profile("v", view("socks"), 1000.0)  # exists in the database
    await store.update_profile_soon("v", view("bags"), 1001.0)
    await store.flush()
    loads.clear()
    for _ in range(5):
        profile = await store.update_profile_soon("v", view("bags"), 1002.0)
        assert (await store.get_profile("v")) is profile
    assert loads == []  # the version check matched every time: no JSON read
    assert profile.categories["bags"]["count"] == 6
    await store.close()
    assert (SQLiteStore(tmp_path / "slotwise.db").load_profile("v"))[0].categories["bags"]["count"] == 6  # type: ignore[index]


async def test_erase_writes_the_queue_first_and_the_profile_stays_gone(tmp_path: Path) -> None:
    store = open_store("", tmp_path)
    await store.update_profile("v", view("socks"), 1000.0)
    await store.update_profile_soon("v", view("bags"), 1001.0)  # queued
    assert await store.delete_profile("v")
    assert await store.get_profile("v") is None
    await store.close()
    assert SQLiteStore(tmp_path / "slotwise.db").load_profile("v") is None


def test_a_queued_view_of_an_erased_profile_is_dropped_and_a_new_visitor_is_created(tmp_path: Path) -> None:
    """What another worker's queue holds when a person is erased must not bring them back."""
    store = SQLiteStore(tmp_path / "slotwise.db")
    committed = write_views(store.db, [
        ViewUpdate("gone", view("socks"), 1000.0, existed=True),  # existed when viewed: erased since
        ViewUpdate("new", view("socks"), 1000.0, existed=False),
        ProductView("p1", ("p2",)),
    ])
    assert set(committed) == {"new"}
    assert store.load_profile("gone") is None
    assert store.load_profile("new") is not None


async def test_a_group_counts_product_views_and_co_views_as_one_by_one_writes_do(tmp_path: Path) -> None:
    """The writer sums a group's product views before writing them: the counts are those of each
    view recorded on its own (views, co-views both ways, a product never co-viewed with itself)."""
    views = [("p1", ("p2", "p3")), ("p1", ("p2",)), ("p2", ("p1", "p2")), ("p1", ()), ("p4", ("p1",)), ("p1", ("p2",))]
    one_by_one = SQLiteStore(tmp_path / "one.db")
    grouped = SQLiteStore(tmp_path / "group.db")
    for store in (one_by_one, grouped):
        await store.upsert_products([{"id": p, "category": "c"} for p in ("p1", "p2", "p3", "p4")], 1000.0)
    for product, co_viewed in views:
        await one_by_one.record_product_view(product, co_viewed)
    write_views(grouped.db, [ProductView(product, co_viewed) for product, co_viewed in views])

    def counts(store: SQLiteStore) -> Any:
        return (store.db.query("SELECT id, views FROM products ORDER BY id"),
                store.db.query("SELECT a, b, n FROM coviews ORDER BY a, b"))

    assert [tuple(r) for r in counts(grouped)[0]] == [("p1", 4), ("p2", 1), ("p3", 0), ("p4", 1)]
    assert [tuple(r) for r in counts(grouped)[1]] == [
        ("p1", "p2", 4), ("p1", "p3", 1), ("p1", "p4", 1), ("p2", "p1", 4), ("p3", "p1", 1), ("p4", "p1", 1)]
    assert [[tuple(r) for r in t] for t in counts(grouped)] == [[tuple(r) for r in t] for t in counts(one_by_one)]


def test_every_write_gives_a_new_version_even_after_an_erase(tmp_path: Path) -> None:
    import asyncio

    store = SQLiteStore(tmp_path / "slotwise.db")
    seen = set()
    for _ in range(3):
        asyncio.run(store.update_profile("v", view("socks"), 1000.0))
        _, version = store.profile_head("v")
        assert version not in seen
        seen.add(version)
        asyncio.run(store.delete_profile("v"))
        assert store.profile_head("v") == ("v", None)


def test_an_old_database_gets_the_version_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "slotwise.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE profiles (id TEXT PRIMARY KEY, data TEXT NOT NULL, updated REAL NOT NULL)")
    conn.execute("INSERT INTO profiles VALUES ('v', ?, 1.0)", (json.dumps(Profile.new("v", 1.0).to_dict()),))
    conn.commit()
    conn.close()
    store = SQLiteStore(path)
    assert store.profile_head("v") == ("v", 0)
    assert store.load_profile("v") is not None


def test_a_backlog_is_written_within_moments(tmp_path: Path, workers: Any) -> None:
    """No flush: the writer commits by itself (it lingers a couple of milliseconds to gather a group)."""
    a, b = workers(), workers()
    a("view v5 socks")
    deadline = time.monotonic() + 5
    while b("get v5") != {"socks": 1}:
        assert time.monotonic() < deadline, "the writer never wrote the view"
        time.sleep(0.01)


# -- a read that misses while the writer commits (the writer's thread runs between the read's steps) ----------

STICKY = {"hero": {"arm": "a", "decision_id": "d1", "ts": 1001.0, "session_start": 1000.0}}


def keep_sticky(profile: Profile) -> None:
    profile.assignments.update(STICKY)


async def test_a_view_written_while_a_miss_reads_the_row_is_not_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read that misses loads the row, then replays what is still queued. When the writer commits the
    queued view and moves the cache on in between (it runs in its own thread), the view is neither in
    the row that was read nor queued any more: the read must read again, not drop it. (A page's sticky
    decision, queued as the page left, was missing from the next page's profile.)"""
    from slotwise.store import profile_cache

    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)  # written when flushed, here from inside the read
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    await store.update_profile("v", view("socks"), 1000.0)
    await store.update_profile_soon("v", keep_sticky, 1001.0)  # queued, on the cached copy
    elsewhere = SQLiteStore(tmp_path / "slotwise.db")
    await elsewhere.update_profile("v", view("bags"), 1001.5)  # another worker writes: the next read misses
    real = store.inner.read_profile

    def read_then_commit(visitor_id: str, known: int | None) -> Any:
        store.inner.read_profile = real  # type: ignore[method-assign]
        read = real(visitor_id, known)  # the row without the queued view
        assert read[2] is not None  # another worker wrote it: read afresh
        assert store.writer.flush(10)  # the writer commits it and moves the cache on, before the read goes on
        return read

    store.inner.read_profile = read_then_commit  # type: ignore[method-assign]
    profile = await store.get_profile("v")
    assert profile is not None and profile.assignments == STICKY
    assert {c: e["count"] for c, e in profile.categories.items()} == {"socks": 1, "bags": 1}
    await store.close()
    await elsewhere.close()


async def test_a_view_written_after_a_miss_found_no_row_is_not_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new visitor's first view is queued; a read finds no row yet, and the writer commits the view and
    moves the cache on before the read looks at the cache: the visitor must not read as unknown."""
    from slotwise.store import profile_cache

    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)
    await store.update_profile_soon("v", keep_sticky, 1000.0)  # queued: no row yet
    real = store.inner.read_profile

    def read_then_commit(visitor_id: str, known: int | None) -> Any:
        store.inner.read_profile = real  # type: ignore[method-assign]
        read = real(visitor_id, known)  # no row
        assert read[1] is None
        assert store.writer.flush(10)
        return read

    store.inner.read_profile = read_then_commit  # type: ignore[method-assign]
    profile = await store.get_profile("v")
    assert profile is not None and profile.assignments == STICKY
    await store.close()
