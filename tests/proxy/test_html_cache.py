"""The upstream HTML cache end to end: a real origin on 127.0.0.1 that counts its requests, the real
personalizer with a small rules file, the proxy in a uvicorn thread.

Each test serves its own paths, so the module's one origin counts per test.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.html_cache import HtmlCache, lasting_refusal
from slotwise.proxy.forwarding.upstream import PROBE_AGENT
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from agents import DESKTOP_UA  # noqa: E402

UA = DESKTOP_UA
RULES = """
catalog:
  home_pages: "/"
  product_pages: "/p/{product}"
cache:
  login_cookies: [sessionid, "wp_logged_in_*"]
  same_for_everyone: [home]
slots:
  - id: greeting
    pages: ["/", "/p/*", "/c/*"]
    selector: "h1"
    action: replace
    html: "<h1>Welcome back</h1>"
"""
DECISION = re.compile(rb'data-sw-decision="([0-9a-f]+)"')


def page(text: str = "Shop", size: int = 2000) -> bytes:
    return (f"<!doctype html><html><head><title>{text}</title></head><body><h1>{text}</h1>"
            + "<p>goods</p>" * (size // 12) + "</body></html>").encode()


@dataclass
class Spec:
    headers: list[tuple[str, str]]
    body: bytes
    delay: float = 0.0
    etag: str | None = None  # answered with 304 when the request names it


@dataclass
class CountingOrigin:
    """Pages by path, a count of requests per path, the 304s it sent, and the headers it was sent."""

    pages: dict[str, Spec] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    not_modified: Counter[str] = field(default_factory=Counter)
    seen: list[dict[str, str]] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)  # the most requests for a path the origin held at once
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def add(self, path: str, headers: list[tuple[str, str]], body: bytes | None = None, **kw: Any) -> str:
        self.pages[path] = Spec([("content-type", "text/html; charset=utf-8"), *headers], body or page(), **kw)
        return path

    async def serve(self, request: Request) -> Response:
        path = request.url.path
        if request.headers.get("user-agent") == PROBE_AGENT.decode():  # the health check's ``HEAD /``: not a visitor's
            return Response(status_code=200)
        with self.lock:
            self.hits[path] += 1
            self.seen.append(dict(request.headers))
        spec = self.pages[path]
        if spec.delay:
            with self.lock:
                self.in_flight[path] += 1
                self.peak[path] = max(self.peak[path], self.in_flight[path])
            await asyncio.sleep(spec.delay)
            with self.lock:
                self.in_flight[path] -= 1
        if callable(spec.body):
            spec = spec.body(request)
        if spec.etag is not None and request.headers.get("if-none-match") == spec.etag:
            with self.lock:
                self.not_modified[path] += 1
            return Response(status_code=304, headers={"etag": spec.etag, **{k: v for k, v in spec.headers
                                                                             if k.lower() == "cache-control"}})
        response = Response(spec.body)
        response.raw_headers = [(k.lower().encode(), v.encode()) for k, v in spec.headers]
        response.raw_headers.append((b"content-length", str(len(spec.body)).encode()))
        if spec.etag is not None:
            response.raw_headers.append((b"etag", spec.etag.encode()))
        return response


@pytest.fixture(scope="module")
def origin(uvicorn_runner: Any) -> Iterator[CountingOrigin]:
    counting = CountingOrigin()
    with uvicorn_runner(Starlette(routes=[Route("/{path:path}", counting.serve)])) as server:
        counting.url = server.url
        yield counting


@pytest.fixture
def edge(origin: CountingOrigin, tmp_path: Path, asgi_server: Any) -> Callable[..., Any]:
    """``edge(**settings)`` → the proxy with the real personalizer and RULES (or ``rules=`` text)."""

    def start(rules: str = RULES, **overrides: Any) -> Any:
        path = tmp_path / "rules.yaml"
        path.write_text(rules)
        options: dict[str, Any] = {"upstream": origin.url, "data": str(tmp_path / "data"), "rules": str(path),
                                   "personalize_budget_ms": 5000.0}
        settings = Settings(**{**options, **overrides})
        return asgi_server(create_app(settings, SlotwisePersonalizer(settings)))

    return start


def visit(server: Any, path: str, **headers: str) -> httpx.Response:
    """One new visitor (a fresh client: no cookie yet) asks for the page."""
    with httpx.Client(base_url=server.url, trust_env=False, timeout=20) as c:
        return c.get(path, headers={"user-agent": UA, **headers})


def cache_counts(server: Any) -> dict[str, float]:
    text = httpx.get(server.url + "/_sw/metrics", timeout=10).text
    return {m[0]: float(m[1]) for m in re.findall(r'^slotwise_html_cache_total\{outcome="(\w+)"\} (\S+)$', text, re.M)}


PUBLIC = [("cache-control", "public, max-age=60")]


def test_many_visitors_one_fetch_each_personalized(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = origin.add("/p/one", PUBLIC + [("surrogate-control", "max-age=600"), ("cdn-cache-control", "max-age=600")])
    server = edge()
    before = cache_counts(server)
    answers = [visit(server, path) for _ in range(6)]
    assert origin.hits[path] == 1
    decisions = set()
    for i, r in enumerate(answers):
        assert r.status_code == 200 and b"<h1" in r.content and b"Welcome back</h1>" in r.content
        decisions.update(DECISION.findall(r.content))
        # what a CDN or browser could keep for everyone never leaks from a personalized page
        assert r.headers["cache-control"] == "private, no-cache"
        assert "Cookie" in r.headers["vary"]
        for name in ("age", "surrogate-control", "cdn-cache-control", "expires", "etag"):
            assert name not in r.headers, name
        assert ("cache;desc=miss" if i == 0 else "cache;desc=hit") in r.headers["server-timing"]
        assert r.cookies.get("sw_vid")
    assert len(decisions) == 6  # one decision per visitor, all from one fetch
    assert len({r.cookies["sw_vid"] for r in answers}) == 6
    after = cache_counts(server)
    assert after.get("hit", 0) - before.get("hit", 0) == 5 and after.get("miss", 0) - before.get("miss", 0) == 1


@pytest.mark.parametrize("headers", [
    PUBLIC + [("set-cookie", "cart=1; Path=/")],
    [("cache-control", "private, max-age=60")],
    [("cache-control", "no-store")],
    PUBLIC + [("vary", "*")],
    [],  # nothing says it may be kept, nothing to revalidate with
    [("cache-control", "no-cache")],
    PUBLIC + [("surrogate-control", "no-store")],
], ids=["set-cookie", "private", "no-store", "vary-star", "nothing", "no-cache-no-validator", "surrogate-no-store"])
def test_what_the_store_does_not_let_a_shared_cache_keep_is_fetched_every_time(
    origin: CountingOrigin, edge: Callable[..., Any], headers: list[tuple[str, str]], request: Any
) -> None:
    path = origin.add(f"/p/no-{request.node.callspec.id}", headers)
    server = edge()
    answers = [visit(server, path) for _ in range(3)]
    assert origin.hits[path] == 3
    for r in answers:
        assert b"Welcome back</h1>" in r.content and "cache;desc" not in r.headers.get("server-timing", "")
        if any(k == "set-cookie" for k, _ in headers):
            assert "cart=1" in r.headers.get_list("set-cookie")[0]


def test_vary_keys_on_the_named_request_header(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = "/p/vary"

    def by_language(request: Request) -> Spec:
        lang = request.headers.get("accept-language", "none")
        return Spec(PUBLIC + [("vary", "Accept-Language, Accept-Encoding"), ("content-type", "text/html")],
                    page(f"Shop-{lang}"))

    origin.pages[path] = Spec([], by_language)  # type: ignore[arg-type]
    server = edge(rules=RULES.replace('selector: "h1"', 'selector: "footer"'))
    for lang in ("en", "de", "en", "de", "en"):
        r = visit(server, path, **{"accept-language": lang})
        assert f"<h1>Shop-{lang}</h1>".encode() in r.content
    assert origin.hits[path] == 2
    visit(server, path)  # no Accept-Language at all: a key of its own
    assert origin.hits[path] == 3


def test_logged_in_visitors_never_use_it_unless_the_page_is_the_same_for_everyone(
    origin: CountingOrigin, edge: Callable[..., Any]
) -> None:
    product = origin.add("/p/logged", PUBLIC)
    server = edge()
    visit(server, product, cookie="sessionid=abc")
    visit(server, product, cookie="wp_logged_in_12=x; other=1")
    visit(server, product, authorization="Basic dTpw")
    assert origin.hits[product] == 3  # none of them stored anything...
    visit(server, product)
    visit(server, product)
    assert origin.hits[product] == 4  # ...the first anonymous visitor fetched, the next one hit
    visit(server, product, cookie="sessionid=abc")
    assert origin.hits[product] == 5  # and a logged-in one does not read what anonymous ones share
    home = origin.add("/", PUBLIC)  # `same_for_everyone: [home]`
    for cookie in ("sessionid=abc", "sessionid=def", ""):
        r = visit(server, home, cookie=cookie)
        assert b"Welcome back</h1>" in r.content
    assert origin.hits[home] == 1


TYPED = """
catalog:
  product_pages: "/{product}.html"
  category_pages: "/{category}.html"
  page_types: {product: "body.product-view", category: "body.category-view"}
cache:
  login_cookies: [sessionid]
  same_for_everyone: [%s]
slots: []
"""


@pytest.mark.parametrize("shared, fetches", [("product", 2), ("category", 2), ("product, category, other", 1)],
                         ids=["product-only", "category-only", "every-type-it-may-be"])
def test_a_page_whose_markup_says_its_type_is_shared_when_logged_in_only_if_every_type_it_may_be_is(
    origin: CountingOrigin, edge: Callable[..., Any], shared: str, fetches: int
) -> None:
    """The cache is asked before the page is read: ``/x.html`` may be a product (or neither), whatever its
    markup turns out to say, so ``same_for_everyone: [category]`` alone does not share it."""
    body = page("Men").replace(b"<body>", b'<body class="category-view">')
    path = origin.add(f"/typed-{shared.replace(', ', '-')}.html", PUBLIC, body)
    server = edge(rules=TYPED % shared)
    for cookie in ("sessionid=abc", "sessionid=def"):
        assert visit(server, path, cookie=cookie).status_code == 200
    assert origin.hits[path] == fetches


def test_rules_without_slots_still_use_it_and_zero_mb_turns_it_off(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = origin.add("/p/norules", PUBLIC)
    server = edge(rules="slots: []\n")
    visit(server, path)
    visit(server, path)
    assert origin.hits[path] == 1  # rules without slots still tag the page: the cache applies
    path2 = origin.add("/p/off", PUBLIC)
    off = edge(html_cache_mb=0)
    visit(off, path2)
    visit(off, path2)
    assert origin.hits[path2] == 2


def test_etag_revalidation_reuses_the_page_on_304(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = origin.add("/p/etag", [("cache-control", "no-cache")], page("Old"), etag='"v1"')
    server = edge()
    first = visit(server, path)
    assert b"<h1" in first.content and "cache;desc=miss" in first.headers["server-timing"]
    again = [visit(server, path) for _ in range(3)]
    assert origin.hits[path] == 4 and origin.not_modified[path] == 3  # asked every time (no-cache), body once
    for r in again:
        assert r.status_code == 200 and b"Welcome back</h1>" in r.content and b"goods" in r.content
        assert "cache;desc=revalidated" in r.headers["server-timing"] and "etag" not in r.headers
    asked = [h for h in origin.seen if h.get("if-none-match")]
    assert asked and all(h["if-none-match"] == '"v1"' for h in asked)
    origin.add(path, [("cache-control", "no-cache")], page("New").replace(b"<h1>New</h1>", b"<h1>New</h1><p>v2</p>"),
               etag='"v2"')
    changed = visit(server, path)
    assert b"<p>v2</p>" in changed.content and "cache;desc=miss" in changed.headers["server-timing"]
    assert b"<p>v2</p>" in visit(server, path).content and origin.not_modified[path] == 4


def test_a_visitor_revalidating_their_own_copy_goes_to_the_store_unless_a_slot_could_change_the_page(
        origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    """The store's 304 speaks for its page, not Slotwise's (``conditional``): a page a slot could change is
    served from the cache as to anyone; another page's revalidation, and a range, go to the store."""
    path = origin.add("/p/own", PUBLIC, etag='"mine"')
    server = edge()
    visit(server, path)
    r = visit(server, path, **{"if-none-match": '"mine"'})
    assert r.status_code == 200 and "cache;desc=hit" in r.headers["server-timing"] and origin.hits[path] == 1
    visit(server, path, range="bytes=0-10")
    assert origin.hits[path] == 2
    other = origin.add("/x/own", PUBLIC, etag='"theirs"')  # no slot's page
    visit(server, other)
    r = visit(server, other, **{"if-none-match": '"theirs"'})
    assert r.status_code == 304 and origin.hits[other] == 2


def test_expiry_age_expires_and_s_maxage(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    server = edge()
    short = origin.add("/p/short", [("cache-control", "public, max-age=1")])
    visit(server, short)
    visit(server, short)
    assert origin.hits[short] == 1
    time.sleep(1.3)
    visit(server, short)
    assert origin.hits[short] == 2  # stale, nothing to revalidate with: fetched again
    aged = origin.add("/p/aged", [("cache-control", "public, max-age=60"), ("age", "100")])
    visit(server, aged)
    visit(server, aged)
    assert origin.hits[aged] == 2  # already older than its max-age when it came
    expired = origin.add("/p/expired", [("expires", "Thu, 01 Jan 1970 00:00:00 GMT")])
    visit(server, expired)
    visit(server, expired)
    assert origin.hits[expired] == 2
    shared = origin.add("/p/shared", [("cache-control", "max-age=0, s-maxage=60")])
    visit(server, shared)
    visit(server, shared)
    assert origin.hits[shared] == 1


def test_the_byte_bound_evicts_the_least_recently_used(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    paths = [origin.add(f"/p/big{i}", PUBLIC, page(f"Big{i}", 30_000)) for i in range(3)]
    server = edge(html_cache_mb=0.07)  # ~73 KB: two 30 KB pages fit, not three
    for path in paths:
        visit(server, path)
    assert [origin.hits[p] for p in paths] == [1, 1, 1]
    visit(server, paths[2])
    visit(server, paths[1])
    assert [origin.hits[p] for p in paths] == [1, 1, 1]
    visit(server, paths[0])  # evicted when the third came in
    assert origin.hits[paths[0]] == 2
    text = httpx.get(server.url + "/_sw/metrics").text
    held = float(re.search(r"^slotwise_html_cache_bytes (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert 60_000 < held <= 0.07 * 1024 * 1024


def test_concurrent_misses_make_one_fetch(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = origin.add("/p/flight", PUBLIC, delay=0.5)
    server = edge()

    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as c:
            return await asyncio.gather(*(c.get(path, headers={"user-agent": UA}) for _ in range(12)))

    answers = asyncio.run(many())
    assert origin.hits[path] == 1
    assert all(r.status_code == 200 and b"Welcome back</h1>" in r.content for r in answers)
    assert len({DECISION.findall(r.content)[0] for r in answers}) == 12


def test_concurrent_requests_share_one_revalidation(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = origin.add("/p/flight-etag", [("cache-control", "no-cache")], etag='"r1"', delay=0.4)
    server = edge()

    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as c:
            return await asyncio.gather(*(c.get(path, headers={"user-agent": UA}) for _ in range(8)))

    assert all(r.status_code == 200 for r in asyncio.run(many()))
    assert origin.hits[path] == 1  # they waited for the first fetch and used it, just validated
    answers = asyncio.run(many())
    assert origin.hits[path] == 2 and origin.not_modified[path] == 1
    assert all(b"Welcome back</h1>" in r.content for r in answers)


def test_concurrent_requests_for_an_uncacheable_page_each_reach_the_store(
    origin: CountingOrigin, edge: Callable[..., Any]
) -> None:
    path = origin.add("/p/flight-private", [("cache-control", "private")], delay=1.0)
    server = edge()

    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as c:
            return await asyncio.gather(*(c.get(path, headers={"user-agent": UA}) for _ in range(6)))

    answers = asyncio.run(many())
    assert origin.hits[path] == 6 and all(r.status_code == 200 for r in answers)
    # they waited for the first one's head, then went together (in a queue the origin held one at a time)
    assert origin.peak[path] == 5


def test_codings_one_fetch_each_visitor_gets_what_it_accepts(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    body = page("Zipped")
    path = origin.add("/p/gz", PUBLIC + [("content-encoding", "gzip"), ("vary", "Accept-Encoding")],
                      gzip.compress(body))
    server = edge()
    zipped = visit(server, path, **{"accept-encoding": "gzip"})
    plain = visit(server, path, **{"accept-encoding": "identity"})
    assert origin.hits[path] == 1
    assert zipped.headers["content-encoding"] == "gzip" and b"Welcome back</h1>" in zipped.content
    assert "content-encoding" not in plain.headers and b"Welcome back</h1>" in plain.content
    assert int(plain.headers["content-length"]) == len(plain.content)


def test_a_page_only_tagged_keeps_the_store_caching_with_its_age(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = origin.add("/about", PUBLIC)  # no slot applies here: the same page for every visitor
    server = edge()
    with httpx.Client(base_url=server.url, trust_env=False, timeout=20) as c:
        c.get(path, headers={"user-agent": UA})  # a new visitor: gets their cookie (so: private)
        time.sleep(1.1)
        r = c.get(path, headers={"user-agent": UA})  # returning: the page is the same for everyone
    assert origin.hits[path] == 1
    assert r.headers["cache-control"] == "public, max-age=60" and int(r.headers["age"]) >= 1
    assert b"/_sw/tag" in r.content or b"<script" in r.content


def test_bots_and_head_requests(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    path = origin.add("/p/bots", PUBLIC)
    server = edge()
    visit(server, path)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=20) as c:
        bot = c.get(path, headers={"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})
        head = c.head(path, headers={"user-agent": UA})
    assert bot.content == page() and "sw_vid" not in bot.headers.get("set-cookie", "")  # the store's page, untouched
    assert "cache;desc=hit" in bot.headers["server-timing"]
    assert head.status_code == 200
    assert origin.hits[path] == 2  # HEAD goes to the store


def test_fails_open_when_the_cache_raises(
    origin: CountingOrigin, edge: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = origin.add("/p/broken", PUBLIC)
    server = edge()
    before = cache_counts(server)

    async def broken_lookup(self: HtmlCache, *args: Any, **kw: Any) -> Any:
        raise RuntimeError("cache on fire")

    monkeypatch.setattr(HtmlCache, "lookup", broken_lookup)
    answers = [visit(server, path) for _ in range(2)]
    assert origin.hits[path] == 2
    assert all(r.status_code == 200 and b"Welcome back</h1>" in r.content for r in answers)
    monkeypatch.undo()

    def broken_store(self: HtmlCache, *args: Any) -> bool:
        raise MemoryError("no room")

    monkeypatch.setattr(HtmlCache, "store", broken_store)
    path2 = origin.add("/p/broken-store", PUBLIC)
    answers = [visit(server, path2) for _ in range(2)]
    assert origin.hits[path2] == 2
    assert all(r.status_code == 200 and b"Welcome back</h1>" in r.content for r in answers)
    assert cache_counts(server).get("error", 0) - before.get("error", 0) == 4


def test_origin_failure_during_a_fetch_is_a_502_and_the_next_request_fetches_again(
    origin: CountingOrigin, edge: Callable[..., Any]
) -> None:
    server = edge(read_timeout=0.3)
    path = origin.add("/p/slow-once", PUBLIC, delay=1.0)
    r = visit(server, path)
    assert r.status_code == 504
    origin.add(path, PUBLIC)
    r = visit(server, path)
    assert r.status_code == 200 and b"Welcome back</h1>" in r.content


def test_other_content_is_never_kept_and_not_looked_up_again(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    css = b"body { color: red }"
    origin.pages["/static/site.css"] = Spec([("content-type", "text/css"), *PUBLIC], css)
    server = edge()
    answers = [visit(server, "/static/site.css") for _ in range(3)]
    assert origin.hits["/static/site.css"] == 3 and all(r.content == css for r in answers)
    assert all("server-timing" not in r.headers and r.headers["cache-control"] == PUBLIC[0][1] for r in answers)
    script = origin.add("/p/fetched-by-script", PUBLIC)
    visit(server, script, **{"sec-fetch-dest": "empty"})
    visit(server, script, **{"x-requested-with": "XMLHttpRequest"})
    assert origin.hits[script] == 2  # a script's fetch is not a page: the store answers it


def test_a_page_that_may_not_be_kept_is_passed_by_not_queued_for(
    origin: CountingOrigin, edge: Callable[..., Any]
) -> None:
    """Once the store said ``no-store``, concurrent requests go to it at once (hit-for-pass), not one
    fetch after another: without it each waited for the previous one's head only to learn it again."""
    path = origin.add("/p/passed-by", [("cache-control", "no-store")], delay=1.0)
    server = edge()
    assert b"Welcome back</h1>" in visit(server, path).content  # learns the page is not kept

    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=30) as c:
            return await asyncio.gather(*(c.get(path, headers={"user-agent": UA}) for _ in range(6)))

    before = cache_counts(server)
    answers = asyncio.run(many())
    assert origin.hits[path] == 7 and all(b"Welcome back</h1>" in r.content for r in answers)
    assert origin.peak[path] == 6  # one wave; queued behind each other's heads the origin held one at a time
    assert cache_counts(server).get("uncacheable", 0) - before.get("uncacheable", 0) == 6  # still counted


def test_a_set_cookie_answer_does_not_pass_the_url_by(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    """Set-Cookie is often for one visitor: the next request looks the page up (and may keep it)."""
    path = origin.add("/p/cookie-then-public", PUBLIC + [("set-cookie", "first=1; Path=/")])
    server = edge()
    visit(server, path)
    origin.add(path, PUBLIC)
    before = cache_counts(server)
    visit(server, path)
    visit(server, path)
    after = cache_counts(server)
    assert origin.hits[path] == 2
    assert after.get("miss", 0) - before.get("miss", 0) == 1 and after.get("hit", 0) - before.get("hit", 0) == 1


@pytest.mark.parametrize(("reason", "lasting"), [
    ("no-store", True), ("private", True), ("vary: *", True), ("neither fresh nor revalidatable", True),
    ("surrogate-control: no-store", True), ("cdn-cache-control: private", True),
    ("set-cookie", False), ("status 500", False), ("authorization", False),
])
def test_which_refusals_pass_a_url_by(reason: str, lasting: bool) -> None:
    assert lasting_refusal(reason) is lasting


def test_a_keepable_answer_after_a_refusal_is_kept(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    """Hit-for-miss, not hit-for-pass: one visitor's ``private`` page does not stop the cache for the
    next visitors when the store's next answer may be kept."""
    path = origin.add("/p/private-then-public", [("cache-control", "private")])
    server = edge()
    visit(server, path)  # refused: the URL is passed by
    origin.add(path, PUBLIC)
    before = cache_counts(server)
    visit(server, path)  # fetched at once, and kept
    visit(server, path)
    after = cache_counts(server)
    assert origin.hits[path] == 2
    assert after.get("hit", 0) - before.get("hit", 0) == 1


def test_a_passed_by_url_is_looked_up_again_after_the_pass_time() -> None:
    now = [1000.0]
    cache = HtmlCache(1 << 20, clock=lambda: now[0])

    async def lead() -> bool:
        lookup = await cache.lookup("GET", "http", "shop", "/p/1", [], wait_s=1.0)
        leads = lookup.lead
        cache.release(lookup)
        return leads

    assert asyncio.run(lead())
    cache.pass_by("GET", "http", "shop", "/p/1")
    assert not asyncio.run(lead())
    now[0] += 9.0
    assert not asyncio.run(lead())
    now[0] += 2.0
    assert asyncio.run(lead())


def test_what_a_stored_page_is_read_once_holds_for_every_visitor(origin: CountingOrigin, edge: Callable[..., Any]) -> None:
    """A stored page's copy and its facts (charset, document or fragment) are kept with it: a fragment
    stays the store's bytes for every visitor, a document is personalized for each, with its own length."""
    fragment = origin.add("/c/fragment", PUBLIC, b"<h1>Shop</h1><p>just a piece</p>")
    document = origin.add("/c/latin", [("cache-control", "public, max-age=60")],
                          page("Caf\xe9").replace(b"<head>", b'<head><meta charset="iso-8859-1">').replace(
                              "Caf\xe9".encode(), "Caf\xe9".encode("latin-1")))
    origin.pages[document].headers = [("content-type", "text/html"), *PUBLIC]  # the charset only in the page
    server = edge()
    for _ in range(3):
        r = visit(server, fragment)
        assert r.content == b"<h1>Shop</h1><p>just a piece</p>" and r.headers["cache-control"] == "public, max-age=60"
        d = visit(server, document)
        assert b"Welcome back</h1>" in d.content and DECISION.search(d.content)
        assert "Caf\xe9".encode("latin-1") in d.content  # the page's own charset kept
        assert int(d.headers["content-length"]) == len(d.content) and d.headers["cache-control"] == "private, no-cache"
    assert origin.hits[fragment] == 1 and origin.hits[document] == 1


def test_a_passed_by_url_is_re_armed_only_past_half_its_pass_time() -> None:
    """An uncacheable page's every view passed its URL by again (a write per view); now a view re-arms
    the pass only when it is older than half its time, and a URL asked for often enough stays passed by."""
    now = [1000.0]
    cache = HtmlCache(1 << 20, clock=lambda: now[0])

    async def look() -> Any:
        lookup = await cache.lookup("GET", "http", "shop", "/p/1", [], wait_s=1.0)
        lookup.led = lookup.lead  # ``release`` clears ``lead``
        cache.release(lookup)
        return lookup

    cache.pass_by("GET", "http", "shop", "/p/1")
    for step in (3.0, 1.0, 0.5):  # within half the pass time: the view leaves the pass as it was
        now[0] += step
        seen = asyncio.run(look())
        assert seen.passed and seen.passed_at == 1000.0
        cache.pass_by("GET", "http", "shop", "/p/1", seen)
    now[0] += 1.0  # 5.5 s after: re-armed by this view
    seen = asyncio.run(look())
    cache.pass_by("GET", "http", "shop", "/p/1", seen)
    assert asyncio.run(look()).passed_at == now[0]
    now[0] += 9.0  # 14.5 s after the first pass, 9 s after the second: still passed by
    seen = asyncio.run(look())
    assert seen.passed and not seen.led
    now[0] += 1.5  # the second pass is over: the URL is looked up again (leads a fetch)
    assert asyncio.run(look()).led


@pytest.mark.parametrize(("stored", "decoded"), [(b'"v1"', b'W/"v1"'), (b'W/"v1"', b'W/"v1"'), (b' "v1"', b'W/"v1"')])
def test_a_decoded_copy_s_etag_is_weak(stored: bytes, decoded: bytes) -> None:
    """The store's ETag names its gzip bytes; the copy decoded for a visitor who does not accept gzip is other
    bytes, which a strong ETag may not name (RFC 9110 §8.8.1): weak there, the stored coding's copy unchanged."""
    from slotwise.proxy.forwarding.cache_control import parse_cache_control
    from slotwise.proxy.forwarding.html_cache import new_page

    body = page("Zipped")
    headers = [(b"content-type", b"text/html"), (b"content-encoding", b"gzip"), (b"etag", stored),
               (b"cache-control", b"public, max-age=60")]
    cached = new_page(headers, body, gzip.compress(body), parse_cache_control([b"public, max-age=60"]), (), 0.0, 0.0)
    assert dict(cached.copy_for([b"gzip"]).headers)[b"etag"] == stored
    plain = cached.copy_for([b"identity"])
    assert dict(plain.headers)[b"etag"] == decoded and b"content-encoding" not in dict(plain.headers)
