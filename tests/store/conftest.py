"""The ``store`` fixture: every contract test runs on SQLite and on a real Redis (``redis_url``, from
``tests/redis_fixtures.py``).

``backend.open()`` gives another store object on the same state (a second
SQLite connection to the file, a second Redis client), as a second proxy
instance would have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest

from slotwise.store.base import Store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Backend:
    """Opens store objects that share one state; closes them all at the end."""

    def __init__(self, name: str, factory: Callable[[], Store]) -> None:
        self.name = name
        self.factory = factory
        self.opened: list[Store] = []

    def open(self) -> Store:
        store = self.factory()
        self.opened.append(store)
        return store


@pytest.fixture(params=["sqlite", "sqlite-cached", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        from slotwise.store.sqlite import SQLiteStore

        return Backend("sqlite", lambda: SQLiteStore(tmp_path / "slotwise.db"))
    if request.param == "sqlite-cached":  # what ``open_store`` gives a worker: the same contract
        from slotwise.store import open_store

        return Backend("sqlite", lambda: open_store("", tmp_path))
    url = request.getfixturevalue("redis_url")
    from slotwise.store.redis import RedisStore

    # the contract is about what the stores keep, not about failing fast: timeouts with room for a loaded
    # machine (100 concurrent appends open many connections at once)
    sep = "&" if "?" in url else "?"
    return Backend("redis", lambda: RedisStore(f"{url}{sep}timeout=5&connect_timeout=5"))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Any]:
    store = backend.open()
    yield store
    for opened in backend.opened:
        await opened.close()
