"""The tag in headless Chromium against the test storefront and the real events API.

Tag-only mode end to end (nginx, the snippet, the real ``/decide``) is tests/tag_only;
the tag-only tests here use a fake ``decide`` to test how the tag applies edits.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from opacity_probe import OPACITY_PROBE, brief, hidden_past
from polling import wait_for

from slotwise.proxy.personalization.tag_decide import edit_json
from slotwise.rules.actions import popup_edit, value_edit
from slotwise.rules.size_vocabulary import SizeVocabulary
from slotwise.tag.assets import embed_snippet
from slotwise.tag.testing import PRODUCT_PAGE, sync

pytestmark = pytest.mark.browser


def events_of(store: Any, type_: str) -> list[Any]:
    return [r for r in sync(store.read_log(0, limit=10_000)) if r.data.get("type") == type_]


def visitor(page: Any) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "sw_vid").split(".")[0]


def leave_through_top(page: Any) -> None:
    page.mouse.move(500, 300)
    page.mouse.move(500, 5)
    page.mouse.move(500, -20)


TRIGGERS = {"v": 1, "triggers": [
    {"id": "add", "on": "submit", "selector": "form.add-to-cart",
     "fields": {"product": {"f": "product_id"}, "size": {"f": "size"}, "qty": {"f": "qty"}, "name": {"c": "button", "a": None},
                "form_class": {"c": None, "a": "class"}}},
    {"id": "nav", "on": "click", "selector": "nav.category-nav li",
     "fields": {"href": {"c": "a", "a": "href"}, "label": {"c": "a", "a": None}}},
]}


def test_rule_triggers_send_what_the_page_says(live_tag_server: Any, page: Any, store: Any) -> None:
    """A submit and a click the rules name: the tag reads their fields, nothing store-specific of its own."""
    server, _ = live_tag_server(tag_config=lambda: TRIGGERS)
    page.goto(f"{server.url}/p/p1")
    page.wait_for_function("window.slotwise && window.slotwise.v")
    page.select_option("#size", "42")
    page.click("form.add-to-cart button")
    page.wait_for_url("**/cart/add")
    captured = wait_for(lambda: events_of(store, "capture"))
    assert captured[0].data["props"] == {"source": "add", "values": {
        "product": "p1", "size": "42", "qty": "2", "name": "Add to cart", "form_class": "add-to-cart"}}
    page.go_back()
    page.click("nav.category-nav li:nth-child(2) a", no_wait_after=True)
    clicked = wait_for(lambda: [e for e in events_of(store, "capture") if e.data["props"]["source"] == "nav"])
    assert clicked[0].data["props"]["values"] == {"href": "/c/socks", "label": "Socks"}
    page.wait_for_url("**/c/socks")  # let the navigation settle: closing mid-navigation can hang on a loaded machine


def test_exit_intent_popup_is_accessible_and_closes_on_escape(live_tag_server: Any, page: Any, store: Any) -> None:
    server, _ = live_tag_server()
    page.goto(f"{server.url}/p/p1")
    page.wait_for_function("window.slotwise && window.slotwise.v")
    leave_through_top(page)
    dialog = page.locator("[role=dialog]")
    dialog.wait_for(state="visible", timeout=3000)
    assert dialog.get_attribute("aria-modal") == "true"
    assert page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")
    assert page.evaluate("document.activeElement.type") == "email"
    for _ in range(4):  # focus stays trapped inside
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=2000)
    closed = wait_for(lambda: events_of(store, "popup_closed"))
    assert closed[0].data["props"] == {"slot": "exit-coupon", "decision_id": "d-popup-1", "how": "escape"}
    assert events_of(store, "popup_shown") and events_of(store, "exit_intent")
    leave_through_top(page)  # at most once per session
    page.wait_for_timeout(200)
    assert page.locator("[role=dialog]").count() == 0


def test_signup_in_the_popup_shows_a_coupon_and_never_again(live_tag_server: Any, page: Any, store: Any) -> None:
    server, _ = live_tag_server()
    page.goto(f"{server.url}/p/p1")
    page.wait_for_function("window.slotwise && window.slotwise.v")
    leave_through_top(page)
    page.locator("[role=dialog] input[type=email]").fill("pop@example.com")
    page.keyboard.press("Enter")
    code = page.locator("[role=dialog] .sw-code")
    code.wait_for(state="visible", timeout=3000)
    assert code.text_content().startswith("SW-")
    profile = wait_for(lambda: sync(store.get_profile(visitor(page))))
    assert profile.subscribed and profile.coupon == code.text_content()
    assert wait_for(lambda: events_of(store, "popup_converted"))[0].data["props"]["decision_id"] == "d-popup-1"
    other = page.context.new_page()  # a new tab: a new session, but signed up
    other.goto(f"{server.url}/p/p1")
    other.wait_for_function("window.slotwise && window.slotwise.v")
    leave_through_top(other)
    other.wait_for_timeout(300)
    assert other.locator("[role=dialog]").count() == 0


def test_exposures_once_visible_and_clicks(live_tag_server: Any, page: Any, store: Any) -> None:
    server, _ = live_tag_server()
    page.goto(f"{server.url}/p/p1")
    exposed = wait_for(lambda: events_of(store, "exposure"))
    assert [e.data["props"]["decision_id"] for e in exposed] == ["d-rec-1"]
    page.evaluate("document.querySelector('.below').scrollIntoView()")
    wait_for(lambda: len(events_of(store, "exposure")) == 2)
    page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("document.querySelector('.below').scrollIntoView()")  # once per decision per page
    page.wait_for_timeout(300)
    page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("document.querySelector('.below').click()")  # a script's click (a store's, click: true's): no visitor's
    page.click("a.rec")
    click = wait_for(lambda: events_of(store, "click"))
    assert click[0].data["props"]["decision_id"] == "d-rec-1" and click[0].data["props"]["href"].endswith("/p/p2")
    assert [e.data["props"]["decision_id"] for e in events_of(store, "click")] == ["d-rec-1"]
    assert len(events_of(store, "exposure")) == 2


def tag_only_page(antiflicker_ms: int) -> str:
    return PRODUCT_PAGE.replace("<head>", "<head>" + embed_snippet(antiflicker_ms=antiflicker_ms)).replace("__POPUP__", "")


def test_tag_only_mode_applies_decisions(live_tag_server: Any, page: Any, store: Any) -> None:
    """The apply mechanics of each action, with a fake ``decide``.

    A unit test of the tag only: the real ``/decide`` behind nginx, with the
    snippet, the window and the ``applied`` tokens, is tests/tag_only.
    """
    async def decide(request: Any, visitor_id: str, url: str, extract: Any = None) -> dict[str, Any]:
        return {"complete": True, "decisions": [
            {"slot": "nav", "selector": "nav.category-nav ul", "action": "reorder", "key": "data-category",
             "order": ["hats", "shoes"], "decision_id": "d-nav"},
            {"slot": "recs", "selector": ".related", "action": "replace",
             "html": '<section class="recs-new"><a href="/p/p9">For you</a></section>',
             "decision_id": "d-recs"},
            {"slot": "size", "selector": "#size", "action": "select-option", "value": "43", "decision_id": "d-size"},
            edit_json(popup_edit("exit", "body", "exit-intent", "<h2>Bye</h2>", decision_id="d-pop")),  # /decide's shape
        ]}

    server, _ = live_tag_server(page=tag_only_page(5000), tag="", decide=decide)  # generous: a cold browser
    page.goto(f"{server.url}/p/p1")
    page.wait_for_selector(".recs-new[data-sw-decision=d-recs]", timeout=6000)
    assert page.eval_on_selector_all("nav.category-nav li", "els => els.map(e => e.dataset.category)") == ["hats", "shoes", "socks"]
    assert page.eval_on_selector("#size", "e => e.value") == "43"
    assert page.locator("template[data-sw-popup=exit][data-sw-decision=d-pop]").count() == 1
    assert page.evaluate("getComputedStyle(document.body).opacity") == "1"
    wait_for(lambda: {e.data["props"]["decision_id"] for e in events_of(store, "exposure")} >= {"d-recs", "d-nav"})


def test_tag_only_mode_chooses_the_pages_own_name_of_the_size(live_tag_server: Any, page: Any) -> None:
    """The rules' ``catalog.size_names`` (``M: [Medium]``): the page's ``Medium`` is chosen for an ``M``, as the
    proxy chooses it; the decision is the one ``/decide`` sends for it."""
    edit = value_edit("fit", "#fit", "select-option", "M", decision_id="d-fit", limit=None,
                      sizes=SizeVocabulary(names=(("M", ("Medium",)),)))

    async def decide(request: Any, visitor_id: str, url: str, extract: Any = None) -> dict[str, Any]:
        return {"complete": True, "decisions": [edit_json(edit)]}

    fit = '<select id="fit"><option>Small</option><option>Medium</option><option>Large</option></select>'
    server, _ = live_tag_server(page=tag_only_page(5000).replace("<form", fit + "<form", 1), tag="", decide=decide)
    page.goto(f"{server.url}/p/p1")
    page.wait_for_selector("#fit[data-sw-decision=d-fit]", timeout=6000)
    assert page.eval_on_selector("#fit", "e => e.value") == "Medium"


def test_tag_only_mode_never_hides_the_page_past_the_timeout(live_tag_server: Any, page: Any) -> None:
    """A fake ``decide`` that answers after the window: shown on time, never changed (tests/tag_only: the real one)."""
    async def slow(request: Any, visitor_id: str, url: str, extract: Any = None) -> dict[str, Any]:
        await asyncio.sleep(2)
        return {"complete": True, "decisions": [
            {"slot": "s", "selector": "h1", "action": "replace", "html": "<h1>late</h1>", "decision_id": "d-late"}]}

    server, _ = live_tag_server(page=tag_only_page(300), tag="", decide=slow)
    page.context.add_init_script(OPACITY_PROBE)
    page.goto(f"{server.url}/p/p1", wait_until="commit")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    page.evaluate("async () => { await window.slotwise_d; await new Promise(r => setTimeout(r, 50)); }")  # answered
    vis, deadline = page.evaluate("[window.__vis, window.slotwise_w]")
    past = hidden_past(vis, deadline)
    assert vis["lastHidden"] is not None and past <= 400, \
        f"hidden {past:.0f} ms past the window (stalls apart), which ended at {deadline}: {brief(vis)}"
    assert page.text_content("h1") == "Trail Runner"  # the late answer is not applied (no flicker after the reveal)


def test_on_a_phone_the_back_button_shows_the_exit_popup(live_tag_server: Any, browser: Any, store: Any) -> None:
    """README, 'What the demo shows': a phone has no pointer to leave through the top; back does it."""
    phone = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/140.0.0.0 Mobile Safari/537.36")
    server, _ = live_tag_server()
    context = browser.new_context(user_agent=phone, viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True)
    page = context.new_page()
    page.goto(f"{server.url}/p/p1")
    page.wait_for_function("window.slotwise && window.slotwise.v")
    page.go_back(wait_until="commit")
    page.locator("[role=dialog]").wait_for(state="visible", timeout=3000)
    assert page.url.endswith("/p/p1")  # the first back press stays on the page and shows the offer
    assert wait_for(lambda: events_of(store, "exit_intent"))[0].data["props"] == {"trigger": "back"}
    context.close()


OBSERVE_ALL = {"v": 1, "requests": [{"id": "any-post", "methods": ["POST"], "path": "^/", "keys": {"form": ["product_id"]}}]}


def test_the_request_observer_never_observes_the_tags_own_requests(live_tag_server: Any, page: Any) -> None:
    """A source whose path is every path (``/**``) still leaves the tag's own posts to ``/_sw/`` alone:
    observing them would send an event about sending an event, forever."""
    server, _ = live_tag_server(tag_config=lambda: OBSERVE_ALL)
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if "/_sw/events" in r.url else None)
    page.goto(f"{server.url}/p/p1")
    page.wait_for_function("window.slotwise && window.slotwise.v")
    page.evaluate("() => { const f = new FormData(); f.append('product_id', 'p1'); f.append('password', 'x');"
                  " return fetch('/cart/add', {method: 'POST', body: f}).then(r => r.status); }")
    page.evaluate("slotwise.flush()")
    page.wait_for_function("!localStorage.getItem('sw_q')")
    page.wait_for_timeout(1500)  # time for a loop to show
    page.evaluate("slotwise.flush()")
    observed = [e["props"]["request"] for r in sent for e in json.loads(r.post_data or "{}")["events"]
                if e["type"] == "capture"]
    assert [o["path"] for o in observed] == ["/cart/add"] and observed[0]["form"] == {"product_id": "p1"}
    assert len(sent) <= 3, [r.post_data for r in sent]


OLD_SAFARI_REGEXP = r"""(() => {  // Safari before 16.4: a lookbehind is a SyntaxError
  window.RegExp = new Proxy(RegExp, {construct(R, args) {
    if (/\(\?<[=!]/.test(String(args[0]))) throw new SyntaxError('Invalid regular expression: invalid group specifier name');
    return Reflect.construct(R, args);
  }});
})()"""
LOOKBEHIND_TOO = {"v": 1, "requests": [
    {"id": "behind", "methods": ["POST"], "path": "(?<=/cart)/add", "keys": {"form": ["product_id"]}},
    {"id": "plain", "methods": ["POST"], "path": "^/cart/add$", "keys": {"form": ["product_id"]}}]}


def test_a_browser_that_cannot_compile_a_sources_regexp_skips_that_source_only(live_tag_server: Any, page: Any,
                                                                               store: Any) -> None:
    """rules check warns of a lookbehind (tests/rules/test_js_regex.py); on a browser whose RegExp throws on it
    the tag skips that source, and the page's request and the other sources go on."""
    server, _ = live_tag_server(tag_config=lambda: LOOKBEHIND_TOO)
    errors: list[Any] = []
    page.on("pageerror", lambda e: errors.append(e))
    page.add_init_script(OLD_SAFARI_REGEXP)
    page.goto(f"{server.url}/p/p1")
    page.wait_for_function("window.slotwise && window.slotwise.v")
    status = page.evaluate("() => { const f = new FormData(); f.append('product_id', 'p1');"
                           " return fetch('/cart/add', {method: 'POST', body: f}).then(r => r.status); }")
    page.evaluate("slotwise.flush()")
    captured = wait_for(lambda: events_of(store, "capture"))
    page.wait_for_timeout(300)
    assert status == 200 and not errors
    assert page.evaluate("() => { try { new RegExp('(?<=/cart)/add'); } catch (e) { return e.name; } }") == "SyntaxError"
    assert [e.data["props"]["source"] for e in events_of(store, "capture")] == ["plain"] == [
        e.data["props"]["source"] for e in captured]


@pytest.mark.parametrize("http_only", [False, True], ids=["readable", "httponly"])
def test_tag_only_decide_gets_the_currency_the_cookie_names(live_tag_server: Any, browser: Any, tmp_path: Any,
                                                            http_only: bool) -> None:
    """Tag-only, ``catalog.page_currency: {cookie: cart_currency}``: the tag (its config made from the rules) reads
    the cookie into the page extract ``/decide`` asks for, and the server's page facts are in its currency. An
    HttpOnly cookie is invisible to ``document.cookie``: the page is then in ``catalog.currency`` (rules check
    warns of it: tests/rules/test_cookie_fields.py)."""
    from slotwise.rules import page_facts
    from slotwise.rules.reading import read_extract
    from slotwise.rules.tag_config import tag_config
    from slotwise.rules.testing import rules_from_text

    rules = rules_from_text(tmp_path, """
        catalog: {product_pages: "/p/{product}", currency: EUR, page_currency: {cookie: cart_currency}}
        slots: []
    """)

    async def decide(request: Any, visitor_id: str, url: str, extract: Any = None) -> dict[str, Any]:
        if extract is None:  # as the real /decide: only the page knows its currency
            return {"complete": False, "decisions": []}
        reading = read_extract(extract, rules.catalog, rules.catalog.page_groups("product"))
        currency = page_facts("/p/p1", "", None, rules, reading=reading).currency
        return {"complete": True, "decisions": [{"slot": "recs", "selector": ".related", "action": "replace",
                                                 "html": f'<p class="in">{currency}</p>', "decision_id": "d-cur"}]}

    server, _ = live_tag_server(page=tag_only_page(5000), tag="", decide=decide,
                                tag_config=lambda: tag_config(rules, tag_only=True))
    context = browser.new_context()
    try:
        context.add_cookies([{"name": "cart_currency", "value": "GBP", "url": server.url, "httpOnly": http_only}])
        page = context.new_page()
        page.goto(f"{server.url}/p/p1")
        page.wait_for_selector("p.in", timeout=6000)
        shown = page.text_content("p.in")
    finally:
        context.close()
    assert shown == ("EUR" if http_only else "GBP")
