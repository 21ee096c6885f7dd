"""Slots' presence on their pages in SQLite: one row per slot, its ``SlotPresence`` as JSON."""

from __future__ import annotations

import json
from typing import Collection, Mapping

from slotwise.store.slot_presence import SlotPresence, merge
from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS slot_presence (
    slot TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
""")


class PresenceMixin:
    db: Database

    async def add_slot_presence(self, counts: Mapping[str, SlotPresence]) -> None:
        with self.db.transaction() as cur:  # one writer at a time: read, merge and write in one
            for slot, new in counts.items():
                row = cur.execute("SELECT data FROM slot_presence WHERE slot = ?", (slot,)).fetchone()
                old = SlotPresence.of(json.loads(row[0])) if row is not None else None
                cur.execute("INSERT OR REPLACE INTO slot_presence(slot, data) VALUES (?, ?)",
                            (slot, json.dumps(merge(old, new).as_dict(), separators=(",", ":"))))

    async def slot_presence(self) -> dict[str, SlotPresence]:
        rows = self.db.query("SELECT slot, data FROM slot_presence")
        return {r["slot"]: SlotPresence.of(json.loads(r["data"])) for r in rows}

    async def forget_slot_presence(self, keep: Collection[str]) -> None:
        gone = [(r["slot"],) for r in self.db.query("SELECT slot FROM slot_presence") if r["slot"] not in keep]
        if gone:  # no write lock taken for nothing
            with self.db.transaction() as cur:
                cur.executemany("DELETE FROM slot_presence WHERE slot = ?", gone)
