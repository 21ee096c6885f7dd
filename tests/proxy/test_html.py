"""The HTML path: only wanted pages are buffered; decode, rewrite, re-encode; caching headers."""

from __future__ import annotations

import gzip
from typing import Any

import httpx
import pytest
from sw_upstreams import Rewriter
from sw_upstreams import PAGE

from slotwise.proxy.forwarding.encoding import decode


def raw_get(c: httpx.Client, url: str, **headers: str) -> httpx.Response:
    """GET without decoding: ``r.content`` is what went over the wire."""
    with c.stream("GET", url, headers=headers) as r:
        r.wire = b"".join(r.iter_raw())  # type: ignore[attr-defined]
    return r


@pytest.mark.parametrize("enc", ["identity", "gzip", "deflate", "rawdeflate", "br", "zstd"])
def test_encoded_html_is_decoded_rewritten_and_reencoded(make_proxy: Any, client: Any, enc: str) -> None:
    personalizer = Rewriter()
    r = raw_get(client(make_proxy(personalizer)), f"/html?enc={enc}")
    coding = {"identity": None, "rawdeflate": "deflate"}.get(enc, enc)
    assert r.headers.get("content-encoding") == coding
    assert int(r.headers["content-length"]) == len(r.wire)
    html = decode(r.wire, coding, 10**7)
    assert html == PAGE.replace(b"<h1>Shop</h1>", b"<h1>Hello</h1>")
    assert personalizer.seen[0][1] == PAGE  # the personalizer saw decoded HTML
    assert r.headers["vary"] == "Accept-Encoding, Cookie"
    assert r.headers["cache-control"] == "private, no-cache"
    for gone in ("etag", "last-modified", "accept-ranges"):
        assert gone not in r.headers
    assert len(r.headers.get_list("set-cookie")) == 3


@pytest.mark.parametrize("enc", ["gzip", "br", "zstd", "deflate"])
def test_corrupt_encoding_serves_the_original_bytes(make_proxy: Any, origin: Any, client: Any, enc: str) -> None:
    personalizer = Rewriter()
    r = raw_get(client(make_proxy(personalizer)), f"/html?enc={enc}&corrupt=1")
    direct = raw_get(client(origin), f"/html?enc={enc}&corrupt=1")
    assert r.wire == direct.wire
    assert r.headers["etag"] == '"v1"' and r.headers["cache-control"] == "public, max-age=60"
    assert personalizer.seen == []


def test_unchanged_page_keeps_bytes_and_caching_headers(make_proxy: Any, origin: Any, client: Any) -> None:
    r = raw_get(client(make_proxy(Rewriter(new=None))), "/html?enc=gzip")
    direct = raw_get(client(origin), "/html?enc=gzip")
    assert r.wire == direct.wire
    assert [(k, v) for k, v in r.headers.multi_items() if k != "date"] == [
        (k, v) for k, v in direct.headers.multi_items() if k != "date"
    ]


def test_extra_headers_are_added_to_html_and_non_html(make_proxy: Any, client: Any) -> None:
    c = client(make_proxy(Rewriter(extra=[("Set-Cookie", "sw_vid=abc; Path=/; HttpOnly")])))
    for url in ("/html", "/bigfile?n=512", "/html?enc=gzip&corrupt=1"):
        cookies = raw_get(c, url).headers.get_list("set-cookie")
        assert cookies[-1] == "sw_vid=abc; Path=/; HttpOnly", url


def test_html_over_the_limit_streams_unrewritten(make_proxy: Any, origin: Any, client: Any) -> None:
    personalizer = Rewriter()
    r = raw_get(client(make_proxy(personalizer, max_html_bytes=1000)), "/html")
    assert r.wire == PAGE and r.headers["etag"] == '"v1"'
    assert personalizer.seen == []
    r = raw_get(client(make_proxy(personalizer, max_html_bytes=1000)), "/html?enc=gzip")
    assert gzip.decompress(r.wire) == PAGE and personalizer.seen == []  # decoded size over limit


def test_html_without_content_length_over_the_limit_streams(make_proxy: Any, client: Any) -> None:
    from sw_upstreams import RawUpstream

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(10):
            writer.write(b"%x\r\n%s\r\n" % (len(PAGE), PAGE))
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    personalizer = Rewriter()
    with RawUpstream(handler) as up:
        r = client(make_proxy(personalizer, upstream=up.url, max_html_bytes=len(PAGE) * 3)).get("/")
    assert r.content == PAGE * 10 and personalizer.seen == []


def test_only_html_is_offered_to_the_personalizer(make_proxy: Any, client: Any) -> None:
    personalizer = Rewriter()
    c = client(make_proxy(personalizer))
    assert c.get("/html?ctype=application/json").headers["etag"] == '"v1"'
    assert c.get("/html?ctype=application/xhtml%2Bxml").headers.get("etag") is None
    assert len(personalizer.seen) == 1
    c.head("/html")
    assert len(personalizer.seen) == 1
    # a page the personalizer could change (it names no slots: it may): the store sends it whole (``conditional``)
    r = c.get("/html", headers={"If-None-Match": '"v1"'})
    assert r.status_code == 200 and b"<h1>Hello</h1>" in r.content and len(personalizer.seen) == 2


@pytest.mark.parametrize(
    ("query", "charset"),
    [("charset=iso-8859-1", "iso8859-1"), ("latin1=1", "iso8859-1"), ("", "utf-8"), ("charset=bogus", "utf-8")],
)
def test_charset_is_sniffed_for_the_personalizer(make_proxy: Any, client: Any, query: str, charset: str) -> None:
    personalizer = Rewriter(new=None)
    client(make_proxy(personalizer)).get(f"/html?{query}")
    assert personalizer.seen[0][0].charset == charset


def test_range_on_personalized_html_is_served_as_the_origin_gives_it(make_proxy: Any, client: Any) -> None:
    """The origin ignores Range on /html (200): the whole page is personalized, no Accept-Ranges."""
    r = client(make_proxy(Rewriter())).get("/html", headers={"Range": "bytes=0-9"})
    assert r.status_code == 200 and b"<h1>Hello</h1>" in r.content
    assert "accept-ranges" not in r.headers
