"""The SQLite connection every SQLite mixin shares, and its schema.

One connection per process, in autocommit mode; operations that read and
write take ``BEGIN IMMEDIATE`` so concurrent worker processes serialise on
the database lock instead of losing updates. WAL with ``synchronous=NORMAL``
keeps every committed transaction across a kill -9 of the process.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SCHEMAS: list[str] = []
"""SQL run at open; each mixin module appends its ``CREATE ... IF NOT EXISTS``."""


def schema(sql: str) -> str:
    SCHEMAS.append(sql)
    return sql


class Database:
    """A SQLite file with the pragmas and the transaction helper we rely on."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
        self.conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            for sql in SCHEMAS:  # idempotent CREATE ... IF NOT EXISTS; executescript commits itself
                self.conn.executescript(sql)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, rolled back on error."""
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self.conn.close()
