"""The append-only log (events, decisions, exposures) in SQLite."""

from __future__ import annotations

import json
from typing import Sequence

from slotwise.store.base import LogRecord
from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    visitor TEXT NOT NULL,
    ts REAL NOT NULL,
    data TEXT NOT NULL,
    UNIQUE(kind, key)
);
CREATE INDEX IF NOT EXISTS log_visitor ON log(visitor);
""")


class LogMixin:
    db: Database

    async def append(self, records: Sequence[LogRecord]) -> list[bool]:
        added: list[bool] = []
        with self.db.transaction() as cur:
            for r in records:
                cur.execute(
                    "INSERT OR IGNORE INTO log(kind, key, visitor, ts, data) VALUES (?, ?, ?, ?, ?)",
                    (r.kind, r.key, r.visitor, r.ts, json.dumps(dict(r.data), separators=(",", ":"))),
                )
                added.append(cur.rowcount > 0)
        return added

    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]:
        rows = self.db.query(
            "SELECT seq, kind, key, visitor, ts, data FROM log WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [
            LogRecord(kind=r[1], key=r[2], visitor=r[3], ts=r[4], data=json.loads(r[5]), seq=r[0]) for r in rows
        ]

    async def log_head(self) -> int:
        """The last seq in the log (0 when empty): how far the learner has to go."""
        rows = self.db.query("SELECT COALESCE(MAX(seq), 0) FROM log", ())
        return int(rows[0][0])

    async def log_start(self) -> tuple[int, float] | None:
        """(seq, ts) of the oldest entry (SQLite never trims: the first one); None when empty."""
        rows = self.db.query("SELECT seq, ts FROM log ORDER BY seq LIMIT 1", ())
        return (int(rows[0][0]), float(rows[0][1])) if rows else None
