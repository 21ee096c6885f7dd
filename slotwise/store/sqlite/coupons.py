"""Coupon codes in SQLite: a pool loaded from a file, claimed one per person.

A code is claimed at most once (``claimed`` is set and never cleared, even
when the person is erased) and a person (``owner``, an alias such as
``email:<sha256>``) holds at most one code: claiming again returns it.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, Iterable, Sequence

from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS coupons (
    code TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    owner TEXT,
    claimed REAL,
    added REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS coupons_owner ON coupons(owner) WHERE owner IS NOT NULL;
CREATE INDEX IF NOT EXISTS coupons_free ON coupons(source, claimed);
""")


def erase_coupons(cur: sqlite3.Cursor, ids: Sequence[str]) -> None:
    """Forgets who holds a code; the code stays claimed so it is never handed out again."""
    marks = ",".join("?" * len(ids))
    cur.execute(f"UPDATE coupons SET owner = NULL WHERE owner IN ({marks})", tuple(ids))


def export_coupons(cur: sqlite3.Cursor, ids: Sequence[str]) -> dict[str, Any]:
    marks = ",".join("?" * len(ids))
    rows = cur.execute(
        f"SELECT code, source, owner, claimed FROM coupons WHERE owner IN ({marks}) ORDER BY claimed", tuple(ids)
    )
    return {"coupons": [{"code": r[0], "source": r[1], "owner": r[2], "claimed": r[3]} for r in rows]}


class CouponsMixin:
    db: Database

    async def add_coupons(self, codes: Iterable[str], now: float) -> int:
        """Adds codes to the pool; codes already known are skipped. Returns how many were new."""
        added = 0
        with self.db.transaction() as cur:
            for code in codes:
                cur.execute(
                    "INSERT OR IGNORE INTO coupons(code, source, added) VALUES (?, 'pool', ?)", (code, now)
                )
                added += cur.rowcount
        return added

    async def claim_coupon(self, owner: str, now: float, generate: Callable[[], str]) -> tuple[str, bool]:
        """The owner's code, claiming one if they have none; ``(code, newly_claimed)``.

        Takes a free pool code when there is one, else stores a code from
        ``generate`` (retried on the unlikely collision).
        """
        with self.db.transaction() as cur:
            row = cur.execute("SELECT code FROM coupons WHERE owner = ?", (owner,)).fetchone()
            if row:
                return row[0], False
            row = cur.execute(
                "SELECT code FROM coupons WHERE source = 'pool' AND claimed IS NULL ORDER BY rowid LIMIT 1"
            ).fetchone()
            if row:
                cur.execute("UPDATE coupons SET owner = ?, claimed = ? WHERE code = ?", (owner, now, row[0]))
                return row[0], True
            for _ in range(8):
                code = generate()
                cur.execute(
                    "INSERT OR IGNORE INTO coupons(code, source, owner, claimed, added) VALUES (?, 'generated', ?, ?, ?)",
                    (code, owner, now, now),
                )
                if cur.rowcount:
                    return code, True
            raise RuntimeError("could not generate an unused coupon code")

    async def coupon_stats(self) -> dict[str, int]:
        rows = self.db.query(
            "SELECT source, claimed IS NOT NULL, COUNT(*) FROM coupons GROUP BY source, claimed IS NOT NULL"
        )
        out = {"pool_free": 0, "pool_claimed": 0, "generated": 0}
        for source, claimed, n in rows:
            if source == "generated":
                out["generated"] += n
            else:
                out["pool_claimed" if claimed else "pool_free"] += n
        return out
