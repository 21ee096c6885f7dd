"""Slots whose element the store's own script renders after the page loads (``wait``), behind the proxy, in Chromium.

The store is ``tests/tag_only/site/late/`` (the tag-only tests' Magento-like
product page, whose size swatches are built from its ``jsonConfig`` 300 ms
after ``DOMContentLoaded``, and whose reviews widget never comes) served by a
real HTTP server on 127.0.0.1; in front of it the real proxy (in-process, as
the other tests here). The proxy finds neither element in the HTML: it keeps
their decisions for the browser (the ``late`` script it adds after its tag),
which applies them when the element appears. The page's other slot, on its
``h1``, is rewritten by the proxy as always. One page the store marks
cacheable goes through the HTML cache: one fetch, personalized per visitor.
A waiting slot whose element is in the HTML (the journal's rail) is rewritten
by the proxy, and applied again in the browser when the page's script
re-renders the rail (the tag-only tests' ``recs.html``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from late_swatches import size_chosen_before_paint
from e2e_browser_helpers import DESKTOP_UA, flush, visitor_id, wait_for
from page_server import Page, PageServer

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag import assets
from slotwise.tag.testing import sync

pytestmark = pytest.mark.browser

SITE = Path(__file__).resolve().parents[1] / "tag_only" / "site" / "late"
RULES = """
holdout: 0
attribution_window: session
catalog:
  home_pages: "/"
  product_pages: "/late/p/{product}"
  currency: EUR
  selectors:
    name: "h1.page-title"
slots:
  - id: size-preset
    pages: "/late/p/*"
    selector: ".swatch-attribute.size .swatch-attribute-options"
    action: select-option
    items: ".swatch-option"
    key: data-option-label
    value: "'M'"
    attributes: {aria-checked: "true"}
    wait: 2s
  - id: reviews
    pages: "/late/p/*"
    selector: ".reviews-widget"
    action: append
    html: '<p class="sw-reviews">Loved by runners</p>'
    wait: 600ms
  - id: badge
    pages: "/late/p/*"
    selector: "h1.page-title"
    action: append
    html: '<span class="sw-badge">New</span>'
  - id: recs
    pages: "/late/recs"
    selector: "section.recs-rail"
    action: append
    html: '<ul class="sw-recs"><li>Picked for you</li></ul>'
    wait: 2s
  - id: later
    pages: "/late/lookbook"
    selector: ".later-widget"
    action: append
    html: '<p class="sw-later">Picked for you</p>'
    wait: 5s
"""
RECS = ("?settled=1", "?settled=1&inplace=1", "?renders=6&every=100&settled=1", "?renders=6&every=100&settled=1&inplace=1")
NOT_KEPT = (("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store"))
KEPT = (("content-type", "text/html; charset=utf-8"), ("cache-control", "public, max-age=600"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[str, SlotwisePersonalizer, PageServer]]:
    """The proxy in front of the late pages: ``/late/p/tee`` not cacheable, ``/late/p/kept`` cacheable."""
    data = tmp_path_factory.mktemp("waiting-slots")
    (data / "rules.yaml").write_text(RULES, encoding="utf-8")
    tee = (SITE / "p" / "tee.html").read_bytes()
    plain = b"<!doctype html><html><head><title>About</title></head><body><h1>About us</h1></body></html>"
    lookbook = b"<!doctype html><html><head><title>Lookbook</title></head><body><main id=route></main></body></html>"
    routes = {"/late/p/tee": Page(tee, headers=NOT_KEPT), "/late/p/kept": Page(tee, headers=KEPT),
              "/about": Page(plain, headers=NOT_KEPT), "/late/lookbook": Page(lookbook, headers=NOT_KEPT)}
    routes.update({"/late/recs" + query: Page((SITE / "recs.html").read_bytes(), headers=NOT_KEPT) for query in RECS})
    with PageServer(routes) as shop:
        settings = Settings(upstream=shop.url, rules=str(data / "rules.yaml"), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield proxy.url, personalizer, shop


def logged(personalizer: SlotwisePersonalizer, visitor: str) -> list[Any]:
    return [r for r in sync(personalizer.store.read_log(0, 100_000)) if r.kind == "decision" and r.visitor == visitor]


def exposures(personalizer: SlotwisePersonalizer, visitor: str) -> list[str]:
    return [r.data["props"]["decision_id"] for r in sync(personalizer.store.read_log(0, 100_000))
            if r.kind == "event" and r.visitor == visitor and r.data.get("type") == "exposure"]


def visit_tee(page: Any, url: str, personalizer: SlotwisePersonalizer) -> tuple[Any, str, dict[str, Any]]:
    """The product page in Chromium until the swatches' wait is over and the tag's queue is sent: its
    navigation response, the visitor, and the decisions logged for them by slot."""
    tokens: list[str] = []
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: tokens.extend(t for e in json.loads(r.post_data or "{}").get("events", [])
                                               if e["type"] == "applied" for t in e["props"]["tokens"])
            if r.url.endswith("/_sw/events") else None)
    response = page.goto(url)
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")  # the tag the proxy injects (deferred)
    size_chosen_before_paint(page, "M")
    flush(page)
    visitor = visitor_id(page.context)
    found = wait_for(lambda: {r.data["slot"]: r.data for r in logged(personalizer, visitor)}
                     if len(logged(personalizer, visitor)) >= 2 else None, what="the badge and size decisions logged")
    assert len(tokens) == 1, tokens  # the size preset's token, once: never the widget's, never the badge's
    assert not errors
    return response, visitor, found


def test_the_size_preset_is_selected_on_swatches_the_store_builds_after_the_proxy_served_the_page(
        proxied: tuple[str, SlotwisePersonalizer, PageServer], page: Any) -> None:
    """Applied by the browser when the swatches appear, before they are painted, and logged once, when the tag
    says it is applied (its propensity as drawn); the widget that never comes is never logged; the ``h1``
    slot the proxy rewrote is as the proxy made it (once, logged with the page)."""
    url, personalizer, _ = proxied
    response, visitor, found = visit_tee(page, f"{url}/late/p/tee", personalizer)
    assert "private" in response.headers["cache-control"]
    assert set(found) == {"size-preset", "badge"}  # never "reviews"
    size = found["size-preset"]
    assert size["arm"] == "default" and size["propensity"] == 1.0
    assert page.get_attribute(".swatch-attribute-options", "data-sw-decision") == size["decision_id"]
    assert page.locator(".sw-reviews").count() == 0
    assert page.locator("h1.page-title .sw-badge").count() == 1
    assert page.get_attribute(".sw-badge", "data-sw-decision") == found["badge"]["decision_id"]
    assert set(sync(personalizer.store.get_profile(visitor)).assignments) == {"size-preset", "badge"}
    flush(page)  # in view: its exposure is reported as for any decision
    wait_for(lambda: size["decision_id"] in exposures(personalizer, visitor), what="the swatches' exposure")


def test_a_page_from_the_html_cache_gets_each_visitor_s_own_waiting_decisions(
        proxied: tuple[str, SlotwisePersonalizer, PageServer], new_context: Any) -> None:
    """The store's page is fetched once and kept (before personalization); each visitor's copy carries their
    own decisions for the swatches, is private, and each is logged once, for that visitor."""
    url, personalizer, shop = proxied
    seen = []
    for _ in range(2):
        response, visitor, found = visit_tee(new_context().new_page(), f"{url}/late/p/kept", personalizer)
        assert "private" in response.headers["cache-control"]
        seen.append((response.headers["server-timing"], visitor, found["size-preset"]["decision_id"]))
    assert "cache;desc=hit" in seen[1][0], seen[1][0]
    assert sum(1 for r in shop.requests if r.path == "/late/p/kept") == 1
    assert seen[0][1] != seen[1][1] and seen[0][2] != seen[1][2]


def test_the_server_timing_header_names_the_waiting_decisions_too(
        proxied: tuple[str, SlotwisePersonalizer, PageServer]) -> None:
    """A tester reads a page's decisions in ``Server-Timing``: the swatches' decision, sent for the browser to
    apply, is named beside the badge the proxy applied, marked as waiting."""
    url, _, _ = proxied
    r = httpx.get(f"{url}/late/p/tee", headers={"user-agent": DESKTOP_UA}, timeout=10)
    desc = r.headers["server-timing"].split('desc="', 1)[1]
    assert "badge=" in desc and "size-preset=" in desc and "(waits)" in desc.split("size-preset=", 1)[1], desc
    assert "(waits)" not in desc.split("badge=", 1)[1].split(",")[0], desc


def test_a_page_without_waiting_decisions_gets_the_tag_alone(proxied: tuple[str, SlotwisePersonalizer, PageServer]) -> None:
    """No waiting slot on the page: the one script element, the injected tag as before (within its 6.5 KB with the
    noticing of soft navigations, on by default: tests/tag/test_assets.py)."""
    url, personalizer, _ = proxied
    r = httpx.get(f"{url}/about", headers={"user-agent": DESKTOP_UA}, timeout=10)
    assert r.text.count("<script") == 1 and personalizer.tag_api.assets.url() in r.text
    assert "data-decisions" not in r.text
    tag = httpx.get(url + personalizer.tag_api.assets.url(), headers={"accept-encoding": "gzip"}, timeout=10)
    assert tag.headers["cache-control"] == assets.IMMUTABLE
    assert len(personalizer.tag_api.assets.current("proxy").compressed) < 6.5 * 1024


@pytest.mark.parametrize("how", ["replaced", "in-place"])
@pytest.mark.parametrize("renders", [1, 6])
def test_a_rail_the_proxy_rewrote_gets_the_recommendations_again_when_the_store_re_renders_it(
        proxied: tuple[str, SlotwisePersonalizer, PageServer], page: Any, how: str, renders: int) -> None:
    """The rail is in the HTML: the proxy appends the recommendations and logs the decision with the page. The
    page's script then replaces the rail (or renders its content again): the browser applies the decision again,
    at most 3 times (then the page's script wins, said in a debug log), and sends no token (logged already)."""
    url, personalizer, _ = proxied
    said: list[str] = []
    tokens: list[str] = []
    page.on("console", lambda m: said.append(m.text) if m.type == "debug" else None)
    page.on("request", lambda r: tokens.extend(t for e in json.loads(r.post_data or "{}").get("events", [])
                                               if e["type"] == "applied" for t in e["props"]["tokens"])
            if r.url.endswith("/_sw/events") else None)
    query = RECS[(renders > 1) * 2 + (how == "in-place")]
    page.goto(f"{url}/late/recs{query}")
    page.wait_for_function("window.hydrated === 1")
    if renders == 1:
        assert page.evaluate("window.hadRecs") == [True]  # the proxy's rail had them
        page.wait_for_selector(f"section.recs-rail{'' if how == 'in-place' else ':not([data-server])'} .sw-recs")
        assert page.locator(".sw-recs").count() == 1
    else:
        assert page.evaluate("window.hadRecs") == [True, True, True, True, False, False]
        assert page.locator(".sw-recs").count() == 0
        assert said == ["slotwise: slot recs re-rendered more than 3 times: left to the page"]
    flush(page)
    visitor = visitor_id(page.context)
    [decision] = wait_for(lambda: logged(personalizer, visitor), what="the rail's decision logged with the page")
    assert decision.data["slot"] == "recs" and tokens == []
    if renders == 1:
        assert page.get_attribute(".sw-recs", "data-sw-decision") == decision.data["decision_id"]


@pytest.mark.parametrize("leaves", [False, True], ids=["stays", "leaves"])
def test_the_late_script_s_watcher_stops_when_the_path_changes(
        proxied: tuple[str, SlotwisePersonalizer, PageServer], page: Any, leaves: bool) -> None:
    """A waiting decision (5 s) is for its page only: its element appearing on the same page gets it; after a
    soft navigation to another path (a single-page storefront's router), an element matching its selector that
    the next route renders is left alone (the ``late`` script's watcher stops at the path change) and no token
    is sent for it."""
    url, _, _ = proxied
    tokens: list[str] = []
    page.on("request", lambda r: tokens.extend(t for e in json.loads(r.post_data or "{}").get("events", [])
                                               if e["type"] == "applied" for t in e["props"]["tokens"])
            if r.url.endswith("/_sw/events") else None)
    page.goto(f"{url}/late/lookbook")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1 && document.querySelector('script[data-decisions]')")
    if leaves:
        page.evaluate("history.pushState(null, '', '/about')")
    page.evaluate("document.getElementById('route').innerHTML = '<section class=\"later-widget\">New in</section>'")
    page.wait_for_timeout(400)
    flush(page)
    assert page.locator(".later-widget .sw-later").count() == (0 if leaves else 1)
    assert len(tokens) == (0 if leaves else 1), tokens
