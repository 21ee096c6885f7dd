"""The injected tag (hashed URL, long caching, one global) and privacy (consent mode, Sec-GPC) in a browser."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from e2e_browser_helpers import (
    RULES_CONSENT,
    Stack,
    add_to_cart,
    category_order,
    cookie,
    flush,
    goto,
    open_stack,
    visitor_id,
    wait_for,
)

pytestmark = pytest.mark.browser

HASHED = re.compile(r"/_sw/tag\.[0-9a-f]{12}\.js$")


@pytest.fixture(scope="module")
def consent_stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    """The same store and slots, but ``consent: required``."""
    with open_stack(tmp_path_factory.mktemp("e2e-consent"), RULES_CONSENT, uvicorn_runner) as s:
        yield s


def store_order(stack: Stack, page: Any) -> list[str]:
    page.goto(stack.demo.url + "/")  # the store itself, without the proxy
    return category_order(page)


def log_size(stack: Stack) -> int:
    return len(stack.log())


# -- the tag ----------------------------------------------------------------------------------

def test_the_tag_is_served_at_its_hashed_url_with_long_caching(stack: Stack, page: Any) -> None:
    with page.expect_response(lambda r: "/_sw/tag." in r.url) as tag_response:
        page.goto(stack.url + "/")
    response = tag_response.value
    assert HASHED.search(response.url), response.url
    headers = response.all_headers()
    assert response.status == 200
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-type"].startswith("text/javascript")
    assert headers.get("content-encoding") == "gzip" and headers.get("etag")
    script = page.locator("script[src*='/_sw/tag.']")
    assert script.count() == 1  # injected once, deferred, the proxy records page views itself
    assert script.get_attribute("defer") is not None and script.get_attribute("data-pageview") == "off"
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")

    goto(page, stack.url + "/c/socks")  # the next page takes the tag from the cache
    cached = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/_sw/tag.'))"
        ".map(e => ({size: e.transferSize, body: e.decodedBodySize}))")
    assert cached and cached[0]["size"] == 0 and cached[0]["body"] > 0, cached


def test_the_tag_adds_exactly_one_global(stack: Stack, page: Any) -> None:
    script = "Object.getOwnPropertyNames(window)"
    page.goto(stack.demo.url + "/")  # the same page without the proxy: no tag
    before = set(page.evaluate(script))
    goto(page, stack.url + "/")
    page.mouse.move(300, 300)  # let the tag's listeners and timers run a little
    flush(page)
    after = set(page.evaluate(script))
    assert after - before == {"slotwise"}
    assert sorted(page.evaluate("Object.keys(slotwise)")) == ["consent", "flush", "identify", "showPopup", "track", "v"]


# -- consent required -------------------------------------------------------------------------

def test_consent_required_nothing_stored_or_personalized_until_consent(consent_stack: Stack, page: Any) -> None:
    s = consent_stack
    order = store_order(s, page)
    goto(page, s.url + "/")
    goto(page, s.url + "/c/jeans")
    goto(page, s.url + "/c/socks")
    add_to_cart(page, s.url, "302", "M")  # the tag reports it; the edge drops it
    goto(page, s.url + "/")
    flush(page)
    vid = visitor_id(page.context)
    assert s.profile(vid) is None
    assert [r for r in s.log() if r.visitor == vid] == []  # no events, no decisions
    assert category_order(page) == order
    assert page.locator("[data-sw-decision]").count() == 0 and page.locator("template[data-sw-popup]").count() == 0

    page.evaluate("slotwise.consent(true)")
    profile = wait_for(lambda: (p := s.profile(vid)) and p.consent == "granted" and p, what="the consent in the profile")
    assert profile.categories == {} and profile.cart == []  # what came before consent stays forgotten
    goto(page, s.url + "/c/jeans")
    goto(page, s.url + "/c/socks")
    goto(page, s.url + "/")
    assert category_order(page)[:2] == ["socks", "jeans"]  # personalized from now on
    assert page.locator("nav.category-nav ul").get_attribute("data-sw-decision")
    add_to_cart(page, s.url, "302", "M")
    wait_for(lambda: s.profile(vid).cart, what="the cart after consent")
    goto(page, s.url + "/")
    assert page.locator("template[data-sw-popup]").count() == 1


def test_consent_required_the_tag_sends_nothing_before_consent(consent_stack: Stack, page: Any) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/_sw/events" in r.url else None)
    goto(page, consent_stack.url + "/c/jeans")
    add_to_cart(page, consent_stack.url, "302", "M")
    page.evaluate("slotwise.flush()")
    page.wait_for_timeout(300)
    assert sent == []


def test_consent_refused_stores_nothing(consent_stack: Stack, page: Any) -> None:
    s = consent_stack
    goto(page, s.url + "/c/jeans")
    page.evaluate("slotwise.consent(false)")
    goto(page, s.url + "/c/socks")
    flush(page)
    vid = visitor_id(page.context)
    page.wait_for_timeout(300)
    assert s.profile(vid) is None and [r for r in s.log() if r.visitor == vid] == []


# -- Global Privacy Control -------------------------------------------------------------------

def test_gpc_writes_no_profile_and_personalizes_nothing(stack: Stack, new_context: Any) -> None:
    page = new_context(extra_http_headers={"Sec-GPC": "1"}).new_page()
    order = store_order(stack, page)
    seen = log_size(stack)
    goto(page, stack.url + "/c/jeans")
    goto(page, stack.url + "/c/socks")
    add_to_cart(page, stack.url, "302", "M")
    goto(page, stack.url + "/")
    page.evaluate("slotwise.track('custom', {name: 'gpc-probe'})")
    flush(page)
    assert category_order(page) == order
    assert page.locator("[data-sw-decision]").count() == 0 and page.locator("template[data-sw-popup]").count() == 0
    assert log_size(stack) == seen  # no event, no decision, from anyone
    vid = cookie(page.context, "sw_vid")
    if vid is not None:
        assert stack.profile(vid.split(".")[0]) is None


def test_gpc_sets_no_visitor_cookie(stack: Stack, new_context: Any) -> None:
    page = new_context(extra_http_headers={"Sec-GPC": "1"}).new_page()
    goto(page, stack.url + "/c/jeans")
    flush(page)
    assert cookie(page.context, "sw_vid") is None
