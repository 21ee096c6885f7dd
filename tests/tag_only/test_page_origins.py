"""Tag-only on a subdomain (``--page-origins``): the store's pages on ``www.shop.test``, Slotwise on ``sw.shop.test``.

As on a hosted platform: the store cannot route ``/_sw/``, so the snippet's
endpoint is Slotwise's own host, a subdomain of the store's site. Both are
real servers over TLS on 127.0.0.1 (nginx serves the store's files, a real
``slotwise serve --tag-only --tls-cert``), one trustme certificate names
both hosts, and Chromium maps ``*.shop.test`` to 127.0.0.1. A second
server of the same files on ``other.shop.test`` is a page of the same site
that is not listed: the browser sends it the visitor cookie too, so only
Slotwise's refusal keeps it out. The CORS rules one by one over HTTP first
(httpx against the same process), then what a shopper's browser does.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from browser_fixtures import DESKTOP_UA
from real_parts import missing
from tag_only_helpers import (
    _STATIC,
    ADMIN_TOKEN,
    RULES,
    Nginx,
    Stack,
    browse,
    category_order,
    flush,
    free_port,
    goto,
    nginx_binary,
    wait_for,
    slotwise_process,
    visitor_id,
    write_site,
)
from tls_files import issue_cert_files

from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.assets import embed_snippet
from slotwise.tag.testing import chromium, sync

STORE_ORDER = ["/c/jackets", "/c/shoes", "/c/socks", "/c/hats"]
TAG_ENDPOINTS = ("decide", "events", "signup")
NEVER_CORS = ("admin", "admin/api/visitors/x", "orders", "metrics", "health")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ssl.SSLContext]:
    """A certificate for the store's hosts (and 127.0.0.1, for httpx), and a client context trusting it."""
    cert, key, ca = issue_cert_files(tmp_path_factory.mktemp("tls"), "www.shop.test", "sw.shop.test",
                                     "other.shop.test", "quiet.shop.test", "127.0.0.1")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return cert, key, context


@pytest.fixture(scope="module")
def sub(tls: tuple[Path, Path, ssl.SSLContext], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """``www`` and ``quiet`` (listed) and ``other`` (not) serve the store's pages; ``sw`` is Slotwise; all https.

    ``quiet`` sends ``Referrer-Policy: no-referrer`` with every page; ``/private`` on ``www`` says it in a
    ``<meta>``; ``/framed`` holds a store page in a sandboxed iframe."""
    if nginx_binary() is None:
        missing("nginx is not installed")
    cert, key, _ = tls
    tmp = tmp_path_factory.mktemp("subdomain")
    data = tmp / "slotwise"
    data.mkdir()
    sw_port, www_port, other_port, quiet_port = (free_port() for _ in range(4))
    assert len({sw_port, www_port, other_port, quiet_port}) == 4
    sw = f"https://sw.shop.test:{sw_port}"
    root = tmp / "www"
    write_site(root, embed_snippet(f"{sw}/_sw", antiflicker_ms=2000))  # the endpoint: Slotwise's own host
    home = (root / "index.html").read_text("utf-8")
    (root / "private.html").write_text(home.replace("<head>", '<head>\n<meta name="referrer" content="no-referrer">'))
    (root / "framed.html").write_text('<!doctype html><iframe sandbox="allow-scripts" src="/c/socks"></iframe>')
    with contextlib.ExitStack() as running:
        slotwise = running.enter_context(slotwise_process(
            RULES, data, sw_port, "--page-origins",
            f"https://www.shop.test:{www_port},https://quiet.shop.test:{quiet_port}",
            "--tls-cert", str(cert), "--tls-key", str(key)))
        nginx = Nginx(tmp)
        for port in (www_port, other_port):  # the store routes no /_sw/: it cannot
            nginx.add(port, root, pages=_STATIC, sw="", tls=(cert, key))
        nginx.add(quiet_port, root, pages=f"{_STATIC} add_header Referrer-Policy no-referrer;", sw="", tls=(cert, key))
        running.enter_context(nginx)
        store = SQLiteStore(data / "slotwise.db")
        running.callback(lambda: sync(store.close()))
        yield Stack({"www": f"https://www.shop.test:{www_port}", "other": f"https://other.shop.test:{other_port}",
                     "quiet": f"https://quiet.shop.test:{quiet_port}", "sw": sw,
                     "direct": f"https://127.0.0.1:{sw_port}"}, slotwise, store, tmp / "access.log")


# -- the rules over HTTP -----------------------------------------------------------------------------

@pytest.fixture
def http(sub: Stack, tls: tuple[Path, Path, ssl.SSLContext]) -> Iterator[Callable[..., httpx.Response]]:
    """``http(method, path, origin=None, **kwargs)``: a request to Slotwise as a browser on ``origin`` sends it."""
    with httpx.Client(verify=tls[2], timeout=10, headers={"user-agent": DESKTOP_UA}) as client:
        def send(method: str, path: str, origin: str | None = None, **kwargs: Any) -> httpx.Response:
            headers = {"host": sub.urls["sw"].split("//")[1], **({"origin": origin} if origin else {}),
                       **kwargs.pop("headers", {})}
            return client.request(method, sub.url("direct", path), headers=headers, **kwargs)
        yield send


def cors(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def event(url: str) -> tuple[str, str]:
    event_id = uuid.uuid4().hex
    return event_id, f'{{"events": [{{"type": "page_view", "event_id": "{event_id}", "props": {{"url": "{url}"}}}}]}}'


def stored(sub: Stack, event_id: str) -> bool:
    return any(r.kind == "event" and event_id in r.key for r in sub.log())


@pytest.mark.parametrize("endpoint", TAG_ENDPOINTS)
def test_a_listed_origin_gets_its_preflight_answered(sub: Stack, http: Callable[..., httpx.Response],
                                                     endpoint: str) -> None:
    answer = http("OPTIONS", f"/_sw/{endpoint}", sub.urls["www"], headers={
        "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-slotwise-nonce"})
    assert answer.status_code == 204
    assert cors(answer) == {
        "access-control-allow-origin": sub.urls["www"], "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, POST", "access-control-allow-headers": "content-type, x-slotwise-nonce",
        "access-control-max-age": "7200", "access-control-expose-headers": "x-slotwise-visitor, retry-after"}
    assert "Origin" in answer.headers["vary"]


@pytest.mark.parametrize("origin", ["other", "null", "https://shop.evil"])
def test_another_origin_gets_no_cors_and_its_requests_are_refused(sub: Stack, http: Callable[..., httpx.Response],
                                                                  origin: str) -> None:
    origin = sub.urls.get(origin, origin)
    preflight = http("OPTIONS", "/_sw/decide", origin, headers={"access-control-request-method": "GET"})
    assert preflight.status_code == 403 and not cors(preflight)
    event_id, body = event(sub.url("www", "/"))
    posted = http("POST", "/_sw/events", origin, content=body, headers={"content-type": "text/plain;charset=UTF-8"})
    assert posted.status_code == 403 and not cors(posted) and "set-cookie" not in posted.headers
    assert "not one of Slotwise's --page-origins" in posted.json()["error"]
    decided = http("GET", "/_sw/decide", origin, params={"url": sub.url("www", "/")})
    assert decided.status_code == 403 and "set-cookie" not in decided.headers
    assert not stored(sub, event_id)
    script = http("GET", "/_sw/tag.js", origin)  # the script itself is no secret: served, without CORS
    assert script.status_code == 200 and not cors(script) and "Origin" in script.headers["vary"]


def test_the_listed_origin_reads_the_answers_and_sends_the_cookie(sub: Stack,
                                                                  http: Callable[..., httpx.Response]) -> None:
    www = sub.urls["www"]
    decided = http("GET", "/_sw/decide", www, params={"url": sub.url("www", "/")})
    assert decided.status_code == 200 and decided.json()["decisions"]
    assert cors(decided)["access-control-allow-origin"] == www
    assert cors(decided)["access-control-allow-credentials"] == "true"
    assert "x-slotwise-visitor" in cors(decided)["access-control-expose-headers"]
    cookie = decided.headers["set-cookie"]
    assert "Secure" in cookie and "SameSite=Lax" in cookie and "Domain" not in cookie  # host-only on sw.
    event_id, body = event(sub.url("www", "/c/hats"))
    posted = http("POST", "/_sw/events", www, content=body, headers={
        "content-type": "text/plain;charset=UTF-8", "cookie": cookie.split(";")[0]})
    assert posted.status_code == 200 and posted.json()["stored"] == 1 and cors(posted)["access-control-allow-origin"] == www
    assert posted.headers["x-slotwise-visitor"] == "cookie"
    assert stored(sub, event_id)
    script = http("GET", "/_sw/tag.js", www)
    assert script.status_code == 200 and cors(script)["access-control-allow-origin"] == www


def test_without_an_origin_nothing_changes(sub: Stack, http: Callable[..., httpx.Response]) -> None:
    """A request no browser page sent (a server, curl), or a page of Slotwise's own origin: as before."""
    for origin in (None, sub.urls["sw"]):
        event_id, body = event(sub.url("www", "/"))
        posted = http("POST", "/_sw/events", origin, content=body)
        assert posted.status_code == 200 and not cors(posted) and stored(sub, event_id)


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_another_pages_request_without_an_origin_is_refused(sub: Stack, http: Callable[..., httpx.Response],
                                                           site: str) -> None:
    """An ``<img src=".../_sw/decide?url=...">`` or ``<script>`` of another page names no origin but goes with
    the visitor's cookie: what the browser's ``Sec-Fetch-Site`` says of it is enough to refuse it."""
    event_id, body = event(sub.url("www", "/"))
    posted = http("POST", "/_sw/events", content=body, headers={"sec-fetch-site": site})
    assert posted.status_code == 403 and not cors(posted) and "set-cookie" not in posted.headers
    assert "names no origin" in posted.json()["error"]
    decided = http("GET", "/_sw/decide", params={"url": sub.url("www", "/")}, headers={"sec-fetch-site": site})
    assert decided.status_code == 403 and "set-cookie" not in decided.headers
    assert not stored(sub, event_id)
    script = http("GET", "/_sw/tag.js", headers={"sec-fetch-site": site})  # a <script> of the store's page
    assert script.status_code == 200
    for own in ("none", "same-origin"):  # typed in the address bar, or a page of Slotwise's own origin
        event_id, body = event(sub.url("www", "/"))
        assert http("POST", "/_sw/events", content=body, headers={"sec-fetch-site": own}).status_code == 200
        assert stored(sub, event_id)


@pytest.mark.parametrize("path", NEVER_CORS)
def test_admin_orders_metrics_and_health_never_answer_cors(sub: Stack, http: Callable[..., httpx.Response],
                                                           path: str) -> None:
    www = sub.urls["www"]
    for method in ("GET", "POST"):
        answer = http(method, f"/_sw/{path}", www, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
        assert not cors(answer), (method, answer.status_code)
    preflight = http("OPTIONS", f"/_sw/{path}", www, headers={"access-control-request-method": "GET"})
    assert not cors(preflight) and preflight.status_code != 204


# -- in the browser --------------------------------------------------------------------------------

@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Any]:
    """Chromium resolving every ``*.shop.test`` host to this machine (the fixtures' ``new_context`` uses it)."""
    try:
        with chromium("--host-resolver-rules=MAP *.shop.test 127.0.0.1") as b:
            yield b
    except FileNotFoundError as exc:
        missing(str(exc))


@pytest.fixture
def shopper(new_context: Callable[..., Any]) -> Any:
    """A new visitor's page; the test certificate is trusted as a store's real one would be."""
    return new_context(ignore_https_errors=True).new_page()


@pytest.mark.browser
def test_the_tag_on_the_subdomain_personalizes_the_store_pages(sub: Stack, shopper: Any) -> None:
    goto(shopper, sub.url("www", "/"))
    shopper.wait_for_selector("ul.category-list[data-sw-decision]")  # decided by sw.shop.test, applied on www
    assert category_order(shopper) == STORE_ORDER
    flush(shopper)
    browse(shopper, sub.url("www", "/c/socks"))
    browse(shopper, sub.url("www", "/c/hats"))
    goto(shopper, sub.url("www", "/"))  # what the visitor browsed on earlier pages: the cookie came back
    shopper.wait_for_function("document.querySelector('ul.category-list a').getAttribute('href') === '/c/hats'")
    assert category_order(shopper) == ["/c/hats", "/c/socks", "/c/jackets", "/c/shoes"]
    [cookie] = [c for c in shopper.context.cookies() if c["name"] == "sw_vid"]
    assert (cookie["domain"], cookie["secure"], cookie["sameSite"]) == ("sw.shop.test", True, "Lax")  # host-only
    visitor = visitor_id(shopper.context)
    views = {e.data["props"]["url"] for e in sub.events("page_view", visitor)}
    assert {sub.url("www", "/c/socks"), sub.url("www", "/c/hats")} <= views
    assert len(sub.decisions(visitor)) >= 2


@pytest.mark.browser
def test_a_page_of_an_unlisted_origin_gets_nothing(sub: Stack, shopper: Any) -> None:
    def posted(request: Any) -> bool:
        return "/_sw/events" in request.url and request.method == "POST"

    with shopper.expect_event("requestfailed", posted):  # tag.js loads (a script needs no CORS), then sends its
        goto(shopper, sub.url("other", "/"))               # page view: sent (a simple request), refused (403, no CORS)
    assert category_order(shopper) == STORE_ORDER
    assert shopper.query_selector("[data-sw-decision]") is None
    assert shopper.evaluate("getComputedStyle(document.body).opacity") == "1"  # revealed: Slotwise's "no" ends the window
    assert not [c for c in shopper.context.cookies() if c["name"] == "sw_vid"]
    assert not [r for r in sub.log() if r.kind == "event" and "other.shop.test" in str(r.data.get("props", {}).get("url"))]


@pytest.mark.browser
def test_the_listed_page_can_read_the_tag_endpoints_and_not_the_admin(sub: Stack, shopper: Any) -> None:
    goto(shopper, sub.url("www", "/"))
    read = """url => fetch(url, {credentials: 'include', headers: {'X-Slotwise-Nonce': 'x'}})
                      .then(r => r.status, e => 'blocked')"""
    decide = sub.urls["sw"] + "/_sw/decide?url=" + sub.url("www", "/")
    assert shopper.evaluate(read, decide) == 200  # preflighted (the nonce header), answered, readable
    for path in NEVER_CORS:
        assert shopper.evaluate(read, f"{sub.urls['sw']}/_sw/{path}") == "blocked", path


def sent_headers(target: Any, path: str) -> Callable[[], list[dict[str, str]]]:
    """``sent()`` → the headers of each request ``target`` (a page, or a frame with a process of its own) sent
    to ``path`` since, as they went on the wire (the browser's own ``Origin``, ``Referer``, ``Cookie`` and
    ``Sec-Fetch-*``, which Playwright leaves out for a beacon), and the answer's status as ``:status``.
    Filled while Playwright runs: wait with ``seen``."""
    urls: dict[str, str] = {}
    sent: dict[str, dict[str, str]] = {}
    page = getattr(target, "page", target)
    cdp = page.context.new_cdp_session(target)
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.requestWillBeSentExtraInfo", lambda e: sent.setdefault(e["requestId"], {}).update(
        {k.lower(): v for k, v in e["headers"].items()}))  # may come before requestWillBeSent
    cdp.on("Network.responseReceivedExtraInfo", lambda e: sent.setdefault(e["requestId"], {}).update(
        {":status": str(e["statusCode"])}))  # also for an answer CORS keeps from the page
    cdp.send("Network.enable")
    return lambda: [headers for rid, headers in list(sent.items()) if path in urls.get(rid, "")]


def seen(page: Any, probe: Callable[[], Any], what: str) -> Any:
    """``wait_for(probe)``, letting the page's browser events in between (a plain sleep holds them back)."""
    def pumped() -> Any:
        page.wait_for_timeout(50)
        return probe()
    return wait_for(pumped, what=what)


def stored_custom(sub: Stack, name: str) -> list[Any]:
    return [r for r in sub.log() if r.kind == "event" and r.data.get("props", {}).get("name") == name]


@pytest.mark.browser
@pytest.mark.parametrize("send", ["fetch", "beacon"])
@pytest.mark.parametrize("policy", ["header", "meta"])
def test_a_no_referrer_page_still_names_its_origin(sub: Stack, shopper: Any, policy: str, send: str) -> None:
    """A store page under ``Referrer-Policy: no-referrer`` (its header, or a ``<meta>``): Chromium sends no
    ``Referer`` to Slotwise, yet names the page's origin in ``Origin`` on the tag's ``fetch`` (CORS mode) and on
    its ``sendBeacon`` (no-cors) alike, where the Fetch standard says ``null`` for no-cors: the events are kept."""
    site, path = {"header": ("quiet", "/"), "meta": ("www", "/private")}[policy]
    goto(shopper, sub.url(site, path))
    sent = sent_headers(shopper, "/_sw/events")
    name = uuid.uuid4().hex
    shopper.evaluate("name => slotwise.track('custom', {name})", name)
    if send == "fetch":
        flush(shopper)
    else:  # what leaving the page does (the tag's pagehide handler): one beacon with the queue. Dispatched
        # here: headless Chromium does not reliably deliver a beacon sent as Playwright navigates the page away
        shopper.evaluate("dispatchEvent(new PageTransitionEvent('pagehide'))")
    mode = {"fetch": "cors", "beacon": "no-cors"}[send]
    posts = seen(shopper, lambda: [h for h in sent() if h.get("sec-fetch-mode") == mode and ":status" in h],
                 what=f"the {send}, answered")
    assert [(h.get("origin"), h.get("referer"), h["sec-fetch-site"], h[":status"]) for h in posts] == [
        (sub.urls[site], None, "same-site", "200")] * len(posts)
    assert stored_custom(sub, name)


@pytest.mark.browser
def test_a_page_in_a_sandboxed_iframe_is_refused(sub: Stack, shopper: Any) -> None:
    """A store page framed with ``sandbox`` (scripts, not ``allow-same-origin``) has an opaque origin: Chromium
    sends ``Origin: null``, ``Sec-Fetch-Site: cross-site`` and no cookie; what it posts, by the tag or by a
    script of its own (a beacon, a fetch), is refused and nothing is recorded."""
    shopper.goto(sub.url("www", "/framed"))
    frame = seen(shopper, lambda: next((f for f in shopper.frames if f.url.endswith("/c/socks")), None), "the frame")
    frame.wait_for_function("window.slotwise && window.slotwise.v === 1")  # the tag runs in it
    sent = sent_headers(frame, "/_sw/events")
    name = uuid.uuid4().hex
    body = json.dumps({"events": [{"type": "custom", "event_id": uuid.uuid4().hex, "props": {"name": name}}]})
    fetched = frame.evaluate("""([url, body]) => { navigator.sendBeacon(url, new Blob([body], {type: 'text/plain'}));
                                  return fetch(url, {method: 'POST', body, credentials: 'include'})
                                    .then(r => r.status, () => 'refused') }""", [sub.urls["sw"] + "/_sw/events", body])
    frame.evaluate("name => { slotwise.track('custom', {name}); slotwise.flush() }", name)

    def answered() -> list[dict[str, str]] | None:
        got = [h for h in sent() if ":status" in h]
        return got if len(got) >= 3 else None
    posts = seen(shopper, answered, what="the beacon, the fetch and the tag's post, answered")
    assert fetched == "refused"  # no CORS answer: the frame's script reads nothing
    assert {(h["origin"], h["sec-fetch-site"], "cookie" in h, h[":status"]) for h in posts} == {
        ("null", "cross-site", False, "403")}
    assert not stored_custom(sub, name)
