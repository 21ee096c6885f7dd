"""The redis-server fixtures every suite uses (``tests/conftest.py`` imports them): the one way a test gets a
real Redis.

- ``redis_url``: the URL of this process's shared server (``redis_server``: one per session, so one per
  xdist worker), emptied (``FLUSHALL``) before the test; for a test that only reads and writes data.
- ``own_redis(appendonly=False, start=True)``: a server of the test's own, for a test that stops, kills,
  restarts or reconfigures it (``maxmemory``), needs it persistent (AOF), or starts it late.

Each server is stopped after its test (or session), pass or fail; without redis-server the test is
skipped, or failed on CI (``real_parts.start_redis``). The functions carry a ``_fixture`` suffix so that
importing them does not shadow the test arguments of those names (as in ``browser_fixtures``).
"""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial
from typing import Callable, Iterator

import pytest
from real_parts import start_redis
from redis_server import RedisServer


@pytest.fixture(scope="session", name="redis_server")
def redis_server_fixture() -> Iterator[RedisServer]:
    """One redis-server for the session (no persistence), started at its first use; take ``redis_url``,
    which empties it for each test."""
    with ExitStack() as running:
        yield start_redis(running)


@pytest.fixture(name="redis_url")
def redis_url_fixture(redis_server: RedisServer) -> str:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server.url


@pytest.fixture(name="own_redis")
def own_redis_fixture() -> Iterator[Callable[..., RedisServer]]:
    """Factory: ``own_redis(appendonly=False, start=True)`` → a ``RedisServer`` of the test's
    own; every one it made is stopped after the test."""
    with ExitStack() as running:
        yield partial(start_redis, running)
