"""The one HTTP client that talks to the origin, and how its failures map to 502/504.

httpx is the API; the transport is httpx-aiohttp's ``AiohttpTransport``
(measured: the default httpcore transport costs ~2 ms CPU per 120 KB response
at 32 concurrent requests, aiohttp ~0.2 ms — see docs/benchmarks.md). Set
``SLOTWISE_HTTP_TRANSPORT=httpx`` to compare. Requests are built directly
(not through ``client.build_request``) so the origin sees only the headers
the visitor sent: no default User-Agent/Accept/Accept-Encoding is added.
Redirects are never followed and no proxy environment variable is honoured.

Timeouts are ours, not the client's (nginx's model, per path: see
``Settings.timeouts_for``): *head* runs from the end of the request body to
the response head (an upload takes as long as it takes; a long poll gets its
own value), *idle* is the longest silence inside a response body. The
client's own read timeout would mix the two, so it is off.

``103 Early Hints`` are read by aiohttp and thrown away; ``_HintedResponse``
keeps their headers (``response.extensions["early_hints"]``) so the forwarding
layer can pass their ``Link`` headers on (an ASGI server cannot send a 1xx).

WebSockets go to the origin through a separate aiohttp session
(``ws_connect``): the httpx API has no upgrade.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator, Callable, Sequence

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions

from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.errors import UpstreamBodyError, UpstreamError, UpstreamRefusedUpgrade, UpstreamTimeout, UpstreamUnavailable
from slotwise.proxy.forwarding.headers import Headers

WS_MAX_MESSAGE = 16 * 1024 * 1024  # uvicorn's default for the client side too

_TIMEOUT_CAUSES: tuple[type[BaseException], ...] = (
    aiohttp.ServerTimeoutError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.SocketTimeoutError,
    asyncio.TimeoutError,
    TimeoutError,
)


class _HintedResponse(aiohttp.ClientResponse):
    """Keeps the headers of ``103 Early Hints`` that aiohttp reads past (``start`` loops over 1xx)."""

    early_hints: list[list[tuple[bytes, bytes]]]

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


def _session(settings: Settings, limits: httpx.Limits) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=limits.max_connections or 0,
        limit_per_host=0,
        keepalive_timeout=limits.keepalive_expiry or 5.0,
        ttl_dns_cache=60,
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),  # never keep one visitor's cookies for the next
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        response_class=_HintedResponse,
    )


class _AnyChunkStream(httpx.AsyncByteStream):
    """The body as aiohttp buffered it (``iter_any``), not in 16 KB slices: fewer ASGI sends."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_aiohttp_exceptions():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        with map_aiohttp_exceptions():
            await self._response.__aexit__(None, None, None)


class _Transport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        aio = response.stream._aiohttp_response  # type: ignore[attr-defined]
        response.stream = _AnyChunkStream(aio)
        hints = getattr(aio, "early_hints", None)
        if hints:
            response.extensions["early_hints"] = hints
        return response


def make_client(settings: Settings, transport: str | None = None) -> httpx.AsyncClient:
    """The client for ``settings.upstream``; ``transport`` is "aiohttp" (default) or "httpx"."""
    kind = transport or os.environ.get("SLOTWISE_HTTP_TRANSPORT", "aiohttp")
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=256, keepalive_expiry=30.0)
    # no read timeout here: head and idle timeouts are applied per request by ``Upstream``
    timeout = httpx.Timeout(None, connect=settings.connect_timeout, pool=settings.connect_timeout)
    if kind == "httpx":
        return httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout, limits=limits)
    if kind != "aiohttp":
        raise ValueError(f"SLOTWISE_HTTP_TRANSPORT: {kind!r} is not one of aiohttp, httpx")
    # The session is created lazily inside the running loop (aiohttp binds to it).
    return httpx.AsyncClient(
        transport=_Transport(client=lambda: _session(settings, limits)),
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
    )


def _classify(exc: BaseException, *, body: bool) -> UpstreamError:
    """Timeout → 504; anything else (refused, reset, bad framing) → 502.

    httpx-aiohttp maps every ``ClientConnectionError`` to ``ConnectTimeout``,
    so the original aiohttp exception (``__cause__``) decides.
    """
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    root = chain[-1]
    if body:
        if isinstance(root, _TIMEOUT_CAUSES) or isinstance(exc, httpx.ReadTimeout) and root is exc:
            return UpstreamTimeout(f"body: {type(root).__name__}")
        return UpstreamBodyError(f"{type(root).__name__}: {root}")
    if isinstance(root, _TIMEOUT_CAUSES) or (root is exc and isinstance(exc, httpx.TimeoutException)):
        return UpstreamTimeout(type(root).__name__)
    return UpstreamUnavailable(f"{type(root).__name__}: {root}")


UPSTREAM_FAILURES = (httpx.HTTPError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


async def _then(body: AsyncIterator[bytes], done: Callable[[], None]) -> AsyncIterator[bytes]:
    """The request body, calling ``done`` once it has all been handed to the client."""
    async for chunk in body:
        yield chunk
    done()


class Upstream:
    """Sends one request to the configured origin; the URL is never taken from the client."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.base = settings.upstream.rstrip("/")
        self.settings = settings
        self.client = client or make_client(settings)
        self._ws_session: aiohttp.ClientSession | None = None

    async def send(
        self, method: str, target: str, headers: Headers, body: AsyncIterator[bytes] | None,
        head_timeout: float | None = None,
    ) -> httpx.Response:
        """Response headers are in; the body is still to be streamed (``aiter_body``).

        ``head_timeout`` runs from the end of the request body (an upload is
        not the origin being slow) to the response head; None: no limit.
        """
        loop = asyncio.get_running_loop()
        deadline = asyncio.timeout(None)

        def arm() -> None:
            if head_timeout:
                try:
                    deadline.reschedule(loop.time() + head_timeout)
                except RuntimeError:  # the head came before the body was all sent: nothing to time
                    pass

        if body is not None:
            body = _then(body, arm)
        request = httpx.Request(method, self.base + target, headers=headers, content=body)
        try:
            async with deadline:
                if body is None:
                    arm()
                return await self.client.send(request, stream=True, follow_redirects=False)
        except TimeoutError as exc:
            if deadline.expired():
                raise UpstreamTimeout(f"no response head within {head_timeout:g} s") from exc
            raise _classify(exc, body=False) from exc
        except UPSTREAM_FAILURES as exc:
            raise _classify(exc, body=False) from exc

    async def aiter_body(self, response: httpx.Response, idle_timeout: float | None = None) -> AsyncIterator[bytes]:
        """The raw (still encoded) body; a failure mid-way becomes ``UpstreamBodyError``/``UpstreamTimeout``.

        ``idle_timeout``: the longest wait for the next piece (None: no limit);
        time spent sending the previous piece to the client does not count.
        """
        chunks = response.aiter_raw().__aiter__()
        try:
            while True:
                try:
                    if idle_timeout:
                        async with asyncio.timeout(idle_timeout):
                            chunk = await chunks.__anext__()
                    else:
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise UpstreamTimeout(f"body: silent for {idle_timeout:g} s") from exc
                if chunk:
                    yield chunk
        except UPSTREAM_FAILURES as exc:
            raise _classify(exc, body=True) from exc

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
            raise _classify(exc, body=False) from exc

    async def aclose(self) -> None:
        await self.client.aclose()
        if self._ws_session is not None:
            await self._ws_session.close()
