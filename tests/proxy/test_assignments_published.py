"""A page that makes decisions hands its sticky assignments to the store as data (``AssignRecord``), so
the visitor's next page on another worker catches up from the published records without reading the
row — the first page of every session makes decisions. Two real proxies (two workers' personalizers
and stores) on one data directory in front of one real origin; the second worker's queries are traced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sw_servers import BROWSER

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

UA = BROWSER
RULES = """
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    policy: {name: thompson, sticky: none}
    variants:
      - {id: a, html: "<p class=hero>A</p>"}
      - {id: b, html: "<p class=hero>B</p>"}
"""


def test_a_decision_page_on_one_worker_needs_no_row_read_on_the_other(asgi_server: Any, tmp_path: Path) -> None:
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse("<body><p class=hero>x</p></body>"))]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path / "data"),
                        personalize_budget_ms=5000.0)
    first, second = SlotwisePersonalizer(settings), SlotwisePersonalizer(settings)
    one, two = asgi_server(create_app(settings, first)), asgi_server(create_app(settings, second))
    queries: list[str] = []
    second.store.inner.db.conn.set_trace_callback(queries.append)

    page = httpx.get(one.url + "/", headers=UA, timeout=20)  # a new visitor: a decision
    cookies = page.cookies
    first.store.writer.flush()
    assert httpx.get(two.url + "/", headers=UA, cookies=cookies, timeout=20).status_code == 200  # a copy, read
    second.store.writer.flush()
    for _ in range(3):  # sticky: none: every page decides, so each carries assignments
        httpx.get(one.url + "/", headers=UA, cookies=cookies, timeout=20)
        first.store.writer.flush()
        queries.clear()
        answer = httpx.get(two.url + "/", headers=UA, cookies=cookies, timeout=20)
        second.store.writer.flush()
        assert answer.status_code == 200 and 'data-sw-slot="hero"' in answer.text
        assert not [q for q in queries if "JOIN profiles" in q or "FROM profiles" in q], queries  # caught up from the records
    rows = first.store.inner.db.query("SELECT data FROM profiles")
    assert len(rows) == 1 and '"hero"' in rows[0][0] and second.store.replayed >= 3  # the row has the assignment
