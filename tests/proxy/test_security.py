"""Never an open proxy, no request smuggling — checked against the real servers (granian and uvicorn)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from sw_upstreams import RawUpstream, raw_request, respond


def count_responses(raw: bytes) -> int:
    return raw.count(b"HTTP/1.1 ")


@pytest.fixture(scope="module", params=["granian", "uvicorn"])
def served(request: Any, port_factory: Any, process_runner: Any) -> Any:
    """The proxy run by ``slotwise.proxy.server`` in a subprocess, in front of a recording raw origin."""
    seen: list[bytes] = []

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        seen.append(head)
        length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0)
        if b"chunked" in head.lower():
            while (line := await reader.readline()) not in (b"0\r\n", b""):
                await reader.readexactly(int(line, 16) + 2)
            await reader.readline()
        elif length:
            await reader.readexactly(length)
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Length", "2"), ("Content-Type", "text/plain")], b"ok"))
        await writer.drain()

    with RawUpstream(handler) as up:
        port = port_factory()
        env = {"SLOTWISE_UPSTREAM": up.url, "SLOTWISE_PORT": str(port), "SLOTWISE_SERVER": request.param, "SLOTWISE_LOG_LEVEL": "error"}
        with process_runner([sys.executable, "-m", "slotwise.proxy.server"], port, env) as proxy:
            yield proxy, seen, up


def test_only_the_configured_upstream_is_contacted(served: Any) -> None:
    proxy, seen, up = served
    seen.clear()
    for target, host in [(b"/a", b"evil.example"), (b"http://evil.example/b", b"evil.example"), (b"//evil.example/c", b"x")]:
        raw = raw_request(proxy.port, b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        assert raw.startswith((b"HTTP/1.1 200", b"HTTP/1.1 400")), raw[:100]
    # every request that got through went to the origin, asking for a path on it, with its Host
    assert seen and all(h.split(b" ")[1].startswith(b"/") for h in seen)
    assert all(f"host: 127.0.0.1:{up.port}".encode() in h.lower() for h in seen)


def test_connect_is_400(served: Any) -> None:
    proxy, seen, _ = served
    seen.clear()
    raw = raw_request(proxy.port, b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
                      one_answer=True)
    assert raw.startswith(b"HTTP/1.1 400") and seen == []


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    ],
    ids=["cl-and-te", "two-cl", "unknown-te"],
)
def test_smuggled_second_request_never_reaches_the_origin(served: Any, request_bytes: bytes) -> None:
    """uvicorn answers 400; granian (hyper) lets TE win and closes the connection. Either way: no /smuggled."""
    proxy, seen, _ = served
    seen.clear()
    raw = raw_request(proxy.port, request_bytes, timeout=3)
    assert count_responses(raw) <= 1
    assert raw.startswith((b"HTTP/1.1 400", b"HTTP/1.1 200"))
    assert not any(b"/smuggled" in h for h in seen)


def test_one_date_and_server_header(served: Any) -> None:
    proxy, _, _ = served
    raw = raw_request(proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").lower()
    assert raw.count(b"\r\ndate:") == 1
    assert raw.count(b"\r\nserver:") <= 1  # granian names itself only when the origin sent no Server
