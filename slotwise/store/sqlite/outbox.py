"""A durable outbox in SQLite: messages (webhooks) delivered at least once.

A message is written in the same request that causes it and survives
restarts; a worker claims due messages with a lease (so several processes
do not deliver the same message at once), then marks each one done (deleted:
the payload may hold an e-mail address) or due again later.

``outbox_state`` (what ``/_sw/health``, the metrics and the admin page show)
reads indexes only: a count over the smallest index, ``MIN(created)`` and the
newest ``failed`` (the time of a message's last failed attempt, NULL until one
fails) each from their own index, never a payload.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Mapping, Sequence

from slotwise.store.base import OutboxItem, OutboxState
from slotwise.store.sqlite.db import MIGRATIONS, Database, schema

schema("""
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    failed REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(due);
CREATE INDEX IF NOT EXISTS outbox_subject ON outbox(subject);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox(created);
""")


def _has_failed(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "failed" for row in conn.execute("PRAGMA table_info(outbox)"))


def _add_failed(conn: sqlite3.Connection) -> None:
    """Outboxes made before ``outbox_state`` get the ``failed`` column and its index, in one transaction
    (another process opening the file may be doing the same). A message that failed before has no time of
    failure: its ``created`` stands for it until its next attempt, so it counts as failing at once."""
    if not _has_failed(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not _has_failed(conn):
                conn.execute("ALTER TABLE outbox ADD COLUMN failed REAL")
                conn.execute("UPDATE outbox SET failed = created WHERE last_error IS NOT NULL")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    conn.execute("CREATE INDEX IF NOT EXISTS outbox_failed ON outbox(failed) WHERE failed IS NOT NULL")


MIGRATIONS.append(_add_failed)


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

    async def outbox_retry(self, item_id: int, due: float, error: str, now: float) -> None:
        with self.db.transaction() as cur:
            cur.execute("UPDATE outbox SET due = ?, last_error = ?, failed = ? WHERE id = ?",
                        (due, error[:500], now, item_id))

    async def outbox_state(self) -> OutboxState:
        """Four index reads (``EXPLAIN QUERY PLAN`` in ``tests/store/test_contract.py``): no payload is read."""
        pending = self.db.query("SELECT COUNT(*) FROM outbox")[0][0]
        if not pending:
            return OutboxState(0, None, 0)
        oldest = self.db.query("SELECT MIN(created) FROM outbox")[0][0]
        failing = self.db.query("SELECT COUNT(*) FROM outbox WHERE failed IS NOT NULL")[0][0]
        last = self.db.query("SELECT last_error, failed FROM outbox WHERE failed IS NOT NULL "
                             "ORDER BY failed DESC LIMIT 1")
        return OutboxState(pending, oldest, failing, last[0][0] if last else None, last[0][1] if last else None)

    async def outbox_next_due(self) -> float | None:
        rows = self.db.query("SELECT MIN(due) FROM outbox")
        return rows[0][0] if rows and rows[0][0] is not None else None
