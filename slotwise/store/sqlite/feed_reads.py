"""A product feed's last read in SQLite: one row per lease (a feed and its mapping), JSON of ``FeedRead``,
so every worker shows what the one that read it saw; rows of feeds not read for ``FEED_READ_KEPT_S`` go."""

from __future__ import annotations

import json

from slotwise.store.base import FEED_READ_KEPT_S, FeedRead
from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS feed_reads (
    name TEXT PRIMARY KEY,
    at REAL NOT NULL,
    data TEXT NOT NULL
);
""")


class FeedReadsMixin:
    db: Database

    async def save_feed_read(self, name: str, read: FeedRead) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM feed_reads WHERE at < ?", (read.at - FEED_READ_KEPT_S,))  # a few rows at most
            cur.execute("INSERT OR REPLACE INTO feed_reads(name, at, data) VALUES (?, ?, ?)",
                        (name, read.at, json.dumps(read.as_dict(), separators=(",", ":"))))

    async def feed_read(self, name: str) -> FeedRead | None:
        rows = self.db.query("SELECT data FROM feed_reads WHERE name = ?", (name,))
        return FeedRead.of(json.loads(rows[0]["data"])) if rows else None
