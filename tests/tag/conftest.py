"""Shared fixtures for the tag: store, API, HTTP client, a live server and a browser.

Reusable by the end-to-end tests: ``live_tag_server`` serves
``slotwise.tag.testing.make_app`` on 127.0.0.1; ``browser`` is headless
Debian Chromium driven by Playwright (never downloaded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from browser_fixtures import browser_fixture  # noqa: F401 (the fixture browser)
from starlette.applications import Starlette
from starlette.routing import Mount

from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.identity import VisitorCookies
from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.api import TagAPI
from slotwise.tag.testing import (
    ADMIN_TOKEN,
    SECRET,
    Clock,
    LiveServer,
    asgi_client,
    sync,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret=SECRET, data=str(tmp_path), admin_token=ADMIN_TOKEN)


@pytest.fixture
def cookies() -> VisitorCookies:
    return VisitorCookies(SECRET.encode())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "slotwise.db")
    yield s
    sync(s.close())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_api(settings: Settings, store: SQLiteStore, cookies: VisitorCookies) -> Callable[..., TagAPI]:
    def make(**options: Any) -> TagAPI:
        options.setdefault("webhook", "")
        return TagAPI(settings, store, cookies, **options)

    return make


@pytest.fixture
def make_client(make_api: Callable[..., TagAPI]) -> Iterator[Callable[..., Any]]:
    """``make(**api_options) -> httpx.Client`` talking to the tag routes in-process."""
    clients: list[Any] = []

    def make(**options: Any) -> Any:
        api = make_api(**options)
        client = asgi_client(Starlette(routes=[Mount("/_sw", routes=api.routes())]))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    return make_client()


@pytest.fixture
def live_tag_server(make_api: Callable[..., TagAPI]) -> Iterator[Callable[..., tuple[LiveServer, TagAPI]]]:
    """``start(page=..., tag=..., **api_options) -> (server, api)``: the test storefront with the tag."""
    from slotwise.tag.testing import make_app

    servers: list[LiveServer] = []

    def start(*, page: str | None = None, tag: str | None = None, **options: Any) -> tuple[LiveServer, TagAPI]:
        api = make_api(**options)
        kwargs: dict[str, Any] = {"tag": tag}
        if page is not None:
            kwargs["page"] = page
        server = LiveServer(make_app(api, **kwargs)).__enter__()
        servers.append(server)
        return server, api

    yield start
    for s in servers:
        s.__exit__(None, None, None)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    p = context.new_page()
    yield p
    context.close()
