"""A visitor who leaves a never-ending HTML page closes the proxy's upstream connection too."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
from sw_upstreams import RawUpstream, Rewriter

from slotwise.proxy.forwarding.errors import ClientDisconnected
from slotwise.proxy.forwarding.forward_stream import until_gone


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


class _Pieces:
    """A body as ``Upstream`` hands it out: an iterator object that can tell it is at its end."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def __aiter__(self) -> "_Pieces":
        return self

    def at_end(self) -> bool:
        return not self.pieces

    async def __anext__(self) -> bytes:
        if not self.pieces:
            raise StopAsyncIteration
        await asyncio.sleep(0)
        return self.pieces.pop(0)


def test_a_page_in_one_piece_keeps_at_end_and_starts_no_watcher() -> None:
    asked: list[int] = []

    async def receive() -> dict[str, Any]:
        asked.append(1)
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def main() -> None:
        gone = until_gone(_Pieces(b"<html>whole</html>"), receive)
        assert not gone.at_end()
        assert await gone.__anext__() == b"<html>whole</html>"
        assert gone.at_end() and gone.watcher is None  # the HTML path stops here: no task was made
        gone.close()

    asyncio.run(main())
    assert asked == []


def test_a_client_gone_while_a_page_comes_in_pieces_ends_it() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def main() -> None:
        gone = until_gone(_Pieces(b"<html>", b"more", b"more", b"</html>"), receive)
        assert await gone.__anext__() == b"<html>"
        with pytest.raises(ClientDisconnected):
            for _ in range(3):
                await gone.__anext__()
        assert gone.watcher is not None and gone.watcher.done()

    asyncio.run(main())
