"""A page that keeps the store's caching turns stale at the rules' next window edge on that page.

A CDN in front of Slotwise keeps what the store lets it keep. A page no slot changed (its slot's
``active`` window not open yet, or its ``when`` false) goes out with the store's ``Cache-Control``:
without a cap the CDN would serve the store's page for an hour after the campaign started. Through the
real proxy (its HTML cache off and on) in front of a real store, with the personalizer's clock set to
T0: the freshness every field advertises ends at the window's start, and nothing changes for pages
whose slots have no window or one too far away to matter. A personalized page is ``private, no-cache``
whatever its variant's window, so no cache keeps it past a variant's end.
"""

from __future__ import annotations

import datetime as dt
import time
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from agents import DESKTOP_UA

T0 = dt.datetime(2026, 11, 26, 23, 50, tzinfo=dt.timezone.utc).timestamp()  # ten minutes before the sale
RULES = """
timezone: UTC
slots:
  - id: sale                              # opens at midnight: ten minutes after T0
    pages: "/"
    selector: ".hero"
    action: replace
    active: {from: "2026-11-27", until: "2026-11-30"}
    html: "<b>Black Friday</b>"
  - id: members                           # no window: its when is false for these visitors
    pages: ["/", "/plain"]
    selector: ".hero"
    action: replace
    when: page.query.member == 'yes'
    html: "<b>Members</b>"
  - id: winter                            # opens in a month: the store's hour is shorter than that
    pages: "/later"
    selector: ".hero"
    action: replace
    active: {from: "2026-12-27"}
    html: "<b>Winter</b>"
  - id: flash                             # runs now, one variant of it ends in five minutes
    pages: "/flash"
    selector: ".hero"
    action: replace
    variants:
      - {id: short, html: "<b>Short</b>", active: {until: "2026-11-26 23:55"}}
      - {id: long, html: "<b>Long</b>"}
"""
PAGE = b'<!doctype html><html><head><title>Shop</title></head><body><div class="hero">Welcome</div></body></html>'


def caching() -> tuple[tuple[str, str], ...]:
    """The store's caching: an hour for browsers, two for shared caches, a day for the CDN."""
    return (("content-type", "text/html; charset=utf-8"),
            ("cache-control", "public, max-age=3600, s-maxage=7200, stale-while-revalidate=600"),
            ("cdn-cache-control", "max-age=86400"), ("surrogate-control", "max-age=86400"),
            ("x-accel-expires", "3600"), ("expires", formatdate(time.time() + 3600, usegmt=True)))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=[0.0, 64.0], ids=["uncached", "html-cache"])
def edge(request: pytest.FixtureRequest, tmp_path: Path, asgi_server: Any,
         page_server: Any) -> Iterator[tuple[Callable[..., httpx.Response], Clock]]:
    from page_server import Page

    shop = page_server({path: Page(PAGE, headers=caching()) for path in
                        ("/", "/?member=yes", "/plain", "/later", "/flash")})
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000.0, html_cache_mb=request.param)
    clock = Clock()
    personalizer = SlotwisePersonalizer(settings, clock=clock)
    proxy = asgi_server(create_app(settings, personalizer))
    with httpx.Client(base_url=proxy.url, timeout=10) as client:
        client.cookies.set("sw_vid", personalizer.cookies.sign("window-freshness-visitor"))  # a known visitor

        def get(path: str, agent: str = DESKTOP_UA) -> httpx.Response:
            response = client.get(path, headers={"user-agent": agent})
            assert response.status_code == 200
            return response
        yield get, clock


def lifetimes(r: httpx.Response) -> dict[str, Any]:
    """What each field lets a cache keep the page for, from the page's birth (``Age`` ago)."""
    date = parsedate_to_datetime(r.headers["date"]).timestamp()
    return {"cache-control": r.headers["cache-control"], "cdn-cache-control": r.headers["cdn-cache-control"],
            "surrogate-control": r.headers["surrogate-control"], "x-accel-expires": r.headers["x-accel-expires"],
            "expires": parsedate_to_datetime(r.headers["expires"]).timestamp() - date}


def test_a_page_before_its_slots_window_is_kept_until_the_window_opens(edge: Any) -> None:
    get, clock = edge
    r = get("/")
    assert "Welcome" in r.text and "private" not in r.headers["cache-control"]  # no slot: the store's caching
    age = int(r.headers.get("age", "0"))
    cap = age + 600
    assert lifetimes(r) == {
        "cache-control": f"public, max-age={cap}, s-maxage={cap}, stale-while-revalidate=0",
        "cdn-cache-control": f"max-age={cap}", "surrogate-control": f"max-age={cap}",
        "x-accel-expires": "600", "expires": pytest.approx(cap, abs=2)}
    clock.now = T0 + 540  # one minute before: one minute left
    r = get("/")
    assert f"max-age={int(r.headers.get('age', '0')) + 60}," in r.headers["cache-control"]


def test_a_bots_page_is_capped_the_same_way(edge: Any) -> None:
    get, _ = edge
    r = get("/", agent="Googlebot/2.1 (+http://www.google.com/bot.html)")
    age = int(r.headers.get("age", "0"))
    assert r.headers["cache-control"] == f"public, max-age={age + 600}, s-maxage={age + 600}, stale-while-revalidate=0"


@pytest.mark.parametrize("path", ["/plain", "/later"])
def test_no_window_near_enough_leaves_the_stores_caching(edge: Any, path: str) -> None:
    get, _ = edge
    r = get(path)
    assert "Welcome" in r.text
    assert r.headers["cache-control"] == "public, max-age=3600, s-maxage=7200, stale-while-revalidate=600"
    assert r.headers["cdn-cache-control"] == "max-age=86400" and r.headers["x-accel-expires"] == "3600"


def test_once_the_window_is_open_the_page_is_personal_and_kept_by_no_shared_cache(edge: Any) -> None:
    get, clock = edge
    clock.now = T0 + 600
    r = get("/")
    assert "Black Friday" in r.text
    assert r.headers["cache-control"] == "private, no-cache"
    assert "cdn-cache-control" not in r.headers and "expires" not in r.headers
    r = get("/flash")  # a variant whose window ends in five minutes: no shared cache keeps the page at all
    assert ("Short" in r.text or "Long" in r.text) and r.headers["cache-control"] == "private, no-cache"
