"""A started worker has built the tags for its rules: the first visitor's page does not build them
inside its time budget (~4.5 of its 8.4 ms in a new process, several times that on a loaded machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sw_servers import BROWSER

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag import assets

UA = BROWSER
RULES = """
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    variants:
      - {id: a, html: "<p class=hero>A</p>"}
"""


def test_the_first_page_after_start_builds_no_tag(asgi_server: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse("<body><p class=hero>x</p></body>"))]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path / "data"),
                        personalize_budget_ms=5000.0)
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))  # started: its lifespan ran
    built: list[str] = []
    real = assets.bundle
    monkeypatch.setattr(assets, "bundle", lambda config=None, variant="full": built.append(variant) or real(config, variant))

    page = httpx.get(proxy.url + "/", headers=UA, timeout=20)
    tag = httpx.get(proxy.url + "/_sw/tag.js", timeout=20)

    assert page.status_code == 200 and 'data-sw-slot="hero">A</p>' in page.text
    assert "/_sw/tag." in page.text and tag.status_code == 200
    assert built == []  # both tags (the page's and /_sw/tag.js) were made at start
