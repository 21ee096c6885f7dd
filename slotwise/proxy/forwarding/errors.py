"""Errors of the forwarding layer and the response each one becomes.

Exception tree::

    ProxyError                      anything the forwarding layer turns into a response
    ├── BadRequest                  400: the client asked for something we never do
    │   ├── ConnectNotAllowed       CONNECT: this is not a forward proxy
    │   └── ForeignTarget           absolute-form target naming another host
    └── UpstreamError               the origin could not give a usable answer
        ├── UpstreamUnavailable     502: refused, reset, DNS, protocol error
        │   └── UpstreamBodyError   502 / abort: the body broke off mid-way
        ├── UpstreamRefusedUpgrade  the origin answered a WebSocket handshake without 101 (its status)
        └── UpstreamTimeout         504: connect or read timeout

    DecodeError                     a Content-Encoding we cannot undo (serve original bytes)
    ClientDisconnected              the visitor went away: stop, answer nothing

Fail-open errors of personalization are ``flow.PersonalizationError``; they
never reach the client (see ``forward_safe.py``).
"""

from __future__ import annotations

import html


class ProxyError(Exception):
    """Base: carries the HTTP status and a short, public reason."""

    status = 500
    title = "Proxy error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class BadRequest(ProxyError):
    status = 400
    title = "Bad request"


class ConnectNotAllowed(BadRequest):
    title = "CONNECT is not supported: this is a reverse proxy"


class ForeignTarget(BadRequest):
    title = "Absolute-form request targets for other hosts are not proxied"


class UpstreamError(ProxyError):
    status = 502
    title = "Bad gateway"


class UpstreamUnavailable(UpstreamError):
    title = "The store could not be reached"


class UpstreamBodyError(UpstreamUnavailable):
    title = "The store's response broke off"


class UpstreamRefusedUpgrade(UpstreamError):
    """The origin answered a WebSocket upgrade with an ordinary response: its status is passed on."""

    title = "The store refused the WebSocket"

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(f"{self.title} ({status})")
        self.status = status
        self.headers = headers


class UpstreamTimeout(UpstreamError):
    status = 504
    title = "The store took too long to answer"


class DecodeError(ValueError):
    """A body's Content-Encoding could not be decoded."""


class ClientDisconnected(Exception):
    """The client closed the connection while we were still reading its request."""


def error_page(exc: ProxyError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A small, self-explanatory HTML page; ``no-store`` so no cache keeps it."""
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{exc.status} {html.escape(exc.title)}</title></head>"
        f"<body><h1>{exc.status} {html.escape(exc.title)}</h1>"
        "<p>Please try again in a moment.</p></body></html>\n"
    ).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    return exc.status, headers, body
