"""A worker's profile cache, and one writer thread that commits page views in groups.

Why: a personalized page used to cost two SQLite write transactions on the
event loop (the profile's view, the product's view counts), each one a JSON
round-trip of the whole profile and a turn on the database lock that every
worker process shares. Here a page view is applied to the worker's cached
copy at once and handed to one writer thread, which commits whatever has
queued up in one transaction (group commit), each profile loaded and saved
once per transaction, on a connection of its own (WAL: readers never wait).
The writer keeps the profiles it saved (its own objects, never the cache's):
while a row still has the version it wrote, it applies the views to its copy
instead of decoding the JSON again (``sqlite.profiles.KeptProfiles``).

Staleness, across workers and instances: every profile row has a version
(random, new on every write, whoever writes it). Each read checks the
visitor's (profile id, version) and uses the cached copy only while the
version is the one it was built on; otherwise it reloads. The check is first
the change board (``sqlite.board``: shared memory where every write marks its
profile's version before its commit), for a visitor whose (profile id,
version) this worker knows: no query while the board still holds that
version. When the board holds a later version and this worker has no view of
the profile queued, the views another worker's writer published for the
writes since (``sqlite.deltas``: page views as data, ``ViewRecord``) bring the
copy up to the row with no query, if those writes were the only marks on the
board since the copy's version. Otherwise it asks the database — one indexed lookup, with the row's
JSON only when the version is not the one the cache has — and remembers the
answer when the board held the same version right after. So a
worker never serves a profile older than the database: what another worker
(or the tag API, an import, an erase, a login's merge) committed is seen on
the next read. What it cannot see is another worker's views still
in that worker's queue: at most one group commit (milliseconds; a few tens
under load, when the event loop holds the interpreter and the writer's groups
grow). Updates are functions replayed on the database's current state, so two
workers' views of one visitor both count (no lost update). A copy whose own
views the writer committed on another worker's version (the visitor's pages
alternate) is made again in the writer's thread from the text it wrote and
the views still queued, not read back on the event loop's next page.

Durability: events of the tag API (``update_profile``, ``append``) are written
before they are acknowledged, as before. A page view is not acknowledged to
anyone: a worker killed with ``kill -9`` loses the views still queued (at
most one batch: the views of the last few milliseconds); a normal stop
(``close``) writes them all. ``flush`` waits for everything queued so far.

Merge and erase: ``link_identity`` and ``delete_profile`` write this worker's queue first; an update queued
for a profile that existed when the page was viewed is dropped if the profile
is gone when the writer applies it, so a view in another worker's queue never
brings an erased person back. A view queued for a visitor whom another worker's
login merged into another profile meanwhile lands on that profile (the writer
resolves the visitor when it writes): the commit says where each view went
(``Committed.visitors``), and a copy that lacks one is made again from the text
written; a read that finds the visitor under the other profile moves the views
queued for it there at once (``_requeue``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from slotwise.lru import LRUCache

from slotwise.profile import Profile
from slotwise.store.base import Committed, ProductView, ProfileUpdate, ViewUpdate
from slotwise.store.outage import is_outage
from slotwise.store.profile_json import decode_profile

log = logging.getLogger("slotwise.store")

CACHE_SIZE = 4096
"""Profiles a worker keeps (least recently used go first): bounded memory whatever the traffic."""

MAX_BATCH = 512
"""Items one transaction takes at most (a backlog is written in several)."""

LINGER_S = 0.002
"""How long the writer lets a group gather after its first item: a transaction per page costs more
than the page's own writes, and the requests of a busy worker arrive well within this."""

CLOSE_TIMEOUT_S = 30.0
"""How long a close waits for the queue to be written (a worker passes its share of ``--stop-timeout``)."""

Item = ViewUpdate | ProductView


class ProfileWriter:
    """One thread that writes queued items in groups: whatever queued while the last commit ran."""

    def __init__(self, write: Callable[[list[Item]], dict[str, Committed]],
                 committed: Callable[[list[Item], dict[str, Committed] | None], None]) -> None:
        self._write = write
        self._committed = committed
        self._items: list[Item] = []
        self._cond = threading.Condition()
        self._submitted = 0
        self._done = 0
        self._closed = False
        self._urgent = False
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.written = 0
        self.lost = 0

    def submit(self, item: Item) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the profile writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sw-profile-writer", daemon=True)
                self._thread.start()
            self._items.append(item)
            self._submitted += 1
            if len(self._items) == 1 or len(self._items) >= MAX_BATCH:  # wake it once per group, not per item
                self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._items or self._closed)
                if not self._items:
                    return
                deadline = time.monotonic() + LINGER_S  # let the group gather (a flush or close cuts it short)
                while not (self._closed or self._urgent or len(self._items) >= MAX_BATCH):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._urgent = False
                batch, self._items = self._items[:MAX_BATCH], self._items[MAX_BATCH:]
            committed: dict[str, Committed] | None
            try:
                committed = self._write(batch)
                self.batches += 1
                self.written += len(batch)
            except Exception as exc:  # the database is away or locked past its timeout: these views are lost
                if not is_outage(exc):  # a full or read-only disk is logged once, by the store
                    log.exception("profile writer: %d queued update(s) could not be written", len(batch))
                self.lost += len(batch)
                committed = None
            try:
                self._committed(batch, committed)
            finally:
                with self._cond:
                    self._done += len(batch)
                    self._cond.notify_all()

    @property
    def queued(self) -> int:
        return self._submitted - self._done

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits until everything submitted so far is written (or failed); False on timeout."""
        with self._cond:
            target = self._submitted
            self._urgent = True  # no lingering: someone waits
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Writes what is queued and ends the thread, within ``timeout`` in all (the flush and the join each had
        it whole: twice as long); False when the queue was not written in time (the thread may still write)."""
        deadline = time.monotonic() + timeout
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(deadline - time.monotonic(), 0.0))
        return done

    def stats(self) -> dict[str, int]:
        return {"batches": self.batches, "written": self.written, "lost": self.lost, "queued": self.queued}


@dataclass
class _Entry:
    """A cached profile: the database's state at ``version`` with this worker's queued updates applied."""

    version: int | None  # None: no row in the database (yet)
    view: Profile | None
    pending: list[ViewUpdate] = field(default_factory=list)


def _replay(profile_id: str, base: Profile | None, pending: Iterable[ViewUpdate]) -> Profile | None:
    view = base
    for item in pending:
        if view is None:
            if item.existed:  # erased meanwhile
                continue
            view = Profile.new(profile_id, item.now)
        item.update(view)
    return view


class CachedProfiles:
    """A store whose page-view updates are cached per worker and written in groups (see the module doc).

    Everything else is the wrapped store's (attribute access falls through).
    The wrapped store provides ``read_profile``, ``profile_head``, ``load_profile``,
    ``profile_fresh`` and ``view_writer`` (the SQLite store does).
    """

    def __init__(self, inner: Any, size: int = CACHE_SIZE, close_timeout: float = CLOSE_TIMEOUT_S) -> None:
        self.inner = inner
        self.close_timeout = close_timeout
        self._cache: LRUCache[str, _Entry] = LRUCache(maxsize=size)
        self._keys: dict[int, str] = {}  # id(queued item) -> cache key it is pending under, in the order queued
        self._lock = threading.Lock()
        self._views: Any = None  # the wrapped store's view writer, made by the writer's thread
        self._commits = 0  # groups ``_on_commit`` moved the cache for: a miss that one crossed reads again
        self._heads: LRUCache[str, tuple[str, int]] = LRUCache(maxsize=2 * size)  # visitor id -> (profile id, version)
        self._fresh: Callable[[str, int | None], bool] = getattr(inner, "profile_fresh", lambda key, version: False)
        self._since: Callable[[str, int], tuple[int, list[ProfileUpdate]] | None] = getattr(
            inner, "profile_since", lambda key, version: None)
        self.writer = ProfileWriter(self._write, self._on_commit)
        self.hits = 0
        self.misses = 0
        self.unasked = 0  # hits the change board answered: no query
        self.replayed = 0  # of those, copies brought up to another worker's write from its published views

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    # -- reads -----------------------------------------------------------------
    def _current(self, visitor_id: str) -> tuple[str, _Entry]:
        """The visitor's profile id and cache entry, checked against the database's version.

        First the change board (no query): the entry is used while the board holds the version
        this worker last knew the visitor's profile at. Otherwise one query reads the visitor's
        (profile id, version) and, unless it is the version the cache has, the row; a miss then
        replays on the row what is still queued. The writer's thread may commit queued views and
        take them off the queue between the two (``_on_commit``): they would be in neither. So a
        miss that a commit crossed (counted from before the row was read) reads again, holding the
        lock: the writer takes it only after its commit, never while it waits on the database.
        """
        with self._lock:
            head = self._heads.get(visitor_id)
            entry = self._cache.get(head[0] if head is not None else visitor_id)
            if head is not None and entry is not None and entry.version == head[1]:
                if self._fresh(*head):
                    self.hits += 1
                    self.unasked += 1
                    return head[0], entry
                if not entry.pending and self._caught_up(visitor_id, head[0], entry):
                    self.hits += 1
                    self.unasked += 1
                    self.replayed += 1
                    return head[0], entry
            known = entry.version if entry is not None else None  # no JSON when the row is still at it
            queued_under = head[0] if head is not None else visitor_id  # where this worker queued its views
        crossed = self._commits
        profile_id, version, read = self.inner.read_profile(visitor_id, known)
        with self._lock:
            self._remember(visitor_id, profile_id, version)
            if profile_id != queued_under:  # another worker's login merged or moved the visitor meanwhile
                self._requeue(visitor_id, queued_under, profile_id)
            entry = self._cache.get(profile_id)
            if entry is not None and entry.version == version:
                self.hits += 1
                return profile_id, entry
        self.misses += 1
        loaded: tuple[Profile, int] | None
        if read is not None and version is not None:
            loaded = (read, version)
        else:  # no row, or the row is at the version the cache had, which moved on since: read it
            loaded = self.inner.load_profile(profile_id) if version is not None else None
        with self._lock:
            if self._commits != crossed:
                profile_id, version = self.inner.profile_head(visitor_id)
                self._remember(visitor_id, profile_id, version)
                loaded = self.inner.load_profile(profile_id) if version is not None else None
            return profile_id, self._read_again(profile_id, loaded)

    def _caught_up(self, visitor_id: str, profile_id: str, entry: _Entry) -> bool:
        """Whether the entry was brought up to the row with the views the writer of another worker
        published for it (``sqlite.deltas``: its write was the last one, made on this entry's version).
        Only for an entry with nothing queued: the row is the entry's version with those views, in that
        order, and this worker's queued views would have to come after them. Under the lock."""
        moved = self._since(profile_id, entry.version)  # type: ignore[arg-type]  # an int: the head's
        if moved is None or entry.view is None:
            return False
        version, views = moved
        try:
            for view in views:
                view(entry.view)
        except Exception:  # not expected (pure updates); the copy is half-changed: read the row next
            log.exception("profile cache: a published view could not be replayed")
            self._cache.pop(profile_id, None)
            return False
        entry.version = version
        self._heads[visitor_id] = (profile_id, version)
        return True

    def _requeue(self, visitor_id: str, old_key: str, new_key: str) -> None:
        """The visitor's views queued under ``old_key`` go to ``new_key``'s entry, in the order they were
        queued: the writer resolves the visitor when it writes them, so they land on the profile the visitor
        names now (another worker's login merged it). The new entry lacks them: the read under way makes it
        again from the row and its queue (``_read_again``); the old one has them applied: it is read afresh
        when next asked for (version -1). Under the lock; only on a read that asked the database."""
        old = self._cache.get(old_key)
        moved = [item for item in old.pending if item.visitor_id == visitor_id] if old is not None else []
        if old is None or not moved:
            return
        old.pending = [item for item in old.pending if item.visitor_id != visitor_id]
        old.version = -1  # read afresh, with what is still queued under it
        for item in moved:
            self._keys[id(item)] = new_key  # a key's place in the dict stays: the order queued
        new = self._cache.get(new_key)
        pending = [*new.pending, *moved] if new is not None else moved
        if new is not None and new.pending:  # two queues to interleave as the writer will apply them
            turn = {key: n for n, key in enumerate(self._keys)}  # this worker's queue: a few hundred at most
            pending.sort(key=lambda item: turn.get(id(item), -1))
        self._cache[new_key] = _Entry(-1, None, pending)  # ``_read_again`` replays them on the row

    def _remember(self, visitor_id: str, profile_id: str, version: int | None) -> None:
        """A head just read from the database is remembered when the change board held its version
        right after the query (then no write was in flight: the board shows the next one). Under the lock."""
        if version is not None and self._fresh(profile_id, version):
            self._heads[visitor_id] = (profile_id, version)

    def _read_again(self, profile_id: str, loaded: tuple[Profile, int] | None) -> _Entry:
        """The entry made from a row just read and this worker's views still queued (under the lock)."""
        base, version = loaded if loaded is not None else (None, None)
        old = self._cache.get(profile_id)
        pending = old.pending if old is not None else []
        entry = _Entry(version, _replay(profile_id, base, pending), pending)
        self._cache[profile_id] = entry
        return entry

    async def get_profile(self, visitor_id: str) -> Profile | None:
        """The profile as this worker knows it: the database's latest, with its own queued views.

        The cached object is returned: callers read it and change profiles only
        through the store's update methods.
        """
        return self._current(visitor_id)[1].view

    # -- writes ----------------------------------------------------------------
    async def update_profile_soon(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        """Applied to the cached profile now, written by the writer thread with the next group."""
        profile_id, entry = self._current(visitor_id)
        item = ViewUpdate(visitor_id, update, now, existed=entry.version is not None)
        with self._lock:
            view = entry.view if entry.view is not None else Profile.new(profile_id, now)
            update(view)
            entry.view = view
            entry.pending.append(item)
            self._keys[id(item)] = profile_id
        self.writer.submit(item)
        return view

    async def record_product_view_soon(self, product: str, co_viewed: Iterable[str]) -> None:
        """Counters: written with the next group (order does not matter)."""
        self.writer.submit(ProductView(product, tuple(co_viewed)))

    def _write(self, batch: list[Item]) -> dict[str, Committed]:
        if self._views is None:
            self._views = self.inner.view_writer()
        return self._views.write(batch)  # type: ignore[no-any-return]

    def _on_commit(self, batch: Sequence[Item], committed: dict[str, Committed] | None) -> None:
        """The writer's thread: a cached entry built on the version the writer read moves onto the
        version it wrote, its profile untouched, when the views the writer applied to that profile are
        the ones the entry had queued: that profile was the read version's state with this worker's
        queued views applied in order, the written views are the first of them, so it is the committed
        state with the views still queued. Where each view went is the writer's to say (``Committed.visitors``:
        it resolved the visitor ids when it wrote), not the key the view was queued under: another worker's
        login may have merged the visitor into another profile since. Any other entry of a written profile
        (built on another version: another worker wrote in between, the visitor's pages alternate; or
        missing views that were queued under another id, or before an eviction) is made again here from
        the text the writer wrote and the views still queued (``_rebuild``), not on the event loop's next
        read. An entry whose profile was not written (the write failed, the profile was erased or merged
        away) is read afresh."""
        rebuild: list[tuple[str, _Entry, Committed]] = []
        committed = committed or {}
        with self._lock:
            self._commits += 1
            landed = {visitor_id: key for key, state in committed.items() for visitor_id in state.visitors}
            queued: dict[str, set[int]] = {key: set() for key in committed}  # cache key -> its views in this batch
            written: dict[str, set[int]] = {key: set() for key in committed}  # profile -> the views written on it
            for item in batch:
                if not isinstance(item, ViewUpdate):
                    continue
                key = self._keys.pop(id(item), None)
                if key is not None:
                    queued.setdefault(key, set()).add(id(item))
                if item.visitor_id in landed:
                    written[landed[item.visitor_id]].add(id(item))
            for key, ids in queued.items():
                entry = self._cache.get(key)
                if entry is None:
                    continue
                left = [item for item in entry.pending if id(item) not in ids]
                had_them = len(entry.pending) - len(left) == len(ids) and ids == written.get(key)
                entry.pending = left
                state = committed.get(key)
                if state is not None and had_them and entry.version == state.base:
                    entry.version = state.version
                    for visitor_id in state.visitors:  # as the writer resolved them, in its transaction
                        self._heads[visitor_id] = (key, state.version)
                else:
                    entry.version = -1
                    if state is not None and state.data is not None:
                        rebuild.append((key, entry, state))
        for key, entry, state in rebuild:
            self._rebuild(key, entry, state)

    def _rebuild(self, key: str, entry: _Entry, state: Committed) -> None:
        """The writer's thread: ``entry`` made again from the profile as just committed and this
        worker's views queued since, unless a read replaced or moved it meanwhile. Decoded outside
        the lock: the event loop reads other profiles meanwhile."""
        assert state.data is not None
        try:
            profile = decode_profile(state.data)
        except Exception:  # not expected (the writer's own text): the next read asks the database
            log.exception("profile cache: a committed profile could not be read again")
            return
        with self._lock:
            if self._cache.get(key) is not entry or entry.version != -1:
                return
            try:
                entry.view = _replay(key, profile, entry.pending)
            except Exception:  # not expected (pure updates): the entry stays to be read again
                log.exception("profile cache: queued views could not be replayed on a committed profile")
                return
            entry.version = state.version
            for visitor_id in state.visitors:
                self._heads[visitor_id] = (key, state.version)

    async def flush(self) -> None:
        """Everything queued so far is in the database when this returns."""
        if self.writer.queued:
            await asyncio.to_thread(self.writer.flush)

    # -- what must see the queue written first ---------------------------------------
    async def link_identity(self, visitor_id: str, alias: str, now: float, *, merge: bool = True) -> Profile:
        """A login merges profiles: the views this worker queued go in first, so the merge has them."""
        await self.flush()
        return await self.inner.link_identity(visitor_id, alias, now, merge=merge)  # type: ignore[no-any-return]

    async def delete_profile(self, visitor_id: str) -> bool:
        await self.flush()
        profile_id, _ = self.inner.profile_head(visitor_id)
        found = bool(await self.inner.delete_profile(visitor_id))
        with self._lock:
            for key in (visitor_id, profile_id):
                self._cache.pop(key, None)
                self._heads.pop(key, None)
        return found

    async def export_profile(self, visitor_id: str) -> dict[str, Any] | None:
        await self.flush()
        return await self.inner.export_profile(visitor_id)  # type: ignore[no-any-return]

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "unasked": self.unasked, "replayed": self.replayed,
                "cached": len(self._cache),
                **self.writer.stats()}

    async def close(self) -> None:
        """Writes the queue (within ``close_timeout``: a stop must not wait on a locked database for ever)."""
        if not await asyncio.to_thread(self.writer.close, self.close_timeout):
            log.warning("profile writer: %d page view(s) not written %g s into the stop (the worker's share of "
                        "--stop-timeout): given up, lost unless written before the worker exits",
                        self.writer.queued, self.close_timeout)
            return  # its thread still writes on the view writer's connection: left to the process's exit
        if self._views is not None:
            self._views.close()
        await self.inner.close()
