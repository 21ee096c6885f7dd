"""The upstream HTML cache: one fetch of a page the store marks cacheable, personalized for many visitors.

What is kept is the store's page *before* personalization — its decoded HTML,
its bytes as the store encoded them, and its headers — never a personalized
response. It behaves like a shared cache (RFC 9111) that never serves a stale
page:

* a request may use it (``request_refusal``): a GET without a body or a
  ``Range``, a navigation (not a script's fetch), and not logged in — the
  personalizer decides that from the rules (``Authorization``, the login
  cookies they name, unless the page is the same for everyone);
* a response is kept (``refusal``): a 200 HTML page without ``Set-Cookie``,
  ``no-store``, ``private`` or ``Vary: *``, that is fresh for a while
  (``s-maxage`` over ``max-age`` over ``Expires``, less its ``Age``) or can be
  revalidated (``ETag``/``Last-Modified``); ``no-cache`` keeps it but
  revalidates every use;
* it is filed under the key a shared cache uses: method, scheme, host, path
  and query, and the values of the request headers the response's ``Vary``
  names (``Accept-Encoding`` aside: each visitor gets a coding it accepts);
* a stale page is revalidated with ``If-None-Match``/``If-Modified-Since``; a
  304 refreshes it (``must-revalidate`` is thus always honoured);
* concurrent misses for one key make one upstream fetch (``lookup``: the
  first request leads, the others wait for it, then look again);
* a URL whose page says no shared cache may keep it (``no-store``,
  ``private``, ``Vary: *``, no lifetime and no validator: ``lasting_refusal``)
  is a "hit-for-miss" for ``_PASS_TTL`` seconds: its requests go to the store
  at once instead of queueing behind each other's fetch (each wait only to
  learn again that the page is not kept), and an answer that may be kept is
  still stored (one visitor's ``private`` page does not stop the cache for
  everyone else);
* it is bounded in bytes (least recently used pages go first).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable

from cachetools import TTLCache

from slotwise.lru import LRUCache

from slotwise.proxy.forwarding.cache_control import (
    CacheControl, Headers, accepts, cache_key, freshness_lifetime, initial_age, parse_cache_control, parse_vary,
    primary_key, values,
)

_STORED_DROP = frozenset({b"age", b"set-cookie", b"content-length"})  # recomputed per use, or never kept
_NOT_MERGED = frozenset({b"content-length", b"content-encoding", b"content-type", b"transfer-encoding",
                         b"content-range", b"set-cookie", b"age"})  # a 304 never changes what the body is
_TARGETED = (b"cdn-cache-control", b"surrogate-control")  # aimed at surrogates like us: they may only restrict
_OVERHEAD = 512  # bytes counted per page besides its bodies and headers (key, object)
_KEYS_KEPT = 65_536  # primary keys whose Vary names are remembered
_NOT_PAGES_KEPT = 16_384  # URLs known to answer something else than HTML: not looked up for a while
_NOT_PAGES_TTL = 300.0
_LASTING = frozenset({"no-store", "private", "vary: *", "neither fresh nor revalidatable"})
_TARGETED_PREFIXES = tuple(f"{name.decode()}:" for name in _TARGETED)
_PASS_TTL = 10.0  # how long a URL whose page may not be kept goes straight to the store


@dataclass(frozen=True)
class VisitorCopy:
    """What a stored page sends a visitor who accepts (or not) its coding, but for its ``Age``:
    the same for every such visitor, so made once per page (``CachedPage.copy_for``)."""

    body: bytes
    headers: Headers  # the store's headers as forwarded, with this body's Content-Length
    text: tuple[tuple[str, str], ...]  # the same, decoded (latin-1), for ``Flow.response_headers``
    derived: dict[str, Headers] = field(default_factory=dict, compare=False, repr=False)  # headers made from these, kept


@dataclass(eq=False)
class CachedPage:
    """One stored upstream page (before personalization) and what its freshness is made of."""

    headers: Headers  # the store's headers as the proxy forwards them, minus Age, Set-Cookie, Content-Length
    html: bytes  # decoded
    raw: bytes  # as the store encoded it (the same object as ``html`` when not encoded)
    coding: str | None  # the store's Content-Encoding
    vary: tuple[bytes, ...]
    lifetime: float
    initial_age: float
    response_time: float
    size: int = 0
    validators: Headers = field(default_factory=list)  # If-None-Match / If-Modified-Since to revalidate
    copies: dict[bool, VisitorCopy] = field(default_factory=dict, repr=False)  # by "the coding is kept"
    facts: tuple[str, bool] | None = field(default=None, repr=False)  # forward_html.document_facts, once

    def age(self, now: float) -> float:
        return self.initial_age + max(0.0, now - self.response_time)

    def fresh(self, now: float) -> bool:
        return self.age(now) < self.lifetime

    def for_visitor(self, accept_encoding: list[bytes], now: float) -> tuple[VisitorCopy, tuple[bytes, bytes]]:
        """The stored page as the store would send it to this visitor — its coding if accepted, else
        identity, with ``Content-Length`` of those bytes (``copy_for``) — and the copy's ``Age`` header."""
        return self.copy_for(accept_encoding), self.age_header(now)

    def copy_for(self, accept_encoding: list[bytes]) -> VisitorCopy:
        """What every visitor of this coding choice gets but ``Age``: made once per page and choice."""
        keep = not self.coding or all(accepts(accept_encoding, c.strip()) for c in self.coding.split(","))
        copy = self.copies.get(keep)
        if copy is None:
            headers = self.headers if keep else [(n, _weak(v) if n == b"etag" else v) for n, v in self.headers
                                                 if n != b"content-encoding"]
            body = self.raw if keep else self.html
            headers = [*headers, (b"content-length", str(len(body)).encode())]
            copy = self.copies[keep] = VisitorCopy(
                body, headers, tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in headers))
        return copy

    def age_header(self, now: float) -> tuple[bytes, bytes]:
        return (b"age", str(int(self.age(now))).encode())


def _weak(etag: bytes) -> bytes:
    """A decoded copy's ETag: the store's names its encoded bytes, and a strong one must name exact bytes
    (RFC 9110 §8.8.1); weak, it still revalidates (``If-None-Match`` compares weakly), as nginx's gunzip does."""
    return etag if etag.lstrip()[:2].upper() == b"W/" else b"W/" + etag.strip()


def new_page(
    headers: Headers, html: bytes, raw: bytes, cc: CacheControl, vary: tuple[bytes, ...],
    request_time: float, response_time: float,
) -> CachedPage:
    """A page to store, from a response ``refusal`` accepted."""
    coding = next(iter(values(headers, b"content-encoding")), None)
    kept = [(n, v) for n, v in headers if n not in _STORED_DROP]
    validators = _validators(kept)
    page = CachedPage(
        headers=kept, html=html, raw=raw if coding else html, coding=coding.decode("latin-1") if coding else None,
        vary=vary, lifetime=_lifetime(cc, headers), initial_age=initial_age(headers, request_time, response_time),
        response_time=response_time, validators=validators,
    )
    page.size = _size(page)
    return page


def refreshed(page: CachedPage, not_modified: Headers, request_time: float, response_time: float) -> CachedPage:
    """The page after a 304: its headers updated with the 304's (RFC 9111 §4.3.4), freshness anew."""
    update = {n for n, _ in not_modified if n not in _NOT_MERGED}
    merged = [(n, v) for n, v in page.headers if n not in update]
    merged += [(n, v) for n, v in not_modified if n in update and n not in _STORED_DROP]
    cc = parse_cache_control(values(merged, b"cache-control"))
    fresh = CachedPage(
        headers=merged, html=page.html, raw=page.raw, coding=page.coding, vary=page.vary,
        lifetime=_lifetime(cc, merged), initial_age=initial_age(not_modified, request_time, response_time),
        response_time=response_time, validators=_validators(merged),
    )
    fresh.size = _size(fresh)
    return fresh


def _lifetime(cc: CacheControl, headers: Headers) -> float:
    lifetime = freshness_lifetime(cc, headers)
    for name in _TARGETED:
        targeted = values(headers, name)
        if targeted:
            tcc = parse_cache_control(targeted)
            for age in (tcc.s_maxage, tcc.max_age):
                if age is not None:
                    lifetime = min(lifetime, float(age))
            if tcc.no_cache:
                lifetime = 0.0
    return lifetime


def _validators(headers: Headers) -> Headers:
    out: Headers = []
    etag = values(headers, b"etag")
    if etag:
        out.append((b"if-none-match", etag[0]))
    modified = values(headers, b"last-modified")
    if modified:
        out.append((b"if-modified-since", modified[0]))
    return out


def _size(page: CachedPage) -> int:
    headers = sum(len(n) + len(v) for n, v in page.headers)
    return len(page.html) + (len(page.raw) if page.raw is not page.html else 0) + headers + _OVERHEAD


def lasting_refusal(reason: str) -> bool:
    """A ``refusal`` that says what the page is, not what this one answer was: the URL is passed by a while.

    Not a status (a 500 passes), ``Set-Cookie`` (often set for one visitor) or
    ``Authorization`` (the request's own): those are looked up again next time.
    """
    return reason in _LASTING or reason.startswith(_TARGETED_PREFIXES)


def refusal(status: int, headers: Headers, *, authorized: bool) -> str | None:
    """Why a response may not be stored by a shared cache, or None when it may.

    Conservative: 200 only; ``private`` and ``no-cache`` with field names count
    whole; a ``Surrogate-Control``/``CDN-Cache-Control`` may refuse too. A
    response to a request with ``Authorization`` needs ``public``,
    ``s-maxage`` or ``must-revalidate`` (RFC 9111 §3.5).
    """
    if status != 200:
        return f"status {status}"
    if values(headers, b"set-cookie"):
        return "set-cookie"
    cc = parse_cache_control(values(headers, b"cache-control"))
    if cc.no_store:
        return "no-store"
    if cc.private:
        return "private"
    for name in _TARGETED:
        targeted = parse_cache_control(values(headers, name))
        if targeted.no_store or targeted.private:
            return f"{name.decode()}: {'no-store' if targeted.no_store else 'private'}"
    if parse_vary(values(headers, b"vary")) is None:
        return "vary: *"
    if authorized and not (cc.public or cc.s_maxage is not None or cc.must_revalidate):
        return "authorization"
    if _lifetime(cc, headers) <= 0 and not _validators(headers):
        return "neither fresh nor revalidatable"
    return None


@dataclass
class Lookup:
    """What the cache has for one request, and whether this request fetches for everyone waiting.

    ``page``: a fresh page to serve, or a stale one to revalidate (``lead``).
    ``lead``: this request fetches the page; it must ``HtmlCache.release`` it.
    Neither: fetch uncached (waited too long, or the key keeps changing).
    ``passed``: fetch at once without leading (the URL's page was not to be kept
    lately: ``pass_by``), and store the answer if it may be kept; ``passed_at``: when
    the URL was passed by (``HtmlCache.pass_by`` re-arms it only past half its time).
    """

    key: tuple[object, ...] | None
    page: CachedPage | None = None
    fresh: bool = False
    lead: bool = False
    passed: bool = False
    passed_at: float = 0.0


class HtmlCache:
    """Pages by key, bounded in bytes, with one fetch per key at a time."""

    def __init__(self, max_bytes: int, *, clock: Callable[[], float] = time.time) -> None:
        self.max_bytes = max_bytes
        self.clock = clock
        self.pages: LRUCache[tuple[object, ...], CachedPage] = LRUCache(max_bytes, getsizeof=lambda p: p.size)
        self.vary: LRUCache[tuple[str, str, str, str], tuple[bytes, ...]] = LRUCache(_KEYS_KEPT)
        self.not_pages: TTLCache[tuple[str, str, str, str], bool] = TTLCache(_NOT_PAGES_KEPT, _NOT_PAGES_TTL)
        self.passed: TTLCache[tuple[str, str, str, str], float] = TTLCache(_NOT_PAGES_KEPT, _PASS_TTL, timer=clock)
        self.flights: dict[tuple[object, ...], asyncio.Future[None]] = {}

    @property
    def bytes(self) -> int:
        return int(self.pages.currsize)

    def key(self, primary: tuple[str, str, str, str], request_headers: Headers) -> tuple[object, ...]:
        """The full key: the URL's, and the values of the headers its last stored response varied on."""
        names = self.vary.get(primary, ())
        return cache_key(*primary, names, request_headers)

    async def lookup(self, method: str, scheme: str, host: str, target: str, request_headers: Headers,
                     wait_s: float | None) -> Lookup:
        """A fresh page, or the lead on fetching it, or (after waiting on another request's fetch
        longer than ``wait_s``) nothing: fetch uncached."""
        primary = primary_key(method, scheme, host, target)
        if primary in self.not_pages:
            return Lookup(None)
        waited_since: float | None = None
        for _ in range(3):  # the key may change once the first response tells what it varies on
            key = self.key(primary, request_headers)
            page = self.pages.get(key)
            now = self.clock()
            if page is not None and page.fresh(now):
                return Lookup(key, page, fresh=True)
            passed_at = self.passed.get(primary)  # also after a wait: the fetch waited on may have passed it by
            if passed_at is not None:  # fetch at once, and keep the answer if it may be kept
                return Lookup(key, page, passed=True, passed_at=passed_at)
            if page is not None and waited_since is not None and page.response_time >= waited_since:
                return Lookup(key, page, fresh=True)  # fetched or revalidated while we waited: good for us too
            flight = self.flights.get(key)
            if flight is None:
                self.flights[key] = asyncio.get_running_loop().create_future()
                return Lookup(key, page, lead=True)
            waited_since = now
            try:
                await asyncio.wait_for(asyncio.shield(flight), wait_s)
            except TimeoutError:
                return Lookup(None)
        return Lookup(None)

    def release(self, lookup: Lookup) -> None:
        """The leader is done (stored or not): the requests waiting on it look again."""
        if not lookup.lead or lookup.key is None:
            return
        lookup.lead = False
        flight = self.flights.pop(lookup.key, None)
        if flight is not None and not flight.done():
            flight.set_result(None)

    def store(self, primary: tuple[str, str, str, str], request_headers: Headers, page: CachedPage) -> bool:
        """Files the page under its key (its Vary names now known); False when it is larger than the cache."""
        if page.size > self.max_bytes:
            return False
        self.vary[primary] = page.vary
        self.pages[cache_key(*primary, page.vary, request_headers)] = page
        self.passed.pop(primary, None)  # it may be kept after all: requests wait on one fetch again
        return True

    def drop(self, key: tuple[object, ...] | None) -> None:
        if key is not None:
            self.pages.pop(key, None)

    def not_a_page(self, method: str, scheme: str, host: str, target: str) -> None:
        """This URL answered something else than HTML: skip the cache for it a while."""
        self.not_pages[primary_key(method, scheme, host, target)] = True

    def pass_by(self, method: str, scheme: str, host: str, target: str, lookup: Lookup | None = None) -> None:
        """This URL's page may not be kept (``lasting_refusal``): for ``_PASS_TTL`` s its requests do not wait
        on each other's fetch (hit-for-miss).

        ``lookup``: the request's own; when it found the URL passed by less than half ``_PASS_TTL`` ago,
        the pass stands as it is (an uncacheable page's every view re-armed it: a ``TTLCache`` write,
        ~3 µs, and the key made again, for nothing); past half its time it is re-armed, so a URL
        asked for at least every ``_PASS_TTL / 2`` s stays passed by, as before."""
        now = self.clock()
        if lookup is not None and lookup.passed and now - lookup.passed_at < _PASS_TTL / 2:
            return
        self.passed[primary_key(method, scheme, host, target)] = now
