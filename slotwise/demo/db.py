"""SQLite storage for the demo: sessions, customers, carts, orders, newsletter.

One short-lived connection per unit of work, run in a worker thread, keeps
the event loop free and makes the store safe under concurrent requests; WAL
lets readers proceed while one writer commits, and writes take the lock up
front (BEGIN IMMEDIATE) so a read-then-write never fails half-way.
"""

from __future__ import annotations

import secrets
import sqlite3
from contextlib import closing
from functools import cache
from pathlib import Path
from typing import Callable, TypeVar

from starlette.concurrency import run_in_threadpool

from .auth import hash_password

T = TypeVar("T")

SEED_CUSTOMER_ID = "c000001"
SEED_EMAIL = "demo@example.com"
SEED_PASSWORD = "demo"
SEED_NAME = "Demo Customer"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    customer_id TEXT REFERENCES customers(id),
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS cart_items (
    session_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    size TEXT NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),
    added_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (session_id, product_id, size)
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    customer_id TEXT REFERENCES customers(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id TEXT NOT NULL REFERENCES orders(id),
    line_no INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    product_name TEXT NOT NULL,
    category_slug TEXT NOT NULL,
    size TEXT NOT NULL,
    qty INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE IF NOT EXISTS coupons (
    code TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    offer TEXT NOT NULL,
    order_id TEXT REFERENCES orders(id),
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS newsletter (
    email TEXT PRIMARY KEY,
    session_id TEXT,
    created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
"""
ORDER_COLUMNS_ADDED = (("coupon", "TEXT"), ("discount_cents", "INTEGER NOT NULL DEFAULT 0"))
"""Columns later versions added to ``orders``: a demo.db from before gets them on start."""


@cache
def _seed_password_hash() -> str:
    """Hashed once per process: scrypt is deliberately slow, and tests create many stores."""
    return hash_password(SEED_PASSWORD)


class Database:
    """The demo's SQLite file (``DATA/demo.db``) and how to run work against it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL, far fewer fsyncs
        return conn

    def initialize(self) -> None:
        """Create the file, schema, signing secret and seed account (idempotent)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self.connect()) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            have = {row["name"] for row in conn.execute("PRAGMA table_info(orders)")}
            for name, kind in ORDER_COLUMNS_ADDED:
                if name not in have:
                    conn.execute(f"ALTER TABLE orders ADD COLUMN {name} {kind}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('secret', ?)", (secrets.token_hex(32),)
                )
                if conn.execute("SELECT 1 FROM customers WHERE email = ?", (SEED_EMAIL,)).fetchone() is None:
                    conn.execute(
                        "INSERT INTO customers(id, email, name, password_hash) VALUES (?, ?, ?, ?)",
                        (SEED_CUSTOMER_ID, SEED_EMAIL, SEED_NAME, _seed_password_hash()),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def secret(self) -> str:
        """The per-data-dir signing key, so sessions survive restarts."""
        with closing(self.connect()) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        return str(row["value"])

    def _run_read(self, fn: Callable[..., T], *args: object) -> T:
        with closing(self.connect()) as conn:
            return fn(conn, *args)

    def _run_write(self, fn: Callable[..., T], *args: object) -> T:
        with closing(self.connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, *args)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(conn, *args)`` in a worker thread."""
        return await run_in_threadpool(self._run_read, fn, *args)

    async def write(self, fn: Callable[..., T], *args: object) -> T:
        """Run ``fn(conn, *args)`` in a worker thread inside one write transaction."""
        return await run_in_threadpool(self._run_write, fn, *args)
