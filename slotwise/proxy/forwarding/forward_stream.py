"""Sending a response as it arrives: no buffering, bytes untouched.

``Responder`` remembers whether the response has started: before that an
error can still become an error page, after it only an aborted connection.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Awaitable, Callable

from slotwise.proxy.forwarding.errors import ClientDisconnected
from slotwise.proxy.forwarding.headers import Headers, first

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Responder:
    """Wraps ``send`` to remember whether the response has started (then errors must abort)."""

    __slots__ = ("send", "started", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False
        self.status = 0

    async def start(self, status: int, headers: Headers) -> None:
        self.started = True
        self.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": headers})

    async def body(self, data: bytes, more: bool = False) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})


async def stream(
    out: Responder, receive: Receive | None, status: int, headers: Headers, chunks: AsyncIterator[bytes],
    head: bytes = b"", finished: Callable[[], bool] | None = None,
) -> None:
    """Send chunks as they come: no buffering, bytes untouched, stops when the client leaves.

    ``head`` is data already read (by the HTML path, before it gave up buffering).
    ``finished`` says whether ``chunks`` is at its end right after a chunk (the
    origin's framing ended): that chunk then goes out as the last message, so
    a body without a length (chunked) costs no extra empty message either.
    """
    await out.start(status, headers)
    declared = first(headers, b"content-length")
    remaining = int(declared) if declared and declared.isdigit() else -1
    if head:
        remaining -= len(head) if remaining >= 0 else 0
        await out.body(head, more=remaining != 0)
        if remaining == 0:
            return
    watcher: asyncio.Future[dict[str, Any]] | None = None
    try:
        async for chunk in chunks:
            if remaining >= 0:
                remaining -= len(chunk)
                if remaining <= 0:
                    await out.body(chunk)  # last one: no extra empty message
                    return
            elif finished is not None and finished():
                await out.body(chunk)
                return
            await out.body(chunk, more=True)
            if watcher is None and receive is not None:
                # a multi-chunk body: notice a client that leaves (uvicorn's send is silent then)
                watcher = asyncio.ensure_future(receive())
            elif watcher is not None and watcher.done():
                if watcher.result().get("type") == "http.disconnect":
                    return  # abandon; closing the upstream response happens in the caller
                watcher = asyncio.ensure_future(receive())  # a request-body message: keep watching
        await out.body(b"")
    finally:
        if watcher is not None and not watcher.done():
            watcher.cancel()


async def _left(receive: Receive) -> None:
    """Returns when the client has gone (request-body messages still arriving are passed over)."""
    while (await receive()).get("type") != "http.disconnect":
        pass


class until_gone:  # noqa: N801 — used like the function it was: ``until_gone(chunks, receive)``
    """``chunks`` until the client leaves, then ``ClientDisconnected`` (the caller closes the upstream).

    The HTML path may hold a page without sending anything for as long as the
    origin sends it, so it cannot notice a client that left by a failed send;
    without this an endless page kept its upstream connection open forever.
    Checked as each chunk arrives (no task per chunk: a page that arrives
    whole must stay whole); an origin that goes silent is cut by the idle
    timeout.

    An iterator object, not an async generator: it passes on the body's
    ``at_end`` (the HTML path then knows a page came whole, with no scan for
    what it could send early and no wait for more), and the watcher task
    starts only when a second piece is asked for — a page that arrives in one
    piece, the usual case, costs no task. ``close`` cancels the watcher (the
    caller calls it when done with the page, however it ended).
    """

    __slots__ = ("chunks", "receive", "watcher", "asked", "_at_end", "_arrived")

    def __init__(self, chunks: AsyncIterator[bytes], receive: Receive) -> None:
        self.chunks = chunks.__aiter__()
        self.receive = receive
        self.watcher: asyncio.Future[None] | None = None
        self.asked = False
        self._at_end: Callable[[], bool] | None = getattr(self.chunks, "at_end", None)
        self._arrived: Callable[[], bool] | None = getattr(self.chunks, "arrived", None)

    def __aiter__(self) -> "until_gone":
        return self

    def at_end(self) -> bool:
        """Every byte of the body has been handed out (False when the body cannot tell)."""
        return self._at_end is not None and self._at_end()

    def arrived(self) -> bool:
        """Every byte of the body has come, handed out or not (False when the body cannot tell)."""
        return self._arrived is not None and self._arrived()

    async def __anext__(self) -> bytes:
        if self.watcher is None:
            if self.asked:
                self.watcher = asyncio.ensure_future(_left(self.receive))
            self.asked = True
        elif self.watcher.done():
            self.close()
            raise ClientDisconnected()
        try:
            chunk = await self.chunks.__anext__()
        except BaseException:
            self.close()
            raise
        if self.watcher is not None and self.watcher.done():
            self.close()
            raise ClientDisconnected()
        return chunk

    def close(self) -> None:
        if self.watcher is not None and not self.watcher.done():
            self.watcher.cancel()
