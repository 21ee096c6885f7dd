"""An origin's long response headers reach the visitor: a big CSP or Set-Cookie is not a 502.

aiohttp's defaults stop at 8,190 bytes a header line and 128 headers; stores
send longer Content-Security-Policy headers and many cookies. Past the bounds
(which only cap memory) the visitor gets a 502, as from any broken origin.
"""

from __future__ import annotations

from typing import Any

import httpx
from sw_servers import proxy_process
from sw_upstreams import RawUpstream, respond

from slotwise.proxy.forwarding.upstream import MAX_HEADER_LINE, MAX_HEADERS

PAGE = b"<!doctype html><html><body><h1>Shop</h1></body></html>"
CSP = "default-src 'self'; script-src " + " ".join(f"https://cdn{i}.example.com" for i in range(900))


def _origin(headers: list[tuple[str, str]]) -> Any:
    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(respond(b"HTTP/1.1 200 OK",
                             [("Content-Type", "text/html"), *headers, ("Content-Length", str(len(PAGE)))], PAGE))
        await writer.drain()
    return handler


def test_long_header_lines_and_many_headers_pass_through(make_proxy: Any, client: Any) -> None:
    cookies = [("Set-Cookie", f"c{i}={'v' * 3000}; Path=/") for i in range(5)]
    many = [(f"X-Store-{i}", str(i)) for i in range(200)]
    assert 8190 < len(CSP) < MAX_HEADER_LINE and 128 < len(many) < MAX_HEADERS
    with RawUpstream(_origin([("Content-Security-Policy", CSP), *cookies, *many])) as up:
        r = client(make_proxy(upstream=up.url)).get("/")
    assert r.status_code == 200 and r.content == PAGE
    assert r.headers["content-security-policy"] == CSP
    assert r.headers.get_list("set-cookie") == [v for _, v in cookies]
    assert r.headers["x-store-199"] == "199"


def test_a_header_past_the_bound_is_a_bad_gateway(make_proxy: Any, client: Any) -> None:
    with RawUpstream(_origin([("X-Huge", "x" * (MAX_HEADER_LINE + 10))])) as up:
        r = client(make_proxy(upstream=up.url)).get("/")
    assert r.status_code == 502


def test_a_visitors_big_cookie_reaches_the_store_and_too_many_headers_are_refused(
        origin: Any, port_factory: Any, process_runner: Any) -> None:
    """``slotwise serve`` as users start it (granian): the visitor's side of the same promise."""
    port = port_factory()
    cookie = "a=" + "x" * 30_000
    with proxy_process(process_runner, port, origin.url, "granian"):
        with httpx.Client(trust_env=False, timeout=10) as client:
            echoed = client.get(f"http://127.0.0.1:{port}/echo/big", headers={"cookie": cookie})
            assert echoed.status_code == 200 and dict(echoed.json()["headers"])["cookie"] == cookie
            base = len(client.build_request("GET", f"http://127.0.0.1:{port}/").headers)
            hundred = {f"x-h{i}": "v" for i in range(100 - base)}
            assert client.get(f"http://127.0.0.1:{port}/echo/ok", headers=hundred).status_code == 200
            refused = client.get(f"http://127.0.0.1:{port}/echo/ok", headers={**hundred, "x-one-more": "v"})
            assert refused.status_code == 431
