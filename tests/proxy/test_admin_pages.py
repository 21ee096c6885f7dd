"""The admin page in a browser's terms: sign-in form, session cookie, CSRF, kill switches, visitor lookup,
preview links checked against the rules, and the preview bar that only a preview session gets.

The real proxy app (``create_app`` with the real personalizer, SQLite) served by uvicorn, in front of a
tiny origin on 127.0.0.1; requests over HTTP with httpx.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import datetime, timezone
from contextlib import closing
from html import escape, unescape
from pathlib import Path
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import httpx
import pytest
from polling import wait_for
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sw_servers import BROWSER

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

TOKEN = "tok-admin-456-pages"
UA = BROWSER
PAGE = "<html><body><div class=hero>store's hero</div><p class=promo>store's promo</p></body></html>"
RULES = """
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    policy: uniform
    variants:
      - {id: a, html: "<div class=hero>HERO-A</div>"}
      - {id: b, html: "<div class=hero>HERO-B</div>"}
  - id: promo
    pages: "/"
    selector: ".promo"
    action: replace
    when: "visitor.visits > 1000"
    variants:
      - {id: plain, control: true}
      - {id: loud, html: "<p class=promo>LOUD</p>"}
"""


@pytest.fixture
def proxy(asgi_server: Any, tmp_path: Path) -> Callable[..., Any]:
    def start(rules_text: str = RULES, **options: Any) -> Any:
        origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse(PAGE))]))
        rules = tmp_path / "rules.yaml"
        rules.write_text(rules_text)
        options.setdefault("personalize_budget_ms", 5000.0)
        clock = options.pop("clock", None)  # the proxy's clock (``time.time`` when not given)
        settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path), admin_token=TOKEN, **options)
        personalizer = SlotwisePersonalizer(settings, **({"clock": clock} if clock is not None else {}))
        server = asgi_server(create_app(settings, personalizer))
        server.personalizer = personalizer
        return server

    return start


def signed_in(server: Any) -> httpx.Client:
    http = httpx.Client(base_url=server.url, timeout=20, headers=UA)
    answer = http.post("/_sw/admin/login", data={"token": TOKEN})
    assert answer.status_code == 303 and answer.headers["location"] == "/_sw/admin"
    return http


def csrf_of(page: str) -> str:
    found = re.search(r'name=csrf value="([0-9a-f]{64})"', page)
    assert found, "no CSRF token in the admin page"
    return found.group(1)


def test_the_admin_url_opens_a_sign_in_form_then_a_session_cookie(proxy: Callable[..., Any]) -> None:
    server = proxy()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        form = http.get("/_sw/admin")
        assert form.status_code == 200 and "<form method=post action=/_sw/admin/login>" in form.text
        assert "Kill switches" not in form.text
        wrong = http.post("/_sw/admin/login", data={"token": "guess"})
        assert wrong.status_code == 401 and "Wrong token." in wrong.text and "sw_admin" not in http.cookies
        right = http.post("/_sw/admin/login", data={"token": TOKEN})
        cookie = right.headers["set-cookie"]
        assert right.status_code == 303 and cookie.startswith("sw_admin=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/_sw/admin" in cookie
        assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
        assert TOKEN not in cookie  # the cookie is a signed session, not the token
        page = http.get("/_sw/admin")
        assert page.status_code == 200 and "Kill switches" in page.text and "Visitor lookup" in page.text
        assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
            "content-security-policy"]
        # the API accepts the session too (a browser's fetch), and a forged cookie is not one
        assert http.get("/_sw/admin/api/status").status_code == 200
        forged = httpx.get(server.url + "/_sw/admin/api/status", cookies={"sw_admin": "x.y.z"})
        assert forged.status_code == 401
        # sign out: a POST with the CSRF token; the cookie is dropped
        assert http.post("/_sw/admin/logout").status_code == 403
        out = http.post("/_sw/admin/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
        assert "Sign in" in http.get("/_sw/admin").text


SCHEDULED = """
timezone: Europe/Berlin
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    active: {from: "2026-11-27", until: "2026-11-30 23:59"}
    variants:
      - {id: a, html: "<div class=hero>HERO-A</div>"}
      - {id: b, html: "<div class=hero>HERO-B</div>", active: {until: "2026-11-28"}}
  - id: promo
    pages: "/"
    selector: ".promo"
    action: remove
"""


@pytest.mark.parametrize("moment, hero, variant_b", [
    ("2026-11-26T23:59:00", "not yet started | starts in 60 s", "running | ends in 2.0 days"),
    ("2026-11-29T10:00:00", "running | ends in 1.6 days", "ended | ended 10.0 h ago"),
    ("2026-12-01T00:00:00", "ended | ended 0 s ago", "ended | ended 2.0 days ago"),
], ids=["before", "during", "after"])
def test_the_admin_page_shows_each_window_and_whether_it_runs_now(proxy: Callable[..., Any], moment: str,
                                                                   hero: str, variant_b: str) -> None:
    now = datetime.fromisoformat(moment).replace(tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    server = proxy(SCHEDULED, clock=lambda: now)
    with closing(signed_in(server)) as http:
        page = http.get("/_sw/admin").text
    rows = {key: [re.sub(r"<br>", " | ", re.sub(r"<(?!br>)[^>]+>", "", cell)) for cell in re.findall(r"<td>(.*?)</td>", row)]
            for key, row in re.findall(r'<tr data-window="([^"]+)">(.*?)</tr>', page)}
    assert rows == {  # the promo runs always: no row
        "hero": ["hero", "2026-11-27 00:00 – 2026-11-30 23:59 Europe/Berlin", hero],
        "hero/b": ["hero | variant b", "until 2026-11-28 23:59 Europe/Berlin", variant_b],
    }
    assert f"Now, by this proxy's clock: <span class=nw>{moment[:16].replace('T', ' ')}</span> Europe/Berlin." in page


def test_a_slot_whose_window_is_open_while_no_variant_runs_says_it_shows_nothing(proxy: Callable[..., Any]) -> None:
    rules = SCHEDULED.replace('{id: a, html: "<div class=hero>HERO-A</div>"}',
                              '{id: a, html: "<div class=hero>HERO-A</div>", active: {until: "2026-11-28"}}')
    now = datetime(2026, 11, 29, 10, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    with closing(signed_in(proxy(rules, clock=lambda: now))) as http:
        page = http.get("/_sw/admin").text
    (hero,) = re.findall(r'<tr data-window="hero">(.*?)</tr>', page)
    assert ("<span class=warn>running, no variant is</span><br><small>"
            + escape("the store's page until a variant's window opens; ends in 1.6 days") + "</small>") in hero


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_signing_out_revokes_a_copied_cookie_on_every_worker(proxy: Callable[..., Any], kind: str,
                                                            request: pytest.FixtureRequest) -> None:
    """Signing out used to drop the cookie in that browser only: a copy of it (another browser, a HAR file,
    a backup) stayed a signed-in session for 12 hours. The sign-out is now kept in the state store, which
    every worker reads: two apps here, each with its own connection to one SQLite file or one Redis."""
    options = {"store": request.getfixturevalue("redis_url")} if kind == "redis" else {}
    worker_a, worker_b = proxy(**options), proxy(**options)
    with closing(signed_in(worker_a)) as http:
        copied = http.cookies["sw_admin"]
        stolen = {"cookie": f"sw_admin={copied}"}
        assert httpx.get(worker_b.url + "/_sw/admin/api/status", headers=stolen).status_code == 200
        out = http.post("/_sw/admin/logout", data={"csrf": csrf_of(http.get("/_sw/admin").text)})
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]
    for worker in (worker_a, worker_b):
        assert httpx.get(worker.url + "/_sw/admin/api/status", headers=stolen).status_code == 401
        page = httpx.get(worker.url + "/_sw/admin", headers=stolen)
        assert "Sign in" in page.text and "Kill switches" not in page.text
        refused = httpx.post(worker.url + "/_sw/admin/switch", data={"name": "hero", "off": "1"}, headers=stolen)
        assert refused.status_code == 401
    with closing(signed_in(worker_b)) as http:  # signing in again is a new session, not the revoked one
        assert http.get("/_sw/admin/api/status").status_code == 200
        assert http.cookies["sw_admin"] != copied


def test_a_new_admin_token_signs_everyone_out(proxy: Callable[..., Any], asgi_server: Any, tmp_path: Path) -> None:
    """The session key is derived from the token (and the deployment's secret): after a restart with a new
    token, a cookie signed under the old one (and the old token itself) is refused."""
    before = proxy()
    with closing(signed_in(before)) as http:
        cookie = {"cookie": f"sw_admin={http.cookies['sw_admin']}"}
        assert httpx.get(before.url + "/_sw/admin/api/status", headers=cookie).status_code == 200
    settings = before.personalizer.settings.replace(admin_token="a-new-admin-token-0123")
    after = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))  # the same data, a new token
    assert httpx.get(after.url + "/_sw/admin/api/status", headers=cookie).status_code == 401
    assert "Sign in" in httpx.get(after.url + "/_sw/admin", headers=cookie).text
    assert httpx.get(after.url + "/_sw/admin/api/status", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 401
    assert httpx.get(after.url + "/_sw/admin/api/status",
                     headers={"authorization": "Bearer a-new-admin-token-0123"}).status_code == 200


def test_a_cookie_of_another_deployment_with_the_same_token_is_refused(proxy: Callable[..., Any]) -> None:
    """The session key was derived from the token alone: a staging given production's token (a copied
    configuration) took production's ``sw_admin`` cookies. It derives from the deployment's secret too;
    another instance of the same deployment (the same ``--secret``) still takes them."""
    staging, production = proxy(secret="staging-secret-0123456789"), proxy(secret="production-secret-0123456")
    with closing(signed_in(staging)) as http:
        cookie = {"cookie": f"sw_admin={http.cookies['sw_admin']}"}
        assert http.get("/_sw/admin/api/status").status_code == 200
    assert httpx.get(production.url + "/_sw/admin/api/status", headers=cookie).status_code == 401
    assert "Sign in" in httpx.get(production.url + "/_sw/admin", headers=cookie).text
    twin = proxy(secret="staging-secret-0123456789")
    assert httpx.get(twin.url + "/_sw/admin/api/status", headers=cookie).status_code == 200


def test_a_session_the_store_cannot_check_is_refused_not_trusted(proxy: Callable[..., Any], own_redis: Any) -> None:
    """Redis stopped: whether the session was signed out cannot be known, so the cookie is not taken on
    trust (503, not the sign-in form or a 401 the throttle would count); the bearer token needs no session.
    Signing out then fails the same way and leaves the cookie, to be tried again."""
    redis = own_redis()  # its own: stopped and started again
    server = proxy(store=redis.url + "?timeout=1&connect_timeout=1")
    with closing(signed_in(server)) as http:
        csrf = csrf_of(http.get("/_sw/admin").text)
        redis.stop()
        answer = http.get("/_sw/admin/api/status")
        assert answer.status_code == 503 and "cannot be read to check the admin session" in answer.json()["error"]
        assert answer.headers["retry-after"] == "5"
        assert httpx.get(server.url + "/_sw/admin/api/status",
                         headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert http.post("/_sw/admin/logout", data={"csrf": csrf}).status_code == 503
        assert "sw_admin" in http.cookies
        redis.start()
        out = http.post("/_sw/admin/logout", data={"csrf": csrf})
        assert out.status_code == 303 and "Max-Age=0" in out.headers["set-cookie"]


def test_the_one_click_token_link_signs_in_and_https_cookies_are_secure(proxy: Callable[..., Any]) -> None:
    server = proxy(public_url="https://shop.example")
    with httpx.Client(base_url=server.url, timeout=20) as http:
        answer = http.get("/_sw/admin", params={"token": TOKEN})
        assert answer.status_code == 303 and answer.headers["location"] == "/_sw/admin"
        assert "Secure" in answer.headers["set-cookie"]
        assert http.get("/_sw/admin", params={"token": "nope"}).status_code == 401


def test_kill_switch_needs_csrf_from_this_origin_and_leaves_the_store_page_unchanged(proxy: Callable[..., Any]) -> None:
    server = proxy()
    with closing(signed_in(server)) as http, httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        csrf = csrf_of(http.get("/_sw/admin").text)
        assert "HERO-" in visitor.get("/").text
        assert http.post("/_sw/admin/switch", data={"name": "hero", "off": "1"}).status_code == 403
        other_site = http.post("/_sw/admin/switch", data={"name": "hero", "off": "1", "csrf": csrf},
                               headers={"origin": "https://evil.example"})
        assert other_site.status_code == 403
        assert http.post("/_sw/admin/switch", data={"name": "nope", "csrf": csrf}).status_code == 400
        flipped = http.post("/_sw/admin/switch", data={"name": "hero", "off": "1", "csrf": csrf})
        assert flipped.status_code == 303
        page = visitor.get("/")
        assert "store's hero" in page.text and "HERO-" not in page.text
        admin = http.get("/_sw/admin").text
        assert 'data-switch="hero" aria-label="Switch back on hero">Switch back on' in admin and "admin at 127.0.0.1" in admin
        # scripts: bearer, no CSRF (no ambient credential); all personalization off, then back on
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.post(server.url + "/_sw/admin/switch", data={"name": "hero", "off": "0"},
                          headers=bearer).json() == {"name": "hero", "off": False}
        httpx.post(server.url + "/_sw/admin/switch", data={"name": "*", "off": "1"}, headers=bearer)
        assert "HERO-" not in visitor.get("/").text
        httpx.post(server.url + "/_sw/admin/switch", data={"name": "*", "off": "0"}, headers=bearer)
        assert "HERO-" in visitor.get("/").text


def test_a_script_switch_says_off_in_words_or_is_refused(proxy: Callable[..., Any]) -> None:
    """docs/admin.md: ``off=1`` or ``off=0``. ``off=no`` (a script's "not off") switched the slot off;
    words are read as meant, and anything else is refused, leaving the switch as it was."""
    server = proxy()
    bearer = {"authorization": f"Bearer {TOKEN}"}

    def switch(value: str) -> httpx.Response:
        return httpx.post(server.url + "/_sw/admin/switch", data={"name": "hero", "off": value}, headers=bearer)

    with httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        assert switch("no").json() == {"name": "hero", "off": False}
        assert "HERO-" in visitor.get("/").text
        assert switch("yes").json() == {"name": "hero", "off": True}
        refused = switch("of")
        assert refused.status_code == 400  # naming every word it takes (admin.md's), not 1 and 0 alone
        assert refused.json()["error"] == ("'off' must be 1, true or yes (switch off) or 0, false or no (switch back "
                                           "on), got 'of'")
        assert switch("false").json() == {"name": "hero", "off": False}
        assert "HERO-" in visitor.get("/").text


def test_rules_broken_from_the_start_are_not_called_the_last_good_rules(asgi_server: Any, tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    """A proxy started on a broken rules file has no last good rules: the log and the admin page say
    that nothing is personalized until the file is fixed, and fixing it loads the rules."""
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse(PAGE))]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace('    selector: ".hero"', '\tselector: ".hero"'))
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path), admin_token=TOKEN,
                        personalize_budget_ms=5000.0)
    personalizer = SlotwisePersonalizer(settings)
    with caplog.at_level("ERROR", logger="slotwise.rules"):
        server = asgi_server(create_app(settings, personalizer))
    logged = [r.getMessage() for r in caplog.records if r.name == "slotwise.rules"]
    assert logged and "no rules serve (pages pass through unchanged) until it is fixed" in logged[0], logged
    assert not any("last good rules" in line for line in logged)
    with closing(signed_in(server)) as http:
        page = http.get("/_sw/admin").text
        assert "last good rules" not in page and "no page is personalized until the file is fixed" in page
        rules.write_text(RULES)
        assert personalizer.rules.reload()
        assert "Rules valid." in http.get("/_sw/admin").text


def test_a_slots_preview_links_open_a_page_it_applies_to(asgi_server: Any, tmp_path: Path) -> None:
    """The admin page's preview of a product-page slot opened the home page, where that slot does not
    apply: the marketer saw nothing change. Once a page of the slot has been served, its links open it."""
    product = "<html><body><section class=related>store's related</section></body></html>"
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse(PAGE)),
                                           Route("/p/{id}", lambda r: HTMLResponse(product))]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES + """
  - id: recs
    pages: "/p/*"
    selector: "section.related"
    action: replace
    variants:
      - {id: together, html: "<section class=related>TOGETHER</section>"}
      - {id: plain, control: true}
""")
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path), admin_token=TOKEN,
                        personalize_budget_ms=5000.0)
    server = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    with closing(signed_in(server)) as http, httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        first = http.get("/_sw/admin").text  # no product page seen yet, no catalog: no link to the home page
        assert 'data-preview-none="recs"' in first and "force=recs%3Dtogether&amp;" not in first
        visitor.get("/p/42?colour=red")
        admin = http.get("/_sw/admin").text
        link = re.search(r'href="(/_sw/admin/preview\?force=recs%3Dtogether[^"]*)"', admin).group(1)
        assert "path=/p/42%3Fcolour%3Dred" in link, link
        assert 'force=hero%3Da&amp;path=/"' in admin  # the home page's slot still opens the home page
        preview = http.get(link.replace("&amp;", "&"))
        assert preview.status_code == 303 and preview.headers["location"].startswith("/p/42?colour=red&sw_preview=")
        page = visitor.get(preview.headers["location"]).text
        assert "TOGETHER" in page


PREVIEW_RULES = """
catalog:
  product_pages: "/p/{product}"
  category_pages: "/c/{category}"
  feed: products.json
slots:
  - id: recs
    pages: "/p/*"
    selector: "section.related"
    action: replace
    variants:
      - {id: together, html: "<section class=related>TOGETHER</section>"}
      - {id: plain, control: true}
  - id: shelf
    pages: "/c/*"
    selector: "h1"
    action: append
    html: "<b>SHELF</b>"
  - id: basket
    pages: ["/cart", "/checkout/**"]
    selector: "h1"
    action: append
    html: "<b>BASKET</b>"
  - id: search
    pages: [{path: "/search", query: {q: "*"}}]
    selector: "h1"
    action: append
    html: "<b>SEARCH</b>"
  - id: campaign
    pages: [{query: {utm_campaign: "spring*"}}]
    selector: "h1"
    action: append
    html: "<b>SPRING</b>"
  - id: lookbook
    pages: [{regex: "^/lookbook/\\\\d+$"}]
    selector: "h1"
    action: append
    html: "<b>LOOK</b>"
"""


def test_a_slots_preview_links_open_a_page_it_applies_to_from_the_first_minute(asgi_server: Any, tmp_path: Path) -> None:
    """Before any page of a product-page slot was served, its preview links opened the home page, where it
    does not run. Now they open a page it applies to from the start: a path its pages name, a product URL
    from the feed, the catalog's category pattern filled from a product; where none can be found, the page
    says so in words (with a form to give one), never a link to the home page."""
    product = "<html><body><h1>Fell jacket</h1><section class=related>store's related</section></body></html>"
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse(PAGE)),
                                           Route("/p/{id}", lambda r: HTMLResponse(product))]))
    (tmp_path / "products.json").write_text(json.dumps([
        {"id": "P-42", "name": "Fell jacket", "url": "/p/fell-jacket?colour=red", "category": "Jackets"}]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(PREVIEW_RULES)
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path), admin_token=TOKEN,
                        personalize_budget_ms=5000.0)
    personalizer = SlotwisePersonalizer(settings)
    server = asgi_server(create_app(settings, personalizer))
    wait_for(lambda: personalizer.feeds.count == 1, what="the feed read")
    with closing(signed_in(server)) as http, httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        admin = http.get("/_sw/admin").text
        links = dict(re.findall(r'href="/_sw/admin/preview\?force=([a-z]+)%3D[a-z]+&amp;path=([^"]*)"', admin))
        assert links == {"recs": "/p/fell-jacket%3Fcolour%3Dred", "shelf": "/c/jackets", "basket": "/cart",
                         "search": "/search%3Fq%3Dx", "campaign": "/%3Futm_campaign%3Dspringx"}, links
        none = re.search(r'<span class=note data-preview-none="lookbook">(.*?)</span>', admin)
        assert none is not None and "No page it applies to is known yet" in none.group(1)
        assert "regex ^/lookbook/" in unescape(none.group(1))
        link = re.search(r'href="(/_sw/admin/preview\?force=recs%3Dtogether[^"]*)"', admin).group(1)
        preview = http.get(unescape(link))
        assert preview.status_code == 303 and preview.headers["location"].startswith("/p/fell-jacket?colour=red&sw_preview=")
        assert "TOGETHER" in visitor.get(preview.headers["location"]).text
        form = re.search(r'<select name=force[^>]*><option value="([^"]+)">', admin)  # the form: a path of one's own
        assert form is not None and form.group(1).startswith("lookbook=")
        opened = http.get("/_sw/admin/preview", params={"force": unescape(form.group(1)), "path": "/lookbook/7"})
        assert opened.status_code == 303 and opened.headers["location"].startswith("/lookbook/7?sw_preview=")


def test_visitor_lookup_exports_and_erases_from_the_admin_page(proxy: Callable[..., Any]) -> None:
    server = proxy()
    with closing(signed_in(server)) as http, httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        visitor.get("/")
        vid = server.personalizer.cookies.verify(visitor.cookies["sw_vid"])
        assert vid
        found = http.get("/_sw/admin/visitor", params={"id": vid})
        assert found.status_code == 200 and "&quot;assignments&quot;" in found.text and "hero" in found.text
        erase = http.post("/_sw/admin/visitor/erase", data={"id": vid, "csrf": csrf_of(found.text)})
        assert erase.status_code == 200 and "Erased" in erase.text
        assert http.get("/_sw/admin/visitor", params={"id": vid}).status_code == 404
        assert http.post("/_sw/admin/visitor/erase", data={"id": vid}).status_code == 403  # no CSRF token


def test_visitor_lookup_takes_the_sw_vid_cookie_as_the_browser_shows_it(proxy: Callable[..., Any]) -> None:
    """docs/admin.md: the lookup takes "a visitor id (the `sw_vid` cookie's)". A marketer copies the
    cookie's value from the browser (``ID.SIGNATURE``): the lookup finds the person and erase erases them,
    rather than answering that nothing is held (an erasure request that erased nothing)."""
    server = proxy()
    with closing(signed_in(server)) as http, httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        visitor.get("/")
        cookie = visitor.cookies["sw_vid"]
        assert "." in cookie
        found = http.get("/_sw/admin/visitor", params={"id": cookie})
        assert found.status_code == 200 and "hero" in found.text
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{server.url}/_sw/admin/api/visitors/{cookie}", headers=bearer).status_code == 200
        erase = http.post("/_sw/admin/visitor/erase", data={"id": cookie, "csrf": csrf_of(found.text)})
        assert erase.status_code == 200 and "Erased" in erase.text
        vid = server.personalizer.cookies.verify(cookie)
        assert http.get("/_sw/admin/visitor", params={"id": vid}).status_code == 404


def test_preview_links_are_checked_against_the_rules(proxy: Callable[..., Any]) -> None:
    server = proxy()
    bearer = {"authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, timeout=20, headers=bearer) as http:
        bad_slot = http.get("/_sw/admin/api/preview-link", params={"force": "heroo=a"})
        assert bad_slot.status_code == 400
        assert bad_slot.json()["error"] == "unknown slot 'heroo' (did you mean 'hero'?); the rules have: hero, promo"
        bad_variant = http.get("/_sw/admin/api/preview-link", params={"slot": "promo", "variant": "lod"})
        assert bad_variant.json()["error"] == ("slot 'promo' has no variant 'lod' (did you mean 'loud'?); "
                                               "its variants: plain, loud")
        good = http.get("/_sw/admin/api/preview-link", params=[("force", "hero=b"), ("force", "promo=loud")])
        assert good.status_code == 200 and good.json()["url"].startswith("/?sw_preview=")


def test_the_preview_bar_explains_each_slot_and_reaches_no_visitor(proxy: Callable[..., Any]) -> None:
    server = proxy()
    with httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        page = visitor.get("/")
        assert "sw-preview-data" not in page.text and "preview.js" not in page.text
        assert visitor.get("/_sw/preview.js").status_code == 404
        assert visitor.get("/_sw/preview.css").status_code == 404
        assert "sw-preview" not in visitor.get("/_sw/tag.js").text
    link = httpx.get(server.url + "/_sw/admin/api/preview-link", params={"force": "hero=b"},
                     headers={"authorization": f"Bearer {TOKEN}"}).json()["url"]
    with httpx.Client(base_url=server.url, timeout=20, headers=UA) as marketer:
        page = marketer.get(link)
        assert "HERO-B" in page.text
        data = re.search(r'<script type="application/json" id="sw-preview-data">(.*?)</script>', page.text)
        assert data, page.text[-500:]
        bar = json.loads(data.group(1))
        by_slot = {s["id"]: s for s in bar["slots"]}
        assert by_slot["hero"]["shown"] == "b" and by_slot["hero"]["reason"] == "forced"
        assert by_slot["promo"]["shown"] is None and by_slot["promo"]["reason"] == "when"
        assert [v["id"] for v in by_slot["hero"]["variants"]] == ["a", "b"]
        assert marketer.get("/_sw/preview.js").status_code == 200
        # the bar's "as a visitor" link: the policy decides (not recorded), and says so
        again = json.loads(re.search(r'id="sw-preview-data">(.*?)</script>', marketer.get(bar["visitor_url"]).text)
                           .group(1))
        hero = {s["id"]: s for s in again["slots"]}["hero"]
        assert hero["reason"] == "decision" and hero["shown"] in ("a", "b") and hero["propensity"] == 0.5
        off = json.loads(re.search(r'id="sw-preview-data">(.*?)</script>', marketer.get(bar["off_url"]).text).group(1))
        assert {s["reason"] for s in off["slots"]} == {"off"}
        # a kill switch shows in the bar as the reason
        httpx.post(server.url + "/_sw/admin/switch", data={"name": "hero", "off": "1"},
                   headers={"authorization": f"Bearer {TOKEN}"})
        time.sleep(0.6)
        killed = json.loads(re.search(r'id="sw-preview-data">(.*?)</script>', marketer.get(bar["visitor_url"]).text)
                            .group(1))
        assert {s["id"]: s for s in killed["slots"]}["hero"]["reason"] == "killed"
        # exit: the cookie is dropped, the bar is gone
        out = marketer.get(bar["exit_url"], follow_redirects=True)
        assert out.status_code == 200 and "sw-preview-data" not in out.text
    assert server.personalizer.store.db.query("SELECT COUNT(*) FROM log WHERE kind = 'decision'")[0][0] <= 1


def test_gpc_and_bots_are_named_in_the_bar(proxy: Callable[..., Any]) -> None:
    server = proxy()
    link = httpx.get(server.url + "/_sw/admin/api/preview-link", params={"force": "hero=a"},
                     headers={"authorization": f"Bearer {TOKEN}"}).json()["url"]
    with httpx.Client(base_url=server.url, timeout=20, headers={**UA, "sec-gpc": "1"}) as gpc:
        page = gpc.get(link)
        assert "HERO-" not in page.text and '"reason":"gpc"' in page.text
    with httpx.Client(base_url=server.url, timeout=20, headers={"user-agent": "HeadlessChrome/140"}) as bot:
        page = bot.get(link)
        assert "HERO-" not in page.text and '"reason":"bot"' in page.text
    with httpx.Client(base_url=server.url, timeout=20, headers={"user-agent": "HeadlessChrome/140"}) as crawler:
        assert "sw-preview-data" not in crawler.get("/").text  # a bot without a preview: untouched


def test_the_bar_reads_the_real_decision_path_sticky_and_disabled(proxy: Callable[..., Any], tmp_path: Path) -> None:
    server = proxy()
    (tmp_path / "rules.yaml").write_text(RULES + """
  - id: retired
    pages: "/"
    selector: ".promo"
    action: remove
    enabled: false
    variants:
      - {id: gone}
""")
    server.personalizer.rules.reload()
    link = httpx.get(server.url + "/_sw/admin/api/preview-link", headers={"authorization": f"Bearer {TOKEN}"}).json()["url"]
    with httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        page = visitor.get("/").text  # a real, logged decision (sticky: session), queued for the writer
        assert "HERO-" in page, "the visitor's page was not personalized (failed open?): nothing to be sticky"
        shown = "a" if "HERO-A" in page else "b"
        bar = json.loads(re.search(r'id="sw-preview-data">(.*?)</script>', visitor.get(link).text).group(1))
    by_slot = {s["id"]: s for s in bar["slots"]}
    assert by_slot["hero"]["reason"] == "sticky" and by_slot["hero"]["shown"] == shown
    assert by_slot["retired"]["reason"] == "disabled" and by_slot["retired"]["shown"] is None


def test_the_admin_page_says_which_variants_were_rewritten_and_keep_their_learning(proxy: Callable[..., Any],
                                                                                   tmp_path: Path) -> None:
    server = proxy()
    with closing(signed_in(server)) as http:
        assert "changed and keeps what was learned" not in http.get("/_sw/admin").text
        # the learning promo slot's `loud` rewritten; the hero's `uniform` policy learns nothing to keep
        (tmp_path / "rules.yaml").write_text(RULES.replace("LOUD", "LOUDER").replace("HERO-B", "HERO-BB"))
        assert server.personalizer.rules.reload()
        page = http.get("/_sw/admin").text
        assert "Rules valid." in page
        notes = re.findall(r"<p class=note>([^<]*changed and keeps what was learned[^<]*)</p>", page)
        assert notes == ["slot &#x27;promo&#x27;: variant &#x27;loud&#x27; changed and keeps what was learned about "
                         "it; give it a new id, or restart its learning on the admin page, to start it over"], notes
        (tmp_path / "rules.yaml").write_text(RULES.replace("LOUD", "LOUDER").replace("id: loud", "id: loud2"))
        assert server.personalizer.rules.reload()
        assert "changed and keeps what was learned" not in http.get("/_sw/admin").text  # renamed: starts afresh


def test_a_kill_switch_reaches_another_instance_within_a_second(proxy: Callable[..., Any]) -> None:
    one, two = proxy(), proxy()  # two proxies over the same store (the data directory's SQLite file)
    with httpx.Client(base_url=two.url, timeout=20, headers=UA) as visitor:
        assert "HERO-" in visitor.get("/").text  # instance two has read the switches: cached now
        httpx.post(one.url + "/_sw/admin/switch", data={"name": "hero", "off": "1"},
                   headers={"authorization": f"Bearer {TOKEN}"})
        flipped = time.monotonic()
        while True:
            asked = time.monotonic() - flipped  # when this request started (a loaded machine answers late)
            if "HERO-" not in visitor.get("/").text:
                break
            assert asked < 1.0, "instance two still personalizes a page asked for a second after the flip"
            time.sleep(0.05)


def test_a_page_past_its_time_budget_is_explained_in_the_bar(proxy: Callable[..., Any]) -> None:
    server = proxy(personalize_budget_ms=0.001)
    link = httpx.get(server.url + "/_sw/admin/api/preview-link", params={"force": "hero=a"},
                     headers={"authorization": f"Bearer {TOKEN}"}).json()["url"]
    with httpx.Client(base_url=server.url, timeout=20, headers=UA) as marketer:
        page = marketer.get(link)
    assert "store's hero" in page.text and "HERO-A" not in page.text  # what visitors get
    bar = json.loads(re.search(r'id="sw-preview-data">(.*?)</script>', page.text).group(1))
    assert {s["reason"] for s in bar["slots"]} == {"budget"}


LEARNING_RULES = RULES.replace('    when: "visitor.visits > 1000"\n', "")  # the promo slot decides on every page


def test_restart_learning_starts_a_slot_over_on_every_instance_and_the_report_marks_it(
        proxy: Callable[..., Any], tmp_path: Path) -> None:
    one = proxy()
    (tmp_path / "rules.yaml").write_text(LEARNING_RULES)
    assert one.personalizer.rules.reload()
    two = proxy()  # a second instance over the same store: it follows the first one's learning
    two.personalizer.rules.reload()
    learner_of = {id(one): one.personalizer.learning, id(two): two.personalizer.learning}
    for i in range(6):  # visitors on both instances: promo decisions in the shared log
        with httpx.Client(base_url=(one, two)[i % 2].url, timeout=20, headers=UA) as visitor:
            assert "promo" in visitor.get("/").text
    leader = next(lrn for lrn in learner_of.values() if lrn.leading)
    wait_for(lambda: leader.learner.pending_count >= 6)

    with closing(signed_in(one)) as http:
        page = http.get("/_sw/admin").text
        assert 'data-restart="promo"' in page and 'data-restart="hero"' not in page  # hero's policy is uniform
        csrf = csrf_of(page)
        assert http.post("/_sw/admin/restart", data={"name": "promo"}).status_code == 403  # no CSRF token
        refused = http.post("/_sw/admin/restart", data={"name": "hero", "csrf": csrf})
        assert refused.status_code == 400 and "the rules' learning slots: promo" in refused.json()["error"]
        typo = http.post("/_sw/admin/restart", data={"name": "promoo", "csrf": csrf}).json()["error"]
        assert typo.startswith("no slot 'promoo' that learns (did you mean 'promo'?); "), typo
        typo = http.post("/_sw/admin/restart", data={"name": "promo", "variant": "lowd", "csrf": csrf}).json()["error"]
        assert typo.startswith("slot 'promo' has no variant 'lowd' (did you mean 'loud'?); it has: "), typo
        done = http.post("/_sw/admin/restart", data={"name": "promo", "csrf": csrf})
        assert done.status_code == 303 and done.headers["location"] == "/_sw/admin#slot-promo"

        # every instance's models restart: the learner's at once, the other's at its next load
        for lrn in learner_of.values():
            wait_for(lambda lrn=lrn: lrn.learner.policies["promo"].restarts == 1)
            assert lrn.learner.policies["hero"].restarts == 0
        assert leader.learner.pending_count >= 6  # the decisions still waiting count again as trials
        status = httpx.get(two.url + "/_sw/admin/api/status", headers={"authorization": f"Bearer {TOKEN}"}).json()
        assert status["learner"]["slots"]["promo"]["restarts"] == 1

        # the report replays the log: the restart is a note and a mark on the charts, with who asked
        page = http.get("/_sw/admin").text
        section = page[page.index('id="slot-promo"'):]
        assert "asked for by admin at 127.0.0.1: the policy is testing every variant again" in section
        assert "learning restarted" in section
    # scripts: bearer, no CSRF
    answer = httpx.post(two.url + "/_sw/admin/restart", data={"name": "promo"},
                        headers={"authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.json()["name"] == "promo"
    wait_for(lambda: leader.learner.policies["promo"].restarts == 2)
    # one variant alone: the slot does not restart, the variant starts from nothing
    bearer = {"authorization": f"Bearer {TOKEN}"}
    unknown = httpx.post(one.url + "/_sw/admin/restart", data={"name": "promo", "variant": "nope"}, headers=bearer)
    assert unknown.status_code == 400 and "it has: plain, loud" in unknown.json()["error"]
    answer = httpx.post(one.url + "/_sw/admin/restart", data={"name": "promo", "variant": "loud"}, headers=bearer)
    assert answer.status_code == 200 and answer.json()["variant"] == "loud"
    wait_for(lambda: [r.arm for r in leader.learner.restarts.get("promo", [])] == ["", "", "loud"])
    assert leader.learner.policies["promo"].restarts == 2
    with closing(signed_in(one)) as http:
        page = http.get("/_sw/admin").text
    assert "Learning of variant loud restarted" in page and "asked for by admin at 127.0.0.1" in page
    section = page[page.index('id="slot-promo"'):].split("</section>")[0]
    # its dashed line on the charts names the variant, beside the slot's two restarts
    assert ">learning of loud restarted</text>" in section and ">learning restarted</text>" in section
    assert "&#9482; learning restarted</span>" in section and "&#9482; learning of loud restarted</span>" in section
    assert '<option value="loud">variant loud alone</option>' in page


def test_a_restart_the_store_cannot_take_is_refused_and_changes_nothing(
        proxy: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from slotwise.store.base import StoreUnavailable

    server = proxy()
    (tmp_path / "rules.yaml").write_text(LEARNING_RULES)
    assert server.personalizer.rules.reload()

    async def unreachable(records: Any) -> list[bool]:
        raise StoreUnavailable("redis unavailable: ConnectionError")

    monkeypatch.setattr(server.personalizer.store, "append", unreachable)
    answer = httpx.post(server.url + "/_sw/admin/restart", data={"name": "promo"},
                        headers={"authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 503 and "nothing was restarted, try again" in answer.json()["error"]
    assert answer.headers["retry-after"] == "5"
    time.sleep(0.3)
    assert server.personalizer.learning.learner.policies["promo"].restarts == 0


def test_a_rejected_reload_is_named_with_its_place_on_the_admin_page_and_in_health(proxy: Callable[..., Any],
                                                                                   tmp_path: Path) -> None:
    """A marketer's YAML slip: the last good rules keep serving, and both the admin page and
    ``/_sw/health`` say where the mistake is (file:line:column), not only that there is one."""
    server = proxy()
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace('    selector: ".promo"', '\tselector: ".promo"'))
    assert not server.personalizer.rules.reload()
    health = httpx.get(server.url + "/_sw/health", timeout=20).json()
    assert health["reasons"] == ["rules_invalid"], health
    assert health["details"]["rules_invalid"].startswith(f"1 error in rules; first: {rules}:13:1: "), health
    with closing(signed_in(server)) as http:
        assert f"{rules}:13:1: YAML syntax error" in http.get("/_sw/admin").text
    with httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        assert "HERO-" in visitor.get("/").text  # the last good rules still personalize

    rules.write_text(RULES)
    assert server.personalizer.rules.reload()
    deadline = time.monotonic() + 5  # health answers are kept a second
    while (reasons := httpx.get(server.url + "/_sw/health", timeout=20).json()["reasons"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert reasons == []



def _webhook_health(server: Any) -> dict[str, Any]:
    """``/_sw/health`` as a balancer sees it: 200 ok whatever the webhook's receiver does."""
    time.sleep(1.05)  # a fresh check, not the one kept for a second
    answer = httpx.get(server.url + "/_sw/health", timeout=20)
    assert answer.status_code == 200 and answer.json()["reasons"] == [], answer.text
    body: dict[str, Any] = answer.json()["webhook"]
    return body


def _metric(server: Any, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", httpx.get(server.url + "/_sw/metrics", timeout=20).text, re.M)
    assert found is not None, name
    return float(found.group(1))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_refusing_webhook_receiver_shows_in_health_metrics_and_the_admin_page(
        proxy: Callable[..., Any], asgi_server: Any, kind: str, request: pytest.FixtureRequest) -> None:
    """The store's webhook receiver answers 503: the sign-up's message waits in the outbox, and the operator
    sees it: ``/_sw/health``'s ``webhook`` (the status still ok: the receiver's outage is not this instance's),
    the gauges and the attempts counter, one line on the admin page. The receiver answers 200 again: the
    message goes, and so does all of that. With Redis stopped the scrape still answers."""
    answers = [503]
    posts: list[bytes] = []

    async def hook(r: Any) -> Any:
        posts.append(await r.body())
        return HTMLResponse("", status_code=answers[-1])

    receiver = asgi_server(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    redis = request.getfixturevalue("own_redis")() if kind == "redis" else None  # its own: stopped below
    options = {"store": redis.url + "?timeout=1&connect_timeout=1"} if redis is not None else {}
    server = proxy(webhook_url=f"{receiver.url}/hook?token=receivers-secret", **options)
    attempts = {o: f'slotwise_webhook_attempts_total{{outcome="{o}"}}' for o in ("delivered", "refused")}
    before = {o: _metric(server, name) for o, name in attempts.items()}

    with httpx.Client(base_url=server.url, timeout=20, headers=UA) as visitor:
        signed_up = time.time()
        assert visitor.post("/_sw/signup", json={"email": "ann@example.com"}).status_code == 200
    wait_for(lambda: bool(posts))
    webhook = _webhook_health(server)
    assert webhook["receiver"] == receiver.url  # never the path or query: they may hold the receiver's token
    assert (webhook["configured"], webhook["status"], webhook["pending"], webhook["failing"]) == (True, "failing", 1, 1)
    assert (webhook["last_error"], webhook["oldest_seconds"] >= 1) == ("HTTP 503", True), webhook
    oldest = datetime.strptime(webhook["oldest"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    assert signed_up - 1 <= oldest <= signed_up + 1
    assert _metric(server, "slotwise_webhook_pending") == 1 and _metric(server, "slotwise_webhook_failing") == 1
    assert _metric(server, "slotwise_webhook_oldest_seconds") >= 1
    assert _metric(server, attempts["refused"]) >= before["refused"] + 1
    with closing(signed_in(server)) as http:
        line = re.search(r"<p class=warn id=webhook>([^<]*)</p>", http.get("/_sw/admin").text)
        assert line is not None, "no webhook line on the admin page"
        assert line.group(1).startswith("Webhook: 1 message waits for delivery since ")
        assert "1 refused or unanswered at least once; last error: HTTP 503." in line.group(1)
        status = http.get("/_sw/admin/api/status").json()["webhook"]  # the admin API: health's figures
        assert {k: status[k] for k in ("receiver", "status", "pending", "failing", "last_error")} == {
            "receiver": receiver.url, "status": "failing", "pending": 1, "failing": 1, "last_error": "HTTP 503"}

    answers.append(200)
    wait_for(lambda: _webhook_health(server)["pending"] == 0, 30)
    assert _webhook_health(server) == {"configured": True, "receiver": receiver.url, "status": "ok", "pending": 0,
                                       "failing": 0}
    assert json.loads(posts[-1])["email"] == "ann@example.com"
    assert _metric(server, "slotwise_webhook_pending") == 0 and _metric(server, "slotwise_webhook_oldest_seconds") == 0
    assert _metric(server, attempts["delivered"]) == before["delivered"] + 1
    with closing(signed_in(server)) as http:
        assert "id=webhook" not in http.get("/_sw/admin").text
        assert http.get("/_sw/admin/api/status").json()["webhook"]["status"] == "ok"

    if redis is not None:  # the store away: the scrape answers, the webhook's state is unknown, not made up
        redis.stop()
        time.sleep(1.05)
        assert httpx.get(server.url + "/_sw/metrics", timeout=20).status_code == 200
        health = httpx.get(server.url + "/_sw/health", timeout=20).json()
        assert "store_unavailable" in health["reasons"]
        assert health["webhook"]["status"] == "unknown" and "pending" not in health["webhook"], health


def test_without_a_webhook_url_health_says_none_is_configured(proxy: Callable[..., Any]) -> None:
    server = proxy()
    assert httpx.get(server.url + "/_sw/health", timeout=20).json()["webhook"] == {"configured": False}
    with closing(signed_in(server)) as http:
        assert "id=webhook" not in http.get("/_sw/admin").text
        assert http.get("/_sw/admin/api/status").json()["webhook"] == {"configured": False}


FEED_RULES = RULES + """catalog:
  feed: %s
"""


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_every_worker_shows_the_feed_read_its_reader_saw(
        proxy: Callable[..., Any], page_server: Any, kind: str, request: pytest.FixtureRequest) -> None:
    """One worker of two reads the product feed (the holder of its lease); the other's ``/_sw/health``, metrics,
    admin page and admin API show that read all the same: from the store, not from the worker's own loader
    (whose ``count`` is the reader's alone). The feed's URL and its token stay out of the public health."""
    from page_server import Page

    products = json.dumps([{"id": "p1", "name": "One"}, {"id": "p2", "name": "Two"}]).encode()
    feed = page_server({"/feed.json?key=feeds-secret": Page(products, 200, (("content-type", "application/json"),))})
    options = {"store": request.getfixturevalue("redis_url")} if kind == "redis" else {}
    reader = proxy(FEED_RULES % f"{feed.url}/feed.json?key=feeds-secret", **options)
    wait_for(lambda: reader.personalizer.feeds.count == 2)
    other = proxy(FEED_RULES % f"{feed.url}/feed.json?key=feeds-secret", **options)  # same data dir, same Redis
    time.sleep(1.05)
    health = httpx.get(other.url + "/_sw/health", timeout=20).json()
    assert other.personalizer.feeds.count == 0 and len(feed.requests) == 1  # the other worker read nothing
    assert health["status"] == "ok" and health["feed"]["status"] == "ok", health
    assert (health["feed"]["products"], health["feed"]["failures"]) == (2, 0)
    assert len(health["feed"]["digest"]) == 32 and 0 <= health["feed"]["loaded_seconds"] < 60
    assert "feeds-secret" not in json.dumps(health)
    assert _metric(other, "slotwise_feed_products") == 2 and _metric(other, "slotwise_feed_failures") == 0
    loaded = datetime.strptime(health["feed"]["loaded"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(_metric(other, "slotwise_feed_last_success_timestamp_seconds") - loaded.timestamp()) < 1
    with closing(signed_in(other)) as http:
        line = re.search(r"<p class=note id=feed>([^<]*)</p>", http.get("/_sw/admin").text)
        assert line is not None and line.group(1).startswith("Product feed: 2 products, loaded "), line
        status = http.get("/_sw/admin/api/status").json()["feed"]  # the admin's: the URL and who read it
        assert (status["status"], status["products"], status["feed"]) == (
            "ok", 2, f"{feed.url}/feed.json?key=feeds-secret")
        assert status["reader"].split(":")[1] == str(os.getpid())  # this test's process runs both workers


def test_without_a_feed_health_says_none_is_configured(proxy: Callable[..., Any]) -> None:
    server = proxy()
    assert httpx.get(server.url + "/_sw/health", timeout=20).json()["feed"] == {"configured": False}
    with closing(signed_in(server)) as http:
        assert "id=feed" not in http.get("/_sw/admin").text
        assert http.get("/_sw/admin/api/status").json()["feed"] == {"configured": False}


@pytest.fixture
def far_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local time is Auckland's (12 or 13 hours off UTC) for the test."""
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_every_time_on_the_admin_page_is_utc_and_says_so(proxy: Callable[..., Any], page_server: Any,
                                                         tmp_path: Path, far_time_zone: None) -> None:
    """Found on the demo: the rules' and the feed's load times were the server's local time, unlabelled, beside
    kill switches, restarts and charts in UTC; on a server in another zone a marketer saw two clocks."""
    from page_server import Page

    feed = page_server({"/feed.json": Page(json.dumps([{"id": "p1", "name": "One"}]).encode(), 200,
                                           (("content-type", "application/json"),))})
    server = proxy(FEED_RULES % f"{feed.url}/feed.json")
    wait_for(lambda: server.personalizer.feeds.count == 1)
    (tmp_path / "rules.yaml").write_text(RULES.replace("action: replace", "action: replase", 1))
    assert not server.personalizer.rules.reload()
    with closing(signed_in(server)) as http:
        http.post("/_sw/admin/switch", data={"name": "hero", "off": "1", "csrf": csrf_of(http.get("/_sw/admin").text)})
        page = http.get("/_sw/admin").text
    status = server.personalizer.rules.status
    assert f"loaded {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(status.loaded_at))} UTC." in page
    assert f"rejected ({time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(status.error_at))} UTC)" in page
    assert re.search(r"Product feed: 1 products, loaded [\d-]+ [\d:]+ UTC \(", page), page
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?: UTC)?", page.split("<section id=reports>")[0])
    assert len(times) >= 4 and all(t.endswith(" UTC") for t in times), times
