"""A single-page storefront in tag-only mode, in Chromium: its pages after the first are soft navigations.

The store (``site/spa/``) is one HTML shell whose router follows links with
``history.pushState``, fetches each route's content as JSON and renders it
200 ms later with the route's JSON-LD and a dataLayer push; the back button
renders the previous route; a variant picker changes only ``?variant=`` with
``replaceState``. nginx serves it, ``/_sw/`` is the real ``slotwise serve
--tag-only`` with ``rules-spa.yaml`` (soft navigations followed, the default)
or ``rules-spa-off.yaml`` (``capture.soft_navigations: false``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from tag_only_helpers import RULES_SPA, RULES_SPA_OFF, Requests, Stack, flush, goto, visitor_id, wait_for

pytestmark = pytest.mark.browser

RULES = RULES_SPA  # the stack (conftest) for these rules
BARE = """(() => { window.__bare = 0; const f = () => { const h = document.querySelector('.product h1');
  if (h && !h.querySelector('.sw-badge')) window.__bare++; requestAnimationFrame(f); }; requestAnimationFrame(f); })()"""
"""Counts the frames in which a product's heading is on screen without the slot's badge."""


def click(page: Any, name: str, path: str) -> None:
    """A visitor's click on a link the router follows, until the route has rendered."""
    page.click(f"a[data-route]:text-is('{name}')")
    page.wait_for_function(f"window.rendered === '{path}'")


def views(stack: Stack, visitor: str) -> list[tuple[str, str | None]]:
    return [(e.data["props"]["url"], e.data["props"].get("referrer")) for e in stack.events("page_view", visitor)]


def settled(page: Any) -> None:
    """The tag has read the route (it waits for the DOM to be quiet 250 ms) and sent what it queued."""
    page.wait_for_timeout(600)
    flush(page)


def test_soft_navigations_are_page_views_with_what_each_page_says(stack: Stack, page: Any) -> None:
    """home → jacket → beanie by the router's links, back to the jacket: a page view each, its referrer the
    page left, each product's facts read from the JSON-LD its route rendered, the route's dataLayer push read;
    the router's replaceState of the same URL and the variant picker's (a query the rules' pages do not read)
    are no page; a query the rules' pages read is."""
    base = stack.url("spa", "")
    goto(page, base + "/spa/")
    page.wait_for_function("window.rendered === '/spa/'")
    click(page, "Fell jacket", "/spa/p/fell-jacket")
    click(page, "Moss beanie", "/spa/p/moss-beanie")
    settled(page)
    visitor = visitor_id(page.context)
    expected = [(base + "/spa/", None), (base + "/spa/p/fell-jacket", base + "/spa/"),
                (base + "/spa/p/moss-beanie", base + "/spa/p/fell-jacket")]
    assert wait_for(lambda: views(stack, visitor) if len(views(stack, visitor)) >= 3 else None,
                    what="three page views") == expected
    beanie = wait_for(lambda: stack.product("moss-beanie"), what="the beanie in the catalog")
    assert beanie["name"] == "Moss beanie" and beanie["price"] == 29.0, beanie
    assert wait_for(lambda: stack.product("fell-jacket"), what="the jacket")["name"] == "Fell jacket"
    assert set(wait_for(lambda: stack.profile(visitor).products if len(stack.profile(visitor).products) == 2 else None,
                        what="both products viewed")) == {"fell-jacket", "moss-beanie"}
    page.evaluate("spa.addToCart('moss-beanie')")  # the route's GA4 push, as any page's
    wait_for(lambda: [line for line in stack.profile(visitor).cart if line["product"] == "moss-beanie"] or None,
             what="the beanie in the cart")
    page.go_back()  # popstate: the router renders the jacket again
    page.wait_for_function("window.rendered === '/spa/p/fell-jacket'")
    page.evaluate("spa.variant('navy')")  # replaceState, ?variant= only: the same page
    settled(page)
    wait_for(lambda: len(views(stack, visitor)) >= 4 or None, what="the back button's page view")
    page.wait_for_timeout(300)
    flush(page)
    assert views(stack, visitor)[3:] == [(base + "/spa/p/fell-jacket", base + "/spa/p/moss-beanie")]
    # a query the rules' pages read (the spa-mail slot's ?ref=) makes another page, decided for it
    page.evaluate("history.pushState(history.state, '', location.pathname + '?variant=navy&ref=mail')")
    page.wait_for_selector(".sw-mail")
    settled(page)
    jacket = base + "/spa/p/fell-jacket"
    assert wait_for(lambda: v[4:] if len(v := views(stack, visitor)) >= 5 else None, what="the ?ref= page") == [(jacket, jacket)]


def answered(responses: list[Any], path: str) -> str:
    """The decision id of the badge in the last /decide answer for ``path``."""
    found = [x["decision_id"] for r in responses if "/_sw/decide" in r.url and path in (r.request.post_data or r.url)
             for x in r.json()["decisions"] if x["slot"] == "spa-badge"]
    assert found, f"no decision for {path}"
    return found[-1]


def test_a_slot_on_the_product_route_gets_its_decision_after_a_soft_navigation(stack: Stack, new_context: Any) -> None:
    """The badge slot on a product's heading: decided at each soft navigation (/decide asked at once) and applied
    when the route renders the heading, before it is painted once the catalog knows the product; the decision
    for the beanie's page is on the beanie's heading (never the jacket's); each decision logged once, when applied."""
    context = new_context()
    context.add_init_script(BARE)
    page = context.new_page()
    requests = Requests(context)
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r) if "/_sw/decide" in r.url else None)
    base = stack.url("spa", "")
    goto(page, base + "/spa/")
    page.wait_for_function("window.rendered === '/spa/'")
    click(page, "Fell jacket", "/spa/p/fell-jacket")  # the first view of a product: the tag sends what it says
    page.wait_for_selector(".product h1 .sw-badge")
    settled(page)
    click(page, "Nordlys", "/spa/")
    click(page, "Moss beanie", "/spa/p/moss-beanie")
    page.wait_for_selector(".product h1 .sw-badge")
    settled(page)
    page.evaluate("window.__bare = 0")
    click(page, "Fell jacket", "/spa/p/fell-jacket")  # known now: applied as the heading renders
    page.wait_for_selector(".product h1 .sw-badge")
    assert page.evaluate("window.__bare") == 0, "the jacket's heading was painted without its badge"
    assert page.get_attribute(".sw-badge", "data-sw-decision") == answered(responses, "fell-jacket")
    click(page, "Moss beanie", "/spa/p/moss-beanie")  # from product to product
    page.wait_for_selector(".product h1 .sw-badge")
    assert page.evaluate("window.__bare") == 0, "the beanie's heading was painted without its badge"
    assert page.locator(".sw-badge").count() == 1
    assert page.get_attribute(".sw-badge", "data-sw-decision") == answered(responses, "moss-beanie")
    settled(page)
    visitor = visitor_id(page.context)
    tokens = [t for e in requests.events() if e["type"] == "applied" for t in e["props"]["tokens"]]
    logged = wait_for(lambda: d if len(d := stack.decisions(visitor)) >= len(tokens) else None,
                      what="the applied decisions logged")  # the badges, and the offer's popup
    assert tokens and len(set(tokens)) == len(tokens) == len(logged)  # one token per new decision, each logged once
    shown = page.get_attribute(".sw-badge", "data-sw-decision")
    assert shown in {r.data["decision_id"] for r in logged}
    wait_for(lambda: shown in {e.data["props"]["decision_id"] for e in stack.events("exposure", visitor)} or None,
             what="the badge's exposure")


@pytest.mark.parametrize("rules", [RULES_SPA_OFF], ids=["off"])
def test_the_rules_switch_turns_it_all_off(stacks: Any, page: Any, rules: Any) -> None:
    """capture.soft_navigations: false: the router's history is left as it is, the first page alone is a page."""
    stack = stacks(rules)
    requests = Requests(page.context)
    base = stack.url("spa-off", "")
    goto(page, base + "/spa/")
    assert "[native code]" in page.evaluate("history.pushState.toString()")
    page.wait_for_function("window.rendered === '/spa/'")
    click(page, "Fell jacket", "/spa/p/fell-jacket")
    settled(page)
    visitor = visitor_id(page.context)
    assert wait_for(lambda: views(stack, visitor) or None, what="the first page view") == [(base + "/spa/", None)]
    assert len(requests.to("decide")) == 1  # the snippet's, for the first page
    assert page.locator(".sw-badge").count() == 0


def test_a_route_that_shows_a_skeleton_first_is_read_once_its_product_is_there(stack: Stack, page: Any) -> None:
    """A product route that shows a loading skeleton at once, quiet 900 ms (well past the 250 ms quiet period), then
    its product: a product page by the rules' patterns is read once the route shows what the extract reads of one
    (here its JSON-LD Product; the rules' product selectors alike), not when the skeleton goes quiet."""
    base = stack.url("spa", "")
    goto(page, base + "/spa/")
    page.wait_for_function("window.rendered === '/spa/'")
    page.evaluate("spa.skeleton(900)")
    click(page, "Fell jacket", "/spa/p/fell-jacket")
    settled(page)
    visitor = visitor_id(page.context)
    jacket = wait_for(lambda: [e for e in stack.events("page_view", visitor) if e.data["props"]["url"].endswith("/fell-jacket")],
                      what="the jacket's page view")
    said = jacket[0].data["props"]  # read with the route's content: its title and its JSON-LD's category
    assert len(jacket) == 1 and said["title"] == "Fell jacket | Nordlys" and said.get("category") == "jackets", said


def test_a_navigation_in_the_first_page_s_window_shows_the_page_and_arms_the_offer_s_back_press(
        stack: Stack, new_context: Any) -> None:
    """The first page's /decide answers late (1.2 s, in a 2 s window); the visitor follows a link before: that
    page's decisions are dropped, so the page is shown at once, not hidden until its window ends. On a touch device
    the offer the navigation's /decide brings arms the back press (the first page's never came): an entry with a
    copy of the router's state; back to the entry below it shows the offer."""
    page = new_context(has_touch=True).new_page()
    goto(page, stack.url("spa-slow", "/spa/"))
    assert page.evaluate("!!document.getElementById('sw-af')"), "the first page is not in its window"
    page.evaluate("spa.go('/spa/p/fell-jacket')")
    page.wait_for_function("!document.getElementById('sw-af')", timeout=400)  # not the window's 2 s
    page.wait_for_function("history.state && history.state.sw === 1 && history.state.route === '/spa/p/fell-jacket'",
                           timeout=5000)
    page.wait_for_function("window.rendered === '/spa/p/fell-jacket'")
    page.go_back()  # to the entry below the offer's: the router's own
    page.wait_for_selector(".sw-ov .sw-offer")
    flush(page)
    visitor = visitor_id(page.context)
    wait_for(lambda: [e for e in stack.events("exit_intent", visitor) if e.data["props"]["trigger"] == "back"] or None,
             what="the exit intent of the back press")


def test_the_offer_s_back_press_is_armed_when_decide_brings_it(stack: Stack, new_context: Any) -> None:
    """Tag-only, on a touch device: the offer comes with the first page's /decide answer, after the tag set up its
    exit intents; the back press is armed then, once (an entry with a copy of the router's state). A back press
    from a product to that entry is the router's (home rendered, no offer); the next one, below it, shows it."""
    page = new_context(has_touch=True).new_page()
    goto(page, stack.url("spa", "/spa/"))
    page.wait_for_function("history.state && history.state.sw === 1 && history.state.route === '/spa/'", timeout=5000)
    entries = page.evaluate("history.length")
    click(page, "Fell jacket", "/spa/p/fell-jacket")
    settled(page)  # the jacket's page read and decided (the offer again: armed already, not twice)
    assert page.evaluate("history.length") == entries + 1  # the jacket's entry, no second copy
    page.go_back()  # to the offer's entry: the router renders home
    page.wait_for_function("window.rendered === '/spa/'")
    page.wait_for_timeout(600)
    assert page.locator(".sw-ov").count() == 0, "a router's popstate was taken for a back press"
    page.go_back()  # to the entry below it: the visitor is leaving
    page.wait_for_selector(".sw-ov .sw-offer")


def soft_script(stack: Stack, site: str) -> str:
    """The path of the soft script the site's tag-only tag loads at its first soft navigation (its config names it)."""
    found = re.search(r'"spa":"([0-9a-f]{12})"', httpx.get(stack.url(site, "/_sw/tag.js")).text)
    assert found, "the tag-only tag names no soft script"
    return f"/_sw/tag.{found.group(1)}.js"


def test_a_multi_page_store_never_loads_the_soft_script(stack: Stack, page: Any) -> None:
    """The same rules (soft navigations followed) on the store's whole pages: the tag only notices navigations, and
    what follows them is never fetched: only tag.js itself comes from /_sw/tag.*."""
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if "/_sw/tag." in r.url else None)
    goto(page, stack.url("spa", "/"))
    page.click("a[href='/c/jackets']")
    page.wait_for_url("**/c/jackets")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    flush(page)
    assert soft_script(stack, "spa") and scripts == [stack.url("spa", "/_sw/tag.js")] * 2


@pytest.mark.parametrize("routes", [["Fell jacket"], ["Fell jacket", "Moss beanie"]], ids=["one", "two"])
def test_navigations_before_the_soft_script_is_here_are_followed_once_it_is(stack: Stack, new_context: Any,
                                                                          routes: list[str]) -> None:
    """The soft script answers 1.2 s late (a slow hop): the first soft navigation's route renders without it, the
    navigation queued; once it is here, that page is read, decided (/decide asked only then) and its badge applied,
    its view sent with what its route says. Two navigations before it: the first a page view of its URL and referrer
    alone (the page shows the second's by then: nothing it says is read, nor decided), the second followed."""
    page = new_context().new_page()
    order: list[tuple[str, str]] = []
    page.on("request", lambda r: order.append(("asked", r.url)))
    page.on("requestfinished", lambda r: order.append(("came", r.url)))
    base = stack.url("spa-slow-soft", "")
    script = base + soft_script(stack, "spa-slow-soft")
    goto(page, base + "/spa/")
    page.wait_for_function("window.rendered === '/spa/'")
    paths = ["/spa/p/" + name.lower().replace(" ", "-") for name in routes]
    page.evaluate("paths => paths.forEach(p => spa.go(p))", paths)  # the router's pushState, one after the other
    page.wait_for_function(f"window.rendered === '{paths[-1]}'")
    page.wait_for_selector(".product h1 .sw-badge", timeout=5000)
    settled(page)
    last = paths[-1]
    decided = [i for i, (what, url) in enumerate(order) if what == "asked" and "/_sw/decide" in url and "/spa/p/" in unquote(url)]
    assert decided and min(decided) > order.index(("came", script))  # asked once the script is here
    assert all(last in unquote(order[i][1]) for i in decided)  # for the page shown, never a page left
    visitor = visitor_id(page.context)
    pages = [base + "/spa/"] + [base + path for path in paths]
    seen = wait_for(lambda: v if len(v := stack.events("page_view", visitor)) > len(routes) else None, what="the page views")
    assert [(e.data["props"]["url"], e.data["props"].get("referrer")) for e in seen] == list(zip(pages, [None, *pages]))
    said = seen[-1].data["props"]
    assert said["title"] == routes[-1] + " | Nordlys", said  # the route's own, read once it showed
    assert all("title" not in e.data["props"] for e in seen[1:-1])  # a page left before it was read: said nothing
    shown = page.get_attribute(".sw-badge", "data-sw-decision")
    wait_for(lambda: shown in {r.data["decision_id"] for r in stack.decisions(visitor)} or None, what="the badge logged")


def test_a_soft_script_that_cannot_load_leaves_the_pages_working(stack: Stack, new_context: Any) -> None:
    """Nothing answers for the soft script (502): the router's routes render, the page is shown, no script error and
    nothing from the tag in the console (only the browser's own line of the failed request), the soft navigations
    not counted; the next whole page is tagged, viewed and decided as ever."""
    page = new_context().new_page()
    errors: list[Any] = []
    page.on("pageerror", lambda e: errors.append(e))
    page.on("console", lambda m: errors.append(m.text) if "Failed to load resource" not in m.text else None)
    base = stack.url("spa-no-soft", "")
    goto(page, base + "/spa/")
    page.wait_for_function("window.rendered === '/spa/'")
    click(page, "Fell jacket", "/spa/p/fell-jacket")
    click(page, "Moss beanie", "/spa/p/moss-beanie")
    settled(page)
    assert page.locator("#sw-af").count() == 0 and page.locator(".product h1").text_content() == "Moss beanie"
    visitor = visitor_id(page.context)
    assert [e.data["props"]["url"] for e in stack.events("page_view", visitor)] == [base + "/spa/"]
    goto(page, base + "/spa/")  # a whole page again
    page.wait_for_function("window.rendered === '/spa/'")
    page.wait_for_selector("template[data-sw-popup]", state="attached")  # the offer, decided and applied
    flush(page)
    assert wait_for(lambda: len(stack.events("page_view", visitor)) == 2 or None, what="the whole page's view")
    assert errors == []
