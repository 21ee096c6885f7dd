"""A single-page storefront behind the proxy, in Chromium: its soft navigations are pages too.

The store is the tag-only tests' SPA (``tests/tag_only/site/spa/``: one HTML
shell, a router on ``history.pushState``, each route's content fetched as
JSON and rendered 200 ms later) served by a real HTTP server on 127.0.0.1,
with the real proxy in front (in-process, as the other tests here). The proxy
rewrites and counts the first page only: the later pages are JSON it does not
read. The tag it injects notices the router's navigations and, at the first,
loads the ``spa`` tag, which reads each page, sends its view and asks
``/decide`` for its slots, applied as the route renders. For the spa tag late
or absent, nginx stands in front of the proxy (``fronted``) and serves its
path alone through the tag-only tests' slow hop or to nowhere
(``tag_only_helpers.scripts_location``).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote

import httpx
import pytest

TAG_ONLY = Path(__file__).resolve().parents[1] / "tag_only"
sys.path.insert(0, str(TAG_ONLY))  # tag_only_helpers: nginx, the slow hop

from e2e_browser_helpers import DESKTOP_UA, flush, visitor_id, wait_for  # noqa: E402
from page_server import Page, PageServer  # noqa: E402
from ports import free_port  # noqa: E402
from real_parts import missing  # noqa: E402
from tag_only_helpers import Nginx, nginx_binary, scripts_location  # noqa: E402

from slotwise.proxy.app import create_app  # noqa: E402
from slotwise.proxy.config import Settings  # noqa: E402
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer  # noqa: E402
from slotwise.tag.testing import sync  # noqa: E402

pytestmark = pytest.mark.browser

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


def page_views(personalizer: SlotwisePersonalizer, visitor: str) -> list[dict[str, Any]]:
    """What the page views the tag sent said (the proxy counts the first page itself), in order."""
    return [{"url": r.data.get("url"), **r.data.get("props", {})} for r in records(personalizer, visitor, "event")
            if r.data.get("type") == "page_view"]


def views(personalizer: SlotwisePersonalizer, visitor: str) -> list[str]:
    """The paths of the page views the tag sent."""
    return [httpx.URL(v["url"] or "").path for v in page_views(personalizer, visitor)]


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


@pytest.fixture(scope="module")
def fronted(proxied: tuple[str, SlotwisePersonalizer, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """nginx in front of the proxy (a store's load balancer), every path to it but the spa tag's, which is served
    ``slow`` (1.2 s late: ``tag_only_helpers.SLOW_S``) or ``down`` (nothing listens: 502), as the tag-only sites'
    ``scripts`` option serves the soft script."""
    if nginx_binary() is None:
        missing("nginx is not installed")
    url, personalizer, _ = proxied
    spa = personalizer.tag_api.assets.url(variant="spa")  # the path the injected tag's config names
    tmp = tmp_path_factory.mktemp("front")
    ports: set[int] = set()
    while len(ports) < 3:  # none twice: nothing listens on them yet
        ports.add(free_port())
    dead, *fronts = ports
    with contextlib.ExitStack() as running:
        nginx, urls = Nginx(tmp), {}
        for how, port in zip(("slow", "down"), fronts):
            nginx.add(port, tmp, pages=f"proxy_pass {url}; proxy_set_header Host $http_host;",
                      sw=scripts_location(running, how, httpx.URL(url).port or 80, dead, f"= {spa}"))
            urls[how] = f"http://127.0.0.1:{port}"
        running.enter_context(nginx)
        yield urls


JACKET, BEANIE = "/spa/p/fell-jacket", "/spa/p/moss-beanie"


@pytest.mark.parametrize("proxied", ["rules-spa.yaml"], ids=["on"], indirect=True)
@pytest.mark.parametrize("paths", [[JACKET, BEANIE], [JACKET, "/spa/", BEANIE]], ids=["two", "three"])
def test_navigations_before_the_spa_tag_is_here_are_followed_once_it_is(
        proxied: tuple[str, SlotwisePersonalizer, str], fronted: dict[str, str], new_context: Any, paths: list[str]) -> None:
    """The spa tag answers 1.2 s late; the router navigates two or three times before it is here. The page's tag
    queues each (the tag-only tag's queue: one for both modes); once the spa tag is here, every one is a page view,
    the page it left its referrer: the last one read (its title, what its route says), decided (/decide asked only
    then, only for it) and its badge applied; each one before it a page view of its URL and referrer alone (the
    page shows another's by then: nothing it says is read, nor decided). Before, only the last one was counted."""
    _, personalizer, _ = proxied
    base = fronted["slow"]
    script = base + personalizer.tag_api.assets.url(variant="spa")
    page = new_context(user_agent=DESKTOP_UA).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    order: list[tuple[str, str]] = []
    page.on("request", lambda r: order.append(("asked", r.url)))
    page.on("requestfinished", lambda r: order.append(("came", r.url)))
    page.goto(base + "/spa/")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1 && window.rendered === '/spa/'")
    # the router's pushState, one after the other, in one task: all before the spa tag can run (queued)
    page.evaluate("paths => paths.forEach(p => spa.go(p))", paths)
    page.wait_for_function(f"window.rendered === '{paths[-1]}'")
    page.wait_for_selector(".product h1 .sw-badge", timeout=5000)
    page.wait_for_timeout(600)  # the route read (quiet 250 ms) and its view queued
    flush(page)
    decided = [i for i, (what, url) in enumerate(order) if what == "asked" and "/_sw/decide" in url]
    assert decided and min(decided) > order.index(("came", script))  # asked once the spa tag is here
    assert all(paths[-1] in unquote(order[i][1]) for i in decided if "?" in order[i][1])  # for the page shown alone
    visitor = visitor_id(page.context)
    pages = [base + path for path in ["/spa/", *paths]]
    seen = wait_for(lambda: v if len(v := page_views(personalizer, visitor)) >= len(paths) else None,
                    what="a page view for every navigation")
    assert [(v["url"], v.get("referrer")) for v in seen] == list(zip(pages[1:], pages))
    assert seen[-1]["title"] == "Moss beanie | Nordlys", seen[-1]  # the route's own, read once it showed
    assert all("title" not in v for v in seen[:-1])  # a page left before it was read: said nothing
    badges = {r.data["decision_id"] for r in records(personalizer, visitor, "decision") if r.data["slot"] == "spa-badge"}
    assert page.get_attribute(".sw-badge", "data-sw-decision") in badges
    assert page.locator(".sw-badge").count() == 1 and not errors


@pytest.mark.parametrize("proxied", ["rules-spa.yaml"], ids=["on"], indirect=True)
def test_a_spa_tag_that_cannot_load_leaves_the_page_working(proxied: tuple[str, SlotwisePersonalizer, str],
                                                             fronted: dict[str, str], new_context: Any) -> None:
    """Nothing answers for the spa tag (502): the router's routes render, no script error and nothing from the tag
    in the console (only the browser's own line of the failed request), the soft navigations not counted; the next
    whole page is the proxy's as ever (tagged, its offer's template in it)."""
    _, personalizer, _ = proxied
    base = fronted["down"]
    page = new_context(user_agent=DESKTOP_UA).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if "Failed to load resource" not in m.text else None)
    page.goto(base + "/spa/")
    page.wait_for_function("window.slotwise && window.slotwise.v === 1 && window.rendered === '/spa/'")
    click(page, "Fell jacket", JACKET)
    click(page, "Moss beanie", BEANIE)
    page.wait_for_timeout(600)
    flush(page)
    assert page.locator(".product h1").text_content() == "Moss beanie" and page.locator(".sw-badge").count() == 0
    visitor = visitor_id(page.context)
    assert views(personalizer, visitor) == []
    page.goto(base + JACKET)  # a whole page: the proxy's
    page.wait_for_function(f"window.slotwise && window.slotwise.v === 1 && window.rendered === '{JACKET}'")
    page.wait_for_selector("template[data-sw-popup]", state="attached")
    click(page, "Moss beanie", BEANIE)  # its navigations noticed as ever
    page.wait_for_timeout(600)
    flush(page)
    assert views(personalizer, visitor) == [] and errors == []
