"""Leases in SQLite: one row per job (``name``) with its holder and the time it is free again, so one
process of all the workers sharing the file does the job at a time (a product feed's refresh)."""

from __future__ import annotations

from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until REAL NOT NULL
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
