"""tests/scale: real redis-server (``redis_url``, ``own_redis``: tests/redis_fixtures.py) and subprocesses."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
