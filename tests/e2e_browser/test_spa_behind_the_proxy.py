"""A single-page storefront behind the proxy, in Chromium: its soft navigations are pages too.

The store is the tag-only tests' SPA (``tests/tag_only/site/spa/``: one HTML
shell, a router on ``history.pushState``, each route's content fetched as
JSON and rendered 200 ms later) served by a real HTTP server on 127.0.0.1,
with the real proxy in front (in-process, as the other tests here). The proxy
rewrites and counts the first page only: the later pages are JSON it does not
read. The tag it injects notices the router's navigations and, at the first,
loads the ``spa`` tag, which reads each page, sends its view and asks
``/decide`` for its slots, applied as the route renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from e2e_browser_helpers import DESKTOP_UA, flush, visitor_id, wait_for
from page_server import Page, PageServer

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

pytestmark = pytest.mark.browser

TAG_ONLY = Path(__file__).resolve().parents[1] / "tag_only"
SITE = TAG_ONLY / "site" / "spa"
HTML = (("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store"))
JS = (("content-type", "text/javascript"),)
JSON = (("content-type", "application/json"),)


def store_routes() -> dict[str, Page]:
    """The SPA as its host serves it: the shell at every route's URL, its script, its JSON API."""
    shell = (SITE / "index.html").read_text("utf-8").replace("<!--slotwise-->", "").encode()
    routes = {path: Page(shell, headers=HTML) for path in ("/spa/", "/spa/p/fell-jacket", "/spa/p/moss-beanie")}
    routes["/spa/app.js"] = Page((SITE / "app.js").read_bytes(), headers=JS)
    routes.update({f"/spa/api/{f.name}": Page(f.read_bytes(), headers=JSON) for f in (SITE / "api").glob("*.json")})
    return routes


@pytest.fixture(scope="module", params=["rules-spa.yaml", "rules-spa-off.yaml"], ids=["on", "off"])
def proxied(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            uvicorn_runner: Any) -> Iterator[tuple[str, SlotwisePersonalizer, str]]:
    data = tmp_path_factory.mktemp("spa")
    with PageServer(store_routes()) as shop:
        settings = Settings(upstream=shop.url, rules=str(TAG_ONLY / request.param), data=str(data / "edge"),
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with uvicorn_runner(create_app(settings, personalizer)) as proxy:
            yield proxy.url, personalizer, request.param


def records(personalizer: SlotwisePersonalizer, visitor: str, kind: str) -> list[Any]:
    return [r for r in sync(personalizer.store.read_log(0, 100_000)) if r.kind == kind and r.visitor == visitor]


def views(personalizer: SlotwisePersonalizer, visitor: str) -> list[str]:
    """The paths of the page views the tag sent (the proxy counts the first page itself)."""
    out = []
    for r in records(personalizer, visitor, "event"):
        if r.data.get("type") == "page_view":
            out.append(httpx.URL(r.data.get("props", {}).get("url") or r.data.get("url") or "").path)
    return out


def click(page: Any, name: str, path: str) -> None:
    page.click(f"a[data-route]:text-is('{name}')")
    page.wait_for_function(f"window.rendered === '{path}'")


def test_soft_navigations_behind_the_proxy(proxied: tuple[str, SlotwisePersonalizer, str], new_context: Any) -> None:
    """home (the proxy's page) → jacket → beanie (soft) → back: each a page view with the product's facts read in
    the browser, the badge slot decided for each product route and applied when it renders; the ``?variant=``
    replaceState is no page. With ``capture.soft_navigations: false``, only the first page is seen and no other
    script is loaded."""
    url, personalizer, rules = proxied
    on = rules == "rules-spa.yaml"
    page = new_context(user_agent=DESKTOP_UA).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if "/_sw/tag." in r.url else None)
    page.goto(url + "/spa/")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1 && window.rendered === '/spa/'")
    click(page, "Fell jacket", "/spa/p/fell-jacket")
    if on:
        page.wait_for_selector(".product h1 .sw-badge")
    click(page, "Moss beanie", "/spa/p/moss-beanie")
    if on:
        page.wait_for_function("(h => h && h.firstChild.data === 'Moss beanie' && h.querySelector('.sw-badge'))"
                               "(document.querySelector('.product h1'))")
    page.wait_for_timeout(600)
    page.go_back()
    page.wait_for_function("window.rendered === '/spa/p/fell-jacket'")
    page.evaluate("spa.variant('navy')")
    page.wait_for_timeout(600)
    flush(page)
    visitor = visitor_id(page.context)
    if not on:
        assert views(personalizer, visitor) == [] and page.locator(".sw-badge").count() == 0
        assert len(scripts) == 1 and "[native code]" in page.evaluate("history.pushState.toString()")
        return
    expected = ["/spa/p/fell-jacket", "/spa/p/moss-beanie", "/spa/p/fell-jacket"]
    assert wait_for(lambda: v if len(v := views(personalizer, visitor)) >= 3 else None, what="three page views") == expected
    beanie = wait_for(lambda: sync(personalizer.store.get_products(["moss-beanie"])).get("moss-beanie"), what="the beanie")
    assert beanie["name"] == "Moss beanie" and beanie["price"] == 29.0
    assert {"fell-jacket", "moss-beanie"} <= set(sync(personalizer.store.get_profile(visitor)).products)
    assert len(scripts) == 2  # the injected tag, then the spa tag at the first soft navigation
    badges = [r for r in records(personalizer, visitor, "decision") if r.data["slot"] == "spa-badge"]
    assert badges and page.get_attribute(".sw-badge", "data-sw-decision") in {r.data["decision_id"] for r in badges}
    assert not errors


@pytest.mark.parametrize("proxied", ["rules-spa.yaml"], ids=["on"], indirect=True)
def test_the_popup_s_back_press_is_not_a_router_s_popstate(proxied: tuple[str, SlotwisePersonalizer, str],
                                                           new_context: Any) -> None:
    """On a touch device the popup's back press pushes an entry with a copy of the router's state: back from a
    product to that entry is the router's (home rendered, a page view, no offer); the next back press, to the entry
    below it, shows the offer. Before, the first popstate of any kind showed it (and a router saw a foreign state)."""
    url, personalizer, _ = proxied
    page = new_context(has_touch=True).new_page()
    page.goto(url + "/spa/")
    page.wait_for_function("window.slotwise && history.state && history.state.sw === 1 && history.state.route === '/spa/'")
    click(page, "Fell jacket", "/spa/p/fell-jacket")
    page.wait_for_timeout(600)  # the jacket's page read and decided (the offer's template again)
    page.go_back()  # to the popup's own entry: the router renders home
    page.wait_for_function("window.rendered === '/spa/'")
    page.wait_for_timeout(600)
    assert page.locator(".sw-ov").count() == 0, "a router's popstate was taken for a back press"
    page.go_back()  # to the entry below it: the visitor is leaving
    page.wait_for_selector(".sw-ov .sw-offer")
    flush(page)
    visitor = visitor_id(page.context)
    wait_for(lambda: [r for r in records(personalizer, visitor, "event") if r.data.get("type") == "exit_intent"
                      and r.data["props"]["trigger"] == "back"], what="the exit intent of the back press")
    assert views(personalizer, visitor) == ["/spa/p/fell-jacket", "/spa/"]
