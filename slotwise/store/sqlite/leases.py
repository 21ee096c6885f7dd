"""Leases in SQLite: one row per job (``name``) with its holder and the time it is free again, so one
process of all the workers sharing the file does the job at a time (a product feed's refresh); and per
group of leases (``feed``) the one the rules last switched to."""

from __future__ import annotations

from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS lease_groups (
    grp TEXT PRIMARY KEY,
    current TEXT NOT NULL
);
""")


class LeasesMixin:
    db: Database

    async def take_lease(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        # a read first: the workers ask every half minute, and a held lease needs no write lock
        if self.db.query("SELECT 1 FROM leases WHERE name = ? AND until > ?", (name, now)):
            return False
        with self.db.transaction() as cur:  # again under the write lock: two workers may both have read it free
            if cur.execute("SELECT 1 FROM leases WHERE name = ? AND until > ?", (name, now)).fetchone():
                return False
            cur.execute("INSERT OR REPLACE INTO leases(name, holder, until) VALUES (?, ?, ?)",
                        (name, holder, now + ttl_s))
            return True

    async def hold_lease(self, name: str, holder: str, now: float, ttl_s: float) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO leases(name, holder, until) VALUES (?, ?, ?)",
                        (name, holder, now + ttl_s))

    async def release_lease(self, name: str, holder: str, now: float, after_s: float = 0.0) -> bool:
        with self.db.transaction() as cur:  # compare and delete (or shorten) under the write lock
            if after_s > 0:
                cur.execute("UPDATE leases SET until = ? WHERE name = ? AND holder = ? AND until > ?",
                            (now + after_s, name, holder, now))
            else:
                cur.execute("DELETE FROM leases WHERE name = ? AND holder = ? AND until > ?", (name, holder, now))
            return cur.rowcount > 0

    async def switch_lease(self, group: str, name: str, holder: str, now: float, ttl_s: float) -> bool:
        if self.db.query("SELECT 1 FROM lease_groups WHERE grp = ? AND current = ?", (group, name)):
            return False  # the usual round: no write lock
        with self.db.transaction() as cur:
            if cur.execute("SELECT 1 FROM lease_groups WHERE grp = ? AND current = ?", (group, name)).fetchone():
                return False  # another worker saw the same switch first
            cur.execute("INSERT OR REPLACE INTO lease_groups(grp, current) VALUES (?, ?)", (group, name))
            cur.execute("INSERT OR REPLACE INTO leases(name, holder, until) VALUES (?, ?, ?)",
                        (name, holder, now + ttl_s))
            return True
