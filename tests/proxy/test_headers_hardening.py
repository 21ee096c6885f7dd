"""Headers a stranger or an origin could abuse: shared-cache directives, client IPs, the Host."""

from __future__ import annotations

from typing import Any

from sw_upstreams import RawUpstream, Rewriter, respond

from slotwise.proxy.forwarding.headers import personalized
from slotwise.proxy.forwarding.public_hosts import PublicHosts

PAGE = b"<!doctype html><html><body><h1>Shop</h1></body></html>"
CDN = [
    ("CDN-Cache-Control", "max-age=3600"), ("Surrogate-Control", "max-age=3600"),
    ("Cloudflare-CDN-Cache-Control", "max-age=3600"), ("Cache-Control", "public, max-age=600"),
]
SHARED = ("cdn-cache-control", "surrogate-control", "cloudflare-cdn-cache-control")


def test_a_personalized_page_keeps_no_shared_cache_directive(make_proxy: Any, client: Any) -> None:
    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/html"), *CDN, ("Content-Length", str(len(PAGE)))], PAGE))
        await writer.drain()

    with RawUpstream(handler) as up:
        r = client(make_proxy(Rewriter(extra=[("Set-Cookie", "sw_vid=abc")]), upstream=up.url)).get("/")
        plain = client(make_proxy(upstream=up.url)).get("/")
    assert b"Hello" in r.content and r.headers["cache-control"] == "private, no-cache"
    for name in SHARED:
        assert name not in r.headers, name
        assert name in plain.headers  # pass-through keeps the origin's caching
    # a streamed page's head (no length yet) is built the same way
    streamed = dict(personalized([(n.lower().encode(), v.encode()) for n, v in CDN], None))
    assert not set(SHARED) & {n.decode() for n in streamed} and streamed[b"cache-control"] == b"private, no-cache"


class _FailsAfterTheCookie(Rewriter):
    async def on_html(self, flow: Any, html: bytes) -> bytes | None:
        raise RuntimeError("boom")  # fails open: the store's page, with the cookie already on the flow


def test_our_cookie_never_goes_out_with_the_stores_shared_caching(make_proxy: Any, client: Any) -> None:
    """A page that goes out unchanged (left alone, or failed open) while Slotwise sets its visitor
    cookie must not let a CDN keep that cookie for everyone: private, whatever the store said."""
    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/html"), *CDN, ("Content-Length", str(len(PAGE)))], PAGE))
        await writer.drain()

    cookie = [("Set-Cookie", "sw_vid=abc; Path=/; HttpOnly")]
    with RawUpstream(handler) as up:
        left_alone = client(make_proxy(Rewriter(new=None, extra=cookie), upstream=up.url)).get("/")
        failed_open = client(make_proxy(_FailsAfterTheCookie(extra=cookie), upstream=up.url)).get("/")
        no_cookie = client(make_proxy(Rewriter(new=None), upstream=up.url)).get("/")
    for r in (left_alone, failed_open):
        assert r.content == PAGE and r.headers["set-cookie"].startswith("sw_vid=abc")
        assert r.headers["cache-control"] == "private, no-cache"
        assert not set(SHARED) & set(r.headers), r.headers
    assert no_cookie.headers["cache-control"] == "public, max-age=600"  # nothing of ours: the store's caching
    assert set(SHARED) <= set(no_cookie.headers)


def test_a_page_that_grows_past_the_limit_while_it_arrives_keeps_our_cookie_private(make_proxy: Any, client: Any) -> None:
    """A page without a length that turns out too big to rewrite goes out as the store's, streamed: with our
    visitor cookie on it, it is private all the same (as a page whose declared length is too big)."""
    big = b"<!doctype html><html><body>" + b"<p>shop</p>" * 400 + b"</body></html>"

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/html"), *CDN, ("Connection", "close")]))
        for start in range(0, len(big), 1000):  # in pieces, no length: the limit is found on the way
            writer.write(big[start:start + 1000])
            await writer.drain()
        writer.close()

    cookie = [("Set-Cookie", "sw_vid=abc; Path=/; HttpOnly")]
    with RawUpstream(handler) as up:
        r = client(make_proxy(Rewriter(extra=cookie), upstream=up.url, max_html_bytes=len(big) // 2)).get("/")
    assert r.content == big and r.headers["set-cookie"].startswith("sw_vid=abc")
    assert r.headers["cache-control"] == "private, no-cache"
    assert not set(SHARED) & set(r.headers), r.headers


IP_HEADERS = {"X-Real-IP": "6.6.6.6", "True-Client-IP": "6.6.6.6", "CF-Connecting-IP": "6.6.6.6", "X-Client-IP": "6.6.6.6"}


def test_client_ip_headers_pass_only_from_a_trusted_proxy(make_proxy: Any, client: Any) -> None:
    spoofed = {**IP_HEADERS, "X-Forwarded-For": "6.6.6.6", "Forwarded": "for=6.6.6.6;proto=https"}
    stranger = dict(client(make_proxy()).get("/echo", headers=spoofed).json()["headers"])
    for name in IP_HEADERS:
        assert name.lower() not in stranger, name
    assert stranger["x-forwarded-for"] == "127.0.0.1"
    host = stranger["x-forwarded-host"]  # the proxy's own (a loopback Host is believed)
    assert stranger["forwarded"] == f'for=127.0.0.1;host="{host}";proto=http'  # says what X-Forwarded-* say
    trusted = dict(client(make_proxy(trusted_proxies="127.0.0.1")).get("/echo", headers=IP_HEADERS).json()["headers"])
    for name in IP_HEADERS:
        assert trusted[name.lower()] == "6.6.6.6", name


def _seen(proxy: Any, client: Any, headers: list[tuple[str, str]]) -> dict[str, str]:
    """The headers the store received (one line each: the proxy sends each of these once)."""
    seen = client(proxy).get("/echo", headers=headers).json()["headers"]
    names = [n for n, _ in seen]
    for name in ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"):
        assert names.count(name) == 1, (name, seen)
    return dict(seen)


def test_a_visitors_own_hops_left_of_what_the_balancer_saw_never_reach_the_store(make_proxy: Any, client: Any) -> None:
    """The balancer (trusted) appends the address it saw to what the visitor sent: the hops to the left of
    the rightmost untrusted one are the visitor's own words, dropped; the store gets the same chain in
    X-Forwarded-For and in Forwarded."""
    proxy = make_proxy(trusted_proxies="127.0.0.1", allowed_hosts="shop.example")
    seen = _seen(proxy, client, [("X-Forwarded-For", "6.6.6.6, 10.9.9.9"), ("X-Forwarded-For", "203.0.113.9"),
                                 ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "shop.example")])
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert (seen["x-forwarded-proto"], seen["x-forwarded-host"]) == ("https", "shop.example")
    assert seen["forwarded"] == "for=203.0.113.9;host=shop.example;proto=https, for=127.0.0.1;host=shop.example;proto=https"


def test_forwarded_from_a_trusted_proxy_is_read(make_proxy: Any, client: Any) -> None:
    """RFC 7239 from a balancer that sets it (``--trusted-proxy-headers``): its for= chain (IPv6, a port, the visitor's own element to the left),
    proto and host name the visitor, the URL's scheme and host, for the store as for Slotwise; what it
    does not say comes from X-Forwarded-*, and one that breaks the grammar is not read."""
    proxy = make_proxy(trusted_proxies="127.0.0.1, 10.0.0.2", trusted_proxy_headers="forwarded, x-forwarded",
                       allowed_hosts="shop.example")
    rfc = 'for=6.6.6.6;proto=http;host=evil.example, For="[2001:db8::1]:4711";PROTO=https;host=shop.example, for=10.0.0.2'
    seen = _seen(proxy, client, [("Forwarded", rfc), ("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-Proto", "http")])
    assert seen["x-forwarded-for"] == "2001:db8::1, 10.0.0.2, 127.0.0.1"
    assert (seen["x-forwarded-proto"], seen["x-forwarded-host"]) == ("https", "shop.example")
    assert seen["forwarded"] == ('for="[2001:db8::1]";host=shop.example;proto=https, for=10.0.0.2, '
                                 'for=127.0.0.1;host=shop.example;proto=https')
    upstream_host = seen["host"]  # the store's own URLs are rewritten to the public scheme and host
    r = client(proxy).get("/redirect", params={"to": f"http://{upstream_host}/x"}, headers={"Forwarded": rfc})
    assert r.headers["location"] == "https://shop.example/x"
    # no for= in it: the chain is X-Forwarded-For's, the scheme Forwarded's
    seen = _seen(proxy, client, [("Forwarded", "proto=https"), ("X-Forwarded-For", "198.51.100.1")])
    assert (seen["x-forwarded-for"], seen["x-forwarded-proto"]) == ("198.51.100.1, 127.0.0.1", "https")
    # outside the grammar (a for= that is no node): as if absent
    seen = _seen(proxy, client, [("Forwarded", "for=[2001:db8::1;proto=https"), ("X-Forwarded-For", "198.51.100.1")])
    assert (seen["x-forwarded-for"], seen["x-forwarded-proto"]) == ("198.51.100.1, 127.0.0.1", "http")
    # an IPv6 node left unquoted (the RFC wants quotes; some proxies leave them out) is read all the same
    seen = _seen(proxy, client, [("Forwarded", "for=[2001:db8::1]:4711;proto=https"), ("X-Forwarded-For", "198.51.100.1")])
    assert (seen["x-forwarded-for"], seen["x-forwarded-proto"]) == ("2001:db8::1, 127.0.0.1", "https")
    # by default only X-Forwarded-* are read: nginx passes a visitor's own Forwarded on untouched
    default = make_proxy(trusted_proxies="127.0.0.1", allowed_hosts="shop.example")
    seen = _seen(default, client, [("Forwarded", rfc), ("X-Forwarded-For", "198.51.100.1")])
    assert (seen["x-forwarded-for"], seen["x-forwarded-proto"]) == ("198.51.100.1, 127.0.0.1", "http")
    assert seen["forwarded"].startswith("for=198.51.100.1;")


FRONT_PROXY = {"X-Forwarded-Prefix": "/evil", "X-Forwarded-Port": "1337", "X-Forwarded-Scheme": "http",
               "X-Forwarded-Ssl": "off", "X-Forwarded-Server": "evil.example", "Front-End-Https": "off",
               "X-Original-URL": "/account", "X-Rewrite-URL": "/account"}


def test_what_a_front_proxy_says_about_the_url_passes_only_from_a_trusted_proxy(make_proxy: Any, client: Any) -> None:
    """Frameworks build links and route by these; from a stranger they would reach the store unkeyed by the
    HTML cache, so one request could change the page kept for everyone."""
    stranger = dict(client(make_proxy()).get("/echo", headers=FRONT_PROXY).json()["headers"])
    for name in FRONT_PROXY:
        assert name.lower() not in stranger, name
    trusted = dict(client(make_proxy(trusted_proxies="127.0.0.1")).get("/echo", headers=FRONT_PROXY).json()["headers"])
    for name, value in FRONT_PROXY.items():
        assert trusted[name.lower()] == value, name


def test_a_strangers_host_never_names_our_urls(make_proxy: Any, origin: Any, client: Any) -> None:
    upstream_host = origin.url.split("//")[1]
    proxy = make_proxy()
    r = client(proxy).get("/redirect", headers={"Host": "evil.example"})
    assert r.headers["location"] == f"http://{upstream_host}/echo?x=1"  # not http://evil.example/...
    echoed = dict(client(proxy).get("/echo", headers={"Host": "evil.example"}).json()["headers"])
    assert echoed["x-forwarded-host"] == upstream_host
    # a trusted proxy's X-Forwarded-Host is checked the same way
    behind = make_proxy(trusted_proxies="127.0.0.1", allowed_hosts="shop.example")
    echoed = dict(client(behind).get("/echo", headers={"X-Forwarded-Host": "evil.example"}).json()["headers"])
    assert echoed["x-forwarded-host"] == upstream_host
    echoed = dict(client(behind).get("/echo", headers={"X-Forwarded-Host": "shop.example"}).json()["headers"])
    assert echoed["x-forwarded-host"] == "shop.example"
    # localhost and configured hosts are believed
    assert client(proxy).get("/redirect", headers={"Host": "localhost:8000"}).headers["location"] == "http://localhost:8000/echo?x=1"
    allowed = make_proxy(allowed_hosts="*.shop.example")
    assert client(allowed).get("/redirect", headers={"Host": "www.shop.example"}).headers["location"] == "http://www.shop.example/echo?x=1"
    # a host that only ends like one of ours would name another host in the URL: the upstream's instead
    for forged in ("evil.example?.shop.example", "evil.example#.shop.example", "evil.example;.shop.example"):
        assert client(allowed).get("/redirect", headers={"Host": forged}).headers["location"] == f"http://{upstream_host}/echo?x=1"


def test_public_hosts_rules() -> None:
    hosts = PublicHosts("127.0.0.1:8010", "", "shop.example, admin.example:8443, *.cdn.example")
    assert hosts.allowed("127.0.0.1:8010") and hosts.allowed("LOCALHOST:3000") and hosts.allowed("[::1]:80")
    assert hosts.allowed("shop.example") and hosts.allowed("shop.example:8080") and hosts.allowed("admin.example:8443")
    assert hosts.allowed("a.cdn.example") and not hosts.allowed("cdn.example.evil")
    assert not hosts.allowed("admin.example") and not hosts.allowed("evil.example") and not hosts.allowed("")
    assert not hosts.allowed("shop.example@evil.example") and not hosts.allowed("shop.example:x")
    for forged in ("evil.example?.cdn.example", "evil.example#.cdn.example", "evil.example/.cdn.example",
                   "evil.example\\.cdn.example", "evil.example;.cdn.example", "evil.example%2f.cdn.example"):
        assert not hosts.allowed(forged), forged
    assert hosts.allowed("a-b.cdn.example:443") and hosts.allowed("[::1]") and not hosts.allowed("[::1]x")
    assert hosts.choose("evil.example") == "127.0.0.1:8010"
    assert PublicHosts("up:1", "https://www.shop.example").choose("evil") == "www.shop.example"
    assert PublicHosts("up:1", "", "*").choose("anything.example") == "anything.example"


def test_a_refused_host_is_named_in_the_log_once(caplog: Any) -> None:
    """A store on its real domain without --public-url learns why its redirects name the upstream."""
    hosts = PublicHosts("127.0.0.1:8010")
    with caplog.at_level("WARNING", logger="slotwise.proxy"):
        for _ in range(3):
            assert hosts.choose("www.shop.example") == "127.0.0.1:8010"
        hosts.choose("localhost:8000")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "www.shop.example" in lines[0] and "--public-url" in lines[0]
