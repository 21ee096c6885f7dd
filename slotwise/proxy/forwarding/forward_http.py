"""Forwarding one HTTP request to the origin and its response back: the proxy's main path.

Steps, in order (one ``Flow`` per request, like a mitmproxy flow):

1. refuse what a reverse proxy never does (CONNECT, absolute-form targets for other hosts);
2. ``personalizer.on_request`` (fail-open);
3. send upstream with the visitor's end-to-end headers, the origin's Host, X-Forwarded-* and Forwarded;
   the request body is streamed; a GET the personalizer could change goes without the visitor's
   ``If-None-Match``/``If-Modified-Since`` (``conditional``: the store's 304 would stand for its page);
4. rewrite response headers (hop-by-hop, Location, cookie Domain), add Date if missing, and
   the ``Link`` headers of ``103 Early Hints``;
5. HTML the personalizer wants → ``forward_html``; everything else streams through untouched.

Timeouts are per path (``Settings.timeouts_for``): to the response head, and
the longest silence inside a body (an event stream may have none).

A ``ProxyError`` before the response started becomes a small error page; after
it started, the exception propagates so the server aborts the connection (the
client sees a truncated body, never a clean end).
"""

from __future__ import annotations

import logging
import time
from typing import AsyncIterator, Callable
from urllib.parse import urlsplit

from slotwise.client_origin import client_origin
from slotwise.proxy.operations import metrics
from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.errors import ClientDisconnected, ConnectNotAllowed, ForeignTarget, ProxyError, UpstreamError, error_page
from slotwise.proxy.flow import Flow
from slotwise.proxy.forwarding.answer_body import may_be_json, read_answer
from slotwise.proxy.forwarding.conditional import Revalidated, asked_validators, without_validators
from slotwise.proxy.forwarding.forward_cached import CachedPages
from slotwise.proxy.forwarding.documents import is_html
from slotwise.proxy.forwarding.forward_html import HtmlRewriter
from slotwise.proxy.forwarding.forward_safe import SafePersonalizer
from slotwise.proxy.forwarding.forward_stream import Receive, Responder, Scope, Send, stream
from slotwise.proxy.forwarding.html_cache import HtmlCache
from slotwise.proxy.forwarding.headers import Headers, ResponseHeaderRewriter, first, http_date, upstream_request_headers, with_early_hints, with_ours
from slotwise.proxy.forwarding.public_hosts import PublicHosts
from slotwise.proxy.forwarding.upstream import Upstream, UpstreamResponse

log = logging.getLogger("slotwise.proxy")

_NO_BODY_STATUS = frozenset({204, 206, 304})
_HTTP_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}  # a WebSocket's page scheme


class Forwarder:
    def __init__(self, settings: Settings, personalizer: SafePersonalizer, upstream: Upstream) -> None:
        self.settings = settings
        self.safe = personalizer
        self.upstream = upstream
        self.passthrough = personalizer.passes_through()  # nothing to personalize: forward only
        self.rewrite_headers = ResponseHeaderRewriter(settings.upstream)
        self.trust = settings.proxy_trust
        self.public_url = settings.public_url.rstrip("/")
        self.html = HtmlRewriter(settings, personalizer)
        self.upstream_netloc = settings.upstream_host.lower()
        self.hosts = PublicHosts(self.upstream_netloc, settings.public_url, settings.allowed_hosts)
        self.pages = (
            CachedPages(HtmlCache(int(settings.html_cache_mb * 1024 * 1024)), self)
            if settings.html_cache_mb > 0 and not self.passthrough else None
        )
        self.failures = UpstreamFailureLog(settings.upstream)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        out = Responder(send)
        try:
            await self.forward(scope, receive, out)
        except ClientDisconnected:
            return
        except ProxyError as exc:
            if out.started:
                raise  # abort: the server drops the connection without a clean end
            if isinstance(exc, UpstreamError):
                metrics.count_upstream_error(type(exc).__name__)
                self.failures(exc, scope)
            status, headers, body = error_page(exc)
            headers.append((b"date", http_date()))
            await out.start(status, headers)
            await out.body(b"" if scope["method"] == "HEAD" else body)
        finally:
            if out.status:
                metrics.count_response(out.status)

    # -- 1. the request ---------------------------------------------------------------

    def _target(self, scope: Scope) -> str:
        """The path and query to ask the origin for; absolute-form for other hosts is refused."""
        if scope.get("method") == "CONNECT":
            raise ConnectNotAllowed()
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1")
        if not path.startswith("/"):
            parts = urlsplit(path)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ForeignTarget(f"request target {path[:100]!r}")
            allowed = {self.upstream_netloc, urlsplit(self.public_url).netloc.lower()} if self.public_url else {self.upstream_netloc}
            host = next((v.decode("latin-1").lower() for n, v in scope["headers"] if n == b"host"), "")
            if parts.netloc.lower() not in allowed | {host}:
                raise ForeignTarget()
            path = parts.path or "/"
        qs = scope.get("query_string") or b""
        return path + ("?" + qs.decode("latin-1") if qs else "")

    def _flow(self, scope: Scope, target: str) -> Flow:
        raw: Headers = scope["headers"]
        client = scope.get("client")
        origin = client_origin(client[0] if client else "", raw, self.trust)
        if self.public_url:
            parts = urlsplit(self.public_url)
            scheme, public_host = parts.scheme, parts.netloc
            claimed = public_host
        else:
            scheme = origin.scheme or _HTTP_SCHEME.get(scope.get("scheme", "http"), "http")
            claimed = (origin.host or (first(raw, b"host") or b"").decode("latin-1")).split(",")[0].strip()
            public_host = self.hosts.choose(claimed)  # a stranger's Host never names our URLs
        path, _, query = target.partition("?")
        return Flow(
            method=scope.get("method", "GET"),
            path=path,
            query_string=query,
            headers=[(n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in raw],
            client_ip=origin.address,
            scheme=scheme,
            public_host=public_host,
            state={"origin": origin, "request_host": claimed or public_host},  # to tell own referrers
        )

    @staticmethod
    async def _request_body(receive: Receive) -> AsyncIterator[bytes]:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            chunk = message.get("body", b"")
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return

    @staticmethod
    async def _kept(flow: Flow, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The body as it streams upstream, its first ``keep_request_body`` bytes kept on the flow."""
        limit = flow.keep_request_body
        async for chunk in body:
            room = limit - len(flow.request_body)
            if room > 0:
                flow.request_body += chunk[:room]
            if len(chunk) > room:
                flow.request_body_truncated = True
            yield chunk

    # -- 2..5 -----------------------------------------------------------------------

    async def forward(self, scope: Scope, receive: Receive, out: Responder) -> None:
        target = self._target(scope)
        flow = self._flow(scope, target)
        if not self.passthrough:
            await self.safe.on_request(flow)
        upstream_headers = upstream_request_headers(
            scope["headers"],  # the visitor's own, as received (``flow.headers`` is the same, decoded)
            upstream_host=self.settings.upstream_host,
            origin=flow.state["origin"],
            public_host=flow.public_host,
            scheme=flow.scheme,
        )
        asked = asked_validators(scope["headers"]) if flow.method == "GET" and not self.passthrough else None
        if asked is not None and self.safe.may_change(flow):  # the store's 304 would answer for its own page
            upstream_headers = without_validators(upstream_headers)
            out = Revalidated(out, asked)
        has_body = any(
            (n == b"content-length" and v.strip() not in (b"", b"0")) or n == b"transfer-encoding"
            for n, v in scope["headers"]
        )
        body = self._request_body(receive) if has_body else None
        if body is not None and flow.keep_request_body:
            body = self._kept(flow, body)
        head_timeout, idle_timeout = self.settings.timeouts_for(flow.path)
        flow.state["idle_timeout"] = idle_timeout
        if body is None and self.pages is not None:
            if await self.pages.forward(receive, out, flow, target, upstream_headers, head_timeout):
                return  # served from the HTML cache, or fetched through it
        await self.send_and_respond(receive, out, flow, target, upstream_headers, body, head_timeout)

    async def send_and_respond(
        self, receive: Receive, out: Responder, flow: Flow, target: str, upstream_headers: Headers,
        body: AsyncIterator[bytes] | None, head_timeout: float | None,
    ) -> None:
        """3..5: the request to the origin, and its response to the visitor."""
        t0 = time.perf_counter()
        response = await self.upstream.send(flow.method, target, upstream_headers, body, head_timeout)
        try:
            metrics.observe_upstream(time.perf_counter() - t0)
            await self.respond(receive, out, flow, response)
        finally:
            await response.aclose()

    def response_headers(self, flow: Flow, response: UpstreamResponse) -> Headers:
        """4: the origin's headers for the public side."""
        public_origin = self.public_url or f"{flow.scheme}://{flow.public_host}"
        headers = self.rewrite_headers(response.headers, public_origin)
        headers = with_early_hints(headers, response.early_hints)
        if first(headers, b"date") is None:
            headers.append((b"date", http_date()))
        return headers

    async def respond(
        self, receive: Receive, out: Responder, flow: Flow, response: UpstreamResponse,
        headers: Headers | None = None, body: AsyncIterator[bytes] | None = None,
    ) -> None:
        """5: the response to the visitor; ``headers``/``body`` when a step already read them."""
        if headers is None:
            headers = self.response_headers(flow, response)
        status = response.status
        html = (
            not self.passthrough
            and flow.method != "HEAD"
            and status >= 200
            and status not in _NO_BODY_STATUS
            and is_html(first(headers, b"content-type"))
        )
        if html or flow.wants_response:
            flow.status = status
            flow.response_headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]
        if body is None:
            body = response.body(flow.state["idle_timeout"])
        if (flow.wants_answer_body and status not in _NO_BODY_STATUS and flow.method != "HEAD"
                and may_be_json(flow.response_header("content-type"))):  # Magento's [] or {"backUrl"}; PrestaShop's, as text/html
            flow.answer_body, body = await read_answer(body)
        if flow.wants_response:  # e.g. a form post the rules capture: the store's answer decides
            await self.safe.on_response(flow)
        if html:
            if self.safe.wants_body(flow):
                await self.html.respond(out, flow, headers, body, self.extra(flow), receive)
                return
            headers = self.safe.bot_page(flow, headers)  # a bot's page: the store's caching, capped; no CDN's
        await stream(out, receive, status, with_ours(headers, self.extra(flow)), body, finished=response.finished)

    @staticmethod
    def extra(flow: Flow) -> Headers:
        return [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in flow.extra_headers]


class UpstreamFailureLog:
    """Says in the log why visitors get a 502/504: a store that is down, or a wrong ``--upstream``,
    must not show only as error pages. At most one line per kind of failure every ``every`` seconds,
    with how many more there were, so a store that is down does not flood the log."""

    def __init__(self, upstream: str, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.upstream, self.every, self.clock = upstream, every, clock
        self.last: dict[str, float] = {}
        self.more: dict[str, int] = {}

    def __call__(self, exc: UpstreamError, scope: Scope) -> None:
        kind, now = type(exc).__name__, self.clock()
        if kind in self.last and now - self.last[kind] < self.every:
            self.more[kind] = self.more.get(kind, 0) + 1
            return
        self.last[kind] = now
        more = self.more.pop(kind, 0)
        log.warning("the store at %s: %s (%s %s): visitors get a %d%s", self.upstream, exc.detail, scope.get("method"),
                    scope.get("path"), exc.status, f"; {more} more like it since the last line" if more else "")
