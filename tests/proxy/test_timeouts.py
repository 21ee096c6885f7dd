"""Time to the response head and silence inside a body are separate limits, per path, on both servers.

A raw origin on 127.0.0.1: an event stream quiet for longer than the idle
limit where the path allows it, the same quiet stream where it does not
(cut, and the client can tell: no final chunk), a long poll, a slow upload,
and ``103 Early Hints``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, Iterator

import pytest
from sw_servers import SERVERS, proxy_process
from sw_upstreams import RawUpstream, respond


async def _origin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    path = head.split(b" ")[1]
    if path.startswith((b"/events/", b"/quiet")):
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
        writer.write(b"9\r\ndata: 1\n\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.8)
        writer.write(b"9\r\ndata: 2\n\n\r\n0\r\n\r\n")
        await writer.drain()
    elif path.startswith((b"/poll/", b"/slow")):
        await asyncio.sleep(0.6)
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")], b"answer"))
        await writer.drain()
    elif path.startswith(b"/upload"):
        size = 0
        while (line := await reader.readline()) not in (b"0\r\n", b""):
            size += len(await reader.readexactly(int(line, 16) + 2)) - 2
        await reader.readline()
        body = str(size).encode()
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", str(len(body)))], body))
        await writer.drain()
    elif path.startswith(b"/hints"):
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload; as=style\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2"),
                                                  ("Link", "</app.js>; rel=preload; as=script")], b"ok"))
        await writer.drain()


@pytest.fixture(scope="module", params=SERVERS)
def served(request: Any, port_factory: Any, process_runner: Any) -> Iterator[Any]:
    with RawUpstream(_origin) as up:
        port = port_factory()
        with proxy_process(process_runner, port, up.url, request.param, read_timeout=0.3, idle_timeout=0.3,
                           path_timeouts="/events/* idle=0; /poll/* head=3") as proxy:
            yield proxy


def get(port: int, path: str, timeout: float = 10.0) -> tuple[bytes, bytes, float]:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n".encode())
        data = bytearray()
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return head, body, time.monotonic() - start


def test_an_event_stream_may_stay_quiet_where_the_path_allows_it(served: Any) -> None:
    head, body, took = get(served.port, "/events/cart")
    assert head.startswith(b"HTTP/1.1 200") and took > 0.75
    assert b"data: 1" in body and b"data: 2" in body and body.endswith(b"0\r\n\r\n")  # whole, cleanly ended


def test_a_body_silent_past_the_idle_limit_is_cut_and_the_client_can_tell(served: Any) -> None:
    head, body, took = get(served.port, "/quiet")
    assert head.startswith(b"HTTP/1.1 200") and b"data: 1" in body
    assert b"data: 2" not in body and not body.endswith(b"0\r\n\r\n")  # no clean end of a cut body
    assert 0.25 < took < 0.75


def test_the_head_timeout_is_504_and_a_path_can_wait_longer(served: Any) -> None:
    head, _, took = get(served.port, "/slow")
    assert head.startswith(b"HTTP/1.1 504") and took < 0.6
    head, body, took = get(served.port, "/poll/cart")
    assert head.startswith(b"HTTP/1.1 200") and body.endswith(b"answer")


def test_a_slow_upload_is_not_the_origin_being_slow(served: Any) -> None:
    """The head timeout (0.3 s) starts once the body is sent: a 1.2 s upload still gets its answer."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: shop\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(6):
            sock.sendall(b"400\r\n" + b"u" * 1024 + b"\r\n")
            time.sleep(0.2)
        sock.sendall(b"0\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\n6144")


def test_early_hints_links_reach_the_client_on_the_final_head(served: Any) -> None:
    head, body, _ = get(served.port, "/hints")
    links = [line.split(b":", 1)[1].strip() for line in head.lower().split(b"\r\n") if line.startswith(b"link:")]
    assert head.startswith(b"HTTP/1.1 200") and body == b"ok"
    assert b"</app.css>; rel=preload; as=style" in links and b"</app.js>; rel=preload; as=script" in links


def test_path_timeouts_parse_and_refuse_what_they_cannot_read() -> None:
    from slotwise.proxy.config import ConfigError, Settings

    s = Settings.from_mapping({"upstream": "http://shop", "read_timeout": "20", "idle_timeout": "0",
                               "path_timeouts": "/events/* idle=0;\n/poll/* head=120 idle=5; /ws/* idle=300"})
    assert s.timeouts_for("/events/cart") == (20.0, None)
    assert s.timeouts_for("/poll/a/b") == (120.0, 5.0)
    assert s.timeouts_for("/") == (20.0, None)  # idle 0: no limit anywhere
    for bad in ("events/* idle=0", "/x idel=3", "/x head=-1", "/x head=soon", "/x"):
        with pytest.raises(ConfigError, match="SLOTWISE_PATH_TIMEOUTS"):
            Settings.from_mapping({"upstream": "http://shop", "path_timeouts": bad})
