"""``rules check --url``'s fetch of a store page: the command's only I/O, bounded as the proxy is.

The page is read as a visitor's browser would ask for it (cookies kept to the
store's host), within a per-read timeout and an overall deadline, its raw
bytes decoded by the proxy's own ``Decoder`` so that a compression bomb stops
at ``MAX_PAGE_BYTES``; the result says where it ended and whether it was cut.
The deadline is the clock's (``asyncio.timeout`` around the whole request):
a check between reads misses a store that trickles its status line and
headers a byte at a time, each read well within the per-read timeout.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, NamedTuple

FETCH_TIMEOUT_S = 15.0  # each read: a store that sends nothing this long is given up
FETCH_DEADLINE_S = 60.0  # the whole fetch on the clock, headers and redirects included: a trickling store never times out
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
    html_type: bool = True  # its Content-Type is HTML as the proxy decides (``documents.is_html``); else not read


def fetch(url: str, cookies: dict[str, str], headers: dict[str, str]) -> Fetched:
    """GET the page, reading its raw bytes and decoding them with the proxy's ``Decoder``: a piece of at
    most ``Decoder.STEP`` at a time, so a compression bomb stops at ``MAX_PAGE_BYTES`` (httpx's own
    decoders inflate each chunk whole). ``FetchError`` past ``FETCH_DEADLINE_S`` on the clock, whatever
    the store was sending (its headers a byte at a time too: each read within ``FETCH_TIMEOUT_S`` never
    times out), after ``FETCH_TIMEOUT_S`` of silence, or for a body that does not decode. An answer
    that is not HTML (``documents.is_html``, the proxy's test) is not read: ``html`` is then empty."""
    import asyncio

    return asyncio.run(_fetch(url, cookies, headers))


async def _fetch(url: str, cookies: dict[str, str], headers: dict[str, str]) -> Fetched:
    import asyncio

    import httpx

    from slotwise.proxy.forwarding.documents import is_html
    from slotwise.proxy.forwarding.errors import DecodeError

    sent = {"User-Agent": "slotwise-rules-check/1", "Accept": "text/html", **headers}
    waiting = "its answer's status and headers"
    try:
        async with asyncio.timeout(FETCH_DEADLINE_S):  # the clock, not the reads: see the module's docstring
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S, follow_redirects=True, trust_env=False,
                                         headers=sent, cookies=_store_cookies(url, cookies)) as client:
                async with client.stream("GET", url) as response:
                    ctype = response.headers.get("content-type")
                    done = Fetched(response.status_code, b"", str(response.url), bool(response.history), False,
                                   ctype, 0, is_html(ctype.encode("latin-1") if ctype else None))
                    if not done.html_type:
                        return done  # the proxy passes it through unread: so is it here
                    waiting, coding = "its page", response.headers.get("content-encoding")
                    try:
                        body, size, cut = await _read(url, response.aiter_raw(), coding)
                    except DecodeError as exc:
                        raise FetchError(f"cannot read {url}: it does not decode as its Content-Encoding {coding!r} "
                                         f"says ({exc}); the proxy passes such a page through unchanged") from None
                    return done._replace(html=body, cut=cut, sent_size=size)
    except TimeoutError:
        raise FetchError(f"cannot fetch {url}: gave up after {FETCH_DEADLINE_S:g} s, the whole fetch's deadline "
                         f"(the store was still sending {waiting})") from None
    except httpx.TimeoutException as exc:
        silent = "took no connection within" if isinstance(exc, httpx.ConnectTimeout) else "sent nothing for"
        raise FetchError(f"cannot fetch {url}: the store {silent} {FETCH_TIMEOUT_S:g} s "
                         f"({type(exc).__name__}, while waiting for {waiting})") from None


async def _read(url: str, raw: AsyncIterator[bytes], coding: str | None) -> tuple[bytes, int, bool]:
    """(the body decoded, at most ``MAX_PAGE_BYTES``; the bytes read as sent; whether it was cut there).

    One coding is undone piece by piece (``Decoder``, as the proxy streams a page); several in a row
    (rare) are read whole, up to the cap as sent, and undone by ``decode`` with the cap as its limit."""
    from slotwise.proxy.forwarding.encoding import Decoder, decode, streamable

    cap, size = MAX_PAGE_BYTES, 0
    if not streamable(coding):
        sent = bytearray()
        async for chunk in raw:
            sent += chunk
            if len(sent) > cap:
                raise FetchError(f"cannot read {url}: more than {cap} bytes as sent, in codings ({coding!r}) that "
                                 "are only undone whole")
        return decode(bytes(sent), coding, cap), len(sent), False
    decoder, body = Decoder(coding), bytearray()
    async for chunk in raw:
        size += len(chunk)
        for piece in decoder.pieces(chunk):
            body += piece
            if len(body) > cap:
                break
        if len(body) > cap or size > cap:
            return bytes(body[:cap]), size, True
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
