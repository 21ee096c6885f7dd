"""The one HTTP client that talks to the origin, and how its failures map to 502/504.

httpx is the API; the transport is httpx-aiohttp's ``AiohttpTransport``
(measured: the default httpcore transport costs ~2 ms CPU per 120 KB response
at 32 concurrent requests, aiohttp ~0.2 ms — see docs/benchmarks.md). Set
``SLOTWISE_HTTP_TRANSPORT=httpx`` to compare. Requests are built directly
(not through ``client.build_request``) so the origin sees only the headers
the visitor sent: no default User-Agent/Accept/Accept-Encoding is added.
Redirects are never followed and no proxy environment variable is honoured.
"""

from __future__ import annotations

import asyncio
import os
from typing import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions

from .config import Settings
from .errors import UpstreamBodyError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from .headers import Headers

_TIMEOUT_CAUSES: tuple[type[BaseException], ...] = (
    aiohttp.ServerTimeoutError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.SocketTimeoutError,
    asyncio.TimeoutError,
    TimeoutError,
)


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
        response.stream = _AnyChunkStream(response.stream._aiohttp_response)  # type: ignore[attr-defined]
        return response


def make_client(settings: Settings, transport: str | None = None) -> httpx.AsyncClient:
    """The client for ``settings.upstream``; ``transport`` is "aiohttp" (default) or "httpx"."""
    kind = transport or os.environ.get("SLOTWISE_HTTP_TRANSPORT", "aiohttp")
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=256, keepalive_expiry=30.0)
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout)
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


class Upstream:
    """Sends one request to the configured origin; the URL is never taken from the client."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.base = settings.upstream.rstrip("/")
        self.client = client or make_client(settings)

    async def send(
        self, method: str, target: str, headers: Headers, body: AsyncIterator[bytes] | None
    ) -> httpx.Response:
        """Response headers are in; the body is still to be streamed (``aiter_raw``)."""
        request = httpx.Request(method, self.base + target, headers=headers, content=body)
        try:
            return await self.client.send(request, stream=True, follow_redirects=False)
        except UPSTREAM_FAILURES as exc:
            raise _classify(exc, body=False) from exc

    async def aiter_body(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The raw (still encoded) body; a failure mid-way becomes ``UpstreamBodyError``/``UpstreamTimeout``."""
        try:
            async for chunk in response.aiter_raw():
                if chunk:
                    yield chunk
        except UPSTREAM_FAILURES as exc:
            raise _classify(exc, body=True) from exc

    async def aclose(self) -> None:
        await self.client.aclose()
