"""tests/scale: real redis-server and subprocesses; `redis_server` comes from tests/."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: redis_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
