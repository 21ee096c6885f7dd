"""WebSockets through the real servers (granian and uvicorn) to a real origin on 127.0.0.1.

Echo both ways, header hygiene, subprotocols, close codes both ways, refusals
passed on, idle limits per path, and nothing under /_sw/.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import time
from typing import Any, Iterator

import pytest
from sw_servers import SERVERS, proxy_process
from sw_upstreams import WS_LOG
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


@pytest.fixture(scope="module", params=SERVERS)
def served(request: Any, origin: Any, port_factory: Any, process_runner: Any) -> Iterator[Any]:
    port = port_factory()
    with proxy_process(process_runner, port, origin.url, request.param,
                       path_timeouts="/ws/idle* idle=0.6", idle_timeout=30) as proxy:
        proxy.server = request.param
        yield proxy


def ws_url(proxy: Any, path: str) -> str:
    return f"ws://127.0.0.1:{proxy.port}{path}"


def test_echo_text_and_binary_with_subprotocol_and_clean_headers(served: Any, origin: Any) -> None:
    headers = {"Cookie": "sid=abc", "X-Forwarded-For": "6.6.6.6", "Proxy": "http://evil:1", "Origin": "http://shop.test"}
    with connect(ws_url(served, "/ws/chat?room=1"), subprotocols=["v1.chat", "v2.chat"],
                 additional_headers=headers, open_timeout=5) as ws:
        assert ws.subprotocol == "v2.chat"  # the origin picked it: the visitor gets that one
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        payload = bytes(range(256)) * 300  # 76 KB binary
        ws.send(payload)
        assert ws.recv(timeout=5) == payload
        ws.send("headers")
        seen = {k: v for k, v in json.loads(ws.recv(timeout=5))}
        if served.server == "uvicorn":  # granian drops websocket.accept headers (README: Protocols)
            assert "ws=1" in ws.response.headers.get("set-cookie", "")
    assert seen["host"] == origin.url.split("//")[1]
    assert seen["cookie"] == "sid=abc" and seen["origin"] == "http://shop.test"
    assert seen["x-forwarded-for"] == "127.0.0.1"  # a client's own XFF is not believed
    assert seen["x-forwarded-proto"] == "http"  # the page's scheme, not ws
    assert "proxy" not in seen  # httpoxy
    # the upstream handshake is the proxy's own: a fresh key, not the visitor's
    assert seen["sec-websocket-key"] != ws.request.headers["sec-websocket-key"]
    assert [p.strip() for p in seen["sec-websocket-protocol"].split(",")] == ["v1.chat", "v2.chat"]


def test_close_codes_travel_both_ways(served: Any) -> None:
    with connect(ws_url(served, "/ws/a"), open_timeout=5) as ws:
        ws.send("close:4002:bye now")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4002 and closed.value.rcvd.reason == "bye now"

    before = len(WS_LOG)
    with connect(ws_url(served, "/ws/b"), open_timeout=5) as ws:
        ws.send("x")
        assert ws.recv(timeout=5) == "x"
        ws.close(code=4001, reason="leaving")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (len(WS_LOG) > before and WS_LOG[-1]["close"]):
        time.sleep(0.02)
    assert WS_LOG[-1]["close"][0] == 4001
    if served.server == "uvicorn":  # granian's ASGI disconnect carries the code only
        assert WS_LOG[-1]["close"][1] == "leaving"


def test_a_refused_upgrade_passes_the_origins_status(served: Any) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(served, "/ws/deny"), open_timeout=5)
    assert refused.value.response.status_code == 426


def test_idle_limit_per_path_closes_with_1001_traffic_keeps_it_open(served: Any) -> None:
    with connect(ws_url(served, "/ws/idle-busy"), open_timeout=5) as ws:
        for i in range(6):  # 1.2 s of traffic every 0.2 s: past the 0.6 s idle limit in total
            ws.send(f"m{i}")
            assert ws.recv(timeout=5) == f"m{i}"
            time.sleep(0.2)
    start = time.monotonic()
    with connect(ws_url(served, "/ws/idle-quiet"), open_timeout=5) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert 0.5 < time.monotonic() - start < 3


def test_no_websocket_under_sw(served: Any) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(served, "/_sw/health"), open_timeout=5)
    assert refused.value.response.status_code == 404


def _upgraded(port: int, path: str) -> socket.socket:
    """A raw WebSocket to the proxy that reads nothing after the 101: its receive window stays small."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window is set at the SYN
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_visitor_that_reads_nothing_is_cut_at_the_idle_limit(served: Any) -> None:
    """Echoes pile up toward a visitor who stopped reading (a frozen tab, a peer gone without a FIN): the relay's
    sends to it wait, and the idle limit must still end the WebSocket and tell the origin."""
    before = len(WS_LOG)
    with _upgraded(served.port, "/ws/idle-stuck") as sock:
        frame = b"\x82\xff" + (1 << 16).to_bytes(8, "big") + b"\0\0\0\0" + b"x" * (1 << 16)  # binary, zero mask
        sock.settimeout(1)
        try:
            for _ in range(512):  # up to 32 MB: the relay's sends to this visitor wait long before that
                sock.sendall(frame)
        except TimeoutError:  # the proxy stopped reading too: everything between is full
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (len(WS_LOG) > before and WS_LOG[-1]["close"]):
            time.sleep(0.05)
        assert len(WS_LOG) > before and WS_LOG[-1]["close"] is not None, "the origin's WebSocket was left open"
        # told (1001), or cut when even our close frame found no room toward it (1006)
        assert WS_LOG[-1]["close"][0] in (1001, 1006)


def test_the_origins_first_message_reaches_a_visitor_who_has_said_nothing(served: Any) -> None:
    """A chat's greeting or a stock feed's first state comes from the origin right after the upgrade."""
    with connect(ws_url(served, "/ws/greet"), open_timeout=5) as ws:
        assert ws.recv(timeout=5) == "welcome"
        ws.send("then")
        assert ws.recv(timeout=5) == "then"


def _origins_close(before: int) -> list[Any]:
    """The close code and reason the origin's next WebSocket after ``before`` received (waits up to 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not (len(WS_LOG) > before and WS_LOG[-1]["close"]):
        time.sleep(0.02)
    assert len(WS_LOG) > before and WS_LOG[-1]["close"] is not None, "the origin's WebSocket was left open"
    return WS_LOG[-1]["close"]


@pytest.mark.parametrize("frame", [b"\x88\x85\0\0\0\0\x0f\xa3bye", b"\x88\x80\0\0\0\0", b""],
                         ids=["close-4003", "close-without-code", "dropped"])
def test_the_visitors_close_reaches_the_origin_a_drop_as_going_away(served: Any, frame: bytes) -> None:
    """The visitor's close reaches the origin also when it comes while echoes are on their way to the visitor
    (the relay's send fails first). A killed browser or a lost network sends no close frame: the origin hears
    1001 (going away), never a dropped connection (1006: no frame may carry it). A close frame without a code is
    a normal close (1000) where the server tells the two apart: granian does not (README: Protocols)."""
    before = len(WS_LOG)
    with _upgraded(served.port, "/ws/drop") as sock:
        sock.sendall(b"\x81\x82\0\0\0\0hi" * 50)  # messages (zero mask): their echoes come back as the visitor goes
        if frame:  # then reads what comes until the server closes: unread bytes would make its close a reset
            sock.sendall(frame)
            with contextlib.suppress(OSError):
                while sock.recv(65536):
                    pass
    expected = {b"": [1001, ""], b"\x88\x80\0\0\0\0": [1000 if served.server == "uvicorn" else 1001, ""]}
    # granian's ASGI disconnect carries the code only
    assert _origins_close(before) == expected.get(frame, [4003, "bye" if served.server == "uvicorn" else ""])


def test_an_origin_that_drops_is_an_error_for_the_visitor(served: Any) -> None:
    """An origin gone without a close frame (a crash, a reset) is 1011 for the visitor, not a going away."""
    with connect(ws_url(served, "/ws/vanish"), open_timeout=5) as ws:
        ws.send("vanish")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
