"""A durable outbox in SQLite: messages (webhooks) delivered at least once.

A message is written in the same request that causes it and survives
restarts; a worker claims due messages with a lease (so several processes
do not deliver the same message at once), then marks each one done (deleted:
the payload may hold an e-mail address) or due again later.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Mapping, Sequence

from slotwise.store.base import OutboxItem
from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(due);
CREATE INDEX IF NOT EXISTS outbox_subject ON outbox(subject);
""")


def _subject_ids(cur: sqlite3.Cursor, ids: Sequence[str]) -> list[int]:
    """Rows whose subject list (JSON) names any of ``ids``."""
    wanted = set(ids)
    return [r[0] for r in cur.execute("SELECT id, subject FROM outbox") if wanted & set(json.loads(r[1]))]


def erase_outbox(cur: sqlite3.Cursor, ids: Sequence[str]) -> None:
    for row_id in _subject_ids(cur, ids):
        cur.execute("DELETE FROM outbox WHERE id = ?", (row_id,))


def export_outbox(cur: sqlite3.Cursor, ids: Sequence[str]) -> dict[str, Any]:
    rows = [
        cur.execute("SELECT id, topic, payload, created, attempts FROM outbox WHERE id = ?", (i,)).fetchone()
        for i in _subject_ids(cur, ids)
    ]
    return {
        "outbox": [
            {"id": r[0], "topic": r[1], "payload": json.loads(r[2]), "created": r[3], "attempts": r[4]} for r in rows
        ]
    }


class OutboxMixin:
    db: Database

    async def outbox_put(self, topic: str, subjects: Sequence[str], payload: Mapping[str, Any], now: float) -> int:
        """Queues a message; ``subjects`` are the visitor ids/aliases it is about (for erase)."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO outbox(topic, subject, payload, created, due) VALUES (?, ?, ?, ?, ?)",
                (topic, json.dumps(list(subjects)), json.dumps(dict(payload), separators=(",", ":")), now, now),
            )
            return int(cur.lastrowid or 0)

    async def outbox_claim(self, now: float, lease_s: float, limit: int = 10) -> list[OutboxItem]:
        """Due messages, leased for ``lease_s`` (they come due again if not settled)."""
        with self.db.transaction() as cur:
            rows = cur.execute(
                "SELECT id, topic, payload, attempts, created FROM outbox WHERE due <= ? ORDER BY due, id LIMIT ?",
                (now, limit),
            ).fetchall()
            for r in rows:
                cur.execute("UPDATE outbox SET due = ?, attempts = attempts + 1 WHERE id = ?", (now + lease_s, r[0]))
        return [
            OutboxItem(id=r[0], topic=r[1], payload=json.loads(r[2]), attempts=r[3] + 1, created=r[4]) for r in rows
        ]

    async def outbox_done(self, item_id: int) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    async def outbox_retry(self, item_id: int, due: float, error: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("UPDATE outbox SET due = ?, last_error = ? WHERE id = ?", (due, error[:500], item_id))

    async def outbox_next_due(self) -> float | None:
        rows = self.db.query("SELECT MIN(due) FROM outbox")
        return rows[0][0] if rows and rows[0][0] is not None else None
