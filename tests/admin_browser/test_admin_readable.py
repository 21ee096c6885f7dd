"""The admin page read as a marketer reads it, in headless Chromium: on a phone, with a keyboard, with a
screen reader's view of the page (its accessible names and headings), and the charts' figures as text.

Headless Chromium → the real proxy (uvicorn thread, SQLite) → the bundled demo store, with decisions
and clicks sent over HTTP as the tag sends them, so the reports and charts have figures.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from typing import Any, Callable, Iterator

import httpx
import pytest

from agents import DESKTOP_UA
from slotwise.demo.server import DemoServer
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

pytestmark = pytest.mark.browser

TOKEN = "readable-token-1"
RULES = """
holdout: 10%
attribution_window: 1s
slots:
  - id: hero-headline
    pages: "/"
    selector: "section.hero h1"
    action: replace
    policy: uniform
    variants:
      - {id: store, control: true}
      - {id: summer, html: "<h1>Summer sale: 20% off runners.</h1>"}
  - id: hero-line
    pages: "/"
    selector: "section.hero p"
    action: replace
    variants:
      - {id: plain, control: true}
      - {id: welcome, html: "<p>Welcome!</p>"}
"""
SLOTS = ("hero-headline", "hero-line")
VARIANTS = {"hero-headline": ("store", "summer"), "hero-line": ("plain", "welcome")}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("readable")
    rules = data / "rules.yaml"
    rules.write_text(RULES)
    with DemoServer(data / "demo") as demo:
        settings = Settings(upstream=demo.url, rules=str(rules), data=str(data / "edge"), admin_token=TOKEN,
                            personalize_budget_ms=5000)
        with uvicorn_runner(create_app(settings, SlotwisePersonalizer(settings))) as proxy:
            visit_and_click(proxy.url, visitors=12)
            yield proxy


def visit_and_click(url: str, visitors: int) -> None:
    """New visitors see the home page through the proxy, report what they saw, and every other one clicks."""
    for n in range(visitors):
        with httpx.Client(base_url=url, headers={"user-agent": DESKTOP_UA}, timeout=20) as visitor:
            page = visitor.get("/").text
            for tag in re.findall(r"<[^>]*data-sw-decision=[^>]*>", page):
                slot = re.search(r'data-sw-slot="([^"]+)"', tag).group(1)
                decision = re.search(r'data-sw-decision="([^"]+)"', tag).group(1)
                events = [{"type": "exposure", "props": {"decision_id": decision, "slot": slot}}]
                if n % 2:
                    events.append({"type": "click", "props": {"decision_id": decision, "slot": slot, "href": "/c/bags"}})
                batch = [{"event_id": uuid.uuid4().hex, **event} for event in events]
                assert visitor.post("/_sw/events", json={"events": batch}).status_code == 200


def signed_in(new_context: Callable[..., Any], url: str, **options: Any) -> Any:
    page = new_context(**options).new_page()
    page.goto(f"{url}/_sw/admin?token={TOKEN}")
    page.wait_for_selector("#switches")
    return page


def test_on_a_phone_the_page_fits_the_screen_and_every_button_is_reachable(stack: Any,
                                                                           new_context: Callable[..., Any]) -> None:
    page = signed_in(new_context, stack.url, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    assert page.evaluate("document.documentElement.lang") == "en"
    # laid out at the phone's width (not at 980 px, zoomed out), and nothing pushes the page wider than the screen
    assert page.evaluate("innerWidth") == 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for name in ("Switch off hero-line", "Restart learning of hero-line"):
        button = page.get_by_role("button", name=name, exact=True)
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 375, (name, box)
    for chart in page.locator("figure.chart svg").all():
        box = chart.bounding_box()
        assert box is not None and box["width"] <= 375


def test_a_screen_reader_hears_which_slot_each_control_is_for_and_reads_the_charts(
        stack: Any, new_context: Callable[..., Any]) -> None:
    page = signed_in(new_context, stack.url)
    tree = page.locator("body").aria_snapshot()
    names = Counter(re.findall(r'- (button|link|checkbox|combobox) "([^"]*)"', tree))
    assert [name for name, n in names.items() if n > 1] == []  # "Switch off" fourteen times says nothing
    for slot in SLOTS:
        assert names[("button", f"Switch off {slot}")] == 1
        assert names[("button", f"Restart learning of {slot}")] == (slot == "hero-line")  # the one that learns
        for variant in VARIANTS[slot]:
            assert names[("link", f"{variant} of {slot}")] == 1
    assert names[("button", "Switch off all personalization")] == 1

    # the outline: the page, its sections, and each slot's report a subsection of "Reports"
    headings = page.evaluate("[...document.querySelectorAll('h1,h2,h3,h4')].map(h => [h.tagName, h.textContent])")
    assert headings[0] == ["H1", "Slotwise"]
    reports = [h for h, _ in headings].index("H2", [t for _, t in headings].index("Reports"))
    slot_headings = [t for h, t in headings[reports + 1:] if h == "H3"]
    assert [t.split()[0] for t in slot_headings] == sorted(SLOTS)

    # the charts' figures as text, opened from the keyboard, the same figures as the report's JSON
    section = page.locator("#slot-hero-headline")
    summary = section.locator("figure.chart", has_text="Share of traffic over time").locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    table = section.locator("figure.chart", has_text="Share of traffic over time").locator("table")
    assert table.is_visible()
    head = table.locator("th").all_inner_texts()
    assert head[0] == "from" and set(head[1:]) <= {"store", "summer", "holdout"}
    cells = table.locator("tr").nth(1).locator("td").all_inner_texts()
    assert cells[0].endswith(":00 UTC")
    report = httpx.get(f"{stack.url}/_sw/admin/api/report", params={"slot": "hero-headline"},
                       headers={"authorization": f"Bearer {TOKEN}"}).json()[0]
    shares = report["traffic"][0]["shares"]  # the first hour's, as the chart's first row
    assert {arm: cell for arm, cell in zip(head[1:], cells[1:])} == {arm: f"{v:.0%}" for arm, v in shares.items()}


def test_from_the_keyboard_a_slots_report_is_a_few_tabs_away(stack: Any, new_context: Callable[..., Any]) -> None:
    """Thirteen slots put a hundred controls before the reports; the page's contents link to each one."""
    page = signed_in(new_context, stack.url)
    for tabs in range(1, 9):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "hero-line":
            break
    else:
        raise AssertionError("no link to the slot's report within 8 Tabs")
    assert page.evaluate("document.activeElement.closest('nav').getAttribute('aria-label')") == "On this page"
    page.keyboard.press("Enter")
    page.wait_for_url("**#slot-hero-line")
    page.keyboard.press("Tab")  # the next stop is in that report: its first chart's figures
    assert page.evaluate("document.activeElement.closest('section').id") == "slot-hero-line"
    assert page.evaluate("document.activeElement.textContent") == "The figures as a table"
