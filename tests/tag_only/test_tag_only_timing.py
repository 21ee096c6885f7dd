"""Tag-only mode against the clock: a slow or absent Slotwise, a slow store, racing first requests.

The page is hidden (``body{opacity:0}``) at most until the window ends; a
decision that arrives later is never applied, so it is never logged and
never rewarded; the window starts where the snippet says; and a first
visit's racing requests are one visitor. ``OPACITY_PROBE`` samples the
body's computed opacity every few milliseconds from the document's start.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tag_only_helpers import (
    OPACITY_PROBE,
    SLOW_S,
    Requests,
    Stack,
    brief,
    browse,
    category_order,
    cookie,
    flush,
    goto,
    hidden_past,
    visitor_id,
    wait_for,
)

from slotwise.proxy.operations.reporting import build_decision_log

pytestmark = pytest.mark.browser

STORE_ORDER = ["/c/jackets", "/c/shoes", "/c/socks", "/c/hats"]
SLACK_MS = 400  # timers on a loaded 2-core machine (stalls apart: hidden_past); the slow answers come 1200 ms late


def settled(page: Any, tag: bool = True) -> Any:
    """The snippet's /decide answer, once the page (and the tag, if it loads) has done what it does with it."""
    if tag:
        page.wait_for_function("window.slotwise && window.slotwise.v === 1", timeout=10_000)
    return page.evaluate("async () => { const a = await window.slotwise_d; "
                         "await new Promise(r => setTimeout(r, 50)); return a; }")


def visibility(page: Any) -> dict[str, Any]:
    """When the body was first hidden, last hidden and first shown (performance.now() ms), and the deadline."""
    page.wait_for_function("window.__vis && window.__vis.firstShown !== null")
    return page.evaluate("({...window.__vis, deadline: window.slotwise_w})")


@pytest.mark.parametrize("site", ["slow", "slow-decide", "down"])
def test_a_slow_or_absent_slotwise_never_hides_the_page_beyond_the_window(stack: Stack, new_context: Any,
                                                                          site: str) -> None:
    context = new_context()
    context.add_init_script(OPACITY_PROBE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(stack.url(site, "/"), wait_until="commit")
    visibility(page)
    settled(page, tag=site != "down")  # the late answers have come and gone: never hidden again since
    seen = visibility(page)
    if site == "down":  # nginx answers 502 at once: the page shows then (often before the body exists)
        assert seen["lastHidden"] is None or seen["lastHidden"] < 1000, brief(seen)
    else:
        assert seen["firstHidden"] is not None, "the snippet hid the page while it waited"
        past = hidden_past(seen, seen["deadline"])
        assert past <= SLACK_MS, f"hidden {past:.0f} ms past the window (stalls apart): {brief(seen)}"
    assert category_order(page) == STORE_ORDER and page.locator("[data-sw-decision]").count() == 0
    assert page.evaluate("getComputedStyle(document.body).opacity") == "1"
    assert not errors


def test_a_decision_that_arrives_after_the_window_is_never_applied_logged_or_rewarded(stack: Stack, page: Any) -> None:
    """Issue 17, 4: a late size decision used to be rewarded by the add to cart that followed."""
    site = "slow-decide"
    browse(page, stack.url(site, "/p/201"))  # the catalog learns it (events are on time)
    browse(page, stack.url(site, "/order/confirmed?order=T-2001&product=201&size=43&price=119"))
    visitor = visitor_id(page.context)
    wait_for(lambda: stack.profile(visitor).purchases, what="the purchase in the profile")
    requests = Requests(page.context)
    goto(page, stack.url(site, "/p/201"))
    answer = settled(page)  # Slotwise did decide, late: size 43, with a token to confirm it
    [size] = [x for x in answer["decisions"] if x["slot"] == "size-prefill"]
    assert size["value"] == "43" and size["token"]
    assert page.eval_on_selector("#size", "e => e.value") == ""
    assert page.locator("[data-sw-decision]").count() == 0
    page.select_option("#size", "42")
    with page.expect_navigation():
        page.click("form.add-to-cart button")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)
    wait_for(lambda: stack.events("add_to_cart", visitor), what="the add to cart")
    assert not [e for e in requests.events() if e["type"] == "applied"]
    assert stack.decisions(visitor) == []  # never logged ...
    assert [r for r in build_decision_log(stack.log()).rows if r.visitor == visitor] == []  # ... nor rewarded


def test_one_visitor_however_the_first_requests_race(stack: Stack, page: Any) -> None:
    """Issue 17, 3: /decide (late) and the first events both leave without a cookie; one id comes back."""
    requests = Requests(page.context)
    set_cookies: list[str] = []
    page.on("response", lambda r: set_cookies.extend(
        h["value"] for h in r.headers_array() if h["name"].lower() == "set-cookie" and "sw_vid=" in h["value"]))
    goto(page, stack.url("race", "/"))
    with page.expect_response(lambda r: "/_sw/events" in r.url):
        page.evaluate("slotwise.flush()")  # the page view goes now, while /decide is still out
    settled(page)
    [decide] = requests.to("decide")
    first_events = requests.to("events")[0]
    assert "cookie" not in decide.all_headers() and "cookie" not in first_events.all_headers()  # a real race
    flush(page)
    ids = {v.split("=", 1)[1].split(".")[0] for v in set_cookies}
    assert len(set_cookies) >= 2 and len(ids) == 1, set_cookies  # both answers set it: one id
    visitor = visitor_id(page.context)
    assert ids == {visitor}
    nonce = json.loads(first_events.post_data or "{}")["n"]  # how: one nonce went with both ...
    assert decide.headers.get("x-slotwise-nonce") == nonce
    # ... and never in a URL: it stands for the visitor (their id and cookie) for a day, and the store's
    # access log (nginx's default format) keeps every request line, query string and all
    assert "/_sw/decide?url=" in stack.access_log.read_text()
    assert nonce not in decide.url and nonce not in stack.access_log.read_text()
    mine = {r.visitor for r in stack.log() if (r.data.get("url") or "").startswith(stack.url("race", "/"))}
    assert mine == {visitor}
    assert stack.profile(visitor).visits >= 1
    browse(page, stack.url("race", "/c/hats"))  # the next requests carry the cookie ...
    assert "cookie" in requests.to("events")[-1].all_headers()
    assert page.evaluate("localStorage.getItem('sw_n')") is None  # ... the server said so: no nonce any more
    assert {r.visitor for r in stack.log() if (r.data.get("url") or "").startswith(stack.url("race", "/"))} == {visitor}


def test_a_stale_nonce_is_replaced_not_reused(stack: Stack, new_context: Any) -> None:
    """A nonce left in storage for days stands for nobody: the tag makes a new one on the server's "new"."""
    stale = "mx00aaaa." + "0" * 32  # made in 2026 or so, days before this server's clock
    context = new_context()
    context.add_init_script(f"localStorage.getItem('sw_n') || sessionStorage.getItem('seeded') || "
                            f"(localStorage.setItem('sw_n', '{stale}'), sessionStorage.setItem('seeded', '1'))")
    page = context.new_page()
    goto(page, stack.url("main", "/"))
    answer = settled(page)
    assert answer["visitor"] == "new"  # the stale nonce went, and was refused
    assert page.evaluate("localStorage.getItem('sw_n')") != stale  # a fresh one (or none once the cookie is known)
    flush(page)
    assert page.evaluate("localStorage.getItem('sw_n')") is None and cookie(context)


def test_the_window_starts_where_the_snippet_says(stack: Stack, new_context: Any) -> None:
    """A store whose HTML takes 1.2 s: "snippet" still personalizes, "navigation" shows it untouched at once."""
    context = new_context()
    context.add_init_script(OPACITY_PROBE)
    page = context.new_page()
    browse(page, stack.url("main", "/c/socks"))  # one visitor on every site (cookies do not care for ports)
    requests = Requests(context)

    page.goto(stack.url("late-store", "/"))
    page.wait_for_selector("ul.category-list[data-sw-decision]")
    assert category_order(page)[0] == "/c/socks"
    seen = visibility(page)
    snippet_ran = seen["deadline"] - 1000
    assert snippet_ran >= SLOW_S * 1000 - 50  # the snippet ran once the HTML came, the window counted from there
    assert seen["firstHidden"] is not None and seen["lastHidden"] <= seen["deadline"], brief(seen)

    asked = len(requests.to("decide"))
    page.goto(stack.url("late-store-nav", "/"))
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    seen = visibility(page)
    assert seen["deadline"] == 1000 and seen["firstHidden"] is None, brief(seen)  # the window was over: nothing hidden ...
    page.wait_for_timeout(300)
    assert len(requests.to("decide")) == asked  # ... nothing asked ...
    assert category_order(page) == STORE_ORDER  # ... and the page as the store made it
    assert cookie(context)
