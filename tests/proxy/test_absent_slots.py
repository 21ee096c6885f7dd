"""A slot whose element is not on the page shows nothing there: no decision is logged, learned or kept.

Behind the proxy as in tag-only mode (where the tag reports only the decisions it
applied), a decision counts only once it changed or marked an element. A store's
template without the slot's element, or a typo'd selector, must not fill the
report's "shown" and the policy's trials with decisions nobody saw — a purchase
goal would even reward them. The log names such a slot once.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync
from agents import DESKTOP_UA
from browser_fixtures import browser_fixture, new_context_fixture, new_page_fixture  # noqa: F401 (the fixtures)

RULES = """
slots:
  - id: cats
    pages: "/**"
    selector: "ul.collection-list"
    action: reorder
    key: data-cat
    order: "['b']"
    goal: purchase
    variants: [{id: b-first}, {control: true}]
  - id: typo
    pages: "/**"
    selector: "ul.colection-list"
    action: set-attribute
    attributes: {class: "sw"}
  - id: size
    pages: "/sizes"
    selector: "select#size"
    action: select-option
    value: "'XL'"
    goal: add_to_cart
    variants: [{id: prefill}, {control: true}]
  - id: rail
    pages: "/late"
    selector: ".rail"
    action: append
    html: "<p>picks</p>"
    wait: 2s
  - id: note
    pages: "/gift"
    selector: ".gift-note"
    action: set-value
    value: "'Happy birthday!'"
"""


GIFT = ('<div class="gift-note"><input id="note" value="from the store"></div>'
        '<div class="gift-note"><p>Wrapping is free</p></div><input class="gift-note" value="">')


async def page(request: Request) -> HTMLResponse:
    tiles = ('<ul class="collection-list"><li data-cat="a">A</li><li data-cat="b">B</li></ul>'
             if request.url.path == "/" else "<p>No tiles on this template</p>")
    if request.url.path == "/sizes":  # XL is not offered: the prefill variant changes nothing
        tiles = '<select id="size"><option>S</option><option>M</option></select>'
    if request.url.path == "/gift":  # a wrapper around a field, a wrapper without one, a field
        tiles = GIFT
    return HTMLResponse(f"<!doctype html><html><head><title>Shop</title></head><body><main>{tiles}</main></body></html>")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, SlotwisePersonalizer]]:
    data = tmp_path_factory.mktemp("absent-slots")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    routes = [Route(path, page) for path in ("/", "/bare", "/sizes", "/gift", "/late")]
    with uvicorn_runner(Starlette(routes=routes)) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield proxy, personalizer


def decisions(personalizer: SlotwisePersonalizer, visitor: str) -> list[str]:
    deadline = time.monotonic() + 2.0
    while True:  # logged once the page has gone out
        found = [r.data["slot"] for r in sync(personalizer.store.read_log(0, 100_000))
                 if r.kind == "decision" and r.visitor == visitor]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def visit(proxy: Any, path: str) -> tuple[httpx.Response, str]:
    with httpx.Client(base_url=proxy.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as client:
        r = client.get(path)
        return r, client.cookies["sw_vid"].split(".")[0]


def test_a_slot_on_the_page_is_decided_and_logged(stack: tuple[Any, SlotwisePersonalizer],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    proxy, personalizer = stack
    with caplog.at_level(logging.INFO, logger="slotwise.personalize"):
        r, visitor = visit(proxy, "/")
    said = [m for m in caplog.messages if "matched nothing" in m]
    assert len(said) == 1 and "'typo'" in said[0] and "'ul.colection-list'" in said[0]
    assert 'data-sw-slot="cats"' in r.text
    assert "cats=" in r.headers["server-timing"] and "typo=" not in r.headers["server-timing"]
    assert decisions(personalizer, visitor) == ["cats"]
    assert set(sync(personalizer.store.get_profile(visitor)).assignments) == {"cats"}


def test_a_slot_whose_element_is_missing_logs_no_decision(stack: tuple[Any, SlotwisePersonalizer],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    proxy, personalizer = stack
    with caplog.at_level(logging.INFO, logger="slotwise.personalize"):
        r, visitor = visit(proxy, "/bare")
        visit(proxy, "/bare")
    assert r.status_code == 200 and "data-sw-slot" not in r.text
    assert 'desc="none"' in r.headers["server-timing"]
    assert decisions(personalizer, visitor) == []
    profile = sync(personalizer.store.get_profile(visitor))
    assert profile is None or not profile.assignments
    said = [m for m in caplog.messages if "matched nothing" in m]
    assert len(said) == 1  # once, not per page view (the typo'd slot was named on the first page already)
    assert "'cats'" in said[0] and "'ul.collection-list'" in said[0] and "/bare" in said[0]


def test_a_slot_that_waits_for_the_page_s_scripts_is_decided_for_the_browser_and_logged_when_applied(
        stack: tuple[Any, SlotwisePersonalizer], caplog: pytest.LogCaptureFixture) -> None:
    """Its element is rendered in the browser, after the page loads (``wait``): not in the HTML the proxy
    edits, yet not missing. The page carries its decision to the browser (the ``late`` script element, with
    its signed token; a private page, never one for everyone), nothing is logged with the page, and the log
    does not call it missing; the tag's ``applied`` event with the token logs it, its propensity as drawn."""
    proxy, personalizer = stack
    with caplog.at_level(logging.INFO, logger="slotwise.personalize"):
        r, visitor = visit(proxy, "/late")
    assert not [m for m in caplog.messages if "matched nothing" in m]
    assert "private" in r.headers["cache-control"]
    late = [m for m in re.finditer(r'<script src="([^"]+)" defer ([^>]*)></script>', r.text)]
    assert [m.group(1) for m in late] == [personalizer.tag_api.assets.url(), personalizer.tag_api.assets.url(variant="late")]
    [decision] = json.loads(html.unescape(re.search(r'data-decisions="([^"]*)"', late[1].group(2)).group(1)))
    assert decision["slot"] == "rail" and decision["selector"] == ".rail" and decision["wait"] == 2000
    assert "data-sw-slot" not in r.text.replace(late[1].group(0), "")  # nothing of it in the page itself
    assert decisions(personalizer, visitor) == [] and not sync(personalizer.store.get_profile(visitor)).assignments
    record = personalizer.tokens.open(decision["token"], visitor, time.time())
    assert record is not None and record["decision_id"] == decision["decision_id"] and 0 < record["propensity"] <= 1
    with httpx.Client(base_url=proxy.url, headers={"user-agent": DESKTOP_UA}, cookies=r.cookies, timeout=10) as client:
        sent = client.post("/_sw/events", json={"events": [{
            "type": "applied", "event_id": "e-late-1", "ts": time.time(), "url": proxy.url + "/late",
            "props": {"tokens": [decision["token"]]}}]})
    assert sent.status_code < 300, sent.text
    assert decisions(personalizer, visitor) == ["rail"]
    [logged] = [r.data for r in sync(personalizer.store.read_log(0, 100_000)) if r.kind == "decision" and r.visitor == visitor]
    assert logged["propensity"] == record["propensity"] and logged["decision_id"] == decision["decision_id"]


def test_a_preview_shows_a_waiting_slot_as_decided_and_nothing_is_logged(stack: tuple[Any, SlotwisePersonalizer]) -> None:
    """Under a preview link the waiting slot's forced variant goes to the browser like a visitor's (no token:
    a preview logs nothing), and the bar says it is shown, not that its ``when`` is false."""
    proxy, personalizer = stack
    link = "/late?sw_preview=" + personalizer.previews.token({"rail": "default"})
    r, visitor = visit(proxy, link)
    [decision] = json.loads(html.unescape(re.search(r'data-decisions="([^"]*)"', r.text).group(1)))
    assert decision["slot"] == "rail" and decision["decision_id"] == "preview" and "token" not in decision
    bar = json.loads(re.search(r'id="sw-preview-data">(.*?)</script>', r.text).group(1))
    [rail] = [slot for slot in bar["slots"] if slot["id"] == "rail"]
    assert rail["reason"] == "forced" and rail["shown"] == "default"
    assert decisions(personalizer, visitor) == []


def test_a_slot_that_is_there_keeps_its_decision_when_its_variant_changes_nothing(
        stack: tuple[Any, SlotwisePersonalizer]) -> None:
    """Every arm counts on the same pages: a size not offered is not the slot missing. And every arm
    marks the element with its decision, or the tag could report no exposure nor click of the prefill
    variant there while it reports the control's."""
    proxy, personalizer = stack
    arms = set()
    for _ in range(12):
        r, visitor = visit(proxy, "/sizes")
        assert decisions(personalizer, visitor) == ["size"]
        assignment = sync(personalizer.store.get_profile(visitor)).assignments["size"]
        arms.add(assignment["arm"])
        assert f'<select id="size" data-sw-decision="{assignment["decision_id"]}" data-sw-slot="size">' in r.text
        assert "<option>S</option><option>M</option>" in r.text  # nothing chosen
    assert arms == {"prefill", "control"}


def test_set_value_sets_the_field_it_finds_and_marks_any_other_element(
        stack: tuple[Any, SlotwisePersonalizer]) -> None:
    """The element set-value finds is the field, or it is only marked (as the tag does in tag-only mode):
    a wrapper is not looked into, so the field inside it keeps the store's value."""
    proxy, personalizer = stack
    r, visitor = visit(proxy, "/gift")
    assert decisions(personalizer, visitor) == ["note"]
    marks = f'data-sw-decision="{sync(personalizer.store.get_profile(visitor)).assignments["note"]["decision_id"]}" ' \
            'data-sw-slot="note"'
    assert (f'<div class="gift-note" {marks}><input id="note" value="from the store"></div>'
            f'<div class="gift-note" {marks}><p>Wrapping is free</p></div>'
            f'<input class="gift-note" value="Happy birthday!" {marks}>') in r.text


@pytest.mark.browser
def test_each_arm_of_a_size_not_offered_reports_its_exposure_from_the_browser(
        stack: tuple[Any, SlotwisePersonalizer], new_page: Any) -> None:
    """Chromium behind the proxy: the tag sees the marked element in view and sends its exposure."""
    proxy, personalizer = stack
    exposed: dict[str, list[int]] = {}  # arm -> exposures each of its pages sent
    for _ in range(12):
        page = new_page()
        page.goto(f"{proxy.url}/sizes")
        page.wait_for_function("window.slotwise && window.slotwise.v")
        visitor = next(c["value"] for c in page.context.cookies() if c["name"] == "sw_vid").split(".")[0]
        assert decisions(personalizer, visitor) == ["size"]
        [logged] = [r.data for r in sync(personalizer.store.read_log(0, 100_000))
                    if r.kind == "decision" and r.visitor == visitor]
        deadline = time.monotonic() + 5.0  # seen in view, then sent within a second or so
        while not exposures(personalizer, logged["decision_id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        exposed.setdefault(logged["arm"], []).append(len(exposures(personalizer, logged["decision_id"])))
        if len(exposed) == 2:
            break
    assert set(exposed) == {"prefill", "control"}, exposed  # an arm may come up on several pages first
    assert all(n == 1 for counts in exposed.values() for n in counts), exposed  # one exposure a page, either arm


def exposures(personalizer: SlotwisePersonalizer, decision_id: str | None) -> list[Any]:
    return [r for r in sync(personalizer.store.read_log(0, 100_000)) if r.kind == "event"
            and r.data.get("type") == "exposure" and r.data["props"].get("decision_id") == decision_id]
