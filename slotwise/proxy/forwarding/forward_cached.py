"""The forwarding step in front of the origin for pages the store lets a shared cache keep (``html_cache``).

For a request that may use the cache (a GET navigation without body or
``Range``, not logged in as the personalizer reads the rules):

* a fresh stored page is personalized and sent; the origin is not asked;
* a stale one is revalidated (``If-None-Match``/``If-Modified-Since``): a 304
  refreshes it, anything else replaces it or goes through uncached;
* none: this request fetches for every request of the same key arriving
  meanwhile (they wait, then use the stored page). A storable answer is read
  whole, decoded, stored, then personalized like a hit; any other answer goes
  the usual way (``Forwarder.respond``), and the waiting requests make their
  own.

A request with its own conditional or range headers goes uncached (the
store answers it about the visitor's copy); one for a page the personalizer
could change comes here without its validators (``conditional``). A personalized page goes out ``private, no-cache`` as
always (``headers.personalized``); one only tagged keeps the store's caching
with the ``Age`` of the copy. ``Server-Timing`` says ``cache;desc=hit``,
``revalidated`` or ``miss`` on a page served from the cache; an uncacheable
answer goes out exactly as without a cache (its reason is logged at debug).

Fail open: an exception in the cache itself (not the origin's failures, which
are 502/504 as always) counts ``slotwise_html_cache{outcome="error"}``, is
logged once, and the request is served uncached.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, AsyncIterator, Iterable

from slotwise.proxy.operations import metrics
from slotwise.proxy.forwarding.cache_control import parse_cache_control, parse_vary, primary_key, values
from slotwise.proxy.forwarding.documents import fragment_request, is_html
from slotwise.proxy.forwarding.encoding import decode
from slotwise.proxy.forwarding.errors import DecodeError
from slotwise.proxy.flow import Flow
from slotwise.proxy.forwarding.forward_html import document_facts
from slotwise.proxy.forwarding.forward_stream import Receive, Responder
from slotwise.proxy.forwarding.headers import Headers, first, with_ours
from slotwise.proxy.forwarding.html_cache import CachedPage, HtmlCache, Lookup, lasting_refusal, new_page, refreshed, refusal

if TYPE_CHECKING:
    from slotwise.proxy.forwarding.forward_http import Forwarder
    from slotwise.proxy.forwarding.upstream import UpstreamResponse

log = logging.getLogger("slotwise.proxy")

_VISITORS_OWN = frozenset({b"if-none-match", b"if-modified-since", b"if-match", b"if-unmodified-since",
                           b"if-range", b"range"})  # about the visitor's own copy: such a request goes uncached


async def _chunks(head: Iterable[bytes], rest: AsyncIterator[bytes] | None = None) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    if rest is not None:
        async for chunk in rest:
            yield chunk


class CachedPages:
    def __init__(self, cache: HtmlCache, forwarder: "Forwarder") -> None:
        self.cache = cache
        self.fwd = forwarder
        self.limit = forwarder.settings.max_html_bytes
        self._logged: set[str] = set()

    # -- may this request use the cache? --------------------------------------------

    def eligible(self, flow: Flow, upstream_headers: Headers) -> bool:
        if flow.method != "GET" or flow.wants_response:  # a request the rules capture needs the store's own answer
            return False
        if any(n.lower() in _VISITORS_OWN for n, _ in upstream_headers) or fragment_request(flow) is not None:
            return False  # a range, or a revalidation of the visitor's own copy: the store answers it
        return self.fwd.safe.html_cache_allowed(flow)

    async def forward(
        self, receive: Receive, out: Responder, flow: Flow, target: str, upstream_headers: Headers,
        head_timeout: float | None,
    ) -> bool:
        """True when the request was answered here; False: forward it uncached (nothing was sent yet)."""
        try:
            if not self.eligible(flow, upstream_headers):
                return False
            lookup = await self.cache.lookup("GET", flow.scheme, flow.public_host, target, upstream_headers,
                                             wait_s=head_timeout or 60.0)
        except Exception as exc:  # noqa: BLE001 — the cache fails open
            self._failed(exc)
            return False
        if lookup.fresh and lookup.page is not None:
            await self._serve(out, flow, lookup.page, "hit")
            return True
        if not lookup.lead and not lookup.passed:
            return False
        try:
            await self._fetch(receive, out, flow, target, upstream_headers, head_timeout, lookup)
        finally:
            self.cache.release(lookup)
        return True

    # -- the fetch for everyone -------------------------------------------------------

    async def _fetch(
        self, receive: Receive, out: Responder, flow: Flow, target: str, upstream_headers: Headers,
        head_timeout: float | None, lookup: Lookup,
    ) -> None:
        stale = lookup.page if lookup.page is not None and lookup.page.validators else None
        headers = upstream_headers + stale.validators if stale is not None else upstream_headers
        request_time = self.cache.clock()
        t0 = time.perf_counter()
        response = await self.fwd.upstream.send("GET", target, headers, None, head_timeout)
        try:
            metrics.observe_upstream(time.perf_counter() - t0)
            response_time = self.cache.clock()
            rheaders = self.fwd.response_headers(flow, response)
            if response.status == 304 and stale is not None:
                page = self._refresh(stale, rheaders, request_time, response_time, flow, target, upstream_headers)
                if page is not None:
                    self.cache.release(lookup)  # the waiting requests need not wait for this one's personalization
                    await self._serve(out, flow, page, "revalidated")
                    return
                self.cache.drop(lookup.key)
                self.cache.release(lookup)
                await self.fwd.send_and_respond(receive, out, flow, target, upstream_headers, None, head_timeout)
                return
            await self._fetched(receive, out, flow, target, upstream_headers, response, rheaders, lookup,
                                request_time, response_time)
        finally:
            await response.aclose()

    def _refresh(
        self, stale: CachedPage, rheaders: Headers, request_time: float, response_time: float, flow: Flow,
        target: str, upstream_headers: Headers,
    ) -> CachedPage | None:
        """The stored page after a 304, stored again; None when the 304 cannot refresh it (it sets a
        cookie, or the cache failed): the visitor's own request then goes uncached."""
        if values(rheaders, b"set-cookie"):
            return None
        try:
            page = refreshed(stale, rheaders, request_time, response_time)
            self.cache.store(self._primary(flow, target), upstream_headers, page)
            return page
        except Exception as exc:  # noqa: BLE001 — the cache fails open
            self._failed(exc)
            return None

    async def _fetched(
        self, receive: Receive, out: Responder, flow: Flow, target: str, upstream_headers: Headers,
        response: UpstreamResponse, rheaders: Headers, lookup: Lookup, request_time: float, response_time: float,
    ) -> None:
        """The origin's full answer: stored and served as a page, or sent the usual way."""
        status = response.status
        reason: str | None = "not html"
        try:
            if is_html(first(rheaders, b"content-type")):
                authorized = first(upstream_headers, b"authorization") is not None
                reason = refusal(status, rheaders, authorized=authorized)
            elif status == 200:
                self.cache.not_a_page("GET", flow.scheme, flow.public_host, target)
        except Exception as exc:  # noqa: BLE001 — the cache fails open
            self._failed(exc)
            reason = "error"
        if reason is not None:
            if lasting_refusal(reason):  # the next requests for it go straight to the store a while
                self.cache.pass_by("GET", flow.scheme, flow.public_host, target, lookup)
            self._uncacheable(flow, lookup, reason)
            await self.fwd.respond(receive, out, flow, response, rheaders)
            return
        chunks: list[bytes] = []
        size = 0
        body = response.body(flow.state.get("idle_timeout"))
        async for chunk in body:
            chunks.append(chunk)
            size += len(chunk)
            if size > self.limit:
                self._uncacheable(flow, lookup, "larger than --max-html-bytes")
                await self.fwd.respond(receive, out, flow, response, rheaders, _chunks(chunks, body))
                return
        raw = b"".join(chunks)
        page = self._store(flow, target, upstream_headers, rheaders, raw, request_time, response_time)
        if page is None:
            self._uncacheable(flow, lookup, "not decodable")
            await self.fwd.respond(receive, out, flow, response, rheaders, _chunks([raw]))
            return
        self.cache.release(lookup)
        await self._serve(out, flow, page, "miss")

    def _store(
        self, flow: Flow, target: str, upstream_headers: Headers, rheaders: Headers, raw: bytes,
        request_time: float, response_time: float,
    ) -> CachedPage | None:
        coding = first(rheaders, b"content-encoding")
        try:
            html = decode(raw, coding.decode("latin-1") if coding else None, self.limit)
        except DecodeError:
            return None
        try:
            cc = parse_cache_control(values(rheaders, b"cache-control"))
            vary = parse_vary(values(rheaders, b"vary")) or ()
            page = new_page(rheaders, html, raw, cc, vary, request_time, response_time)
            self.cache.store(self._primary(flow, target), upstream_headers, page)
        except Exception as exc:  # noqa: BLE001 — the cache fails open
            self._failed(exc)
            return None
        return page

    # -- answers -----------------------------------------------------------------------

    async def _serve(self, out: Responder, flow: Flow, page: CachedPage, outcome: str) -> None:
        """A stored page to one visitor: personalized when the personalizer wants it, else as stored."""
        accept = [v.encode("latin-1") for n, v in flow.headers if n == "accept-encoding"]
        copy, age = page.for_visitor(accept, self.cache.clock())  # the copy: made once per page and coding
        body, headers = copy.body, [*copy.headers, age]
        flow.status = 200
        flow.response_headers = [*copy.text, ("age", age[1].decode("latin-1"))]
        flow.extra_headers.append(("server-timing", f"cache;desc={outcome}"))
        metrics.count_cache(outcome, self.cache.bytes)
        if self.fwd.safe.wants_body(flow):
            if page.facts is None:
                page.facts = document_facts(page.html, first(page.headers, b"content-type"))
            body, headers = await self.fwd.html.personalize(flow, body, headers, page.html, page.facts,
                                                            copy.derived)  # ``headers``: the copy's, and Age
        else:  # a bot's page: the store's caching, to the rules' next edge (window, clock); no CDN's
            headers = self.fwd.safe.bot_page(flow, headers)
        await out.start(200, with_ours(headers, self.fwd.extra(flow)))
        await out.body(body)

    def _uncacheable(self, flow: Flow, lookup: Lookup, reason: str) -> None:
        """The origin's answer may not be kept: the stored copy is outdated, the waiting requests go on."""
        self.cache.drop(lookup.key)
        self.cache.release(lookup)
        if reason not in ("not html", "error"):  # an error is counted where it happened
            metrics.count_cache("uncacheable", self.cache.bytes)
            log.debug("not cached: %s (%s)", flow.path, reason)  # the page goes out as if there were no cache

    @staticmethod
    def _primary(flow: Flow, target: str) -> tuple[str, str, str, str]:
        return primary_key("GET", flow.scheme, flow.public_host, target)

    def _failed(self, exc: BaseException) -> None:
        metrics.count_cache("error")
        reason = f"{type(exc).__name__}: {exc}"[:200]
        if reason not in self._logged and len(self._logged) < 1000:
            self._logged.add(reason)
            log.warning("the HTML cache failed (%s); serving uncached", reason, exc_info=exc)
