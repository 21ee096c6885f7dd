"""A visitor who leaves a never-ending HTML page closes the proxy's upstream connection too."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
from sw_upstreams import RawUpstream, Rewriter


class Streaming(Rewriter):
    def edit_selectors(self, flow: Any) -> list[str]:
        return ["h1"]


@pytest.mark.parametrize("personalizer", [Rewriter, Streaming], ids=["held", "streamed"])
def test_the_upstream_of_an_endless_page_is_closed_when_the_client_leaves(make_proxy: Any, personalizer: Any) -> None:
    closed = threading.Event()

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"<!doctype html><html><body><h1>Shop</h1>" + b"<p>more</p>" * 50
        try:
            for _ in range(3000):  # ~30 s of page, unless the proxy hangs up
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0.01)
                if reader.at_eof():
                    break
        except (ConnectionError, OSError):
            pass
        closed.set()

    with RawUpstream(handler) as up:
        proxy = make_proxy(personalizer(), upstream=up.url, max_html_bytes=256 * 1024)
        with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n")
            time.sleep(0.5)
        assert closed.wait(5), "the upstream kept sending to nobody"
