"""WebSockets: the visitor's upgrade is made to the origin, then messages are relayed both ways.

Live chat, cart and stock updates run on WebSockets; a reverse proxy that
drops ``Upgrade`` breaks them. Same rules as HTTP (``forward_http``): the
origin is fixed by the settings, absolute-form targets for other hosts are
refused, hop-by-hop headers and the client's ``Sec-WebSocket-*`` handshake
headers stay on their hop (the upstream handshake is our own), the origin's
Host, X-Forwarded-* and Forwarded are set, cookies and Origin pass. Subprotocols are
offered to the origin as the browser offered them, and the one it picks is
the one the browser gets.

The upstream handshake happens before the visitor's is accepted: an origin
that refuses (a 403, a 426) has its status passed on where the server can
send an HTTP answer to an upgrade (the ASGI ``websocket.http.response``
extension: granian and uvicorn both), an origin that cannot be reached is a
502/504 the same way. The origin's ``Set-Cookie`` on its 101 is passed on
where the server sends ``websocket.accept`` headers (uvicorn; granian drops
them).

Messages (not frames: fragmented messages are reassembled by both ends) are
relayed as text or binary. Close codes travel both ways with their reasons; a
close frame without a code (1005) becomes 1000. A connection that ends without
a close frame has no code to pass on (1006 may not be sent, RFC 6455 7.4.1): a
visitor who drops (a killed browser, a lost network) is going away, 1001 for
the origin; an origin that drops is an error, 1011 for the visitor. Which
visitor had no close frame is the server's to say: uvicorn gives a close
frame's ``websocket.disconnect`` a ``reason`` and a lost connection's none;
granian gives both the same 1005 and no reason, so under granian a close frame
without a code (a page's ``close()`` with no arguments) is taken for a drop,
1001 (README: Protocols). A send to a visitor who just left fails before its
disconnect is read: the relay then reads it, so the origin still gets the
visitor's own code.

A worker that stops ends its WebSockets with 1012 (service restart) on both
sides (README: Stopping): uvicorn sends it to the visitor and to the app;
granian tells the app of a visitor without a close frame and leaves the
connection open, and the relay, which knows the worker is stopping (the app
passes ``worker_signals.stopping``), sends the 1012 itself.

A connection silent for the path's idle timeout (no message either way, no
ping from the origin) is closed with 1001 on both sides, the origin first. A message waiting for a visitor who reads nothing
is no traffic, and each close frame is given ``_CLOSE_WAIT`` to find room
(the origin's connection is dropped past it): a stuck visitor cannot hold
the relay and the origin's WebSocket open for ever. Pings from the origin
are answered here; the server answers the visitor's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from slotwise.proxy.operations import metrics
from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.errors import ProxyError, UpstreamError, UpstreamRefusedUpgrade, error_page
from slotwise.proxy.forwarding.forward_http import Forwarder
from slotwise.proxy.forwarding.forward_stream import Receive, Scope, Send
from slotwise.proxy.forwarding.headers import HOP_BY_HOP, Headers, ResponseHeaderRewriter, upstream_request_headers
from slotwise.proxy.forwarding.upstream import Upstream

log = logging.getLogger("slotwise.proxy")

_HANDSHAKE = frozenset({b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions",
                        b"sec-websocket-protocol", b"sec-websocket-accept", b"content-length", b"content-type",
                        b"transfer-encoding", b"date", b"server"})
CLOSE_IDLE = 1001
VISITOR_LOST = 1001  # going away: what the origin is told of a visitor gone without a close frame
SERVICE_RESTART = 1012  # what both sides are told when this worker stops (uvicorn's own code for it)
ORIGIN_LOST = 1011  # an unexpected condition: what the visitor is told of an origin gone without one
_CLOSE_WAIT = 5.0  # seconds for a visitor to answer our close frame
_NO_CODE = 1005  # a close frame without a code; 1006 and 1015 are connections lost without one


def wire_code(code: int | None, lost: int) -> int:
    """A close code that may be sent in a close frame: a close frame's own, 1000 for one without a code,
    ``lost`` for a connection that ended without a close frame (``None``, 1006, 1015) or a code no frame may carry."""
    if code == _NO_CODE:
        return 1000
    if code is not None and (code == 1000 or (1001 <= code <= 1014 and code not in (1004, 1006)) or 3000 <= code <= 4999):
        return code
    return lost


def visitor_close(message: Mapping[str, Any], stopping: bool = False) -> tuple[int, str]:
    """The close code and reason for the origin from the server's ``websocket.disconnect``. A 1005 without a
    ``reason`` is no close frame, not a frame without a code: uvicorn gives a frame's close a reason (its lost
    connection has none), granian gives neither a reason. No close frame in a worker that is ``stopping`` is
    the server ending the WebSocket (granian's stop), not the visitor: a restart."""
    code = message.get("code", _NO_CODE)
    if code == _NO_CODE and "reason" not in message:
        return (SERVICE_RESTART if stopping else VISITOR_LOST), ""
    return wire_code(code, VISITOR_LOST), message.get("reason") or ""


class VisitorGone(Exception):
    """A send to the visitor failed: the visitor left, and the server's ``websocket.disconnect`` says how."""


async def deny(scope: Scope, send: Send, status: int, headers: Headers, body: bytes) -> None:
    """An HTTP answer to the upgrade where the server can send one, else a plain refusal (403)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
    metrics.count_response(status)


class WebSocketForwarder:
    def __init__(self, settings: Settings, upstream: Upstream, forwarder: Forwarder,
                 stopping: Callable[[], bool] = lambda: False) -> None:
        self.settings = settings
        self.upstream = upstream
        self.forwarder = forwarder  # its request-target and flow rules are the HTTP ones
        self.stopping = stopping  # whether this worker got its stop signal (the app's: worker_signals.stopping)
        self.rewrite_headers = ResponseHeaderRewriter(settings.upstream)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        try:
            target = self.forwarder._target(scope)
        except ProxyError as exc:
            status, headers, body = error_page(exc)
            await deny(scope, send, status, headers, body)
            return
        flow = self.forwarder._flow(scope, target)
        headers_in = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in flow.headers]
        outgoing = [
            (n, v) for n, v in upstream_request_headers(
                headers_in, upstream_host=self.settings.upstream_host, origin=flow.state["origin"],
                public_host=flow.public_host, scheme=flow.scheme,
            ) if n.lower() not in _HANDSHAKE
        ]
        head_timeout, idle_timeout = self.settings.timeouts_for(flow.path)
        try:
            ws = await self.upstream.ws_connect(target, outgoing, scope.get("subprotocols") or (), head_timeout)
        except UpstreamRefusedUpgrade as exc:
            public = self.forwarder.public_url or f"{flow.scheme}://{flow.public_host}"
            headers = [(n, v) for n, v in self.rewrite_headers(exc.headers, public) if n not in _HANDSHAKE]
            body = f"{exc.status}: the store did not accept this WebSocket\n".encode()
            await deny(scope, send, exc.status, headers + [(b"content-type", b"text/plain; charset=utf-8"),
                                                           (b"cache-control", b"no-store")], body)
            return
        except UpstreamError as exc:
            metrics.count_upstream_error(type(exc).__name__)
            status, headers, body = error_page(exc)
            await deny(scope, send, status, headers, body)
            return
        try:
            public = self.forwarder.public_url or f"{flow.scheme}://{flow.public_host}"
            answer = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in ws._response.headers.items()]
            accept_headers = [(n, v) for n, v in self.rewrite_headers(answer, public)
                              if n not in _HANDSHAKE and n not in HOP_BY_HOP]
            await send({"type": "websocket.accept", "subprotocol": ws.protocol, "headers": accept_headers})
            metrics.count_response(101)
            await Relay(ws, receive, send, idle_timeout, self.stopping).run()
        finally:
            if not ws.closed:
                await ws.close(code=1001)


class Relay:
    """Both directions of one proxied WebSocket, until either side closes or it goes idle."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, receive: Receive, send: Send, idle: float | None,
                 stopping: Callable[[], bool]) -> None:
        self.ws, self.receive, self.send, self.idle, self.stopping = ws, receive, send, idle, stopping
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()
        self.closing_origin = False  # our close frame to the origin is on its way: nothing else reads from it

    async def run(self) -> None:
        client = asyncio.ensure_future(self.from_client())
        origin = asyncio.ensure_future(self.from_origin())
        tasks = {client, origin}
        if self.idle:
            tasks.add(asyncio.ensure_future(self.watch_idle()))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if origin in done and isinstance(origin.exception(), VisitorGone):
                await asyncio.wait({client}, timeout=_CLOSE_WAIT)  # the server's next receive gives the disconnect
                done = {client}
            if client in done:  # the visitor left: the origin is told how (a relay bug surfaces here)
                code, reason = client.result() if client.done() else (VISITOR_LOST, "")
                await self._close_origin(code, reason)
                if code == SERVICE_RESTART and self.stopping():  # granian's stop left the visitor's connection open
                    await self._close_client(code, reason)
                return
            ended = next(iter(done))
            code, reason = ended.result()
            # granian sends no close frame while a receive is pending: stop reading first
            client.cancel()
            await asyncio.gather(client, return_exceptions=True)
            if ended is not origin:  # idle: the origin is told too, first: a visitor who reads nothing cannot hold it
                await self._close_origin(code, reason)
            await self._close_client(code, reason)
            try:  # the visitor's answer to our close frame ends the exchange
                async with asyncio.timeout(_CLOSE_WAIT):
                    await self.receive()
            except (TimeoutError, Exception):  # noqa: BLE001 — gone is gone
                pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def from_client(self) -> tuple[int, str]:
        while True:
            message = await self.receive()
            kind = message["type"]
            if kind == "websocket.receive":
                self.last = self.loop.time()
                data = message.get("bytes")
                if data is not None:
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(message.get("text") or "")
            elif kind == "websocket.disconnect":
                return visitor_close(message, self.stopping())

    async def from_origin(self) -> tuple[int, str]:
        ws = self.ws
        # once we close the origin, its answer is read by the close: a receive after that would send a close
        # of its own, 1000, ahead of ours (aiohttp's receive on a closing WebSocket closes it)
        while not self.closing_origin:
            msg = await ws.receive()
            kind = msg.type
            if kind == aiohttp.WSMsgType.TEXT:
                self.last = self.loop.time()
                await self._to_client({"type": "websocket.send", "text": msg.data})
            elif kind == aiohttp.WSMsgType.BINARY:
                self.last = self.loop.time()
                await self._to_client({"type": "websocket.send", "bytes": msg.data})
            elif kind == aiohttp.WSMsgType.PING:
                self.last = self.loop.time()
                await ws.pong(msg.data)
            elif kind == aiohttp.WSMsgType.PONG:
                self.last = self.loop.time()
            elif kind == aiohttp.WSMsgType.CLOSE:  # its close frame: its code (0 is none) and reason
                return wire_code(msg.data or _NO_CODE, ORIGIN_LOST), msg.extra if isinstance(msg.extra, str) else ""
            else:  # CLOSING, CLOSED, ERROR: the origin's connection ended without a close frame
                return ORIGIN_LOST, ""
        return ORIGIN_LOST, ""  # not read: the relay is closing the origin itself

    async def _to_client(self, message: dict[str, Any]) -> None:
        try:
            await self.send(message)
        except Exception as exc:  # noqa: BLE001 — each server has its own error for a visitor gone
            raise VisitorGone from exc

    async def watch_idle(self) -> tuple[int, str]:
        assert self.idle
        while True:
            left = self.last + self.idle - self.loop.time()
            if left <= 0:
                return CLOSE_IDLE, "idle"
            await asyncio.sleep(left)

    async def _close_origin(self, code: int, reason: str) -> None:
        """Our close frame to the origin, its answer awaited; an origin whose connection is full both ways (it
        waits to send to us, we wait to send to a visitor who reads nothing) is cut after ``_CLOSE_WAIT``."""
        connection = self.ws._response.connection
        transport = connection.transport if connection is not None else None  # aiohttp lets it go on a cancel
        self.closing_origin = True
        try:
            async with asyncio.timeout(_CLOSE_WAIT):
                await self.ws.close(code=code, message=reason.encode())
        except TimeoutError:
            log.debug("websocket close to an origin that takes nothing: connection dropped")
            if transport is not None:
                transport.abort()  # its unread bytes make the close a reset: the origin hears of it at once

    async def _close_client(self, code: int, reason: str) -> None:
        """Our close frame to the visitor; a visitor who reads nothing (the server's send waits for room that never
        comes) is given up on after ``_CLOSE_WAIT``, so the relay still ends."""
        try:
            async with asyncio.timeout(_CLOSE_WAIT):
                await self.send({"type": "websocket.close", "code": code, "reason": reason[:123]})
        except TimeoutError:
            log.debug("websocket close to a client that reads nothing: given up")
        except Exception:  # noqa: BLE001 — the visitor is gone already
            log.debug("websocket close to a client that left", exc_info=True)
