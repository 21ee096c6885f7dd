"""Compressed bombs: a small body that inflates to far more than ``max_html_bytes`` is never inflated whole.

Whole-body decoding stops at the limit; the streaming decoder hands out
bounded pieces; through the proxy the bomb page is served as the upstream's
own bytes (fail open), and the catalog feed loader refuses an inflated feed
past its limit.
"""

from __future__ import annotations

import gzip
import tracemalloc
from typing import Any

import brotli
import pytest
import zstandard
from sw_upstreams import RawUpstream, Rewriter, respond

from slotwise.proxy.forwarding.encoding import Decoder, decode
from slotwise.proxy.forwarding.errors import DecodeError

BOMB_BYTES = 64 * 1024 * 1024
LIMIT = 4 * 1024 * 1024
HTML = b"<!doctype html><html><body><h1>Shop</h1>"


def bomb(coding: str) -> bytes:
    plain = HTML + b" " * BOMB_BYTES
    if coding == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(plain)
    if coding == "gzip":
        return gzip.compress(plain, 1)
    return brotli.compress(plain, quality=1)


CODINGS = ["zstd", "gzip", "br"]


@pytest.mark.parametrize("coding", CODINGS)
def test_decoding_a_bomb_stops_at_the_limit(coding: str) -> None:
    data = bomb(coding)
    assert len(data) < 400_000
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError):
            decode(data, coding, LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * LIMIT, peak  # not the 64 MB the bomb inflates to


@pytest.mark.parametrize("coding", CODINGS)
def test_the_streaming_decoder_hands_out_bounded_pieces(coding: str) -> None:
    data = bomb(coding)
    d = Decoder(coding)
    total = 0
    for i in range(0, len(data), 16384):
        for piece in d.pieces(data[i:i + 16384]):
            assert len(piece) <= Decoder.STEP + 3 * 1024 * 1024, len(piece)  # never the whole bomb
            total += len(piece)
    d.finish()
    assert total == len(HTML) + BOMB_BYTES  # and it still decodes the whole body when asked to


class Streaming(Rewriter):
    def edit_selectors(self, flow: Any) -> list[str]:
        return ["h1"]


@pytest.mark.parametrize("personalizer", [Rewriter, Streaming], ids=["whole", "streaming"])
@pytest.mark.parametrize("coding", ["zstd", "gzip"])
def test_a_bomb_page_is_served_as_the_upstreams_bytes(make_proxy: Any, client: Any, coding: str, personalizer: Any) -> None:
    data = bomb(coding)

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Encoding", coding),
                                                  ("Content-Length", str(len(data)))], data))
        await writer.drain()

    with RawUpstream(handler) as up:
        proxy = make_proxy(personalizer(), upstream=up.url, max_html_bytes=LIMIT)
        with client(proxy).stream("GET", "/", headers={"Accept-Encoding": coding}) as r:
            raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == coding
    assert raw == data


def test_a_gzip_bombed_feed_is_refused_before_it_is_inflated(monkeypatch: Any) -> None:
    import asyncio
    import json

    from slotwise.proxy.personalization import catalog_feed

    feed = json.dumps([{"id": "p1", "name": "Socks"}]).encode()
    bodies = {b"/feed.json": gzip.compress(feed), b"/bomb.json": gzip.compress(b"[" + b" " * BOMB_BYTES + b"]", 1)}

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        body = bodies[head.split(b" ")[1]]
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "gzip"),
                                                  ("Content-Length", str(len(body)))], body))
        await writer.drain()

    monkeypatch.setattr(catalog_feed, "MAX_FEED_BYTES", LIMIT)
    with RawUpstream(handler) as up:
        loader = catalog_feed.FeedLoader(None, up.url, lambda: 0.0)  # type: ignore[arg-type]
        assert json.loads(asyncio.run(loader._read("/feed.json"))) == [{"id": "p1", "name": "Socks"}]
        tracemalloc.start()
        try:
            with pytest.raises(ValueError, match="larger than"):
                asyncio.run(loader._read("/bomb.json"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * LIMIT, peak


def test_a_bomb_behind_a_streamed_head_is_cut_not_inflated_whole(make_proxy: Any) -> None:
    import asyncio
    import socket
    import zlib

    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    head = c.compress(b"<!doctype html><html><head><title>x</title></head><body>" + b"<p>x</p>" * 300) + c.flush(zlib.Z_SYNC_FLUSH)
    rest = c.compress(b"<h1>Shop</h1>" + b" " * BOMB_BYTES + b"</body></html>") + c.flush()

    async def handler(reader: Any, writer: Any, head_: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n" % (len(head), head))
        await writer.drain()
        await asyncio.sleep(0.2)  # the head goes out: the page streams
        try:
            for i in range(0, len(rest), 16384):
                piece = rest[i:i + 16384]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass

    with RawUpstream(handler) as up:
        proxy = make_proxy(Streaming(), upstream=up.url, max_html_bytes=1024 * 1024)
        got = bytearray()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n")
            while data := sock.recv(65536):
                got += data
    head_end = got.index(b"\r\n\r\n") + 4
    assert b"content-encoding: gzip" in got[:head_end].lower()
    assert not got.endswith(b"0\r\n\r\n")  # aborted, never ended as if complete
    body = bytearray()
    rest_of = bytes(got[head_end:])
    while rest_of and b"\r\n" in rest_of:  # de-chunk what came
        size_line, _, rest_of = rest_of.partition(b"\r\n")
        size = int(size_line, 16) if size_line.strip() else 0
        if size == 0 or len(rest_of) < size:
            break
        body += rest_of[:size]
        rest_of = rest_of[size + 2:]
    decoded = zlib.decompressobj(31).decompress(bytes(body))
    assert decoded.startswith(b"<!doctype html>")
    assert len(decoded) <= 9 * 1024 * 1024 + Decoder.STEP  # 8x max_html_bytes, not the 64 MB
