"""The profile writer keeps the profiles it saved and skips their JSON while the row is still its own.

What must hold: every view counts exactly once — in the database and in each
worker's cached copy — whoever else writes the profile between two groups (the
tag API, another worker), after an erase, a merge, a reload, a failed group.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis_server import RedisServer

from slotwise.profile import Profile, ViewRecord, record_view
from slotwise.store import open_store, profile_cache
from slotwise.store.base import ViewUpdate
from slotwise.store.redis import RedisStore
from slotwise.store.profile_cache import CachedProfiles
from slotwise.store.sqlite import SQLiteStore
from slotwise.store.sqlite import profiles as sqlite_profiles
from slotwise.store.sqlite.db import new_version
from slotwise.store.sqlite.profiles import KeptProfiles, write_views


def view(category: str, now: float = 1000.0) -> Any:
    return lambda p: record_view(p, now, category=category)


def page_view(category: str, now: float) -> ViewRecord:
    """A view as the proxy records it: data, with a product and what its page said."""
    return ViewRecord(now, category, f"p-{category}", 19.5, True)


def counts(profile: Profile | None) -> dict[str, int] | None:
    return {c: e["count"] for c, e in profile.categories.items()} if profile is not None else None


def stored(store: SQLiteStore, visitor: str) -> dict[str, int] | None:
    pid, _ = store.profile_head(visitor)
    loaded = store.load_profile(pid)
    return counts(loaded[0]) if loaded is not None else None


def test_the_writer_decodes_a_profile_only_when_someone_else_wrote_it(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    kept = KeptProfiles()
    write_views(store.db, [ViewUpdate("v", view("socks"), 1000.0, existed=False)], kept)
    for _ in range(3):  # the row is still the one this writer wrote: its own copy, no JSON read
        write_views(store.db, [ViewUpdate("v", view("socks"), 1001.0, existed=True)], kept)
    assert (kept.decoded, kept.reused) == (0, 3)
    asyncio.run(store.update_profile("v", view("bags"), 1002.0))  # the tag API's event: a new version
    write_views(store.db, [ViewUpdate("v", view("socks"), 1003.0, existed=True)], kept)
    assert (kept.decoded, kept.reused) == (1, 3)  # read afresh: the event is in it
    write_views(store.db, [ViewUpdate("v", view("socks"), 1004.0, existed=True)], kept)
    assert (kept.decoded, kept.reused) == (1, 4)
    assert stored(store, "v") == {"socks": 6, "bags": 1}


def test_a_kept_profile_is_the_row_it_stands_for(tmp_path: Path) -> None:
    """The JSON the writer writes from its kept copy is the JSON it would write from a fresh read."""
    kept_db, fresh_db = SQLiteStore(tmp_path / "kept.db"), SQLiteStore(tmp_path / "fresh.db")
    kept = KeptProfiles()
    for i in range(6):
        items = [ViewUpdate("v", lambda p, i=i: record_view(p, 1000.0 + i, category=f"c{i % 2}", product=f"p{i}",
                                                              offer={"price": 1.5 * i, "in_stock": True}),
                            1000.0 + i, existed=i > 0)]
        write_views(kept_db.db, items, kept)
        write_views(fresh_db.db, items)  # no kept copies: every group reads the JSON
    assert kept.reused == 5
    rows = [s.db.query("SELECT data FROM profiles WHERE id = 'v'")[0][0] for s in (kept_db, fresh_db)]
    assert rows[0] == rows[1]


def test_a_failed_group_leaves_no_view_in_a_kept_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    kept = KeptProfiles()
    write_views(store.db, [ViewUpdate("v", view("socks"), 1000.0, existed=False)], kept)
    real = sqlite_profiles.write_profile

    def broken(*args: Any) -> int:
        raise OSError("disk I/O error")

    monkeypatch.setattr(sqlite_profiles, "write_profile", broken)
    with pytest.raises(OSError):  # applied to the kept copy, then rolled back
        write_views(store.db, [ViewUpdate("v", view("lost"), 1001.0, existed=True)], kept)
    monkeypatch.setattr(sqlite_profiles, "write_profile", real)
    write_views(store.db, [ViewUpdate("v", view("socks"), 1002.0, existed=True)], kept)
    assert stored(store, "v") == {"socks": 2}  # the lost view did not come back with the next group
    assert kept.decoded == 1


def test_a_group_with_two_ids_of_one_person_applies_both_to_one_copy(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    asyncio.run(store.update_profile("phone", view("socks"), 1000.0))
    asyncio.run(store.link_identity("phone", "customer:C1", 1000.0))
    asyncio.run(store.update_profile("laptop", view("bags"), 1000.0))
    asyncio.run(store.link_identity("laptop", "customer:C1", 1000.0))  # merged into the phone's profile
    kept = KeptProfiles()
    for _ in range(2):
        committed = write_views(store.db, [ViewUpdate("phone", view("hats"), 1001.0, existed=True),
                                           ViewUpdate("laptop", view("hats"), 1001.0, existed=True)], kept)
        assert set(committed) == {"phone"}
    assert stored(store, "laptop") == {"socks": 1, "bags": 1, "hats": 4}
    assert kept.reused >= 1  # the second group: the laptop's id is known to stand for the phone's profile


def test_the_writer_never_hands_its_copy_to_the_cache(tmp_path: Path) -> None:
    """The cache's copy and the writer's are two objects: a view applied to one is not in the other."""
    store = open_store("", tmp_path)
    assert isinstance(store, CachedProfiles)

    async def go() -> None:
        await store.update_profile_soon("v", view("socks"), 1000.0)
        await store.flush()
        cached = await store.get_profile("v")
        writer = store._views.kept._kept["v"].profile  # type: ignore[union-attr]
        assert cached is not writer
        assert all(cached.categories[c] is not writer.categories[c] for c in cached.categories)  # type: ignore[union-attr]
        for i in range(3):
            assert (await store.update_profile_soon("v", view("socks"), 1001.0 + i)) is cached
        await store.flush()
        assert counts(await store.get_profile("v")) == {"socks": 4} == counts(writer)
        assert store._views.kept.reused == store.writer.batches - 1  # type: ignore[union-attr]  # all but the first
        await store.close()

    asyncio.run(go())
    assert stored(SQLiteStore(tmp_path / "slotwise.db"), "v") == {"socks": 4}


def _versions_after_fork(queue: Any) -> None:
    queue.put([new_version() for _ in range(3)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_worker_draws_versions_of_its_own() -> None:
    """Versions come from a generator in the process: a forked child must not repeat its parent's."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_versions_after_fork, args=(queue,))
    child.start()
    theirs = queue.get(timeout=10)
    child.join(10)
    assert not set(theirs) & {new_version() for _ in range(3)}


# -- every view exactly once: two workers, the tag API, erases, merges, in any order ------------------------

VISITORS = ("a", "b", "c")
CATEGORIES = ("socks", "bags")
ops = st.one_of(
    st.tuples(st.just("view"), st.integers(0, 1), st.sampled_from(VISITORS), st.sampled_from(CATEGORIES)),
    st.tuples(st.just("view"), st.integers(0, 1), st.sampled_from(VISITORS), st.sampled_from(CATEGORIES), st.just("closure")),
    st.tuples(st.just("flush"), st.integers(0, 1)),
    st.tuples(st.just("event"), st.sampled_from(VISITORS), st.sampled_from(CATEGORIES)),
    st.tuples(st.just("get"), st.integers(0, 1), st.sampled_from(VISITORS)),
    st.tuples(st.just("erase"), st.integers(0, 1), st.sampled_from(VISITORS)),
    st.tuples(st.just("login"), st.integers(0, 1), st.sampled_from(VISITORS), st.sampled_from(("C1", "C2"))),
)


class Model:
    """The database as it must be: categories' counts per profile id, and the aliases."""

    def __init__(self) -> None:
        self.rows: dict[str, Counter[str]] = {}
        self.aliases: dict[str, str] = {}
        self.queues: list[list[tuple[str, str, bool]]] = [[], []]

    def resolve(self, visitor: str) -> str:
        return self.aliases.get(visitor, visitor)

    def view(self, worker: int, visitor: str, category: str) -> None:
        self.queues[worker].append((visitor, category, self.resolve(visitor) in self.rows))

    def flush(self, worker: int) -> None:
        for visitor, category, existed in self.queues[worker]:
            pid = self.resolve(visitor)
            if pid not in self.rows:
                if existed:  # erased since: not brought back
                    continue
                self.rows[pid] = Counter()
            self.rows[pid][category] += 1
        self.queues[worker] = []

    def event(self, visitor: str, category: str) -> None:
        self.rows.setdefault(self.resolve(visitor), Counter())[category] += 1

    def erase(self, visitor: str) -> None:
        pid = self.resolve(visitor)
        self.rows.pop(pid, None)
        self.aliases = {a: p for a, p in self.aliases.items() if p != pid and a not in (visitor, pid)}

    def login(self, visitor: str, alias: str) -> None:
        mine = self.resolve(visitor)
        self.rows.setdefault(mine, Counter())
        owner = self.aliases.get(alias)
        if owner is None or owner == mine:
            self.aliases[alias] = mine
            return
        self.rows[owner] = self.rows.get(owner, Counter()) + self.rows.pop(mine)
        self.aliases = {a: (owner if p == mine else p) for a, p in self.aliases.items()}
        self.aliases[mine] = owner

    def expected(self, visitor: str) -> dict[str, int] | None:
        row = self.rows.get(self.resolve(visitor))
        return {c: n for c, n in row.items() if n} if row is not None else None


async def _play(workers: list[Any], tag_api: Any, steps: list[tuple[Any, ...]], *, queued: bool = True) -> None:
    """``workers``: two store objects on one database (each a worker); ``tag_api``: a third, writing at once.
    ``queued``: the workers queue page views until a flush (SQLite's profile cache); else each is written at
    once (Redis: a compare-and-set on the profile's key) and counts in the model at once."""
    model = Model()

    async def check(worker: int) -> None:
        """After its flush a worker's copy of every visitor is the database's, which is the model's:
        the whole profile, not only the counts (a copy caught up from another worker's published
        views must be the row, field for field)."""
        for visitor in VISITORS:
            copy = await workers[worker].get_profile(visitor)
            row = await tag_api.get_profile(visitor)
            assert counts(copy) == counts(row) == model.expected(visitor), (worker, visitor)
            assert (copy.to_dict() if copy else None) == (row.to_dict() if row else None), (worker, visitor)

    async def flush(worker: int) -> None:
        model.flush(worker)
        if queued:
            await workers[worker].flush()

    try:
        for now, step in enumerate(steps, start=1000):
            kind, *args = step
            if kind == "view":  # a page's view is data (published for the other worker); a closure is not
                worker, visitor, category, *closure = args
                model.view(worker, visitor, category)
                update = view(category, float(now)) if closure else page_view(category, float(now))
                await workers[worker].update_profile_soon(visitor, update, float(now))
                if not queued:
                    model.flush(worker)
            elif kind == "flush":
                await flush(args[0])
                await check(args[0])
            elif kind == "event":
                visitor, category = args
                model.event(visitor, category)
                await tag_api.update_profile(visitor, view(category, float(now)), float(now))
            elif kind == "get":
                await workers[args[0]].get_profile(args[1])  # a read: may reload the cached copy
            elif kind == "erase":
                worker, visitor = args
                model.flush(worker)  # the erasing worker writes its queue first
                model.erase(visitor)
                await workers[worker].delete_profile(visitor)
            elif kind == "login":
                worker, visitor, customer = args
                model.flush(worker)
                model.login(visitor, f"customer:{customer}")
                await workers[worker].link_identity(visitor, f"customer:{customer}", float(now))
        for worker in (0, 1):
            await flush(worker)
        for worker in (0, 1):
            await check(worker)
    finally:
        for w in workers:
            await w.close()
        await tag_api.close()


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(ops, min_size=1, max_size=40))
def test_every_view_counts_once_in_the_database_and_in_each_workers_copy(
        tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[Any, ...]]) -> None:
    """Two workers (each a cache and a writer keeping its copies) on one database, the tag API writing
    synchronously, erases and logins that merge two people, reads that reload: after each flush a
    worker's cached copies, the database and a model that counts every view once all agree."""
    data = tmp_path_factory.mktemp("views")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(profile_cache, "LINGER_S", 30.0)  # a group is written when a worker flushes, not before
        # the tag API writes synchronously (an event is written before it is acknowledged)
        asyncio.run(_play([open_store("", data), open_store("", data)], SQLiteStore(data / "slotwise.db"), steps))


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(ops, min_size=1, max_size=40))
def test_every_view_counts_once_on_redis_too(redis_server: RedisServer, steps: list[tuple[Any, ...]]) -> None:
    """The same model on Redis (several instances): no worker keeps a copy and each page view is a
    compare-and-set on the profile the visitor names when it is written (``redis/profiles.py``), so a view
    made after another instance merged its visitor lands on the merged profile and every read is the row."""
    url = f"{redis_server.url}?prefix=t{uuid.uuid4().hex[:12]}:"  # an empty keyspace of its own per example
    asyncio.run(_play([RedisStore(url), RedisStore(url)], RedisStore(url), steps, queued=False))


def test_a_reused_copy_and_another_workers_write_in_between(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case the property test is for, spelled out: worker A's writer keeps v; worker B writes v;
    A's next group reads v afresh (B's view in it) and A's cache, built before B's write, reloads."""
    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)

    async def go() -> None:
        a, b = open_store("", tmp_path), open_store("", tmp_path)
        await a.update_profile_soon("v", view("socks"), 1000.0)
        await a.flush()
        await a.update_profile_soon("v", view("socks"), 1001.0)
        await a.flush()
        assert a._views.kept.reused == 1  # type: ignore[attr-defined]
        await a.update_profile_soon("v", view("socks"), 1002.0)  # queued in A, on A's copy
        await b.update_profile_soon("v", view("bags"), 1002.0)
        await b.flush()  # B commits first
        await a.flush()
        assert a._views.kept.decoded == 1  # type: ignore[attr-defined]
        assert counts(await a.get_profile("v")) == {"socks": 3, "bags": 1} == counts(await b.get_profile("v"))
        for store in (a, b):
            await store.close()

    asyncio.run(go())


def test_a_copy_made_again_after_an_eviction_is_not_taken_for_the_written_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached copy evicted with a view queued, then read again before the group is written, lacks
    that view: when the group commits it must be read afresh, not moved onto the new version."""
    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)

    async def go() -> None:
        store = CachedProfiles(SQLiteStore(tmp_path / "slotwise.db"), size=1)
        await store.update_profile("v", view("socks"), 1000.0)
        await store.update_profile_soon("v", view("socks"), 1001.0)  # queued
        await store.get_profile("w")  # evicts v's copy
        assert counts(await store.get_profile("v")) == {"socks": 1}  # made again from the database: not yet written
        await store.flush()
        assert counts(await store.get_profile("v")) == {"socks": 2}
        await store.close()

    asyncio.run(go())


def test_a_view_queued_under_an_id_another_worker_merged_lands_on_the_merged_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The property test's shrunk case (seed 23): worker A queues a view of new visitor a; worker B logs a in
    as a customer whose profile is b's, merging a into b; A's next page of a reads b's row. A's queued view
    is written on b (the writer resolves a then): A's copy of b must count it, before and after the flush."""
    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)

    async def go() -> None:
        a, b = open_store("", tmp_path), open_store("", tmp_path)
        await a.link_identity("b", "customer:C1", 1000.0)
        await a.update_profile_soon("a", page_view("socks", 1001.0), 1001.0)  # queued in A under a
        await b.link_identity("a", "customer:C1", 1002.0)  # a is b now
        copy = await a.update_profile_soon("a", page_view("socks", 1003.0), 1003.0)
        assert counts(copy) == {"socks": 2}  # A's own queued view is in the copy it serves
        await a.flush()
        assert counts(await a.get_profile("a")) == {"socks": 2} == counts(await b.get_profile("a"))
        assert counts(await a.get_profile("b")) == {"socks": 2}
        for store in (a, b):
            await store.close()

    asyncio.run(go())
    assert stored(SQLiteStore(tmp_path / "slotwise.db"), "a") == {"socks": 2}


def test_a_view_queued_under_an_id_another_worker_merged_counts_in_the_copy_of_its_new_person(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above, but A's next page is the other id's (b): nothing told A that its view queued under a goes to b
    until its writer wrote it there. After the flush A's copy of b has it (the writer's commit says where
    each view went, not the key the cache queued it under)."""
    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)

    async def go() -> None:
        a, b = open_store("", tmp_path), open_store("", tmp_path)
        await a.link_identity("b", "customer:C1", 1000.0)
        await a.update_profile_soon("a", page_view("socks", 1001.0), 1001.0)
        await b.link_identity("a", "customer:C1", 1002.0)
        await a.update_profile_soon("b", page_view("bags", 1003.0), 1003.0)
        await a.flush()
        assert counts(await a.get_profile("b")) == {"socks": 1, "bags": 1} == counts(await b.get_profile("b"))
        assert counts(await a.get_profile("a")) == {"socks": 1, "bags": 1}
        for store in (a, b):
            await store.close()

    asyncio.run(go())


def test_views_queued_under_two_ids_of_one_person_keep_the_order_they_were_made_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A queued views of one product under b, then under a, then under b, each at another price; B merges a
    into b. A's copy of the person, before its flush, is the row its flush writes, field for field: the writer
    applies the three in the order they were made, and so does the copy (not b's two, then a's: the price
    last seen would be a's)."""
    monkeypatch.setattr(profile_cache, "LINGER_S", 30.0)

    async def go() -> None:
        a, b = open_store("", tmp_path), open_store("", tmp_path)
        await a.link_identity("b", "customer:C1", 1000.0)
        for now, (visitor, price) in enumerate((("b", 10.0), ("a", 20.0), ("b", 30.0)), start=1001):
            await a.update_profile_soon(visitor, ViewRecord(float(now), "socks", "p1", price, True), float(now))
        await b.link_identity("a", "customer:C1", 1004.0)
        before = (await a.get_profile("a")).to_dict()  # type: ignore[union-attr]
        await a.flush()
        row = await b.get_profile("b")
        assert row is not None and before == row.to_dict()
        assert row.products["p1"]["seen"]["price"] == 30.0
        assert counts(await a.get_profile("b")) == {"socks": 3}
        for store in (a, b):
            await store.close()

    asyncio.run(go())
