"""The real proxy in front of the real demo store, over HTTP on 127.0.0.1."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from e2e_helpers import SLOTS, Edge

from slotwise.demo.server import DemoServer
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with DemoServer(tmp_path_factory.mktemp("demo-store")) as server:
        yield server


@pytest.fixture
def edge(demo: DemoServer, tmp_path: Path, asgi_server: Any) -> Callable[..., Edge]:
    """``edge(rules=PATH, **settings)`` → a proxy in front of the demo store."""

    def start(rules: Path | str = SLOTS, **overrides: Any) -> Edge:
        options = {"upstream": demo.url, "rules": str(rules), "data": str(tmp_path / uuid.uuid4().hex),
                   "admin_token": "admin-token-for-tests",
                   # behaviour, not speed, is tested here: a loaded CI machine must not fail pages open
                   "personalize_budget_ms": 5000.0, **overrides}
        settings = Settings(**options)
        personalizer = SlotwisePersonalizer(settings)
        server = asgi_server(create_app(settings, personalizer))
        return Edge(server, personalizer, settings)

    return start
