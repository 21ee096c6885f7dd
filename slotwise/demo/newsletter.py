"""Newsletter sign-ups: the exit-intent coupon slot's conversion event."""

from __future__ import annotations

import sqlite3


def subscribe(conn: sqlite3.Connection, email: str, session_id: str | None) -> bool:
    """Record the address; False if it was already subscribed."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO newsletter(email, session_id) VALUES (?, ?)", (email, session_id)
    )
    return cur.rowcount == 1


def is_subscribed(conn: sqlite3.Connection, email: str) -> bool:
    return conn.execute("SELECT 1 FROM newsletter WHERE email = ?", (email,)).fetchone() is not None
