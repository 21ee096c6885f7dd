"""An `order` list that names a fact a first visit does not have yet (`[visitor.last_category]`) is an
empty list for that visitor, not an error: the slot changes nothing there and every other slot of the
page is personalized as usual.

Found in a marketer's walkthrough on the demo: such a variant made the whole page fail open
("'order' items must be strings or numbers, got None") for every new visitor it was drawn for, so it was
shown almost only to returning visitors and the report compared it with the others on different people.
The real proxy (uvicorn thread, SQLite) in front of a small store, over HTTP.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from agents import DESKTOP_UA
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

RULES = """
holdout: 0
catalog:
  category_pages: "/c/{category}"
slots:
  - id: nav
    pages: ["/", "/c/*"]
    selector: "ul.nav"
    action: reorder
    key: data-category
    order: "[visitor.last_category]"
  - id: hello
    pages: "/"
    selector: "h1"
    action: replace
    html: "<h1>Hello from Slotwise</h1>"
"""


async def page(request: Request) -> HTMLResponse:
    nav = "".join(f'<li data-category="{c}">{c}</li>' for c in ("bags", "shoes", "socks"))
    return HTMLResponse(f'<!doctype html><html><head><title>Shop</title></head><body><h1>The store</h1>'
                        f'<ul class="nav">{nav}</ul></body></html>')


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("order-of-nothing")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    with uvicorn_runner(Starlette(routes=[Route("/", page), Route("/c/{category}", page)])) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        with uvicorn_runner(create_app(settings, SlotwisePersonalizer(settings))) as server:
            yield server


def nav_order(html: str) -> list[str]:
    return re.findall(r'<li data-category="([a-z]+)"', html)


def test_a_first_visit_gets_the_page_personalized_and_the_store_order(proxy: Any,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), \
            httpx.Client(base_url=proxy.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as visitor:
        first = visitor.get("/")
        assert "Hello from Slotwise" in first.text  # the page was personalized, not served as the store sent it
        assert nav_order(first.text) == ["bags", "shoes", "socks"]  # nothing to put first yet
        assert 'data-sw-slot="nav"' in first.text and "nav=default" in first.headers["server-timing"]
        assert not [m for m in caplog.messages if "failed open" in m], caplog.messages

        visitor.get("/c/socks")  # now the visitor has a last category
        assert nav_order(visitor.get("/").text) == ["socks", "bags", "shoes"]
