"""What ``/_sw/health`` asks SQLite: can we still write.

A full or read-only data directory still lets every read through, so health said "ok" while every
event got a 503 and no snapshot could be saved. The probe is a real write (one row), as Redis's is.
"""

from __future__ import annotations

import sqlite3
import time

from slotwise.store.base import StoreError
from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    ts REAL NOT NULL
);
""")


class HealthMixin:
    db: Database

    async def probe_write(self) -> None:
        """Raises StoreError when SQLite takes no write (``store_unwritable``)."""
        try:
            with self.db.transaction() as cur:
                cur.execute("INSERT OR REPLACE INTO health(id, ts) VALUES (1, ?)", (time.time(),))
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite refuses writes: {exc}") from exc
