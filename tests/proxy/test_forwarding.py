"""Everything passes through: methods, statuses, headers, bodies — against a real origin."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from typing import Any

import httpx
import pytest


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_methods_paths_queries_and_bodies_pass_through(proxy: Any, client: Any, method: str) -> None:
    body = os.urandom(300_000) if method in ("POST", "PUT", "PATCH") else b""
    r = client(proxy).request(method, "/echo/a%2Fb/c?x=1&y=%20z", content=body or None)
    assert r.status_code == 200
    data = r.json()
    assert data["method"] == method
    assert data["raw_path"] == "/echo/a%2Fb/c"
    assert data["query"] == "x=1&y=%20z"
    assert data["size"] == len(body)
    assert data["sha256"] == hashlib.sha256(body).hexdigest()
    assert r.headers["x-upstream"] == "echo"


def test_request_body_is_streamed_chunked(proxy: Any, client: Any) -> None:
    chunks = [os.urandom(50_000) for _ in range(8)]
    r = client(proxy).post("/echo", content=iter(chunks))  # chunked transfer from the client
    assert r.json()["sha256"] == hashlib.sha256(b"".join(chunks)).hexdigest()


@pytest.mark.parametrize("code", [200, 201, 204, 301, 400, 403, 404, 418, 500, 503])
def test_status_codes_pass_through(proxy: Any, client: Any, code: int) -> None:
    r = client(proxy).get(f"/status/{code}")
    assert r.status_code == code


def test_upstream_gets_its_host_and_only_end_to_end_headers(proxy: Any, origin: Any, client: Any) -> None:
    r = client(proxy).get(
        "/echo",
        headers={
            "Host": "evil.example",
            "Connection": "keep-alive, X-Secret",
            "X-Secret": "hop",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Proxy": "http://evil:8080",
            "Proxy-Authorization": "Basic Zm9v",
            "X-Forwarded-For": "6.6.6.6",
            "X-Forwarded-Host": "spoof.example",
            "X-Custom": "kept",
            "Accept-Language": "de",
        },
    )
    headers = dict(r.json()["headers"])
    names = [n for n, _ in r.json()["headers"]]
    assert headers["host"] == origin.url.split("//")[1]
    for gone in ("x-secret", "keep-alive", "te", "proxy", "proxy-authorization", "connection"):
        assert gone not in names, gone
    assert headers["x-custom"] == "kept" and headers["accept-language"] == "de"
    assert headers["x-forwarded-for"] == "127.0.0.1"  # an untrusted peer's XFF is dropped
    assert headers["x-forwarded-host"] == origin.url.split("//")[1]  # a Host not allowed: the upstream's instead
    assert headers["x-forwarded-proto"] == "http"
    assert names.count("x-forwarded-for") == 1


def test_no_default_client_headers_are_added(proxy: Any, client: Any) -> None:
    """A visitor that sent no Accept-Encoding must not get gzip because the proxy's client asked."""
    from sw_upstreams import raw_request

    raw = raw_request(proxy.port, b"GET /echo HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n")
    names = {n for n, _ in json.loads(raw.split(b"\r\n\r\n", 1)[1])["headers"]}
    assert "user-agent" not in names and "accept" not in names and "accept-encoding" not in names
    assert "content-type" not in names


def test_xff_from_a_trusted_proxy_is_appended_to(make_proxy: Any, client: Any) -> None:
    proxy = make_proxy(trusted_proxies="127.0.0.1, 5.6.7.8")  # 5.6.7.8: the CDN in front of the balancer
    r = client(proxy).get("/echo", headers={"X-Forwarded-For": "1.2.3.4, 5.6.7.8", "X-Forwarded-Proto": "https"})
    headers = dict(r.json()["headers"])
    assert headers["x-forwarded-for"] == "1.2.3.4, 5.6.7.8, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "https"


def test_hop_by_hop_response_headers_are_stripped(make_proxy: Any, client: Any) -> None:
    from sw_upstreams import RawUpstream, respond

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(respond(b"HTTP/1.1 200 OK", [
            ("Content-Type", "text/plain"), ("Connection", "X-Internal, keep-alive"), ("X-Internal", "secret"),
            ("Keep-Alive", "timeout=5"), ("Proxy-Authenticate", "Basic"), ("Trailer", "X-T"),
            ("Upgrade", "h2c"), ("X-Kept", "yes"), ("Content-Length", "2"),
        ], b"ok"))
        await writer.drain()

    with RawUpstream(handler) as up:
        r = client(make_proxy(upstream=up.url)).get("/")
    assert r.text == "ok" and r.headers["x-kept"] == "yes"
    for gone in ("x-internal", "keep-alive", "proxy-authenticate", "trailer", "upgrade"):
        assert gone not in r.headers, gone


def test_set_cookies_kept_in_order_with_domain_rewritten(make_proxy: Any, client: Any) -> None:
    r = client(make_proxy(allowed_hosts="shop.example")).get("/html", headers={"Host": "shop.example"})
    cookies = r.headers.get_list("set-cookie")
    assert cookies == ["a=1; Path=/", "b=2; Domain=shop.example; Path=/", "c=3, d=4; Path=/"]


def test_redirects_are_not_followed_and_location_is_public(make_proxy: Any, client: Any) -> None:
    proxy = make_proxy(allowed_hosts="shop.example")
    r = client(proxy).get("/redirect", headers={"Host": "shop.example"})
    assert r.status_code == 302
    assert r.headers["location"] == "http://shop.example/echo?x=1"
    other = client(proxy).get("/redirect?to=https://elsewhere.example/x")
    assert other.headers["location"] == "https://elsewhere.example/x"


def test_public_url_setting_wins_for_location(make_proxy: Any, client: Any) -> None:
    r = client(make_proxy(public_url="https://www.shop.example")).get("/redirect")
    assert r.headers["location"] == "https://www.shop.example/echo?x=1"


def test_origin_date_and_server_win_no_duplicates(proxy: Any, client: Any) -> None:
    r = client(proxy).get("/html")
    assert r.headers.get_list("date") == ["Wed, 21 Oct 2015 07:28:00 GMT"]
    assert r.headers.get_list("server") == ["origin/1.0"]
    r = client(proxy).get("/echo")  # the origin sent no Date: one is added
    assert len(r.headers.get_list("date")) == 1 and "server" not in r.headers


def test_head_passes_through(proxy: Any, client: Any) -> None:
    full = client(proxy).get("/html")
    r = client(proxy).head("/html")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == full.headers["content-length"]


def test_conditional_request_304(proxy: Any, client: Any) -> None:
    r = client(proxy).get("/html", headers={"If-None-Match": '"v1"'})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == '"v1"'


def test_range_request_passes_through(proxy: Any, client: Any) -> None:
    r = client(proxy).get("/bigfile?n=4096", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206
    assert r.content == bytes(range(10, 20))
    assert r.headers["content-range"] == "bytes 10-19/4096"


def test_non_html_is_byte_identical_with_encoding_untouched(proxy: Any, origin: Any, client: Any) -> None:
    direct = httpx.get(origin.url + "/bigfile?n=1000000", trust_env=False)
    r = client(proxy).get("/bigfile?n=1000000")
    assert r.content == direct.content
    assert r.headers["content-encoding"] == "x-custom"  # unknown to everyone, still untouched
    assert r.headers["content-length"] == "999936"


def test_streamed_response_reaches_client_before_upstream_finishes(proxy: Any, client: Any) -> None:
    """The origin sends its second event only after the first reached the client: a proxy that waited
    for the whole response would time out here (10 s), however loaded the machine."""
    token = uuid.uuid4().hex
    c = client(proxy)
    with c.stream("GET", f"/sse?token={token}") as r:
        chunks = r.iter_raw()
        assert b"data: first" in next(chunks)
        assert c.get(f"/sse/release?token={token}").text == "released"
        assert b"second" in b"".join(chunks)


def test_personalizer_routes_health_and_metrics(make_proxy: Any, client: Any) -> None:
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    class WithRoutes:
        def routes(self) -> list[Any]:
            return [Route("/tag.js", lambda request: PlainTextResponse("tag"))]

        async def on_request(self, flow: Any) -> None: ...
        def wants_body(self, flow: Any) -> bool: return False
        async def on_html(self, flow: Any, html: bytes) -> None: return None
        async def startup(self) -> None: ...
        async def shutdown(self) -> None: ...

    c = client(make_proxy(WithRoutes()))
    assert c.get("/_sw/tag.js").text == "tag"
    assert c.get("/_sw/health").json()["status"] == "ok"
    c.get("/echo")
    text = c.get("/_sw/metrics").text
    assert 'slotwise_requests_total{status_class="2xx"}' in text
    assert "slotwise_upstream_latency_seconds_bucket" in text
    assert c.get("/_sw/nothing").status_code == 404  # our namespace never reaches the origin
