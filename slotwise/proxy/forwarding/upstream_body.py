"""An upstream answer's body as the forwarding layer reads it, and what its failures mean to a visitor.

Why its own module: both clients to the origin — aiohttp (``upstream``) and our own for page GETs
(``plain_get``) — hand out their bodies through ``UpstreamBody`` and map their failures with
``classify_failure``; kept in ``upstream`` it could only be imported from ``plain_get`` inside a
function (``upstream`` imports ``plain_get``).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import aiohttp

from slotwise.proxy.forwarding.deadline import deadline
from slotwise.proxy.forwarding.errors import ClientDisconnected, UpstreamBodyError, UpstreamTimeout, UpstreamUnavailable

_TIMEOUT_CAUSES: tuple[type[BaseException], ...] = (
    aiohttp.ServerTimeoutError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.SocketTimeoutError,
    asyncio.TimeoutError,
    TimeoutError,
)
UPSTREAM_FAILURES = (aiohttp.ClientError, OSError, asyncio.TimeoutError)


class BodySource(Protocol):
    """What a client's response buffers: aiohttp's ``StreamReader``, ``plain_get.PlainResponse``."""

    def read_nowait(self) -> bytes: ...
    async def readany(self) -> bytes: ...
    def is_eof(self) -> bool: ...
    def at_eof(self) -> bool: ...


class UpstreamBody:
    """An upstream answer's body (``UpstreamResponse.body``, ``PlainResponse.body``): an iterator object,
    not an async generator, so that one the caller stops early (the last byte of a declared length)
    needs no finalizing task when it is dropped.

    A piece already buffered is taken without a wait, and without a timer.
    """

    __slots__ = ("content", "idle")

    def __init__(self, content: BodySource, idle: float | None) -> None:
        self.content = content
        self.idle = idle

    def __aiter__(self) -> "UpstreamBody":
        return self

    def at_end(self) -> bool:
        """Every byte of the body has been handed out: the next ``__anext__`` stops."""
        return self.content.at_eof()

    def arrived(self) -> bool:
        """Every byte of the body has come from the origin (some may not have been handed out yet)."""
        return self.content.is_eof()

    async def __anext__(self) -> bytes:
        content = self.content
        try:
            chunk = content.read_nowait()
            if chunk:
                return chunk
            if content.is_eof():
                raise StopAsyncIteration
            if self.idle:
                try:
                    with deadline(self.idle):
                        chunk = await content.readany()
                except TimeoutError as exc:
                    raise UpstreamTimeout(f"body: silent for {self.idle:g} s") from exc
            else:
                chunk = await content.readany()
        except UPSTREAM_FAILURES as exc:
            raise classify_failure(exc, body=True) from exc
        if not chunk:
            raise StopAsyncIteration
        return chunk


def classify_failure(exc: BaseException, *, body: bool) -> Exception:
    """Timeout → 504; anything else (refused, reset, bad framing) → 502; the visitor gone → ``ClientDisconnected``.

    aiohttp wraps the cause (``ClientOSError`` around ``ConnectionResetError``,
    ``ClientConnectionError`` around a failure of the request body), so the
    root of the chain decides.
    """
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    root = chain[-1]
    if any(isinstance(e, ClientDisconnected) for e in chain):
        return ClientDisconnected()  # the visitor's upload broke off: nobody to answer
    timeout = isinstance(exc, _TIMEOUT_CAUSES) or isinstance(root, _TIMEOUT_CAUSES)
    if body:
        if timeout:
            return UpstreamTimeout(f"body: {type(root).__name__}")
        return UpstreamBodyError(f"{type(root).__name__}: {root}")
    if timeout:
        return UpstreamTimeout(type(root).__name__)
    return UpstreamUnavailable(f"{type(root).__name__}: {root}")
