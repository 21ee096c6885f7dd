"""``outbox_state`` stays cheap on a large backlog: what each store does to answer it.

SQLite: every statement it runs is answered from an index (``EXPLAIN QUERY
PLAN``), never by reading the table's rows and their payloads. Redis: the
commands it runs (``INFO commandstats`` counts those a script calls) are the
same few whatever the backlog: no SCAN, no KEYS, no read of a payload.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from slotwise.store.base import OutboxState
from slotwise.store.redis import RedisStore
from slotwise.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0


async def backlog(store: Any, n: int) -> None:
    """``n`` messages, every other one refused once (the last refused one at ``NOW + n``)."""
    for i in range(n):
        await store.outbox_put("webhook", [f"v{i}"], {"email": f"p{i}@example.com", "pad": "x" * 500}, NOW + i)
    for item in await store.outbox_claim(NOW + n, lease_s=30, limit=n):
        if item.id % 2:
            await store.outbox_retry(item.id, NOW + 3600, f"HTTP 503 ({item.id})", NOW + item.id)


async def test_sqlite_answers_from_indexes_alone(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    try:
        await backlog(store, 200)
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        try:
            state = await store.outbox_state()
        finally:
            store.db.conn.set_trace_callback(None)
        assert state == OutboxState(200, NOW, 100, "HTTP 503 (199)", NOW + 199)
        assert len(statements) == 4, statements
        for sql in statements:
            plan = " | ".join(row[3] for row in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "outbox" in plan, (sql, plan)
            # a SCAN reads every row (payload and all) unless a covering index answers it
            assert not re.search(r"\bSCAN outbox\b(?! USING COVERING INDEX)", plan), (sql, plan)
    finally:
        await store.close()


async def _commands(store: RedisStore) -> dict[str, int]:
    stats = await store.redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def test_redis_runs_the_same_few_commands_whatever_the_backlog(redis_url: str) -> None:
    store = RedisStore(redis_url)
    try:
        calls = []
        for n in (10, 200):
            await store.redis.flushall()
            await backlog(store, n)
            await store.outbox_state()  # the script loaded once, not counted below
            await store.redis.config_resetstat()
            state = await store.outbox_state()
            assert (state.pending, state.oldest, state.failing) == (n, NOW, n // 2)
            assert (state.last_error, state.last_error_at) == (f"HTTP 503 ({n - 1})", NOW + n - 1)
            calls.append({k: v for k, v in (await _commands(store)).items() if k not in ("info", "config|resetstat")})
        assert calls[0] == calls[1] == {"evalsha": 1, "zcard": 2, "zrange": 2, "hget": 1}, calls
    finally:
        await store.close()


async def test_an_sqlite_outbox_from_before_gets_the_column_and_its_failing_messages_count(tmp_path: Path) -> None:
    """A database whose outbox has no ``failed`` column: the migration adds it (and its index); a message that
    failed before counts as failing, its ``created`` standing for the time of its failure."""
    import sqlite3

    path = tmp_path / "slotwise.db"
    with sqlite3.connect(path) as old:
        old.executescript("""
            CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, subject TEXT NOT NULL,
                payload TEXT NOT NULL, created REAL NOT NULL, due REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT);
            CREATE INDEX outbox_due ON outbox(due);
        """)
        old.execute("INSERT INTO outbox(topic, subject, payload, created, due, attempts, last_error) "
                    "VALUES ('webhook', '[\"v1\"]', '{}', ?, ?, 3, 'HTTP 401')", (NOW, NOW + 60))
        old.execute("INSERT INTO outbox(topic, subject, payload, created, due) VALUES ('webhook', '[\"v2\"]', '{}', ?, ?)",
                    (NOW + 5, NOW + 5))
    old.close()
    store = SQLiteStore(path)
    try:
        assert await store.outbox_state() == OutboxState(2, NOW, 1, "HTTP 401", NOW)
        indexes = {row[1] for row in store.db.conn.execute("PRAGMA index_list(outbox)")}
        assert {"outbox_created", "outbox_failed"} <= indexes
    finally:
        await store.close()
    again = SQLiteStore(path)  # the migration runs again at each open: idempotent
    try:
        assert (await again.outbox_state()).failing == 1
    finally:
        await again.close()
