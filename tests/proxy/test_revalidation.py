"""A visitor's (or a CDN's) conditional request for a page Slotwise may personalize is not answered by the
store's ``304``.

A page no slot changed keeps the store's validators when it goes out as the store's (a bot's page, one
that failed open); a CDN keeping it, or a browser holding the store's page from before, revalidates with
them once its freshness ends. The store says 304 (its page did not change) although Slotwise would now
personalize the page. Through the real proxy (its HTML cache off and on) with the personalizer's clock, in
front of a real store on 127.0.0.1 that honours ``If-None-Match``/``If-Modified-Since``: such a request goes
to the store unconditional and gets the page Slotwise makes now; Slotwise answers 304 itself only when the
page goes out as the store's with a validator that still matches. Requests no slot could touch (assets,
pages outside every slot's pages, a bot's) keep the store's 304, and the HTML cache's own revalidation
is untouched.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.conditional import asked_validators, not_modified, without_validators
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from agents import DESKTOP_UA
from page_server import Page, PageServer

BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"
AT_17 = dt.datetime(2026, 11, 26, 17, 30, tzinfo=dt.timezone.utc).timestamp()
AT_18 = dt.datetime(2026, 11, 26, 18, 5, tzinfo=dt.timezone.utc).timestamp()
RULES = """
timezone: UTC
slots:
  - id: evening
    pages: ["/", "/fragment", "/garbage", "/cached"]
    selector: ".hero"
    action: replace
    when: time.hour >= 18
    html: '<div class="hero">Evening</div>'
"""
PAGE = b'<!doctype html><html><head><title>Shop</title></head><body><div class="hero">Welcome</div></body></html>'
HTML = ("content-type", "text/html; charset=utf-8")
MODIFIED = "Mon, 02 Nov 2026 10:00:00 GMT"
KEPT = (HTML, ("cache-control", "public, max-age=600"), ("vary", "Accept-Encoding"))
STORE = {
    "/": Page(PAGE, headers=KEPT, etag='"v1"', last_modified=MODIFIED),
    "/about": Page(PAGE, headers=KEPT, etag='"a1"'),  # no slot's page
    "/static/app.css": Page(b"body{}", headers=(("content-type", "text/css"), ("cache-control", "public, max-age=60")),
                            etag='"c1"'),
    "/fragment": Page(b'<div class="hero">Hi</div>', headers=KEPT, etag='W/"f1"'),  # no document: goes out as the store's
    "/garbage": Page(status=304),  # a broken store: 304 to every request
    "/cached": Page(PAGE, headers=(HTML, ("cache-control", "no-cache")), etag='"n1"'),  # kept, revalidated each use
}
CONDITIONAL = ("if-none-match", "if-modified-since")


class Clock:
    def __init__(self) -> None:
        self.now = AT_17

    def __call__(self) -> float:
        return self.now


Get = Callable[..., httpx.Response]


@pytest.fixture(params=[0.0, 64.0], ids=["uncached", "html-cache"])
def edge(request: pytest.FixtureRequest, tmp_path: Path, asgi_server: Any,
         page_server: Any) -> Iterator[tuple[Get, Clock, PageServer]]:
    """The real proxy (its HTML cache off, then on) with RULES and a clock at 17:30, in front of STORE;
    ``get(path, agent, **headers)`` as a known visitor."""
    store = page_server(STORE)
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    settings = Settings(upstream=store.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"),
                        personalize_budget_ms=5000.0, html_cache_mb=request.param)
    clock = Clock()
    personalizer = SlotwisePersonalizer(settings, clock=clock)
    proxy = asgi_server(create_app(settings, personalizer))
    with ExitStack() as stack:
        client = stack.enter_context(httpx.Client(base_url=proxy.url, timeout=10, trust_env=False))
        client.cookies.set("sw_vid", personalizer.cookies.sign("revalidating-visitor"))

        def get(path: str, agent: str = DESKTOP_UA, **headers: str) -> httpx.Response:
            return client.get(path, headers={"user-agent": agent, **{k.replace("_", "-"): v for k, v in headers.items()}})

        yield get, clock, store


def conditional_seen(store: PageServer, path: str) -> list[dict[str, str]]:
    """The conditional headers of each request the store got for ``path``."""
    return [{k: v for k, v in seen.headers.items() if k in CONDITIONAL} for seen in store.requests if seen.path == path]


@pytest.mark.parametrize("asked", [
    {"if_none_match": '"v1"'}, {"if_none_match": 'W/"v1"'}, {"if_none_match": '"old", "v1"'},
    {"if_none_match": "*"}, {"if_modified_since": MODIFIED}, {"If-None-Match": '"v1"', "If-Modified-Since": MODIFIED},
], ids=["strong", "weak", "list", "star", "modified-since", "both"])
def test_a_page_revalidated_after_its_slot_starts_applying_gets_the_personalized_page(
        edge: Any, asked: dict[str, str]) -> None:
    get, clock, store = edge
    kept = get("/", agent=BOT)  # 17:30, a bot: the store's page, its validators and (capped) caching: a CDN keeps it
    assert kept.headers["etag"] == '"v1"' and "Welcome" in kept.text
    clock.now = AT_18  # the slot applies now; the CDN's copy has gone stale and is revalidated for a visitor
    r = get("/", **asked)
    assert r.status_code == 200 and "Evening" in r.text
    assert r.headers["cache-control"] == "private, no-cache" and "etag" not in r.headers
    assert all(not seen for seen in conditional_seen(store, "/"))  # the store was never asked about a copy


def test_before_the_slot_applies_the_page_still_comes_whole_and_tagged(edge: Any) -> None:
    """17:30: no slot changes the page, yet a visitor's page carries the tag (not the store's copy)."""
    get, _, store = edge
    r = get("/", if_none_match='"v1"')
    assert r.status_code == 200 and "Welcome" in r.text and "/_sw/" in r.text and "etag" not in r.headers


def test_a_bots_revalidation_still_gets_the_stores_304(edge: Any) -> None:
    get, clock, store = edge
    clock.now = AT_18
    r = get("/", agent=BOT, if_none_match='"v1"')
    assert r.status_code == 304 and r.headers["etag"] == '"v1"'
    assert conditional_seen(store, "/")[-1] == {"if-none-match": '"v1"'}


@pytest.mark.parametrize("path, tag, asked", [
    ("/static/app.css", '"c1"', {}), ("/about", '"a1"', {}), ("/", '"v1"', {"x_requested_with": "XMLHttpRequest"}),
], ids=["asset", "no-slot", "script"])
def test_what_no_slot_could_touch_keeps_the_stores_304(edge: Any, path: str, tag: str, asked: dict[str, str]) -> None:
    get, clock, store = edge
    clock.now = AT_18
    r = get(path, if_none_match=tag, **asked)
    assert r.status_code == 304 and r.headers["etag"] == tag and r.content == b""
    assert conditional_seen(store, path) == [{"if-none-match": tag}]  # asked the store, as without Slotwise


def test_a_page_that_goes_out_as_the_stores_is_answered_304_by_slotwise(edge: Any) -> None:
    """Not a full document: never personalized, it keeps the store's weak ETag; a visitor's copy that
    still matches gets Slotwise's own 304 with the caching the 200 had, an old copy the page."""
    get, clock, store = edge
    clock.now = AT_18
    r = get("/fragment", if_none_match='"f1"')  # weak comparison: "f1" matches W/"f1"
    assert r.status_code == 304 and r.content == b""
    assert r.headers["etag"] == 'W/"f1"' and r.headers["cache-control"] == "public, max-age=600"
    assert r.headers["vary"] == "Accept-Encoding" and "content-length" not in r.headers
    assert all(not seen for seen in conditional_seen(store, "/fragment"))  # the store sent the page
    old = get("/fragment", if_none_match='"f0"')
    assert old.status_code == 200 and old.text == '<div class="hero">Hi</div>'


@pytest.mark.parametrize("asked", [{}, {"if_none_match": '"v1"'}], ids=["unconditional", "conditional"])
def test_a_store_answering_304_to_an_unconditional_request_does_not_break_the_proxy(
        edge: Any, asked: dict[str, str]) -> None:
    """Fail open: the store's answer goes out as it is (there is no page to send), and the next pages work."""
    get, clock, store = edge
    clock.now = AT_18
    r = get("/garbage", **asked)
    assert r.status_code == 304 and r.content == b""
    assert all(not seen for seen in conditional_seen(store, "/garbage"))
    assert "Evening" in get("/").text


def test_the_html_caches_own_revalidation_is_unaffected(edge: Any, request: pytest.FixtureRequest) -> None:
    get, clock, store = edge
    clock.now = AT_18
    first = get("/cached")
    assert "Evening" in first.text and "etag" not in first.headers
    again = get("/cached", if_none_match='"n1"')  # the visitor's own copy: not the store's to answer
    assert again.status_code == 200 and "Evening" in again.text
    if request.node.callspec.params["edge"] > 0:  # the cache revalidated its copy with its own validator
        assert "cache;desc=revalidated" in again.headers["server-timing"]
        assert conditional_seen(store, "/cached") == [{}, {"if-none-match": '"n1"'}]
    else:
        assert conditional_seen(store, "/cached") == [{}, {}]


# -- the header rules, over header variations --------------------------------------------------------------

_TAGS = st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=8).map(lambda t: f'"{t}"')
_SPACE = st.sampled_from(["", " ", "  ", "\t"])


def _weak(tag: str, weak: bool) -> str:
    return f"W/{tag}" if weak else tag


@hsettings(max_examples=300, deadline=None)
@given(etag=_TAGS, weak_etag=st.booleans(), others=st.lists(_TAGS, max_size=4), listed=st.booleans(),
       weak_listed=st.booleans(), position=st.integers(0, 4), space=_SPACE, lines=st.booleans())
def test_if_none_match_uses_weak_comparison(etag: str, weak_etag: bool, others: list[str], listed: bool,
                                            weak_listed: bool, position: int, space: str, lines: bool) -> None:
    """RFC 9110 §13.1.2: a listed tag matches the page's whether either is weak, in one field line or
    several; nothing else matches."""
    tags = [t for t in others if t != etag]
    if listed:
        tags.insert(min(position, len(tags)), _weak(etag, weak_listed))
    tags = tags or ['"none"']
    fields = [(b"if-none-match", t.encode()) for t in tags] if lines else [
        (b"if-none-match", ("," + space).join(tags).encode())]
    asked = asked_validators([(b"accept", b"text/html"), *fields])
    assert asked is not None
    response = [(b"content-type", b"text/html"), (b"etag", _weak(etag, weak_etag).encode())]
    assert not_modified(asked, response) is listed


@hsettings(max_examples=100, deadline=None)
@given(hours=st.integers(-48, 48), with_etag=st.booleans())
def test_if_modified_since_counts_only_without_if_none_match(hours: int, with_etag: bool) -> None:
    """RFC 9110 §13.1.3: not modified when the page's Last-Modified is not after the date asked about;
    an If-None-Match decides alone (here it names another tag)."""
    modified = dt.datetime(2026, 11, 2, 10, tzinfo=dt.timezone.utc)
    since = (modified + dt.timedelta(hours=hours)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    asked_headers = [(b"if-modified-since", since.encode())] + ([(b"if-none-match", b'"other"')] if with_etag else [])
    asked = asked_validators(asked_headers)
    assert asked is not None
    response = [(b"etag", b'"v1"'), (b"last-modified", MODIFIED.encode()),
                (b"date", b"Thu, 26 Nov 2026 18:05:00 GMT")]
    assert not_modified(asked, response) is (hours >= 0 and not with_etag)


def test_a_garbled_date_or_a_page_without_validators_is_modified() -> None:
    for asked in ([(b"if-modified-since", b"yesterday")], [(b"if-none-match", b'"v1"')], [(b"if-none-match", b"*")]):
        validators = asked_validators(asked)
        assert validators is not None
        assert not not_modified(validators, [(b"content-type", b"text/html")])
    future = asked_validators([(b"if-modified-since", b"Fri, 27 Nov 2026 10:00:00 GMT")])  # after the page's Date
    assert future is not None and not not_modified(future, [(b"last-modified", MODIFIED.encode()),
                                                            (b"date", b"Thu, 26 Nov 2026 18:05:00 GMT")])
    assert asked_validators([(b"if-match", b'"v1"'), (b"if-range", b'"v1"'), (b"range", b"bytes=0-1")]) is None


@hsettings(max_examples=200, deadline=None)
@given(headers=st.lists(st.tuples(st.sampled_from([b"accept", b"cookie", b"if-none-match", b"if-modified-since",
                                                   b"if-match", b"x-if-none-match", b"if-range"]),
                                  st.binary(max_size=6)), max_size=8), upper=st.booleans())
def test_dropping_the_validators_keeps_every_other_header_in_order(headers: list[tuple[bytes, bytes]],
                                                                    upper: bool) -> None:
    """The visitor's names as ASGI gives them (lower-case) are read; the store's request drops them in any case."""
    assert (asked_validators(headers) is None) is all(n not in (b"if-none-match", b"if-modified-since") for n, _ in headers)
    sent = [(n.title() if upper else n, v) for n, v in headers]
    kept = without_validators(sent)
    assert kept == [(n, v) for n, v in sent if n.lower() not in (b"if-none-match", b"if-modified-since")]
