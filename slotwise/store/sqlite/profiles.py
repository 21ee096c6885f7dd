"""Profiles and identity aliases in SQLite.

``claims`` lists the aliases a browser only *claimed* (``merge=False``): a
trusted link (the store's page, a webhook, an import) takes such an alias
from its claimant instead of merging the real person into the claimant.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Sequence

from slotwise.profile import Profile, forget_alias
from slotwise.profile import merge as merge_profiles
from slotwise.store.base import Committed, ProductView, ProfileUpdate, ViewUpdate, owners
from slotwise.store.sqlite.catalog import count_product_views
from slotwise.store.sqlite.db import MIGRATIONS, Database, new_version, schema

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

def _resolve(cur: sqlite3.Cursor, visitor_id: str) -> str:
    row = cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (visitor_id,)).fetchone()
    return row[0] if row else visitor_id


def _load(cur: sqlite3.Cursor, profile_id: str) -> Profile | None:
    row = cur.execute("SELECT data FROM profiles WHERE id = ?", (profile_id,)).fetchone()
    return Profile.from_dict(json.loads(row[0])) if row else None


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
    return write_profile(cur, profile.id, json.dumps(profile.to_dict(), separators=(",", ":")), now)


HEAD_SQL = (
    "WITH r(pid) AS (SELECT COALESCE((SELECT profile_id FROM aliases WHERE alias = ?), ?)) "
    "SELECT r.pid, p.version, (SELECT version FROM catalog_version WHERE id = 0) "
    "FROM r LEFT JOIN profiles p ON p.id = r.pid"
)
"""The visitor's (profile id, profile version) and, in the same read, the catalog's version (the page
that reads the profile reads products next: one query instead of two, see ``catalog``)."""


def write_views(db: Database, items: Sequence[ViewUpdate | ProductView]) -> dict[str, Committed]:
    """The profile writer's group commit: every item in one transaction, each profile loaded and
    saved once. Returns the committed state of each profile written (for the workers' caches)."""
    touched: dict[str, Profile | None] = {}
    latest: dict[str, float] = {}
    committed: dict[str, Committed] = {}
    with db.transaction() as cur:
        count_product_views(cur, [(item.product, item.co_viewed) for item in items if isinstance(item, ProductView)])
        for item in items:
            if isinstance(item, ProductView):
                continue
            profile_id = _resolve(cur, item.visitor_id)
            if profile_id not in touched:
                touched[profile_id] = _load(cur, profile_id)
            profile = touched[profile_id]
            if profile is None:
                if item.existed:  # erased since the view: it must not come back
                    continue
                profile = touched[profile_id] = Profile.new(profile_id, item.now)
            item.update(profile)
            latest[profile_id] = max(latest.get(profile_id, 0.0), item.now)
        for profile_id, now in latest.items():
            profile = touched[profile_id]
            assert profile is not None
            committed[profile_id] = Committed(profile, _save(cur, profile, now))
    return committed


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
    that already points at that same profile stays (the customer's own
    device claimed their own address), any other claim is released.
    """
    anchor = None
    for alias in aliases:
        row = cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (alias,)).fetchone()
        if row is not None and not _claimed(cur, alias):
            anchor = row[0]
            break
    for alias in aliases:
        if _claimed(cur, alias) and (anchor is None or _resolve(cur, alias) != anchor):
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

    def load_profile(self, profile_id: str) -> tuple[Profile, int] | None:
        """A profile by its own id, with its version."""
        rows = self.db.query("SELECT data, version FROM profiles WHERE id = ?", (profile_id,))
        return (Profile.from_dict(json.loads(rows[0][0])), int(rows[0][1])) if rows else None

    def writer_db(self) -> Database:
        """A connection of its own for the profile writer's thread (WAL: readers never wait for it)."""
        return Database(self.db.path)

    def write_views(self, db: Database, items: Sequence[ViewUpdate | ProductView]) -> dict[str, Committed]:
        return write_views(db, items)

    async def update_profile_soon(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        """This store alone writes at once; ``profile_cache.CachedProfiles`` batches."""
        return await self.update_profile(visitor_id, update, now)

    async def get_profile(self, visitor_id: str) -> Profile | None:
        rows = self.db.query(
            "SELECT p.data FROM profiles p WHERE p.id = COALESCE("
            "(SELECT profile_id FROM aliases WHERE alias = ?), ?)",
            (visitor_id, visitor_id),
        )
        return Profile.from_dict(json.loads(rows[0][0])) if rows else None

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
