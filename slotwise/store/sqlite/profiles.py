"""Profiles and identity aliases in SQLite.

``claims`` lists the aliases a browser only *claimed* (``merge=False``): a
trusted link (the store's page, a webhook, an import) takes such an alias
from its claimant instead of merging the real person into the claimant.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any, Iterable, Sequence

from slotwise.lru import LRUCache

from slotwise.profile import Profile, forget_alias
from slotwise.profile import merge as merge_profiles
from slotwise.store.base import Committed, ProductView, ProfileUpdate, ViewUpdate, owners
from slotwise.store.profile_json import decode_profile, encode_profile
from slotwise.store.sqlite.catalog import count_product_views
from slotwise.store.sqlite.board import slot_of
from slotwise.store.sqlite.db import MIGRATIONS, Database, new_version, schema
from slotwise.store.sqlite.deltas import Deltas, Record, chain, publishable, views_since

schema("""
CREATE TABLE IF NOT EXISTS profiles (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT PRIMARY KEY,
    profile_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS aliases_profile ON aliases(profile_id);
CREATE TABLE IF NOT EXISTS claims (
    alias TEXT PRIMARY KEY
);
""")


def _add_version(conn: sqlite3.Connection) -> None:
    """Databases made before profile versions existed get the column (another worker may have added it)."""
    if not any(row[1] == "version" for row in conn.execute("PRAGMA table_info(profiles)")):
        try:
            conn.execute("ALTER TABLE profiles ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise


MIGRATIONS.append(_add_version)

log = logging.getLogger("slotwise.store")

def _resolve(cur: sqlite3.Cursor, visitor_id: str) -> str:
    row = cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (visitor_id,)).fetchone()
    return row[0] if row else visitor_id


def load_json(cur: sqlite3.Cursor, profile_id: str) -> str | None:
    """The stored JSON of profile ``profile_id`` (None: no row)."""
    row = cur.execute("SELECT data FROM profiles WHERE id = ?", (profile_id,)).fetchone()
    return row[0] if row else None


def _load(cur: sqlite3.Cursor, profile_id: str) -> Profile | None:
    data = load_json(cur, profile_id)
    return decode_profile(data) if data is not None else None


def write_profile(cur: sqlite3.Cursor, profile_id: str, data: str, now: float) -> int:
    """The one statement that writes a profile row: every write gives it a new version."""
    version = new_version()
    cur.execute(
        "INSERT INTO profiles(id, data, updated, version) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated = excluded.updated, version = excluded.version",
        (profile_id, data, now, version),
    )
    return version


def _save(cur: sqlite3.Cursor, profile: Profile, now: float) -> int:
    return write_profile(cur, profile.id, encode_profile(profile), now)


def _visitor_row_sql(*columns: str) -> str:
    """A query for the profile a visitor id names (through ``aliases``, else the id itself):
    its id, its version (NULL: no row), then ``columns``. Parameters: the id twice, then the
    columns' own."""
    return ("WITH r(pid) AS (SELECT COALESCE((SELECT profile_id FROM aliases WHERE alias = ?), ?)) "
            f"SELECT {', '.join(('r.pid', 'p.version', *columns))} FROM r LEFT JOIN profiles p ON p.id = r.pid")


_CATALOG_VERSION = "(SELECT version FROM catalog_version WHERE id = 0)"
_DATA_UNLESS_AT = "CASE WHEN p.version = ? THEN NULL ELSE p.data END"

HEAD_SQL = _visitor_row_sql(_CATALOG_VERSION)
"""The visitor's (profile id, profile version) and, in the same read, the catalog's version (the page
that reads the profile reads products next: one query instead of two, see ``catalog``)."""

READ_SQL = _visitor_row_sql(_CATALOG_VERSION, _DATA_UNLESS_AT)
"""A worker's read of a visitor's profile: ``HEAD_SQL`` and the row's JSON, the JSON only when the
version is not the one the worker has (a miss is one query, not a head and then a load)."""

WRITER_READ_SQL = _visitor_row_sql(_DATA_UNLESS_AT)
"""The writer's read of a visitor's profile: its id, its version and its JSON, the JSON only when the
version is not the one given (the one of the copy the writer kept). One query, inside the write."""

KEPT_JSON_BYTES = 2 * 1024 * 1024
"""What the writer keeps, counted as the JSON it wrote (the objects take ~4x that: ~9 MB at most): the
visitors of the last minutes, about what the worker's profile cache holds; more only grows the worker."""


class _Kept:
    """A profile as the writer saved it, with the version it wrote."""

    __slots__ = ("version", "profile", "size")

    def __init__(self, version: int, profile: Profile, size: int) -> None:
        self.version = version
        self.profile = profile
        self.size = size


class KeptProfiles:
    """The profiles one writer saved last, each with the version it wrote: its own copies.

    Why: a page view's write decoded the profile's JSON, applied the view and encoded it again.
    When the row still has the version this writer gave it (checked in the write's transaction,
    by the same query that resolves the visitor's alias), nobody wrote it since and the kept
    object is exactly the row: the views are applied to it, no JSON is decoded.

    The kept objects are this writer's alone: nothing it returns holds them (``Committed`` carries
    versions, the worker's cache keeps a copy built from its own read), so each update reaches a
    kept profile once, from this writer. A group that fails drops what it touched: those objects
    have views the database does not.
    """

    def __init__(self, max_bytes: int = KEPT_JSON_BYTES, deltas: Deltas | None = None) -> None:
        self._kept: LRUCache[str, _Kept] = LRUCache(maxsize=max_bytes, getsizeof=lambda kept: kept.size)
        self._profile_of: LRUCache[str, str] = LRUCache(maxsize=4 * 4096)  # visitor id -> its profile id, last seen
        self._deltas = deltas
        self.decoded = 0
        self.reused = 0
        self.replayed = 0  # kept copies brought up to another writer's write from its published views

    def _moved(self, kept: _Kept | None) -> tuple[int, list[Record]] | None:
        """The version and views of another writer's committed write made on ``kept``'s version (``deltas``)."""
        if kept is None or self._deltas is None:
            return None
        cell = self._deltas.read(slot_of(kept.profile.id))
        if cell is None or cell[0] == kept.version:
            return None
        views = views_since(cell[1], kept.profile.id, kept.version, unmarked=False)  # the query checks the row
        return (cell[0], views) if views is not None else None

    def read(self, cur: sqlite3.Cursor, visitor_id: str) -> tuple[str, int | None, Profile | None]:
        """(profile id, the row's version, the profile) as the database holds them in this transaction:
        the kept object when the row's version is the one this writer wrote, or the one another writer
        wrote on it with views it published (applied to the kept object); else decoded."""
        guess = self._kept.get(self._profile_of.get(visitor_id, visitor_id))
        moved = self._moved(guess)
        known = moved[0] if moved is not None else guess.version if guess is not None else None
        profile_id, version, data = cur.execute(WRITER_READ_SQL, (visitor_id, visitor_id, known)).fetchone()
        if profile_id != visitor_id:  # an alias (a logged-in visitor's cookie id): its profile next time
            self._profile_of[visitor_id] = profile_id
        if version is None:
            self._kept.pop(profile_id, None)
            return profile_id, None, None
        if data is None:  # the row's version is ``known``: the guess's, or the guess's with ``moved``'s views
            if guess is not None and guess.profile.id == profile_id:
                if moved is None:
                    self.reused += 1
                    return profile_id, version, guess.profile
                if _replayed(guess.profile, moved[1]):
                    guess.version = version
                    self.replayed += 1
                    return profile_id, version, guess.profile
            data = cur.execute("SELECT data FROM profiles WHERE id = ?", (profile_id,)).fetchone()[0]
        self._kept.pop(profile_id, None)  # the row changed since: what was kept is older
        self.decoded += 1
        return profile_id, version, decode_profile(data)

    def keep(self, profile: Profile, version: int, size: int) -> None:
        if size <= self._kept.maxsize:
            self._kept[profile.id] = _Kept(version, profile, size)

    def drop(self, profile_ids: Iterable[str]) -> None:
        for profile_id in profile_ids:
            self._kept.pop(profile_id, None)

    def __len__(self) -> int:
        return len(self._kept)


def _replayed(profile: Profile, views: Sequence[Record]) -> bool:
    """Applies published views to a copy; False if one failed (the copy is then half-changed: drop it)."""
    try:
        for view in views:
            view(profile)
    except Exception:  # a pure update on a profile it was applied to elsewhere: not expected
        return False
    return True


def _publish(db: Database, profile_id: str, base: int, version: int, updates: Sequence[ProfileUpdate]) -> None:
    """The other workers may replay these views on a copy at ``base`` (``deltas``). In the write's
    transaction: the board slot still holds what was marked before this write (``prev``)."""
    if db.deltas is None or db.board is None or not publishable(updates):
        return
    slot = slot_of(profile_id)
    try:
        last = db.deltas.read(slot)
        payload = chain(profile_id, last[1] if last is not None and last[0] == base else None,
                        base, db.board.value(slot), version, list(updates))  # type: ignore[arg-type]  # records (publishable)
    except Exception:  # never the write's failure: unpublished, the other workers read the row
        log.exception("profile writer: the views of a write could not be published")
        return
    if payload is not None:
        db.publish(slot, version, payload)


def write_views(db: Database, items: Sequence[ViewUpdate | ProductView],
                kept: KeptProfiles | None = None) -> dict[str, Committed]:
    """The profile writer's group commit: every item in one transaction, each profile read and saved
    once. Returns, per profile written, the version it was read at and the one it has now (for the
    workers' caches). ``kept``: the writer's own copies of what it saved (see ``KeptProfiles``)."""
    kept = kept if kept is not None else KeptProfiles(deltas=db.deltas)
    touched: dict[str, tuple[Profile | None, int | None]] = {}  # profile id -> (profile, version read)
    applied: dict[str, list[ProfileUpdate]] = {}  # profile id -> the updates applied, in order (published)
    profile_ids: dict[str, str] = {}  # visitor id -> profile id, in this transaction
    latest: dict[str, float] = {}
    committed: dict[str, Committed] = {}
    saved: list[tuple[Profile, int, int]] = []
    try:
        with db.transaction() as cur:
            count_product_views(cur, [(item.product, item.co_viewed) for item in items if isinstance(item, ProductView)])
            for item in items:
                if isinstance(item, ProductView):
                    continue
                profile_id = profile_ids.get(item.visitor_id)
                if profile_id is None:
                    profile_id, version, read = kept.read(cur, item.visitor_id)
                    profile_ids[item.visitor_id] = profile_id
                    if profile_id not in touched:  # another visitor id of the same person came first: theirs
                        touched[profile_id] = (read, version)
                profile, version = touched[profile_id]
                if profile is None:
                    if item.existed:  # erased since the view: it must not come back
                        continue
                    profile = Profile.new(profile_id, item.now)
                    touched[profile_id] = (profile, version)
                item.update(profile)
                applied.setdefault(profile_id, []).append(item.update)
                latest[profile_id] = max(latest.get(profile_id, 0.0), item.now)
            named: dict[str, list[str]] = {}  # profile id -> the visitor ids that named it here
            for visitor_id, profile_id in profile_ids.items():
                named.setdefault(profile_id, []).append(visitor_id)
            for profile_id, now in latest.items():
                profile, base = touched[profile_id]
                assert profile is not None
                data = encode_profile(profile)
                version = write_profile(cur, profile_id, data, now)
                if base is not None:
                    _publish(db, profile_id, base, version, applied[profile_id])
                committed[profile_id] = Committed(base, version, tuple(named.get(profile_id, ())), data)
                saved.append((profile, version, len(data)))
    except BaseException:
        kept.drop(touched)  # views applied to kept objects that the database does not have
        raise
    for profile, version, size in saved:
        kept.keep(profile, version, size)
    return committed


class ViewWriter:
    """The profile writer's side of the database: a connection of its own (WAL: readers never wait
    for it) and the profiles it saved last (``KeptProfiles``), for one writer thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.kept = KeptProfiles(deltas=db.deltas)

    def write(self, items: Sequence[ViewUpdate | ProductView]) -> dict[str, Committed]:
        return write_views(self.db, items, self.kept)

    def close(self) -> None:
        self.db.close()


def _claimed(cur: sqlite3.Cursor, alias: str) -> bool:
    return cur.execute("SELECT 1 FROM claims WHERE alias = ?", (alias,)).fetchone() is not None


def release_claim(cur: sqlite3.Cursor, alias: str, now: float, cache: dict[str, Profile] | None = None) -> None:
    """A trusted source names ``alias``: a browser that only claimed it loses it (and what it stood for).

    ``cache``: profiles a bulk write holds in memory (changed there, saved by the caller).
    """
    if not _claimed(cur, alias):
        return
    cur.execute("DELETE FROM claims WHERE alias = ?", (alias,))
    row = cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (alias,)).fetchone()
    cur.execute("DELETE FROM aliases WHERE alias = ?", (alias,))
    if row is None:
        return
    # a coupon issued to the claimed address stays the claimant's: the real person gets their own
    cur.execute("UPDATE OR IGNORE coupons SET owner = ? WHERE owner = ?", (f"profile:{row[0]}", alias))
    cur.execute("UPDATE coupons SET owner = NULL WHERE owner = ?", (alias,))
    if cache is not None and row[0] in cache:
        forget_alias(cache[row[0]], alias)
        return
    claimant = _load(cur, row[0])
    if claimant is not None:
        forget_alias(claimant, alias)
        _save(cur, claimant, now)


def release_claims_against(cur: sqlite3.Cursor, aliases: list[str] | tuple[str, ...], now: float,
                           cache: dict[str, Profile] | None = None) -> None:
    """A trusted source names a person by ``aliases``: claims on them are void, except the person's own.

    The person is whoever holds the first of them by trust; a claimed alias
    that already points at that same profile stays theirs, confirmed (the
    customer's own device claimed their own address: the claim mark goes, so
    their other device that logs in merges with them instead of taking it);
    any other claim is released.
    """
    anchor = None
    for alias in aliases:
        row = cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (alias,)).fetchone()
        if row is not None and not _claimed(cur, alias):
            anchor = row[0]
            break
    for alias in aliases:
        if not _claimed(cur, alias):
            continue
        if anchor is not None and _resolve(cur, alias) == anchor:
            cur.execute("DELETE FROM claims WHERE alias = ?", (alias,))
        else:
            release_claim(cur, alias, now, cache)


class ProfilesMixin:
    db: Database

    async def resolve(self, visitor_id: str) -> str:
        rows = self.db.query("SELECT profile_id FROM aliases WHERE alias = ?", (visitor_id,))
        return rows[0][0] if rows else visitor_id

    def profile_head(self, visitor_id: str) -> tuple[str, int | None]:
        """(profile id, version) without reading the profile: what a cache checks (None: no profile)."""
        row = self.db.query(HEAD_SQL, (visitor_id, visitor_id))[0]
        self.saw_catalog_version(row[2])  # type: ignore[attr-defined]  # CatalogMixin, beside it in SQLiteStore
        return row[0], row[1]

    def read_profile(self, visitor_id: str, known: int | None) -> tuple[str, int | None, Profile | None]:
        """(profile id, version, profile): the profile decoded only when its version is not ``known``
        (the version of the copy the caller has) and a row exists. One query (``READ_SQL``)."""
        row = self.db.query(READ_SQL, (visitor_id, visitor_id, known))[0]
        self.saw_catalog_version(row[2])  # type: ignore[attr-defined]  # CatalogMixin, beside it in SQLiteStore
        data = row[3]
        return row[0], row[1], decode_profile(data) if data is not None else None

    def profile_fresh(self, profile_id: str, version: int | None) -> bool:
        """Whether the row still has ``version``, from the change board alone (no query; ``board``).
        True only for a version the board held right after it was read from the database."""
        board = self.db.board
        return board is not None and board.fresh(profile_id, version)

    def profile_since(self, profile_id: str, version: int) -> tuple[int, list[Record]] | None:
        """(the row's version, the views that made it from ``version``), from shared memory alone (no
        query; ``deltas``): when the writes of the profile since ``version`` were profile writers'
        views, one on the other, and nothing else marked the profile's board slot meanwhile."""
        board, deltas = self.db.board, self.db.deltas
        if board is None or deltas is None:
            return None
        slot = slot_of(profile_id)
        cell = deltas.read(slot)
        if cell is None or cell[0] == version or board.value(slot) != cell[0]:
            return None
        views = views_since(cell[1], profile_id, version)
        return (cell[0], views) if views is not None else None

    def load_profile(self, profile_id: str) -> tuple[Profile, int] | None:
        """A profile by its own id, with its version."""
        rows = self.db.query("SELECT data, version FROM profiles WHERE id = ?", (profile_id,))
        return (decode_profile(rows[0][0]), int(rows[0][1])) if rows else None

    def view_writer(self) -> "ViewWriter":
        """What the profile writer's thread writes with (see ``ViewWriter``)."""
        return ViewWriter(Database(self.db.path))

    async def update_profile_soon(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        """This store alone writes at once; ``profile_cache.CachedProfiles`` batches."""
        return await self.update_profile(visitor_id, update, now)

    async def get_profile(self, visitor_id: str) -> Profile | None:
        rows = self.db.query(
            "SELECT p.data FROM profiles p WHERE p.id = COALESCE("
            "(SELECT profile_id FROM aliases WHERE alias = ?), ?)",
            (visitor_id, visitor_id),
        )
        return decode_profile(rows[0][0]) if rows else None

    async def get_profiles(self, visitor_ids: Sequence[str]) -> list[Profile | None]:
        return [await self.get_profile(v) for v in visitor_ids]  # in-process: nothing to batch

    async def update_profile(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        with self.db.transaction() as cur:
            profile_id = _resolve(cur, visitor_id)
            profile = _load(cur, profile_id) or Profile.new(profile_id, now)
            update(profile)
            _save(cur, profile, now)
            return profile

    async def link_identity(self, visitor_id: str, alias: str, now: float, *, merge: bool = True) -> Profile:
        with self.db.transaction() as cur:
            if merge:  # a trusted link: a browser's claim on either name is void
                release_claim(cur, visitor_id, now)
            mine_id = _resolve(cur, visitor_id)
            mine = _load(cur, mine_id) or Profile.new(mine_id, now)
            if merge and _resolve(cur, alias) != mine_id:
                release_claim(cur, alias, now)
            owner_id = _resolve(cur, alias) if cur.execute(
                "SELECT 1 FROM aliases WHERE alias = ?", (alias,)
            ).fetchone() else None
            if owner_id is None or owner_id == mine_id:
                if merge:
                    cur.execute("DELETE FROM claims WHERE alias = ?", (alias,))
                elif owner_id is None:
                    cur.execute("INSERT OR IGNORE INTO claims(alias) VALUES (?)", (alias,))
                cur.execute("INSERT OR REPLACE INTO aliases(alias, profile_id) VALUES (?, ?)", (alias, mine_id))
                _save(cur, mine, now)
                return mine
            if not merge:  # an untrusted claim on someone else's alias: attach nothing
                return mine
            known = _load(cur, owner_id) or Profile.new(owner_id, now)
            merged = merge_profiles(known, mine)
            _save(cur, merged, now)
            cur.execute("DELETE FROM profiles WHERE id = ?", (mine_id,))
            cur.execute("UPDATE aliases SET profile_id = ? WHERE profile_id = ?", (owner_id, mine_id))
            cur.execute("INSERT OR REPLACE INTO aliases(alias, profile_id) VALUES (?, ?)", (mine_id, owner_id))
            return merged

    def _profile_ids(self, cur: sqlite3.Cursor, visitor_id: str) -> tuple[str, list[str]]:
        profile_id = _resolve(cur, visitor_id)
        aliases = [r[0] for r in cur.execute("SELECT alias FROM aliases WHERE profile_id = ?", (profile_id,))]
        profile = _load(cur, profile_id)
        ids = {profile_id, visitor_id, *aliases, *(profile.anonymous_ids if profile else [])}
        return profile_id, sorted(ids)

    async def delete_profile(self, visitor_id: str) -> bool:
        with self.db.transaction() as cur:
            profile_id, ids = self._profile_ids(cur, visitor_id)
            found = cur.execute("DELETE FROM profiles WHERE id = ?", (profile_id,)).rowcount > 0
            marks = ",".join("?" * len(ids))
            owned = [r[0] for r in cur.execute("SELECT alias FROM aliases WHERE profile_id = ?", (profile_id,))]
            cur.executemany("DELETE FROM claims WHERE alias = ?", [(a,) for a in {*ids, *owned}])
            cur.execute(f"DELETE FROM aliases WHERE profile_id = ? OR alias IN ({marks})", (profile_id, *ids))
            cur.execute(f"DELETE FROM log WHERE visitor IN ({marks})", tuple(ids))
            if self.db.deltas is not None:  # the person's last views, if a writer published them
                self.db.deltas.clear(ids)
            for hook in getattr(self, "_erase_hooks", ()):
                hook(cur, owners(ids))
        self.db.checkpoint()  # the WAL still holds the erased rows' old frames: fold and truncate it
        return found

    async def export_profile(self, visitor_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as cur:
            profile_id, ids = self._profile_ids(cur, visitor_id)
            profile = _load(cur, profile_id)
            if profile is None:
                return None
            marks = ",".join("?" * len(ids))
            log = [
                {"kind": r[0], "key": r[1], "visitor": r[2], "ts": r[3], "data": json.loads(r[4])}
                for r in cur.execute(
                    f"SELECT kind, key, visitor, ts, data FROM log WHERE visitor IN ({marks}) ORDER BY seq", tuple(ids)
                )
            ]
            aliases = [r[0] for r in cur.execute("SELECT alias FROM aliases WHERE profile_id = ?", (profile_id,))]
            out: dict[str, Any] = {"profile": profile.to_dict(), "aliases": aliases, "log": log}
            for hook in getattr(self, "_export_hooks", ()):
                out.update(hook(cur, owners(ids)))
            return out
