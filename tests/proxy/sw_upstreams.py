"""Upstreams for the proxy tests: a starlette origin for normal cases, a raw asyncio one for faults.

The raw one writes exactly the bytes a test gives it (as nginx-tests does), so
broken framing, resets and stalls are reproducible without a toxiproxy daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import re
import socket
import struct
import threading
import zlib
from typing import Any, Awaitable, Callable

import brotli
import zstandard
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from slotwise.proxy.flow import Flow

PAGE = (
    "<!doctype html><html><head><meta charset=utf-8><title>Shop</title></head>"
    "<body><h1>Shop</h1><nav class=category-nav><ul><li>Shoes</li><li>Bags</li></ul></nav>"
    + "<p>product &amp; more</p>" * 200
    + "</body></html>"
).encode()

ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "identity": lambda b: b,
    "gzip": lambda b: gzip.compress(b, 6, mtime=0),
    "deflate": lambda b: zlib.compress(b, 6),  # zlib-wrapped, as the RFC says
    "rawdeflate": lambda b: zlib.compress(b, 6, -15),  # what some servers send
    "br": lambda b: brotli.compress(b),
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}


async def echo(request: Request) -> Response:
    digest = hashlib.sha256()
    size = 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "size": size,
            "sha256": digest.hexdigest(),
        },
        headers={"x-upstream": "echo"},
    )


async def html(request: Request) -> Response:
    """The page, encoded as ``?enc=``; with validators, caching and cookies like a real store."""
    enc = request.query_params.get("enc", "identity")
    charset = request.query_params.get("charset")
    body = PAGE
    if "latin1" in request.query_params:
        body = "<html><head><meta charset=iso-8859-1></head><body><h1>Shop</h1><p>caf\u00e9</p></body></html>".encode("latin-1")
    body = ENCODERS[enc](body)
    if "corrupt" in request.query_params:
        body = body[:10] + b"\x00garbage\xff" + body[20:]
    ctype = "text/html" + (f"; charset={charset}" if charset else "")
    headers = {
        "content-type": request.query_params.get("ctype", ctype),
        "etag": '"v1"',
        "last-modified": "Wed, 21 Oct 2015 07:28:00 GMT",
        "accept-ranges": "bytes",
        "cache-control": "public, max-age=60",
        "vary": "Accept-Encoding",
        "server": "origin/1.0",
        "date": "Wed, 21 Oct 2015 07:28:00 GMT",
    }
    if enc not in ("identity", "rawdeflate"):
        headers["content-encoding"] = enc
    elif enc == "rawdeflate":
        headers["content-encoding"] = "deflate"
    if request.headers.get("if-none-match") == '"v1"':
        return Response(status_code=304, headers={k: v for k, v in headers.items() if k in ("etag", "cache-control", "vary", "date", "server")})
    response = Response(body, headers=headers)
    response.raw_headers.append((b"set-cookie", b"a=1; Path=/"))
    response.raw_headers.append((b"set-cookie", b"b=2; Domain=127.0.0.1; Path=/"))
    response.raw_headers.append((b"set-cookie", b"c=3, d=4; Path=/"))
    return response


async def bigfile(request: Request) -> Response:
    n = int(request.query_params.get("n", "65536"))
    data = bytes(range(256)) * (n // 256)
    rng = request.headers.get("range")
    if rng and rng.startswith("bytes="):
        a, _, b = rng[6:].partition("-")
        start, end = int(a), int(b or len(data) - 1)
        return Response(data[start:end + 1], status_code=206, media_type="application/octet-stream",
                        headers={"content-range": f"bytes {start}-{end}/{len(data)}", "accept-ranges": "bytes"})
    return Response(data, media_type="application/octet-stream", headers={"accept-ranges": "bytes", "content-encoding": "x-custom"})


async def redirect(request: Request) -> Response:
    port = request.url.port
    to = request.query_params.get("to", f"http://127.0.0.1:{port}/echo?x=1")
    return Response(status_code=302, headers={"location": to})


async def status(request: Request) -> Response:
    code = int(request.path_params["code"])
    body = b"" if code in (204, 304) else f"status {code}".encode()
    return Response(body, status_code=code, media_type="text/plain")


TRICKLED = b"<!doctype html><html><head><title>Trickled</title></head><body>" + b"<p>item</p>\n" * 20000 + b"</body></html>"


async def trickle(request: Request) -> StreamingResponse:
    """A page whose head comes at once and the rest over ``over`` seconds (a store's early flush)."""
    over = float(request.query_params.get("over", "1.0"))

    async def pieces() -> Any:
        yield TRICKLED[:8192]
        rest = TRICKLED[8192:]
        size = -(-len(rest) // 20)
        for i in range(0, len(rest), size):
            await asyncio.sleep(over / 20)
            yield rest[i:i + size]

    return StreamingResponse(pieces(), media_type="text/html; charset=utf-8")


_SSE_HELD: dict[str, asyncio.Event] = {}  # streams whose second event waits for /sse/release?token=...


async def sse(request: Request) -> StreamingResponse:
    """Two events: the second after ``pause`` seconds, or (``?token=``) only once the test releases it."""
    token = request.query_params.get("token")

    async def events() -> Any:
        yield b"data: first\n\n"
        if token is None:
            await asyncio.sleep(float(request.query_params.get("pause", "1.0")))
        else:
            await _SSE_HELD.setdefault(token, asyncio.Event()).wait()
            del _SSE_HELD[token]
        yield b"data: second\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def sse_release(request: Request) -> Response:
    _SSE_HELD.setdefault(request.query_params["token"], asyncio.Event()).set()
    return Response(b"released")


async def slow_html(request: Request) -> Response:
    return Response(PAGE, media_type="text/html")


WS_LOG: list[dict[str, Any]] = []  # one entry per WebSocket the origin accepted: headers seen, close received


async def ws_echo(websocket: WebSocket) -> None:
    """Echoes text and binary; ``close:CODE:REASON`` closes with that code; ``headers`` sends what it received.

    ``/ws/deny`` refuses the upgrade with a 426 (what a typical origin answers a plain GET too); ``/ws/greet``
    sends ``welcome`` as soon as it accepts, before the visitor says anything (a chat's greeting, a stock feed's
    first state); ``vanish`` drops the connection without a close frame (an origin that crashes).
    """
    if websocket.url.path.endswith("/deny"):
        await websocket.send_denial_response(Response("upgrade refused", status_code=426, headers={"x-origin": "deny"}))
        return
    offered = websocket.scope.get("subprotocols") or []
    entry: dict[str, Any] = {"headers": [[k.decode(), v.decode()] for k, v in websocket.scope["headers"]], "close": None}
    WS_LOG.append(entry)
    await websocket.accept(subprotocol=offered[-1] if offered else None, headers=[(b"set-cookie", b"ws=1; Path=/")])
    if websocket.url.path.endswith("/greet"):
        await websocket.send_text("welcome")
    try:
        await _echo(websocket, entry)
    except WebSocketDisconnect as exc:  # the connection went while an echo was being sent: that is its end too,
        entry["close"] = [exc.code, exc.reason or ""]  # and the close frame it got, if any, is queued after the
        with contextlib.suppress(TimeoutError):  # messages that came before it
            async with asyncio.timeout(1):
                while (message := await websocket._receive())["type"] != "websocket.disconnect":
                    pass
            if message.get("code") != 1005:  # uvicorn's lost connection, after a close frame's disconnect
                entry["close"] = [message["code"], message.get("reason") or ""]


async def _echo(websocket: WebSocket, entry: dict[str, Any]) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            entry["close"] = [message.get("code"), message.get("reason") or ""]
            return
        text = message.get("text")
        if text is not None and text.startswith("close:"):
            _, code, reason = text.split(":", 2)
            await websocket.close(int(code), reason)
            return
        if text == "vanish":  # the origin's process fails: its server drops the connection, no close frame
            raise RuntimeError("the origin vanishes")
        if text == "headers":
            await websocket.send_text(json.dumps(entry["headers"]))
        elif message.get("bytes") is not None:
            await websocket.send_bytes(message["bytes"])
        else:
            await websocket.send_text(text or "")


def origin_app() -> Starlette:
    return Starlette(
        routes=[
            WebSocketRoute("/ws", ws_echo),
            WebSocketRoute("/ws/{rest:path}", ws_echo),
            Route("/echo", echo, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
            Route("/echo/{rest:path}", echo, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
            Route("/html", html, methods=["GET", "HEAD"]),
            Route("/bigfile", bigfile),
            Route("/redirect", redirect),
            Route("/status/{code:int}", status, methods=["GET", "POST", "HEAD"]),
            Route("/sse", sse),
            Route("/sse/release", sse_release),
            Route("/trickle", trickle),
        ]
    )


# -- raw asyncio origin ---------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), like a crashed origin."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class RawUpstream:
    """An origin that runs ``handler(reader, writer, request_head)`` per connection, in a thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.loop = asyncio.new_event_loop()
        self.requests: list[bytes] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                await self.handler(reader, writer, head)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.main = asyncio.current_task()
            self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
            self.port = self.server.sockets[0].getsockname()[1]
            self.ready.set()
            await self.server.serve_forever()

        try:
            self.loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        finally:
            self.loop.close()

    def __enter__(self) -> "RawUpstream":
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self.server.close()
            me = asyncio.current_task()
            handlers = [t for t in asyncio.all_tasks() if t is not me and t is not self.main]
            for task in handlers:
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            self.main.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop)
        self.thread.join(5)


def respond(status_line: bytes, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    head = status_line + b"\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers)
    return head + b"\r\n" + body


def json_body(data: Any) -> bytes:
    return json.dumps(data).encode()


def raw_request(port: int, data: bytes, timeout: float = 5.0, *, one_answer: bool = False) -> bytes:
    """Send exact bytes, read until the server closes (or the timeout); the full raw answer.

    ``one_answer``: stop once one answer with a ``Content-Length`` body is whole (a server that keeps
    the connection open after it would otherwise hold the test for the whole timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        out = bytearray()
        try:
            while chunk := sock.recv(65536):
                out += chunk
                if one_answer and _answer_is_whole(out):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        return bytes(out)


def _answer_is_whole(raw: bytes | bytearray) -> bool:
    head, sep, body = bytes(raw).partition(b"\r\n\r\n")
    if not sep:
        return False
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return length is not None and len(body) >= int(length.group(1))


class Rewriter:
    """A personalizer that changes ``<h1>Shop</h1>`` and remembers what it saw."""

    def __init__(self, new: bytes | None = b"<h1>Hello</h1>", extra: list[tuple[str, str]] | None = None) -> None:
        self.new, self.extra = new, extra or []
        self.seen: list[tuple[Flow, bytes]] = []

    def routes(self) -> list[Any]:
        return []

    async def on_request(self, flow: Flow) -> None:
        flow.extra_headers.extend(self.extra)

    def wants_body(self, flow: Flow) -> bool:
        return True

    async def on_html(self, flow: Flow, html: bytes) -> bytes | None:
        self.seen.append((flow, html))
        if self.new is None:
            return None
        return html.replace(b"<h1>Shop</h1>", self.new)

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...
