"""Model snapshots (the bandit learner's state) in SQLite."""

from __future__ import annotations

import json
from typing import Any, Mapping

from slotwise.store.sqlite.db import Database, schema
from slotwise.store.snapshot_text import decoded_snapshot

schema("""
CREATE TABLE IF NOT EXISTS snapshots (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL
);
""")


class SnapshotsMixin:
    db: Database

    async def save_snapshot(self, name: str, data: Mapping[str, Any], seq: int, *,
                            within_s: float | None = None) -> None:
        """Encoded before the write lock is taken: the learner's full snapshot is tens of MB of JSON
        (seconds to encode on a loaded machine), and while the lock is held every worker's writer waits
        on it, its page views queueing up). ``within_s``: the lock waited for that long at most
        (``Database.transaction``), for the last snapshot of a stop."""
        text = json.dumps(dict(data), separators=(",", ":"))
        with self.db.transaction(within_s) as cur:
            cur.execute("INSERT OR REPLACE INTO snapshots(name, seq, data) VALUES (?, ?, ?)", (name, seq, text))

    def checkpoint_after_erase(self) -> None:
        """The snapshot saved after an erase replaced one that named the person: fold the WAL now, so
        the old version's page is overwritten (``secure_delete``) rather than kept till a checkpoint."""
        self.db.checkpoint()

    async def load_snapshot(self, name: str) -> tuple[dict[str, Any], int] | None:
        rows = self.db.query("SELECT data, seq FROM snapshots WHERE name = ?", (name,))
        if not rows:
            return None
        return await decoded_snapshot(rows[0][0]), int(rows[0][1])

    async def snapshot_seq(self, name: str) -> int | None:
        """The saved snapshot's seq: the cheap check before a load."""
        rows = self.db.query("SELECT seq FROM snapshots WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else None
