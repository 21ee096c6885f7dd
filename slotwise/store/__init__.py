"""State stores: SQLite embedded by default, Redis for several instances."""

from __future__ import annotations

from pathlib import Path

from slotwise.store.base import LogRecord, Store, StoreError, StoreUnavailable

__all__ = ["LogRecord", "Store", "StoreError", "StoreUnavailable", "open_store"]


def open_store(url: str, data_dir: str | Path, *, close_timeout: float | None = None) -> Store:
    """The store a URL names: empty or ``sqlite:PATH`` for SQLite, ``redis://`` for Redis.

    SQLite comes wrapped in ``CachedProfiles``: page views are cached per
    worker and written in groups by one writer thread; ``close`` waits for
    them ``close_timeout`` seconds at most (default ``CLOSE_TIMEOUT_S``).
    """
    if url.startswith(("redis://", "rediss://", "unix://")):
        from slotwise.store.redis import RedisStore  # imported lazily: optional at run time

        return RedisStore(url)
    from slotwise.store.profile_cache import CLOSE_TIMEOUT_S, CachedProfiles
    from slotwise.store.sqlite import SQLiteStore

    path = Path(url[len("sqlite:"):]) if url.startswith("sqlite:") else Path(data_dir) / "slotwise.db"
    # page views go through a per-worker cache and one writer thread (see profile_cache)
    return CachedProfiles(SQLiteStore(path), close_timeout=CLOSE_TIMEOUT_S if close_timeout is None else close_timeout)  # type: ignore[return-value]
