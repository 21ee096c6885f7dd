"""Admin sign-outs in SQLite: a signed-out session id is refused by every worker until its cookie expires."""

from __future__ import annotations

from slotwise.store.sqlite.db import Database, schema

schema("""
CREATE TABLE IF NOT EXISTS admin_signouts (
    session TEXT PRIMARY KEY,
    until REAL NOT NULL
);
""")


class SignoutsMixin:
    db: Database

    async def revoke_admin_session(self, session: str, now: float, ttl_s: float) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM admin_signouts WHERE until <= ?", (now,))  # the list stays a few rows long
            cur.execute("INSERT OR REPLACE INTO admin_signouts(session, until) VALUES (?, ?)", (session, now + ttl_s))

    async def admin_session_revoked(self, session: str, now: float) -> bool:
        return bool(self.db.query("SELECT 1 FROM admin_signouts WHERE session = ? AND until > ?", (session, now)))
