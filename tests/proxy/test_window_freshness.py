"""A page that keeps the store's caching turns stale at the rules' next window edge on that page.

A CDN in front of Slotwise keeps what the store lets it keep. A page no slot changed (its slot's
``active`` window not open yet, or its ``when`` false) goes out with the store's ``Cache-Control``:
without a cap the CDN would serve the store's page for an hour after the campaign started. Through the
real proxy (its HTML cache off and on) in front of a real store, with the personalizer's clock set to
T0: the freshness every field advertises ends at the window's start, and nothing changes for pages
whose slots have no window or one too far away to matter. A personalized page is ``private, no-cache``
whatever its variant's window, so no cache keeps it past a variant's end. A ``when`` on the ``time`` facts
caps the same way, at the next turn of the finest unit it reads in the rules' zone (Kolkata's hours turn
at half past UTC's), and a capped page loses the ``Last-Modified`` a cache would guess a lifetime from.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import ExitStack
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


Get = Callable[..., httpx.Response]


@pytest.fixture(params=[0.0, 64.0], ids=["uncached", "html-cache"])
def serve(request: pytest.FixtureRequest, tmp_path: Path, asgi_server: Any,
          page_server: Any) -> Iterator[Callable[[str, dict[str, tuple[tuple[str, str], ...]]], tuple[Get, Clock]]]:
    """Factory: the real proxy (its HTML cache off, then on) with ``rules`` and a clock set to T0, in front
    of a store serving PAGE at each path with its headers; ``get(path, agent)`` as a known visitor."""
    from page_server import Page

    with ExitStack() as stack:
        def start(rules: str, pages: dict[str, tuple[tuple[str, str], ...]]) -> tuple[Get, Clock]:
            shop = page_server({path: Page(PAGE, headers=headers) for path, headers in pages.items()})
            (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
            settings = Settings(upstream=shop.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                                personalize_budget_ms=5000.0, html_cache_mb=request.param)
            clock = Clock()
            personalizer = SlotwisePersonalizer(settings, clock=clock)
            proxy = asgi_server(create_app(settings, personalizer))
            client = stack.enter_context(httpx.Client(base_url=proxy.url, timeout=10))
            client.cookies.set("sw_vid", personalizer.cookies.sign("window-freshness-visitor"))  # a known visitor

            def get(path: str, agent: str = DESKTOP_UA) -> httpx.Response:
                response = client.get(path, headers={"user-agent": agent})
                assert response.status_code == 200
                return response
            return get, clock
        yield start


@pytest.fixture
def edge(serve: Any) -> tuple[Get, Clock]:
    return serve(RULES, dict.fromkeys(("/", "/?member=yes", "/plain", "/later", "/flash"), caching()))


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


def test_a_bots_page_is_kept_by_no_shared_cache(edge: Any) -> None:
    """A bot gets the store's page untagged; a person the same page tagged (here with the store's caching, capped:
    above). Were the bot's copy public, a CDN in front would hand it to the people after the bot: untagged, never
    personalized, while it is fresh. So no shared cache may keep it (a person's copy may go to bots)."""
    get, _ = edge
    r = get("/", agent="Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert "Welcome" in r.text and "/_sw/" not in r.text  # the store's page, untouched
    assert r.headers["cache-control"] == "private, no-cache"
    assert not {"cdn-cache-control", "surrogate-control", "expires"} & set(r.headers), r.headers
    person = get("/")  # the same page for a person: tagged, the store's caching to the window's edge
    assert "/_sw/" in person.text and person.headers["cache-control"].startswith("public, max-age=")


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


T1 = dt.datetime(2026, 11, 26, 20, 10, 15, tzinfo=dt.timezone.utc).timestamp()  # Fri 27th, 01:40:15 in Kolkata
CLOCK_RULES = """
timezone: Asia/Kolkata                    # UTC+05:30: its hours turn at half past, UTC's
slots:
  - id: happy-hour                        # reads the hour: the next turn is 02:00 local, 20:30 UTC
    pages: ["/drinks", "/wine"]
    selector: ".hero"
    action: replace
    when: time.hour == 17
    html: "<b>Happy hour</b>"
  - id: flash                             # the minute is the finest it reads
    pages: "/flash"
    selector: ".hero"
    action: replace
    when: time.weekday == 'fri' and time.minute < 5 and time.hour == 12
    html: "<b>Flash</b>"
  - id: christmas                         # the date: the next local midnight
    pages: "/gifts"
    selector: ".hero"
    action: replace
    when: time.date == '2026-12-24'
    html: "<b>Christmas</b>"
  - id: winter-evenings                   # reads the hour, but its window opens in a month: until then only that counts
    pages: "/later"
    selector: ".hero"
    action: replace
    active: {from: "2026-12-27"}
    when: time.hour >= 18
    html: "<b>Winter</b>"
"""
MODIFIED = ("last-modified", "Mon, 02 Nov 2026 10:00:00 GMT")
SHARED_ONLY = (("content-type", "text/html; charset=utf-8"), ("cache-control", "public, s-maxage=7200"), MODIFIED)


@pytest.fixture
def clocked(serve: Any) -> tuple[Get, Clock]:
    get, clock = serve(CLOCK_RULES, {**dict.fromkeys(("/drinks", "/flash", "/gifts", "/later"), (*caching(), MODIFIED)),
                                     "/wine": SHARED_ONLY, "/plain": SHARED_ONLY})
    clock.now = T1
    return get, clock


@pytest.mark.parametrize("path, left", [("/drinks", 1185), ("/flash", 45)], ids=["hour", "minute"])
def test_a_page_whose_when_reads_the_clock_is_kept_until_its_finest_unit_turns(clocked: Any, path: str,
                                                                               left: int) -> None:
    get, _ = clocked
    r = get(path)
    assert "Welcome" in r.text and "private" not in r.headers["cache-control"]  # the when is false: the store's caching
    cap = int(r.headers.get("age", "0")) + left
    assert lifetimes(r) == {
        "cache-control": f"public, max-age={cap}, s-maxage={cap}, stale-while-revalidate=0",
        "cdn-cache-control": f"max-age={cap}", "surrogate-control": f"max-age={cap}",
        "x-accel-expires": str(left), "expires": pytest.approx(cap, abs=2)}


def test_a_when_on_the_date_keeps_the_page_until_local_midnight(clocked: Any) -> None:
    get, _ = clocked
    r = get("/gifts")  # midnight in Kolkata is 18:30 UTC on the 27th: 22 h 19 min 45 s on
    assert r.headers["cache-control"] == "public, max-age=3600, s-maxage=7200, stale-while-revalidate=600"  # shorter
    assert r.headers["cdn-cache-control"] == f"max-age={int(r.headers.get('age', '0')) + 80385}"


def test_a_slot_outside_its_window_does_not_cap_by_its_clock(clocked: Any) -> None:
    get, _ = clocked
    r = get("/later")
    assert r.headers["cache-control"] == "public, max-age=3600, s-maxage=7200, stale-while-revalidate=600"
    assert r.headers["cdn-cache-control"] == "max-age=86400"


BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


def test_no_page_the_clock_changes_keeps_a_last_modified_a_cache_would_guess_a_lifetime_from(clocked: Any) -> None:
    """``s-maxage`` alone binds shared caches only: a browser given the page would guess its lifetime
    from ``Last-Modified`` (a tenth of 24 days: over two days), far past the turn of the hour. A person's
    page is tagged (the store's validators go with its bytes), a bot's is kept by no shared cache; the
    rule ``capped`` follows for a page that goes out as the store's is in test_freshness_cap."""
    get, _ = clocked
    r = get("/wine")  # its slot's `when` is false: the store's caching, capped
    assert r.headers["cache-control"] == f"public, s-maxage={int(r.headers.get('age', '0')) + 1185}"
    assert "last-modified" not in r.headers
    bot = get("/wine", agent=BOT)
    assert bot.headers["cache-control"] == "private, no-cache" and "s-maxage" not in bot.headers["cache-control"]
    r = get("/plain")  # nothing on the page changes with the clock: not capped
    assert r.headers["cache-control"] == "public, s-maxage=7200"


def test_the_html_cache_keeps_the_stores_page_and_personalizes_it_at_each_requests_time(
        clocked: Any, request: pytest.FixtureRequest) -> None:
    """Slotwise's own cache keeps the page before personalization: at 17:00 the kept page gets the slot."""
    get, clock = clocked
    assert "Welcome" in get("/drinks").text
    clock.now = dt.datetime(2026, 11, 27, 11, 30, tzinfo=dt.timezone.utc).timestamp()  # 17:00 in Kolkata
    r = get("/drinks")
    assert "Happy hour" in r.text and r.headers["cache-control"] == "private, no-cache"
    cached = request.node.callspec.params["serve"] > 0
    assert ("cache;desc=hit" in r.headers.get("server-timing", "")) is cached  # the kept copy, not a new fetch
