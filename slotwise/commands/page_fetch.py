"""``rules check --url``'s fetch of a store page: the command's only I/O, bounded as the proxy is.

The page is read as a visitor's browser would ask for it (cookies kept to the
store's host), within a per-read timeout and an overall deadline, its raw
bytes decoded by the proxy's own ``Decoder`` so that a compression bomb stops
at ``MAX_PAGE_BYTES``; the result says where it ended and whether it was cut.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, NamedTuple

FETCH_TIMEOUT_S = 15.0  # each read: a store that sends nothing this long is given up
FETCH_DEADLINE_S = 60.0  # the whole fetch, redirects included: a store trickling its page never hits a read timeout
MAX_PAGE_BYTES = 10 * 1024 * 1024


class FetchError(Exception):
    """The page cannot be shown: the message says why, for one line on stderr."""


class Fetched(NamedTuple):
    """A fetched page: where it ended (after any redirects), and whether it was longer than we read."""

    status: int
    html: bytes  # decoded from its Content-Encoding, at most MAX_PAGE_BYTES
    url: str
    redirected: bool  # the store answered with redirects (not: the client percent-encoded the URL)
    cut: bool  # the page is longer than MAX_PAGE_BYTES (as sent or decoded); the rest was not read
    content_type: str | None = None  # the answer's Content-Type: its charset is the page's (as behind the proxy)
    sent_size: int = 0  # bytes read as the store sent them (before decoding), what --max-html-bytes bounds first


def fetch(url: str, cookies: dict[str, str], headers: dict[str, str]) -> Fetched:
    """GET the page, reading its raw bytes and decoding them with the proxy's ``Decoder``: a piece of at
    most ``Decoder.STEP`` at a time, so a compression bomb stops at ``MAX_PAGE_BYTES`` (httpx's own
    decoders inflate each chunk whole). ``FetchError`` past ``FETCH_DEADLINE_S`` or for a body that does
    not decode."""
    import time

    import httpx

    from slotwise.proxy.forwarding.errors import DecodeError

    deadline = time.monotonic() + FETCH_DEADLINE_S

    def in_time(*_: object) -> None:
        if time.monotonic() > deadline:
            raise FetchError(f"cannot fetch {url}: not complete after {FETCH_DEADLINE_S:g} s (the whole fetch's deadline)")

    sent = {"User-Agent": "slotwise-rules-check/1", "Accept": "text/html", **headers}
    with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=True, trust_env=False, headers=sent,
                      cookies=_store_cookies(url, cookies),
                      event_hooks={"request": [in_time], "response": [in_time]}) as client:
        with client.stream("GET", url) as response:
            coding = response.headers.get("content-encoding")
            try:
                body, size, cut = _read(url, response.iter_raw(), coding, in_time)
            except DecodeError as exc:
                raise FetchError(f"cannot read {url}: it does not decode as its Content-Encoding {coding!r} says "
                                 f"({exc}); the proxy passes such a page through unchanged") from None
            return Fetched(response.status_code, body, str(response.url), bool(response.history), cut,
                           response.headers.get("content-type"), size)


def _read(url: str, raw: Iterator[bytes], coding: str | None, in_time: Callable[[], None]) -> tuple[bytes, int, bool]:
    """(the body decoded, at most ``MAX_PAGE_BYTES``; the bytes read as sent; whether it was cut there).

    One coding is undone piece by piece (``Decoder``, as the proxy streams a page); several in a row
    (rare) are read whole, up to the cap as sent, and undone by ``decode`` with the cap as its limit."""
    from slotwise.proxy.forwarding.encoding import Decoder, decode, streamable

    cap, size = MAX_PAGE_BYTES, 0
    if not streamable(coding):
        sent = bytearray()
        for chunk in raw:
            sent += chunk
            in_time()
            if len(sent) > cap:
                raise FetchError(f"cannot read {url}: more than {cap} bytes as sent, in codings ({coding!r}) that "
                                 "are only undone whole")
        return decode(bytes(sent), coding, cap), len(sent), False
    decoder, body = Decoder(coding), bytearray()
    for chunk in raw:
        size += len(chunk)
        for piece in decoder.pieces(chunk):
            body += piece
            if len(body) > cap:
                break
        if len(body) > cap or size > cap:
            return bytes(body[:cap]), size, True
        in_time()
    decoder.finish()  # a cut stream: as the proxy finds it
    return bytes(body), size, False


def _store_cookies(url: str, cookies: dict[str, str]) -> Any:
    """The ``--cookie`` values for the URL's host (and its subdomains) only, as a browser holds a store's
    session: a redirect to another site (a payment page, a CDN) does not get them; curl strips them too."""
    import http.cookiejar
    import urllib.request

    import httpx

    host = http.cookiejar.eff_request_host(urllib.request.Request(url))[1]  # the name the jar matches
    jar = httpx.Cookies()
    for name, value in cookies.items():
        jar.set(name, value, domain=host)
    return jar
