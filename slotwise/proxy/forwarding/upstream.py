"""The one HTTP client that talks to the origin, and how its failures map to 502/504.

aiohttp, used directly: measured, httpx's default transport costs ~2 ms CPU per
120 KB response at 32 concurrent requests, and httpx's model layer on top of
aiohttp (``httpx-aiohttp``) still ~0.5 ms more than aiohttp alone (see
docs/benchmarks.md). ``send`` returns an ``UpstreamResponse`` of ours: the
status, the raw header list, the ``103 Early Hints`` seen on the way and the
body still to read.

The origin sees only the headers the visitor sent: no default
User-Agent/Accept/Accept-Encoding/Content-Type is added, no cookie jar is kept
between visitors, redirects are never followed, no proxy environment variable
is honoured, and the request target goes out as the visitor wrote it.

Timeouts are ours, not the client's (nginx's model, per path: see
``Settings.timeouts_for``): *head* runs from the end of the request body to
the response head (an upload takes as long as it takes; a long poll gets its
own value), *idle* is the longest silence inside a response body. aiohttp's
own read timeout would mix the two, so it is off; only connecting (and waiting
for a pooled connection) is limited by the client, with ``connect_timeout``.

``103 Early Hints`` are read by aiohttp and thrown away; ``_HintedResponse``
keeps their headers so the forwarding layer can pass their ``Link`` headers on
(an ASGI server cannot send a 1xx).

WebSockets go to the origin through a separate aiohttp session (``ws_connect``).

A GET without a body goes on our own connections instead (``plain_get``, about
half aiohttp's CPU for a page); ``--page-client aiohttp`` sends it through
aiohttp too (for measuring, or should an origin need it).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, AsyncIterator, Callable, Sequence
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.deadline import deadline
from slotwise.proxy.forwarding.errors import (
    UpstreamError,
    UpstreamRefusedUpgrade,
    UpstreamTimeout,
)
from slotwise.proxy.forwarding.headers import Headers
from slotwise.proxy.forwarding.plain_get import PlainGet, PlainResponse
from slotwise.proxy.forwarding.upstream_body import UPSTREAM_FAILURES, UpstreamBody, classify_failure
from slotwise.proxy.forwarding.upstream_health import UpstreamHealth

WS_MAX_MESSAGE = 16 * 1024 * 1024  # uvicorn's default for the client side too
MAX_CONNECTIONS = 512
KEEPALIVE_S = 30.0
# An origin's response head: aiohttp's defaults (8,190 bytes a line, 128 headers) turn a long
# Content-Security-Policy or a store's big Set-Cookie into a 502 that the store never sees
# without us. Browsers and CDNs accept far more; these bound memory, not what a store may send.
MAX_HEADER_LINE = 64 * 1024
MAX_HEADERS = 512
PROBE_AGENT = b"Slotwise health check"


# What may stand in a request target unquoted (RFC 3986 pchar/query plus '%', which stays as the visitor
# encoded it); anything else (a space, a control byte, raw UTF-8 a lenient server let through) is quoted.
_UNSAFE = re.compile(rb"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%\[\]]")


def request_target(target: str) -> str:
    """``target`` as it goes on the request line: untouched unless it holds bytes a request line cannot."""
    raw = target.encode("latin-1")  # the forwarding layer decoded the raw target as latin-1
    if _UNSAFE.search(raw) is None:
        return target
    return _UNSAFE.sub(lambda m: b"%%%02X" % m.group(0)[0], raw).decode("ascii")


class _HintedResponse(aiohttp.ClientResponse):
    """Keeps the headers of ``103 Early Hints`` that aiohttp reads past (``start`` loops over 1xx)."""

    early_hints: list[Headers]

    async def start(self, connection: Any) -> "aiohttp.ClientResponse":
        self.early_hints = []
        protocol = connection.protocol
        read = protocol.read

        async def reading() -> Any:
            message, payload = await read()
            if message.code == 103:
                self.early_hints.append(list(message.raw_headers))
            return message, payload

        protocol.read = reading  # the instance attribute shadows the method for this one response head
        try:
            return await super().start(connection)
        finally:
            del protocol.read


class UpstreamResponse:
    """The origin's answer: status and headers are in, the body is still to be read (``body``).

    ``headers`` are the raw pairs as the origin sent them (names in its case,
    repeated headers kept in order); ``early_hints`` the header lists of any
    ``103 Early Hints`` that came first. ``aclose`` must be called: a body not
    read to its end closes the connection rather than returning it to the pool.
    """

    __slots__ = ("status", "headers", "early_hints", "_aio")

    def __init__(self, aio: aiohttp.ClientResponse) -> None:
        self._aio = aio
        self.status: int = aio.status
        self.headers: Headers = list(aio.raw_headers)
        self.early_hints: list[Headers] = getattr(aio, "early_hints", None) or []

    def body(self, idle_timeout: float | None = None) -> AsyncIterator[bytes]:
        """The raw (still encoded) body, as much as has arrived each time (fewer, larger pieces);
        a failure mid-way becomes ``UpstreamBodyError``/``UpstreamTimeout``.

        ``idle_timeout``: the longest wait for the next piece (None: no limit);
        time spent sending the previous piece to the client does not count.
        """
        return UpstreamBody(self._aio.content, idle_timeout)

    def finished(self) -> bool:
        """The whole body has been read: the origin's framing (length, last chunk) said it ended."""
        return self._aio.content.is_eof()

    async def aclose(self) -> None:
        self._aio.release()


def _session(settings: Settings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=MAX_CONNECTIONS,
        limit_per_host=0,
        keepalive_timeout=KEEPALIVE_S,
        ttl_dns_cache=60,
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),  # never keep one visitor's cookies for the next
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        response_class=_HintedResponse,
        max_line_size=MAX_HEADER_LINE,
        max_field_size=MAX_HEADER_LINE,
        max_headers=MAX_HEADERS,
        # no read timeout here: head and idle timeouts are applied per request by ``Upstream``
        timeout=aiohttp.ClientTimeout(total=None, connect=settings.connect_timeout,
                                      sock_connect=settings.connect_timeout, sock_read=None),
    )


async def _then(body: AsyncIterator[bytes], done: Callable[[], None]) -> AsyncIterator[bytes]:
    """The request body, calling ``done`` once it has all been handed to the client."""
    async for chunk in body:
        yield chunk
    done()


class Upstream:
    """Sends one request to the configured origin; the URL is never taken from the client."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings.upstream.rstrip("/")
        self.settings = settings
        self.health = UpstreamHealth(self.base)
        self._session: aiohttp.ClientSession | None = None  # created in the running loop (aiohttp binds to it)
        self._ws_session: aiohttp.ClientSession | None = None
        self.plain = PlainGet(self.base, connect_timeout=settings.connect_timeout, max_connections=MAX_CONNECTIONS,
                              keepalive_s=KEEPALIVE_S, max_line=MAX_HEADER_LINE, max_headers=MAX_HEADERS)
        if settings.page_client == "aiohttp":  # every request through aiohttp
            self.plain.usable = False

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = _session(self.settings)
        return self._session

    async def send(
        self, method: str, target: str, headers: Headers, body: AsyncIterator[bytes] | None,
        head_timeout: float | None = None,
    ) -> UpstreamResponse | PlainResponse:
        """``_send``, its outcome told to ``health`` (whether the store answers, for ``/_sw/health``)."""
        try:
            response = await self._send(method, target, headers, body, head_timeout)
        except UpstreamError as exc:
            self.health.failed(exc)
            raise
        self.health.answered()
        return response

    async def probe(self) -> None:
        """``HEAD --upstream-health-path`` for the health check (``upstream_health``): whether the store answers
        at all. Any status is an answer (a 405 from a store that refuses HEAD, a redirect, a 5xx), so none is
        asked again with GET: that would cost the store a page and say nothing more."""
        host = urlsplit(self.base).netloc.encode("latin-1")
        path = self.settings.upstream_health_path
        response = await self.send("HEAD", path, [(b"host", host), (b"user-agent", PROBE_AGENT)], None)
        await response.aclose()

    async def _send(
        self, method: str, target: str, headers: Headers, body: AsyncIterator[bytes] | None,
        head_timeout: float | None = None,
    ) -> UpstreamResponse | PlainResponse:
        """Response headers are in; the body is still to be streamed (``UpstreamResponse.body``).

        A GET without a body goes on our own connections (``plain_get``: the page fetches, at about
        half aiohttp's CPU); anything else through aiohttp.

        ``target`` is the path and query as the visitor sent them; ``head_timeout``
        runs from the end of the request body (an upload is not the origin being
        slow) to the response head; None: no limit.
        """
        plain = self.plain.request(request_target(target), headers) if body is None and method == "GET" else None
        if plain is not None:
            limit = deadline(head_timeout or None)
            try:
                with limit:
                    return await self.plain.get(plain)
            except TimeoutError as exc:
                if limit.expired():
                    raise UpstreamTimeout(f"no response head within {head_timeout:g} s") from exc
                raise UpstreamTimeout(type(exc).__name__) from exc
        url = URL(self.base + request_target(target), encoded=True)
        fields = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]
        session = self.session
        if body is None:
            limit = deadline(head_timeout or None)
        else:
            loop = asyncio.get_running_loop()
            limit = deadline(None)

            def arm() -> None:
                if head_timeout:
                    try:
                        limit.reschedule(loop.time() + head_timeout)
                    except RuntimeError:  # the head came before the body was all sent: nothing to time
                        pass

            body = _then(body, arm)
        try:
            with limit:
                aio = await session.request(method, url, headers=fields, data=body, allow_redirects=False)
        except TimeoutError as exc:
            if limit.expired():
                raise UpstreamTimeout(f"no response head within {head_timeout:g} s") from exc
            raise classify_failure(exc, body=False) from exc
        except UPSTREAM_FAILURES as exc:
            raise classify_failure(exc, body=False) from exc
        return UpstreamResponse(aio)

    # -- WebSockets ---------------------------------------------------------------------

    def _ws(self) -> aiohttp.ClientSession:
        if self._ws_session is None or self._ws_session.closed:
            self._ws_session = aiohttp.ClientSession(
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent",),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.settings.connect_timeout),
            )
        return self._ws_session

    async def ws_connect(
        self, target: str, headers: Headers, protocols: Sequence[str], head_timeout: float | None
    ) -> aiohttp.ClientWebSocketResponse:
        """The upgraded connection to the origin, or ``UpstreamRefusedUpgrade``/``UpstreamError``.

        Frames are read with ``autoping`` off so that the origin's pings count
        as activity (the caller answers them).
        """
        url = ("ws" + self.base[4:] if self.base.startswith("http") else self.base) + target
        try:
            ws = await self._ws_connect(url, headers, protocols, head_timeout)
        except UpstreamRefusedUpgrade:
            self.health.answered()
            raise
        except UpstreamError as exc:
            self.health.failed(exc)
            raise
        self.health.answered()
        return ws

    async def _ws_connect(
        self, url: str, headers: Headers, protocols: Sequence[str], head_timeout: float | None
    ) -> aiohttp.ClientWebSocketResponse:
        try:
            async with asyncio.timeout(head_timeout):
                return await self._ws().ws_connect(
                    url,
                    headers=[(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers],
                    protocols=tuple(protocols),
                    autoping=False,
                    max_msg_size=WS_MAX_MESSAGE,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
                )
        except aiohttp.WSServerHandshakeError as exc:
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (exc.headers or {}).items()]
            raise UpstreamRefusedUpgrade(exc.status, raw) from exc
        except TimeoutError as exc:
            raise UpstreamTimeout("no WebSocket handshake answer") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise classify_failure(exc, body=False) from exc

    async def aclose(self) -> None:
        self.plain.close()
        if self._session is not None:
            await self._session.close()
        if self._ws_session is not None:
            await self._ws_session.close()

