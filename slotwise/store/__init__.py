"""State stores: SQLite embedded by default, Redis for several instances."""

from __future__ import annotations

from pathlib import Path

from slotwise.store.base import LogRecord, Store, StoreError, StoreUnavailable

__all__ = ["LogRecord", "Store", "StoreError", "StoreUnavailable", "open_store"]


def open_store(url: str, data_dir: str | Path) -> Store:
    """The store a URL names: empty or ``sqlite:PATH`` for SQLite, ``redis://`` for Redis."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        from slotwise.store.redis import RedisStore  # imported lazily: optional at run time

        return RedisStore(url)
    from slotwise.store.sqlite import SQLiteStore

    if url.startswith("sqlite:"):
        return SQLiteStore(Path(url[len("sqlite:"):]))
    return SQLiteStore(Path(data_dir) / "slotwise.db")
