"""The smallest apps that do what the served page's hand-over does, over ASGI and over RSGI.

``static``: a 120 KB HTML body held in memory, sent whole (the interface's own cost);
``fetch``: the page fetched from the origin with aiohttp (keep-alive), read whole, sent
whole with a few of the origin's headers (a personalized page's hand-over, without the
personalization). The origin's URL comes from ``SW_IFACE_ORIGIN``.
"""

from __future__ import annotations

import os
from typing import Any

BODY = (b"<!doctype html><html><body>" + b"<p>slot</p>" * 11_000 + b"</body></html>")
HEADERS_A = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(BODY)).encode()),
             (b"cache-control", b"no-store")]
HEADERS_R = [(k.decode(), v.decode()) for k, v in HEADERS_A]
KEEP = ("content-type", "cache-control", "etag", "last-modified")


class _Client:
    session: Any = None

    async def get(self, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.session is None:
            import aiohttp

            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64), auto_decompress=False)
        async with self.session.get(os.environ["SW_IFACE_ORIGIN"] + path) as response:
            body = await response.read()
            return response.status, [(k.lower(), v) for k, v in response.headers.items() if k.lower() in KEEP], body


_client = _Client()


async def asgi_static(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS_A})
    await send({"type": "http.response.body", "body": BODY, "more_body": False})


async def rsgi_static(scope: Any, proto: Any) -> None:
    proto.response_bytes(200, HEADERS_R, BODY)


async def asgi_fetch(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    status, headers, body = await _client.get(scope["path"])
    out = [(k.encode(), v.encode()) for k, v in headers] + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def rsgi_fetch(scope: Any, proto: Any) -> None:
    status, headers, body = await _client.get(scope.path)
    proto.response_bytes(status, [*headers, ("content-length", str(len(body)))], body)
