"""``plain_get``: a GET without a body on our own connections answers exactly as aiohttp did, and keeps
its connections the way a keep-alive client must (reused after a complete answer, never after one that
closes, a pooled connection the origin dropped retried once, a large body read with back-pressure)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sw_upstreams import RawUpstream, respond

from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.plain_get import _HIGH
from slotwise.proxy.forwarding.upstream import Upstream

HEADERS = [(b"Host", b"shop.test"), (b"x-forwarded-for", b"203.0.113.9"), (b"Accept", b"text/html")]
BIG = 2 * 1024 * 1024
CONNECTIONS: dict[int, asyncio.StreamWriter] = {}
"""The origin's connections, by ``id`` of their writer, each held here: a closed connection's writer
left to the collector could give a new one its ``id`` and count two connections as one."""
DROPPING: set[int] = set()  # connections whose next request the origin drops without a word


async def _origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    CONNECTIONS[id(writer)] = writer
    path = head.split(b" ")[1]
    if id(writer) in DROPPING:  # it had kept the connection open, and drops it as the request comes
        DROPPING.discard(id(writer))
        writer.close()
        return
    if path == b"/drop-next":
        DROPPING.add(id(writer))
        path = b"/len"
    if path == b"/len":
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Length", "5")], b"hello"))
    elif path == b"/chunked":
        writer.write(respond(b"HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked"), ("X-A", "1")],
                             b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"))
    elif path == b"/close-delimited":  # no length, not chunked: the body ends with the connection
        writer.write(respond(b"HTTP/1.1 200 OK", [("Connection", "close"), ("Content-Type", "text/html")], b"<p>" * 5000))
        await writer.drain()
        writer.close()
        return
    elif path == b"/http10":
        writer.write(respond(b"HTTP/1.0 200 OK", [("Content-Type", "text/html")], b"old"))
        await writer.drain()
        writer.close()
        return
    elif path == b"/hints":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "2"), ("Link", "</a.css>; rel=preload")], b"ok"))
    elif path in (b"/204", b"/304"):
        writer.write(respond(b"HTTP/1.1 " + path[1:] + b" X", [("ETag", '"v1"')]))
    elif path == b"/close-after":  # a length, and the origin closes after it
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "2"), ("Connection", "close")], b"ok"))
        await writer.drain()
        writer.close()
        return
    elif path == b"/idle-close":  # keep-alive as far as the answer says, but the origin drops it soon after
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "2")], b"ok"))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()
        return
    elif path == b"/extra":  # more bytes than the answer's length: the connection cannot be trusted
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "2")], b"okHTTP/1.1 200 OK\r\n"))
    elif path == b"/big":
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", str(BIG))]))
        for _ in range(BIG // 65536):
            writer.write(b"x" * 65536)
            await writer.drain()
    else:
        writer.write(respond(b"HTTP/1.1 404 Not Found", [("Content-Length", "0")]))
    await writer.drain()


@pytest.fixture(scope="module")
def origin() -> Any:
    with RawUpstream(_origin) as up:
        yield up


def _upstream(url: str, plain: bool = True) -> Upstream:
    upstream = Upstream(Settings.from_mapping({"upstream": url, "connect_timeout": "1"}))
    upstream.plain.usable = plain  # False: every request through aiohttp, as before plain_get
    return upstream


async def _answer(upstream: Upstream, path: str, method: str = "GET") -> tuple[Any, ...]:
    response = await upstream.send(method, path, HEADERS, None, 5.0)
    try:
        body = b"".join([chunk async for chunk in response.body(5.0)])
        return response.status, response.headers, response.early_hints, body, response.finished()
    finally:
        await response.aclose()


@pytest.mark.parametrize("path", ["/len", "/chunked", "/close-delimited", "/http10", "/hints", "/204", "/304",
                                  "/close-after", "/missing"])
def test_a_plain_get_answers_as_aiohttp_did(origin: RawUpstream, path: str) -> None:
    async def both() -> tuple[tuple[Any, ...], tuple[Any, ...], int]:
        plain, aio = _upstream(origin.url), _upstream(origin.url, plain=False)
        asked = []
        get = plain.plain.get
        plain.plain.get = lambda *a: asked.append(a) or get(*a)  # type: ignore[method-assign]
        try:
            got = await _answer(plain, path), await _answer(aio, path)
            return got[0], got[1], len(asked)
        finally:
            await plain.aclose()
            await aio.aclose()

    ours, theirs, asked = asyncio.run(both())
    assert ours == theirs
    assert asked == 1  # the plain client did answer it


def test_a_connection_is_reused_after_a_complete_answer_and_not_after_one_that_closes(origin: RawUpstream) -> None:
    async def run(paths: list[str]) -> int:
        upstream = _upstream(origin.url)
        CONNECTIONS.clear()
        try:
            for path in paths:
                assert (await _answer(upstream, path))[0] == 200
            return len(CONNECTIONS)
        finally:
            await upstream.aclose()

    assert asyncio.run(run(["/len", "/chunked", "/len"])) == 1
    assert asyncio.run(run(["/close-after", "/len"])) == 2
    assert asyncio.run(run(["/close-delimited", "/len"])) == 2
    assert asyncio.run(run(["/extra", "/len"])) == 2


@pytest.mark.parametrize(("first", "pause", "sent"), [
    ("/idle-close", 0.3, 1),  # dropped a while before: seen closed, not used
    ("/drop-next", 0.0, 2),  # dropped just as the request went out on it: sent once more, on a new one
])
def test_a_pooled_connection_the_origin_dropped_costs_the_visitor_nothing(
    origin: RawUpstream, first: str, pause: float, sent: int,
) -> None:
    """The race every keep-alive client meets: the origin closes an idle connection, maybe just as a
    request goes out on it. A GET without a body is safe to send again, once, on a new connection."""
    async def run() -> tuple[Any, int]:
        upstream = _upstream(origin.url)
        CONNECTIONS.clear()
        try:
            assert (await _answer(upstream, first))[0] == 200
            await asyncio.sleep(pause)
            before = len(origin.requests)
            answer = await _answer(upstream, "/len")
            return answer, len(origin.requests) - before
        finally:
            await upstream.aclose()

    answer, requests = asyncio.run(run())
    assert answer[0] == 200 and answer[3] == b"hello"
    assert requests == sent and len(CONNECTIONS) == 2


def test_a_large_body_is_read_with_back_pressure(origin: RawUpstream) -> None:
    async def run() -> tuple[int, int]:
        upstream = _upstream(origin.url)
        try:
            response = await upstream.send("GET", "/big", HEADERS, None, 5.0)
            total, most = 0, 0
            async for chunk in response.body(5.0):
                total += len(chunk)
                most = max(most, len(chunk))
                await asyncio.sleep(0.002)  # a slow visitor
            await response.aclose()
            return total, most
        finally:
            await upstream.aclose()

    total, most = asyncio.run(run())
    assert total == BIG
    assert most <= _HIGH + 512 * 1024  # reading paused: never much more than the bound buffered


def test_what_is_not_a_plain_get_stays_on_aiohttp(origin: RawUpstream) -> None:
    async def run() -> int:
        upstream = _upstream(origin.url)
        try:
            assert (await _answer(upstream, "/len", method="HEAD"))[0] == 200
            response = await upstream.send("GET", "/len", [*HEADERS, (b"x-bad", b"a\r\nb")], None, 5.0)
            await response.aclose()
            return upstream.plain.count
        except Exception:  # aiohttp refuses a header with a line break: as before
            return upstream.plain.count
        finally:
            await upstream.aclose()

    assert asyncio.run(run()) == 0


def test_page_client_aiohttp_sends_every_get_through_aiohttp(origin: RawUpstream) -> None:
    upstream = Upstream(Settings.from_env({"SLOTWISE_PAGE_CLIENT": "aiohttp"}, upstream=origin.url, connect_timeout="1"))
    asked: list[Any] = []
    upstream.plain.get = lambda *a: asked.append(a)  # type: ignore[method-assign,assignment]

    async def run() -> tuple[Any, ...]:
        try:
            return await _answer(upstream, "/len")
        finally:
            await upstream.aclose()

    assert asyncio.run(run())[3] == b"hello" and asked == []


def test_an_unknown_page_client_is_refused_with_the_option_named() -> None:
    from slotwise.proxy.config import ConfigError

    with pytest.raises(ConfigError, match="SLOTWISE_PAGE_CLIENT / --page-client: 'httpx' is not one of own, aiohttp"):
        Settings.from_env({"SLOTWISE_PAGE_CLIENT": "httpx"}, upstream="http://127.0.0.1:1")
    assert Settings.from_env({}, upstream="http://127.0.0.1:1").page_client == "own"
