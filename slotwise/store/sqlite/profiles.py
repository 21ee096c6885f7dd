"""Profiles and identity aliases in SQLite.

``claims`` lists the aliases a browser only *claimed* (``merge=False``): a
trusted link (the store's page, a webhook, an import) takes such an alias
from its claimant instead of merging the real person into the claimant.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from slotwise.profile import Profile, forget_alias
from slotwise.profile import merge as merge_profiles
from slotwise.store.base import ProfileUpdate, owners
from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS profiles (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated REAL NOT NULL
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


def _resolve(cur: sqlite3.Cursor, visitor_id: str) -> str:
    row = cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (visitor_id,)).fetchone()
    return row[0] if row else visitor_id


def _load(cur: sqlite3.Cursor, profile_id: str) -> Profile | None:
    row = cur.execute("SELECT data FROM profiles WHERE id = ?", (profile_id,)).fetchone()
    return Profile.from_dict(json.loads(row[0])) if row else None


def _save(cur: sqlite3.Cursor, profile: Profile, now: float) -> None:
    cur.execute(
        "INSERT INTO profiles(id, data, updated) VALUES (?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET data = excluded.data, updated = excluded.updated",
        (profile.id, json.dumps(profile.to_dict(), separators=(",", ":")), now),
    )


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
