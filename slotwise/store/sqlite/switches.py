"""Kill switches (a slot, or ``*`` for all personalization) in SQLite."""

from __future__ import annotations

from typing import Any

from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS switches (
    name TEXT PRIMARY KEY,
    off INTEGER NOT NULL,
    at REAL NOT NULL,
    who TEXT NOT NULL
);
""")


class SwitchesMixin:
    db: Database

    async def set_switch(self, name: str, off: bool, now: float, who: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO switches(name, off, at, who) VALUES (?, ?, ?, ?)",
                        (name, int(off), now, who))

    async def get_switches(self) -> dict[str, dict[str, Any]]:
        rows = self.db.query("SELECT name, off, at, who FROM switches")
        return {r["name"]: {"off": bool(r["off"]), "at": float(r["at"]), "who": r["who"]} for r in rows}
