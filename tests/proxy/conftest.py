"""Fixtures of the forwarding-layer tests: a real origin and the proxy in front of it."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import httpx
import pytest
from sw_upstreams import origin_app

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.flow import Flow


class Rewriter:
    """A personalizer that changes ``<h1>Shop</h1>`` and remembers what it saw."""

    def __init__(self, new: bytes | None = b"<h1>Hello</h1>", extra: list[tuple[str, str]] | None = None) -> None:
        self.new, self.extra = new, extra or []
        self.seen: list[tuple[Flow, bytes]] = []

    def routes(self) -> list[Any]:
        return []

    async def on_request(self, flow: Flow) -> None:
        flow.extra_headers.extend(self.extra)

    def wants_body(self, flow: Flow) -> bool:
        return True

    async def on_html(self, flow: Flow, html: bytes) -> bytes | None:
        self.seen.append((flow, html))
        if self.new is None:
            return None
        return html.replace(b"<h1>Shop</h1>", self.new)

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


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
