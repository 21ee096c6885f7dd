"""The journeys of issue 15 end to end: the real proxy in front of the real demo store (or a store
unlike it), with the example journey rules files."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))  # e2e_helpers: login, visitor_id, ...

from e2e_helpers import BROWSER_UA, visitor_id  # noqa: E402

from slotwise.demo.server import DemoServer  # noqa: E402
from slotwise.proxy.app import create_app  # noqa: E402
from slotwise.proxy.config import Settings  # noqa: E402
from slotwise.proxy.personalize import SlotwisePersonalizer  # noqa: E402

HERE = Path(__file__).parent
JOURNEYS = HERE / "journeys.yaml"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with DemoServer(tmp_path_factory.mktemp("demo-store")) as server:
        yield server


class Edge:
    """A running proxy, its personalizer and its data directory (for the CLI and the store)."""

    def __init__(self, server: Any, personalizer: SlotwisePersonalizer, settings: Settings) -> None:
        self.server, self.p, self.settings = server, personalizer, settings
        self.url = server.url
        self.data = Path(settings.data)

    def client(self, **kwargs: Any) -> Any:
        import httpx

        headers = {"user-agent": BROWSER_UA, **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, follow_redirects=False, **kwargs)

    def run(self, coro: Any) -> Any:
        import asyncio

        return asyncio.run(coro)

    def profile(self, client: Any) -> Any:
        return self.run(self.p.store.get_profile(visitor_id(client)))

    def wait_for_catalog(self, *ids: str, timeout: float = 10.0) -> None:
        """The feed is loaded in the background at start: wait until it holds these products."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(ids) <= set(self.run(self.p.store.get_products(ids))):
                return
            time.sleep(0.05)
        raise AssertionError(f"the catalog never learned {ids}")

    def preview(self, client: Any, path: str, **forced: str) -> Any:
        """``path`` with these variants forced (a marketer's preview link: decided as usual, nothing
        recorded); the preview cookie is dropped after, so the visitor's next requests count again."""
        sep = "&" if "?" in path else "?"
        page = client.get(f"{path}{sep}sw_preview={self.p.previews.token(forced)}")
        client.cookies.delete("sw_preview")
        return page


@pytest.fixture
def edge(demo: DemoServer, tmp_path: Path, asgi_server: Any) -> Callable[..., Edge]:
    """``edge(rules=PATH, upstream=URL, clock=FN, **settings)`` → a proxy in front of the demo store (default)."""

    def start(rules: Path | str = JOURNEYS, **overrides: Any) -> Edge:
        options = {"upstream": demo.url, "rules": str(rules), "data": str(tmp_path / uuid.uuid4().hex),
                   "admin_token": "admin-token", "personalize_budget_ms": 5000.0, **overrides}
        clock = options.pop("clock", None)
        settings = Settings(**options)
        personalizer = SlotwisePersonalizer(settings, clock=clock) if clock else SlotwisePersonalizer(settings)
        server = asgi_server(create_app(settings, personalizer))
        return Edge(server, personalizer, settings)

    return start
