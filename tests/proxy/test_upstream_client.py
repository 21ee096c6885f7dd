"""``Upstream``, the client seam to the origin, against a raw origin on 127.0.0.1 that writes exact bytes.

What the forwarding layer relies on: the status and the raw header list as the
origin sent them, the ``103 Early Hints`` seen on the way, a body read as it
arrives that ends cleanly only when the origin's framing says so, and every
failure mapped to the error the visitor's answer is made from (502, 504, or
nothing at all when the visitor is the one who left). The request goes out
with exactly the headers given and the target as written.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sw_upstreams import RawUpstream, reset, respond

from slotwise.proxy.config import Settings
from slotwise.proxy.forwarding.errors import ClientDisconnected, UpstreamBodyError, UpstreamTimeout, UpstreamUnavailable
from slotwise.proxy.forwarding.upstream import Upstream, UpstreamResponse, request_target

HEADERS = [(b"host", b"shop.test"), (b"x-forwarded-for", b"203.0.113.9")]


async def _origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    path = head.split(b" ")[1]
    if path == b"/hints":
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload; as=style\r\n\r\n")
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload; as=script\r\n\r\n")
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "2")], b"ok"))
    elif path == b"/cookies":
        writer.write(respond(b"HTTP/1.1 201 Created", [("Set-Cookie", "a=1"), ("X-Mixed-Case", "v"), ("Set-Cookie", "b=2"),
                                                        ("Content-Length", "0")]))
    elif path == b"/trickle":
        writer.write(respond(b"HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")]))
        for part in (b"one", b"two", b"three"):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")
    elif path == b"/ends-with-data":  # the last chunk and the end of the body in one write
        writer.write(respond(b"HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")], b"3\r\none\r\n"))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n")
    elif path == b"/cut":
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "100000")], b"x" * 1000))
        await writer.drain()
        await asyncio.sleep(0.05)
        reset(writer)
        return
    elif path == b"/cut-chunked":
        writer.write(respond(b"HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")], b"3\r\nabc\r\n"))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()  # closed without the last chunk
        return
    elif path == b"/quiet":
        writer.write(respond(b"HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")], b"3\r\nabc\r\n"))
        await writer.drain()
        await asyncio.sleep(2)
        return
    elif path == b"/slow":
        await asyncio.sleep(2)
        return
    elif path == b"/reset":
        reset(writer)
        return
    elif path == b"/upload":
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        body = await reader.readexactly(length)
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", str(len(body)))], body))
    else:
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "4")], b"echo"))
    await writer.drain()


@pytest.fixture(scope="module")
def origin() -> Any:
    with RawUpstream(_origin) as up:
        yield up


def _upstream(url: str) -> Upstream:
    return Upstream(Settings.from_mapping({"upstream": url, "connect_timeout": "1"}))


async def _get(url: str, path: str, *, idle: float | None = None, head: float | None = None,
               body: AsyncIterator[bytes] | None = None, headers: list[tuple[bytes, bytes]] = HEADERS,
               method: str = "GET") -> tuple[UpstreamResponse, list[bytes]]:
    upstream = _upstream(url)
    try:
        response = await upstream.send(method, path, headers, body, head)
        try:
            return response, [chunk async for chunk in response.body(idle)]
        finally:
            await response.aclose()
    finally:
        await upstream.aclose()


def test_early_hints_are_kept_in_order_with_the_final_answer(origin: RawUpstream) -> None:
    response, body = asyncio.run(_get(origin.url, "/hints"))
    assert response.status == 200 and b"".join(body) == b"ok"
    assert response.early_hints == [[(b"Link", b"</a.css>; rel=preload; as=style")],
                                    [(b"Link", b"</b.js>; rel=preload; as=script")]]


def test_headers_are_the_raw_list_in_order_with_repeats(origin: RawUpstream) -> None:
    response, body = asyncio.run(_get(origin.url, "/cookies"))
    assert response.status == 201 and body == [] and response.early_hints == []
    assert response.headers == [(b"Set-Cookie", b"a=1"), (b"X-Mixed-Case", b"v"), (b"Set-Cookie", b"b=2"),
                                (b"Content-Length", b"0")]


def test_the_origin_gets_exactly_the_headers_given_and_the_target_as_written(origin: RawUpstream) -> None:
    before = len(origin.requests)
    asyncio.run(_get(origin.url, "/echo/a%2Fb/../c?q=%7e&x"))
    head = origin.requests[before]
    lines = head.split(b"\r\n")
    assert lines[0] == b"GET /echo/a%2Fb/../c?q=%7e&x HTTP/1.1"  # no normalising, no re-quoting
    assert sorted(line.lower() for line in lines[1:] if line) == [b"host: shop.test", b"x-forwarded-for: 203.0.113.9"]


def test_a_streamed_request_body_goes_out_with_its_declared_length(origin: RawUpstream) -> None:
    async def upload() -> AsyncIterator[bytes]:
        for part in (b"abc", b"def"):
            await asyncio.sleep(0.01)
            yield part

    headers = [*HEADERS, (b"content-length", b"6")]
    response, body = asyncio.run(_get(origin.url, "/upload", body=upload(), headers=headers, method="POST"))
    assert response.status == 200 and b"".join(body) == b"abcdef"


def test_a_trickled_body_arrives_piece_by_piece(origin: RawUpstream) -> None:
    response, body = asyncio.run(_get(origin.url, "/trickle", idle=1.0))
    assert b"".join(body) == b"onetwothree" and len(body) >= 2  # not held until the end


@pytest.mark.parametrize("path", ["/cut", "/cut-chunked"])
def test_a_body_that_breaks_off_is_an_upstream_body_error_not_a_clean_end(origin: RawUpstream, path: str) -> None:
    async def read() -> list[bytes]:
        upstream = _upstream(origin.url)
        response = await upstream.send("GET", path, HEADERS, None, 5.0)
        got: list[bytes] = []
        try:
            with pytest.raises(UpstreamBodyError):
                async for chunk in response.body(5.0):
                    got.append(chunk)
        finally:
            await response.aclose()
            await upstream.aclose()
        return got

    got = asyncio.run(read())
    assert 0 < len(b"".join(got)) < 100_000  # what came before the break was handed on


def test_a_body_silent_past_the_idle_limit_is_a_timeout(origin: RawUpstream) -> None:
    with pytest.raises(UpstreamTimeout, match="silent for 0.2 s"):
        asyncio.run(_get(origin.url, "/quiet", idle=0.2))


def test_no_head_within_the_head_limit_is_a_timeout(origin: RawUpstream) -> None:
    with pytest.raises(UpstreamTimeout, match="no response head within 0.2 s"):
        asyncio.run(_get(origin.url, "/slow", head=0.2))


def test_a_reset_before_the_head_and_a_refused_connection_are_unavailable(origin: RawUpstream, free_port: int) -> None:
    with pytest.raises(UpstreamUnavailable) as reset_error:
        asyncio.run(_get(origin.url, "/reset"))
    assert not isinstance(reset_error.value, UpstreamBodyError)
    with pytest.raises(UpstreamUnavailable):
        asyncio.run(_get(f"http://127.0.0.1:{free_port}", "/"))


def test_a_visitor_whose_upload_breaks_off_is_a_disconnect_not_a_502(origin: RawUpstream) -> None:
    async def upload() -> AsyncIterator[bytes]:
        yield b"abc"
        raise ClientDisconnected()

    with pytest.raises(ClientDisconnected):
        asyncio.run(_get(origin.url, "/upload", body=upload(), headers=[*HEADERS, (b"content-length", b"6")],
                         method="POST", head=2.0))


_TARGET_BYTES = st.binary(max_size=40).map(lambda b: "/" + b.decode("latin-1"))


@given(_TARGET_BYTES)
def test_request_target_quotes_only_what_a_request_line_cannot_hold(target: str) -> None:
    out = request_target(target)
    assert out.isascii() and all(33 <= ord(c) < 127 and c not in '"<>\\^`{|}#' for c in out)
    if "%" not in target:
        assert unquote_to_bytes(out) == target.encode("latin-1")  # nothing lost, nothing added
    assert request_target(out) == out  # a target already fit for a request line goes out untouched


def test_finished_says_when_the_origin_s_framing_ended(origin: RawUpstream) -> None:
    async def read() -> list[bool]:
        upstream = _upstream(origin.url)
        response = await upstream.send("GET", "/ends-with-data", HEADERS, None, 5.0)
        seen = [response.finished()]
        try:
            async for _ in response.body(5.0):
                seen.append(response.finished())
        finally:
            await response.aclose()
            await upstream.aclose()
        return seen

    seen = asyncio.run(read())
    assert seen[0] is False and seen[-1] is True and not any(seen[1:-1])  # true only once the end is in


def test_a_chunked_answer_ends_with_its_last_piece_not_an_empty_message(origin: RawUpstream) -> None:
    """The forwarding layer sends the last piece of a body without a length as the last ASGI message."""
    from slotwise.proxy.app import create_app

    async def run() -> list[dict[str, Any]]:
        app = create_app(Settings.from_mapping({"upstream": origin.url}))
        sent: list[dict[str, Any]] = []
        gone = asyncio.get_running_loop().create_future()
        messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

        async def receive() -> dict[str, Any]:
            return next(messages, None) or await gone

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "scheme": "http", "path": "/ends-with-data",
                 "raw_path": b"/ends-with-data",
                 "query_string": b"", "headers": [(b"host", b"shop.test")], "client": ("127.0.0.1", 5000)}
        try:
            await app(scope, receive, send)
        finally:
            gone.cancel()
            await app.shutdown()
        return sent

    sent = asyncio.run(run())
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert b"".join(m["body"] for m in bodies) == b"onetwothree"
    assert bodies[-1]["more_body"] is False and bodies[-1]["body"] != b""
    assert all(m["more_body"] for m in bodies[:-1])


@pytest.mark.parametrize("path", ["/trickle", "/ends-with-data"])
def test_the_body_says_it_is_at_its_end_only_after_its_last_byte_was_handed_out(origin: RawUpstream, path: str) -> None:
    """``at_end`` lets the HTML path skip its streaming scan for a page that came whole; never early."""
    async def read() -> tuple[list[bool], bytes]:
        upstream = _upstream(origin.url)
        response = await upstream.send("GET", path, HEADERS, None, 5.0)
        body = response.body(5.0)
        seen, data = [body.at_end()], b""  # type: ignore[attr-defined]
        try:
            async for chunk in body:
                data += chunk
                seen.append(body.at_end())  # type: ignore[attr-defined]
        finally:
            await response.aclose()
            await upstream.aclose()
        return seen, data

    seen, data = asyncio.run(read())
    assert data and not any(seen[:-1])  # never before the last piece
    # the end came with the last piece (one write), or after it (a trickle's last chunk comes later)
    assert seen[-1] is (path == "/ends-with-data")
