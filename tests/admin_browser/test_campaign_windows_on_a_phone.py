"""The admin page's Campaign windows table in headless Chromium, at a phone's width and by keyboard: a window
that starts in the future, one running, one ended, and a slot open while none of its variants is.

Headless Chromium → the real proxy (uvicorn thread, SQLite, its clock set) → a store on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import pytest

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

pytestmark = pytest.mark.browser

TOKEN = "windows-token-1"
NOW = dt.datetime(2026, 11, 28, 13, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
RULES = """
timezone: Europe/Berlin
slots:
  - id: black-friday-weekend-hero
    pages: "/"
    selector: ".hero"
    action: replace
    active: {from: "2026-11-27", until: "2026-11-30 23:59"}
    variants:
      - {id: countdown, html: "<b>A</b>"}
      - {id: early-bird, html: "<b>B</b>", active: {until: "2026-11-27"}}
      - {id: cyber-monday, html: "<b>C</b>", active: {from: "2026-11-30"}}
  - id: christmas-gift-guide
    pages: "/"
    selector: ".hero"
    action: replace
    active: {from: "2026-12-01"}
    html: "<b>X</b>"
  - id: autumn-sale
    pages: "/"
    selector: ".hero"
    action: replace
    active: {from: "2026-11-01"}
    variants:
      - {id: leaves, html: "<b>L</b>", active: {until: "2026-11-15"}}
"""
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Any]:
    from page_server import PageServer

    data = tmp_path_factory.mktemp("windows")
    (data / "rules.yaml").write_text(RULES)
    with PageServer({"/": b"<html><body><div class=hero>Hi</div></body></html>"}) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            admin_token=TOKEN)
        with uvicorn_runner(create_app(settings, SlotwisePersonalizer(settings, clock=lambda: NOW))) as server:
            yield server


def signed_in(proxy: Any, new_context: Callable[..., Any], **options: Any) -> Any:
    page = new_context(**options).new_page()
    page.goto(proxy.url + "/_sw/admin")
    page.fill("input[name=token]", TOKEN)
    page.press("input[name=token]", "Enter")  # by keyboard
    page.wait_for_selector("#schedules")
    return page


def test_the_campaign_windows_read_on_a_phone(proxy: Any, new_context: Callable[..., Any], tmp_path: Path) -> None:
    page = signed_in(proxy, new_context, viewport=PHONE, is_mobile=True, has_touch=True)  # laid out as a phone does
    table = page.locator("#schedules table")
    table.screenshot(path=str(tmp_path / "schedules-phone.png"))
    box = table.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # no sideways scroll
    rows = {r.get_attribute("data-window"): r.locator("td").all_inner_texts()
            for r in page.locator("#schedules tr[data-window]").all()}
    assert rows == {
        "black-friday-weekend-hero": ["black-friday-weekend-hero", "2026-11-27 00:00 – 2026-11-30 23:59 Europe/Berlin",
                                      "running\nends in 2.5 days"],
        "black-friday-weekend-hero/early-bird": ["black-friday-weekend-hero\nvariant early-bird",
                                                 "until 2026-11-27 23:59 Europe/Berlin", "ended\nended 13.0 h ago"],
        "black-friday-weekend-hero/cyber-monday": ["black-friday-weekend-hero\nvariant cyber-monday",
                                                   "from 2026-11-30 00:00 Europe/Berlin", "not yet started\nstarts in 35.0 h"],
        "christmas-gift-guide": ["christmas-gift-guide", "from 2026-12-01 00:00 Europe/Berlin",
                                 "not yet started\nstarts in 2.5 days"],
        "autumn-sale": ["autumn-sale", "from 2026-11-01 00:00 Europe/Berlin",
                        "running, no variant is\nthe store's page until a variant's window opens; no end"],
        "autumn-sale/leaves": ["autumn-sale\nvariant leaves", "until 2026-11-15 23:59 Europe/Berlin",
                               "ended\nended 12.5 days ago"],
    }
    # a date and time is one piece on a narrow screen, never "2026-11-" over "27 00:00"
    heights = page.locator("#schedules .nw").evaluate_all("els => els.map(e => e.getClientRects().length)")
    assert heights and set(heights) == {1}
    assert "Now, by this proxy's clock: 2026-11-28 13:00 Europe/Berlin." in page.locator("#schedules p.note").inner_text()


def test_the_keyboard_passes_the_table_it_has_nothing_to_operate(proxy: Any, new_context: Callable[..., Any]) -> None:
    """The table only reads: Tab goes from the kill switches' last button straight on to the preview links."""
    page = signed_in(proxy, new_context, viewport=PHONE)
    page.locator("#switches button").last.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('section').id") == "preview"
    assert page.locator("#schedules a, #schedules button, #schedules input, #schedules [tabindex]").count() == 0
