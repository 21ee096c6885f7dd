"""GETs without a body to the origin on our own keep-alive HTTP/1.1 connections (httptools' parser).

Why: a page fetch is the proxy's most frequent request, and for it aiohttp's
client cost about twice the CPU of a plain protocol reading the same answer
(a 120 KB page, 16 at a time against nginx on 127.0.0.1, same process: see
docs/benchmarks-history.md, "Ninth pass"). Only the common case comes here: ``GET``,
no request body, a plain ``http``/``https`` origin. Everything else (a body,
``HEAD``, WebSockets, a connection limit reached) stays on aiohttp
(``Upstream``), which also remains the reference for what this must do:

* the request goes out as ``Upstream`` sends it through aiohttp: the request
  line with the target as given, the headers in their order and case, nothing
  added (the forwarding layer already set ``Host``);
* ``103 Early Hints`` are read past and their headers kept; other ``1xx`` are
  read past;
* framing by ``Content-Length``, chunked, or the end of the connection (an
  answer without either); ``204``/``304`` have no body;
* an origin's head of up to ``MAX_HEADERS`` headers of ``MAX_HEADER_LINE``
  bytes each, else a 502 (aiohttp's limits as ``Upstream`` sets them);
* the body is handed out as it arrives (all that is buffered at once), and
  reading pauses above ``_HIGH`` bytes buffered (a 1 GB download streams);
* a connection goes back to the pool only after a complete answer that lets
  it stay open (``Connection: close``, an HTTP/1.0 answer, a body cut short or
  abandoned close it); idle ones are dropped after ``KEEPALIVE_S``;
* a pooled connection the origin closed meanwhile (it answers nothing) is
  retried once on a new one: a GET without a body is safe to send again;
* the origin's host name is looked up at most once a minute, as aiohttp's
  ``ttl_dns_cache`` (``ResolvedHost``): a burst of new connections costs one
  lookup;
* failures are ours: refused, reset or malformed before the head →
  ``UpstreamUnavailable`` (502); no connection within ``connect_timeout`` →
  ``UpstreamTimeout`` (504); the body broken off → ``UpstreamBodyError``. The
  head and idle timeouts stay the forwarding layer's (``Upstream.send``,
  ``UpstreamBody``).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from typing import Callable
from urllib.parse import urlsplit

import httptools

from slotwise.proxy.forwarding.errors import UpstreamBodyError, UpstreamTimeout, UpstreamUnavailable
from slotwise.proxy.forwarding.headers import Headers
from slotwise.proxy.forwarding.resolved_host import ResolvedHost
from slotwise.proxy.forwarding.upstream_body import UpstreamBody

_HIGH = 512 * 1024  # bytes of body buffered before reading pauses (a page fits: one read, no pause)
_NO_BODY = frozenset({204, 304})


class _Lost(Exception):
    """A pooled connection ended before the response head with nothing received on it: the origin had
    dropped it (the request goes once more, on a new connection)."""


class _Conn(asyncio.Protocol):
    """One connection to the origin and the response being read on it."""

    def __init__(self, client: "PlainGet") -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.idle_since = 0.0
        self.reused = False
        self.response: PlainResponse | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None:  # bytes while idle: the connection cannot be trusted any more
            self.close()
            return
        response.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            response.fail(ValueError("the origin switched protocols"))
            self.close()
        except httptools.HttpParserError as exc:
            response.fail(exc)
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self.response
        if response is not None:
            response.lost(exc)

    # -- httptools' callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        response = self.response
        assert response is not None
        if response.done:  # bytes past the end of the answer: the connection is not to be trusted
            raise ValueError("the origin sent more than its answer")
        response.headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        response = self.response
        assert response is not None
        response.headers.append((name, value))
        if len(response.headers) > self.client.max_headers or len(name) + len(value) > self.client.max_line:
            raise ValueError("the origin's response head is over the limits")

    def on_headers_complete(self) -> None:
        response = self.response
        assert response is not None
        status = self.parser.get_status_code()
        if status < 200:  # an interim answer: keep a 103's hints, read on to the final one
            if status == 103:
                response.early_hints.append(response.headers)
            response.interim = True
            return
        response.interim = False
        response.status = status
        response.keep_alive = self.parser.should_keep_alive()
        framed = any(n.lower() == b"content-length" or (n.lower() == b"transfer-encoding" and v.rstrip().lower()
                                                      .endswith(b"chunked")) for n, v in response.headers)
        response.to_close = not framed and status not in _NO_BODY  # the body ends with the connection
        response.head_in()

    def on_body(self, body: bytes) -> None:
        assert self.response is not None
        self.response.feed(body)

    def on_message_complete(self) -> None:
        response = self.response
        assert response is not None
        if response.interim:
            return
        response.complete()

    # -- the pool's side -----------------------------------------------------------------

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class PlainResponse:
    """The origin's answer on a ``_Conn``: ``UpstreamResponse``'s interface (status, headers, hints, body)."""

    def __init__(self, conn: _Conn) -> None:
        self.conn = conn
        self.status = 0
        self.headers: Headers = []
        self.early_hints: list[Headers] = []
        self.interim = False
        self.keep_alive = False
        self.to_close = False
        self.received = False
        self.head = asyncio.get_running_loop().create_future()
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.done = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused = False
        self.released = False

    # -- fed by the connection -------------------------------------------------------------

    def head_in(self) -> None:
        if not self.head.done():
            self.head.set_result(None)

    def feed(self, body: bytes) -> None:
        self.chunks.append(body)
        self.size += len(body)
        if self.size > _HIGH and not self.paused and self.conn.transport is not None:
            self.paused = True
            self.conn.transport.pause_reading()
        self._wake()

    def complete(self) -> None:
        self.done = True
        self._wake()

    def fail(self, exc: BaseException) -> None:
        if self.error is None and not self.done:
            self.error = exc
        if not self.head.done():
            self.head.set_exception(_Lost() if not self.received and self.conn.reused else exc)
        self._wake()

    def lost(self, exc: Exception | None) -> None:
        if self.done:
            return
        if self.head.done() and self.to_close and exc is None:
            self.complete()  # an answer framed by the end of the connection: this is its end
            return
        self.fail(exc or ConnectionResetError("the origin closed the connection"))

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- read by the forwarding layer -----------------------------------------------------------

    def body(self, idle_timeout: float | None = None) -> UpstreamBody:
        return UpstreamBody(self, idle_timeout)

    def read_nowait(self) -> bytes:
        """All the body buffered now (one piece), or b""."""
        chunks = self.chunks
        if not chunks:
            return b""
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.size = 0
        if self.paused and self.conn.transport is not None:
            self.paused = False
            self.conn.transport.resume_reading()
        return data

    def is_eof(self) -> bool:
        """Every byte of the body has come (some may still be buffered)."""
        return self.done

    def at_eof(self) -> bool:
        """Every byte of the body has come and been read."""
        return self.done and not self.chunks

    async def readany(self) -> bytes:
        while not self.chunks and not self.done:
            if self.error is not None:
                raise UpstreamBodyError(f"{type(self.error).__name__}: {self.error}")
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.read_nowait()

    def finished(self) -> bool:
        return self.done

    async def aclose(self) -> None:
        if self.released:
            return
        self.released = True
        conn = self.conn
        conn.response = None
        if self.done and self.error is None and self.keep_alive and not self.to_close and not conn.closed:
            self.conn.client.put(conn)
        else:
            conn.close()
            self.conn.client.count -= 1


class PlainGet:
    """The pool of connections to one origin, and the one thing it does: a GET without a body."""

    def __init__(self, base: str, *, connect_timeout: float, max_connections: int, keepalive_s: float,
                 max_line: int, max_headers: int, clock: Callable[[], float] = time.monotonic) -> None:
        parts = urlsplit(base)
        self.usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if parts.scheme == "https" else None
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        self.keepalive_s = keepalive_s
        self.max_line = max_line
        self.max_headers = max_headers
        self.clock = clock
        self.idle: list[_Conn] = []
        self.count = 0  # connections open, idle or busy
        self.resolved = ResolvedHost(self.host, self.port, clock=clock)

    def request(self, target: str, headers: Headers) -> bytes | None:
        """The request's bytes, or None when it is not one for us (aiohttp sends it, as before): turned
        off, the pool full, or a line break inside a header (which aiohttp refuses)."""
        if not self.usable or (self.count >= self.max_connections and not self.idle):
            return None
        request = b"".join([b"GET ", target.encode("latin-1"), b" HTTP/1.1\r\n",
                            *[b"%s: %s\r\n" % (n, v) for n, v in headers], b"\r\n"])
        lines = len(headers) + 2
        if request.count(b"\n") != lines or request.count(b"\r") != lines:
            return None
        return request

    async def get(self, request: bytes) -> PlainResponse:
        """``request`` (from ``request``) sent; the response head is in (the caller times it), the body is
        still to be read."""
        for attempt in range(2):
            conn = self._pooled() if attempt == 0 else None  # a second try goes on a new connection
            reused = conn is not None
            if conn is None:
                conn = await self._connect()
            conn.reused = reused
            response = PlainResponse(conn)
            conn.response = response
            assert conn.transport is not None
            try:
                conn.transport.write(request)
                await response.head
            except _Lost:
                await response.aclose()
                continue  # the origin had closed this pooled connection: once more on a new one
            except asyncio.CancelledError:
                await response.aclose()
                raise
            except Exception as exc:
                await response.aclose()
                raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
            return response
        raise UpstreamUnavailable("the origin closed the connection")

    def _pooled(self) -> _Conn | None:
        now = self.clock()
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed and now - conn.idle_since < self.keepalive_s:
                return conn
            conn.close()
            self.count -= 1
        return None

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        self.count += 1
        try:
            async with asyncio.timeout(self.connect_timeout or None):
                conn = await self._open(loop)
        except TimeoutError as exc:
            self.count -= 1
            raise UpstreamTimeout("no connection to the origin") from exc
        except OSError as exc:
            self.count -= 1
            raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self.count -= 1
            raise
        return conn

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Conn:
        """A connection to the first of the origin's addresses that takes one (``ResolvedHost``)."""
        failed: OSError | None = None
        for host, port in await self.resolved.addresses():
            try:
                _, conn = await loop.create_connection(
                    lambda: _Conn(self), host, port, ssl=self.ssl,
                    server_hostname=self.host if self.ssl is not None else None)
                return conn
            except OSError as exc:
                failed = exc
        self.resolved.forget()
        raise failed or OSError(f"no address for {self.host}")

    def put(self, conn: _Conn) -> None:
        now = self.clock()
        idle = self.idle
        while idle and (idle[0].closed or now - idle[0].idle_since >= self.keepalive_s):  # the oldest first
            idle.pop(0).close()
            self.count -= 1
        conn.idle_since = now  # its parser, at the end of a complete answer, reads the next one
        idle.append(conn)

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.count -= len(self.idle)
        self.idle.clear()
