"""Fixtures for the journeys: the tag's API in-process (as tests/tag), and the proxy in front of the demo
store (as tests/e2e) — the same construction, on the same real parts."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from slotwise.demo.server import DemoServer
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.identity import VisitorCookies
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.api import TagAPI
from slotwise.tag.testing import ADMIN_TOKEN, SECRET, asgi_client, sync

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))  # e2e_helpers: Edge, login, selected_size
import e2e_helpers  # noqa: E402



@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "slotwise.db")
    yield s
    sync(s.close())


@pytest.fixture
def make_client(tmp_path: Path, store: SQLiteStore) -> Iterator[Callable[..., Any]]:
    """``make(**TagAPI options) -> httpx.Client`` on the tag's routes in-process."""
    settings = Settings(secret=SECRET, data=str(tmp_path), admin_token=ADMIN_TOKEN)
    clients: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("webhook", "")
        api = TagAPI(settings, store, VisitorCookies(SECRET.encode()), **options)
        client = asgi_client(Starlette(routes=[Mount("/_sw", routes=api.routes())]))
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with DemoServer(tmp_path_factory.mktemp("demo-store")) as server:
        yield server


class Edge(e2e_helpers.Edge):
    """The e2e suite's proxy handle, plus what the journeys wait for and preview."""

    def wait_for_catalog(self, *ids: str, timeout: float = 10.0) -> None:
        """The feed is loaded in the background at start: wait until the catalog holds these products."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(ids) <= set(self.run(self.p.store.get_products(ids))):
                return
            time.sleep(0.05)
        raise AssertionError(f"the catalog never learned {ids}")

    def preview(self, client: httpx.Client, path: str, **forced: str) -> httpx.Response:
        """``path`` with these variants forced (a marketer's preview link: decided as usual, nothing
        recorded); the preview cookie is dropped after, so the visitor's next requests count again."""
        sep = "&" if "?" in path else "?"
        page = client.get(f"{path}{sep}sw_preview={self.p.previews.token(forced)}")
        client.cookies.delete("sw_preview")
        return page


@pytest.fixture
def edge(demo: DemoServer, tmp_path: Path, asgi_server: Any) -> Callable[..., Edge]:
    """``edge(rules=PATH, upstream=URL, clock=FN, **settings)`` → the real proxy in front of the demo store
    (or ``upstream``), on the proxy's own clock unless ``clock`` is given."""

    def start(rules: Path | str, **overrides: Any) -> Edge:
        options = {"upstream": demo.url, "rules": str(rules), "data": str(tmp_path / uuid.uuid4().hex),
                   "admin_token": "admin-token-for-tests", "secret": SECRET, "personalize_budget_ms": 5000.0, **overrides}
        clock = options.pop("clock", None)
        settings = Settings(**options)
        personalizer = SlotwisePersonalizer(settings, clock=clock) if clock else SlotwisePersonalizer(settings)
        return Edge(asgi_server(create_app(settings, personalizer)), personalizer, settings)

    return start
