"""Fixtures of the forwarding-layer tests: a real origin and the proxy in front of it."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import httpx
import pytest
from sw_upstreams import Rewriter, origin_app  # noqa: F401  (Rewriter re-exported for the tests)

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings


@pytest.fixture(scope="session")
def origin(uvicorn_runner: Any) -> Iterator[Any]:
    with uvicorn_runner(origin_app()) as server:
        yield server


@pytest.fixture
def make_proxy(asgi_server: Any, origin: Any) -> Callable[..., Any]:
    """``make_proxy(personalizer=None, upstream=None, **settings)`` → a running proxy (uvicorn thread)."""

    def make(personalizer: Any = None, upstream: str | None = None, **settings: Any) -> Any:
        app = create_app(Settings(upstream=upstream or origin.url, **settings), personalizer)
        return asgi_server(app)

    return make


@pytest.fixture
def proxy(make_proxy: Callable[..., Any]) -> Any:
    return make_proxy()


@pytest.fixture
def client() -> Iterator[Callable[[Any], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(server: Any, **kw: Any) -> httpx.Client:
        c = httpx.Client(base_url=server.url, trust_env=False, follow_redirects=False, timeout=10, **kw)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
