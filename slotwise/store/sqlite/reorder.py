"""Each buyer's own reorder interval per consumable: the sample a category's typical interval is read from."""

from __future__ import annotations

import sqlite3
from typing import Any, Iterable, Mapping, Sequence

from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS reorder_intervals (
    key TEXT NOT NULL,
    person TEXT NOT NULL,
    days REAL NOT NULL,
    PRIMARY KEY (key, person)
);
CREATE INDEX IF NOT EXISTS reorder_intervals_person ON reorder_intervals(person);
""")


def erase_reorder(cur: sqlite3.Cursor, ids: Sequence[str]) -> None:
    marks = ",".join("?" * len(ids))
    cur.execute(f"DELETE FROM reorder_intervals WHERE person IN ({marks})", tuple(ids))


def export_reorder(cur: sqlite3.Cursor, ids: Sequence[str]) -> dict[str, Any]:
    marks = ",".join("?" * len(ids))
    rows = cur.execute(f"SELECT key, days FROM reorder_intervals WHERE person IN ({marks}) ORDER BY key", tuple(ids))
    return {"reorder_intervals": {r[0]: r[1] for r in rows}}


class ReorderMixin:
    db: Database

    async def set_reorder_intervals(self, by_person: Mapping[str, Mapping[str, float]]) -> None:
        """Each person's own days per unit, per consumable key; keys no longer given are dropped."""
        if not by_person:
            return
        with self.db.transaction() as cur:
            cur.executemany("DELETE FROM reorder_intervals WHERE person = ?", [(p,) for p in by_person])
            cur.executemany(
                "INSERT INTO reorder_intervals(key, person, days) VALUES (?, ?, ?)",
                [(key, person, float(days)) for person, own in by_person.items() for key, days in own.items()],
            )

    async def reorder_intervals(self, keys: Iterable[str], limit: int = 1000) -> dict[str, list[float]]:
        """Per key, up to ``limit`` buyers' own intervals (the sample a typical interval is read from)."""
        out: dict[str, list[float]] = {}
        for key in dict.fromkeys(keys):
            rows = self.db.query("SELECT days FROM reorder_intervals WHERE key = ? LIMIT ?", (key, limit))
            if rows:
                out[key] = [float(r[0]) for r in rows]
        return out
