"""The real proxy in front of the real demo store, over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from e2e_helpers import BROWSER_UA, SLOTS, visitor_id

from slotwise.demo.server import DemoServer
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with DemoServer(tmp_path_factory.mktemp("demo-store")) as server:
        yield server


class Edge:
    """A running proxy with its personalizer (for looking into the store)."""

    def __init__(self, server: Any, personalizer: SlotwisePersonalizer, settings: Settings) -> None:
        self.server, self.p, self.settings = server, personalizer, settings
        self.url = server.url

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"user-agent": BROWSER_UA, **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, follow_redirects=False, **kwargs)

    def run(self, coro: Any) -> Any:
        """Runs a store coroutine here (the SQLite store is thread-safe and needs no loop of its own)."""
        return asyncio.run(coro)

    def profile(self, client: httpx.Client) -> Any:
        return self.run(self.p.store.get_profile(visitor_id(client)))


@pytest.fixture
def edge(demo: DemoServer, tmp_path: Path, asgi_server: Any) -> Callable[..., Edge]:
    """``edge(rules=PATH, **settings)`` → a proxy in front of the demo store."""

    def start(rules: Path | str = SLOTS, **overrides: Any) -> Edge:
        options = {"upstream": demo.url, "rules": str(rules), "data": str(tmp_path / uuid.uuid4().hex),
                   "admin_token": "admin-token",
                   # behaviour, not speed, is tested here: a loaded CI machine must not fail pages open
                   "personalize_budget_ms": 5000.0, **overrides}
        settings = Settings(**options)
        personalizer = SlotwisePersonalizer(settings)
        server = asgi_server(create_app(settings, personalizer))
        return Edge(server, personalizer, settings)

    return start
