"""A store's pages served on 127.0.0.1 for code that fetches them, and every request it got.

Routes map a path (with its query, if any) to a ``Page``: the exact status,
headers and bytes a test wants on the wire (a redirect, a gzip body the test
compressed itself, a 500, a body or its headers trickled a byte at a time),
so the fetching code runs its real HTTP client against a real socket. A
path with no route answers 404. ``Silent`` is the other kind of upstream a
fetch must survive: one that takes the connection and never answers.
A page with an ``etag`` or ``last_modified`` revalidates like a store: a request whose
``If-None-Match`` names the tag (weak comparison, a list, ``*``) or, without one, whose
``If-Modified-Since`` is not before it gets a ``304``; ``Page(status=304)`` is a broken store's answer to
every request. Usable without pytest (``with PageServer(routes) as s``).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping


@dataclass(frozen=True)
class Page:
    """One response, sent as given (``content-length`` is added unless ``headers`` set one).

    ``trickle``: seconds between the body's bytes, sent one at a time (a store that is never silent
    long enough for a read timeout, yet never done); ``trickle_head``: the same for its status line and
    headers (a client that checks its deadline only once the headers are in waits for all of them)."""

    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("content-type", "text/html; charset=utf-8"),)
    trickle: float = 0.0
    trickle_head: float = 0.0
    etag: str | None = None
    last_modified: str | None = None

    def validators(self) -> list[tuple[str, str]]:
        return [(n, v) for n, v in (("etag", self.etag), ("last-modified", self.last_modified)) if v is not None]

    def not_modified(self, headers: Mapping[str, str]) -> bool:
        """Whether a store would answer this request 304 (RFC 9110 §13.2.2: If-None-Match first)."""
        asked = headers.get("if-none-match")
        if asked is not None:
            tags = {t.strip().removeprefix("W/") for t in asked.split(",")}
            return self.etag is not None and ("*" in tags or self.etag.removeprefix("W/") in tags)
        since = headers.get("if-modified-since")
        if since is None or self.last_modified is None:
            return False
        try:
            return parsedate_to_datetime(self.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False


@dataclass(frozen=True)
class Seen:
    """A request the server got: its path (with the query), headers (names lower-cased), cookies."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


NOT_FOUND = Page(b"<html><body><h1>Not found</h1></body></html>", 404)


class PageServer:
    """``routes`` served by a threaded stdlib HTTP server on 127.0.0.1 (a free port the kernel picks)."""

    def __init__(self, routes: Mapping[str, Page | bytes]) -> None:
        self.routes = {path: page if isinstance(page, Page) else Page(page) for path, page in routes.items()}
        self.requests: list[Seen] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                cookies = SimpleCookie()
                cookies.load(self.headers.get("cookie", ""))
                owner.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()},
                                           {name: morsel.value for name, morsel in cookies.items()}))
                page = owner.routes.get(self.path, NOT_FOUND)
                headers = [("Server", self.version_string()), ("Date", self.date_time_string()), *page.headers,
                           *page.validators()]
                status, body = page.status, page.body
                if page.not_modified(self.headers):
                    status, body = 304, b""
                    headers = [(n, v) for n, v in headers if n.lower() not in ("content-type", "content-length")]
                elif not any(name.lower() == "content-length" for name, _ in page.headers):
                    headers.append(("content-length", str(len(page.body))))
                head = (f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}\r\n"
                        + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n").encode("latin-1")
                try:
                    self._send(head, page.trickle_head)
                    self._send(body, page.trickle)
                except (BrokenPipeError, ConnectionResetError):  # a client that stops reading (a size cap)
                    pass

            def _send(self, data: bytes, trickle: float) -> None:
                if not trickle:
                    self.wfile.write(data)
                    return
                for i in range(len(data)):
                    self.wfile.write(data[i:i + 1])
                    time.sleep(trickle)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # a short poll: ``shutdown`` waits for the loop to look, 0.5 s a server with the stdlib's default
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> "PageServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """A port on 127.0.0.1 that takes connections (the kernel's backlog) and never answers a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def __enter__(self) -> "Silent":
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
