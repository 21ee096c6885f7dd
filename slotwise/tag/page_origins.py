"""The store's pages on another origin of its own site: CORS for the tag's endpoints, and for nothing else.

A hosted store (Shopify, BigCommerce, Wix, Squarespace) cannot route a path
of its domain to Slotwise, but it can point a subdomain at it
(``sw.shop.example``). Its pages (``https://shop.example``) then call
another origin of the same site: ``--page-origins`` lists the pages'
origins, and only the endpoints the tag calls (``TAG_PATHS``) and its
script answer them with CORS, credentials included (the visitor cookie,
``SameSite=Lax``, goes with same-site requests). A request to those
endpoints that names another origin is refused (403) before it does
anything: a page of an unlisted origin cannot record events or decisions
for a visitor, even one of the same site whose cookie the browser sends.
The admin pages and API, ``/_sw/orders``, metrics and health never answer
CORS. Without ``--page-origins`` nothing here runs (docs/tag.md, "The
endpoint on a subdomain"; docs/security.md).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

TAG_PATHS = frozenset({"/_sw/decide", "/_sw/events", "/_sw/signup"})
"""Everything tag.js and the snippet call (``EP +`` in tag.js): the only endpoints that answer CORS."""
SCRIPT = re.compile(r"/_sw/tag(\.[0-9a-f]+)?\.js")
ALLOW_METHODS = b"GET, POST"
ALLOW_HEADERS = b"content-type, x-slotwise-nonce"
EXPOSE_HEADERS = b"x-slotwise-visitor, retry-after"  # what the tag reads from an answer (tag.js: heard, fail)
MAX_AGE = b"7200"  # Chromium's ceiling: one preflight per endpoint every two hours
LOCAL = ("localhost", "127.0.0.1", "::1")
OTHER_PAGES = frozenset({"same-site", "cross-site"})
"""``Sec-Fetch-Site`` of a request another page made. Without an ``Origin`` it is no request of the tag (its
fetches are CORS requests and its beacons POSTs: both name their origin) but an ``<img>``, a ``<script>`` or a
link of a page of another origin, which the browser sends with the visitor's cookie: refused like an
unlisted origin. Without ``Sec-Fetch-Site`` (a server, curl, an old browser), or ``none``/``same-origin``, a
request without ``Origin`` goes through as before."""
WHERE = "SLOTWISE_PAGE_ORIGINS / --page-origins"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The Public Suffix List the package bundles (its ICANN and private sections): read once, never fetched."""
    return PublicSuffixList()


def same_site(a: str, b: str) -> bool:
    """Whether two hosts are of one site as browsers tell it: the same host, or the same registrable domain
    (one label below a public suffix of the Public Suffix List: ``a.co.uk`` and ``b.co.uk`` are two sites,
    and so are ``a.github.io`` and ``b.github.io``). An IP address, ``localhost`` or a public suffix itself
    is its own site only."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if a == b:
        return True
    if _is_ip(a) or _is_ip(b):
        return False
    registrable = _suffixes().privatesuffix(a)
    return registrable is not None and registrable == _suffixes().privatesuffix(b)


def parse_origin(text: str) -> str:
    """``https://Shop.Example:443/`` → ``https://shop.example``: the origin as a browser's ``Origin`` says it;
    ``ValueError`` saying what is wrong."""
    given = text.strip()
    if "*" in given:
        raise ValueError(f"{given!r}: no wildcards: with the visitor's cookie allowed, '*' would let any page "
                         "read its decisions and write its events; list each origin of the store's pages")
    parts = urlsplit(given)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{given!r} has no valid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"{given!r} is not an origin: give scheme://host[:port], e.g. https://shop.example")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{given!r} is not an origin: give scheme://host[:port] only, no path, as in the "
                         "browser's Origin header (e.g. https://shop.example)")
    host = parts.hostname
    if not host.isascii():
        raise ValueError(f"{given!r}: give the host in ASCII (its xn-- form), as browsers send it")
    if parts.scheme != "https" and host not in LOCAL:
        raise ValueError(f"{given!r}: pages must be served over https (http only on localhost or 127.0.0.1): "
                         "the visitor's cookie is Secure, and a page over http can be changed on its way")
    shown = f"[{host}]" if ":" in host else host
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{shown}" + (f":{port}" if port is not None and port != default else "")


def parse_page_origins(text: str, public_url: str = "") -> tuple[str, ...]:
    """The comma-separated ``--page-origins``, each checked (``parse_origin``) and, when ``public_url`` (the
    store's public origin) is given, of its site; ``ValueError`` naming the setting and the origin."""
    origins: list[str] = []
    public_host = urlsplit(public_url).hostname or ""
    for item in text.split(","):
        if not item.strip():
            continue
        try:
            origin = parse_origin(item)
        except ValueError as exc:
            raise ValueError(f"{WHERE}: {exc}") from None
        host = urlsplit(origin).hostname or ""
        if public_host and not same_site(host, public_host):
            raise ValueError(f"{WHERE}: {origin} is not of the same site as --public-url {public_url}: Slotwise "
                             "must be on a subdomain of the store's own domain, so that the visitor cookie it sets "
                             "is first party to the pages (a cross-site cookie is one browsers block)")
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def own_origin(origin: str, host: str) -> bool:
    """An ``Origin`` naming the host the request was sent to: a page of Slotwise's own origin."""
    return urlsplit(origin).netloc.lower() == host.lower()


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


class CrossOrigin:
    """ASGI wrapper of ``/_sw/``: CORS for ``origins`` on the tag's endpoints and script, 403 for other
    origins there; every other path goes through untouched."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        endpoint = path in TAG_PATHS
        if scope["type"] != "http" or not (endpoint or SCRIPT.fullmatch(path)):
            return await self.app(scope, receive, send)
        origin = _header(scope, b"origin")
        if not origin and endpoint and _header(scope, b"sec-fetch-site") in OTHER_PAGES:
            return await _answer(send, 403, [], _unnamed())
        if not origin or own_origin(origin, _header(scope, b"host")):
            return await self.app(scope, receive, _vary(send))
        listed = origin in self.origins
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            headers = [*_cors(origin), (b"access-control-allow-methods", ALLOW_METHODS),
                       (b"access-control-allow-headers", ALLOW_HEADERS), (b"access-control-max-age", MAX_AGE)]
            if not listed:  # no CORS headers: the browser sends nothing more
                return await _answer(send, 403, [], _refusal(origin))
            return await _answer(send, 204, headers, b"")
        if listed:
            return await self.app(scope, receive, _vary(send, _cors(origin)))
        if endpoint:  # before the endpoint runs: nothing recorded, no cookie set
            return await _answer(send, 403, [], _refusal(origin))
        return await self.app(scope, receive, _vary(send))  # the script itself: served, without CORS


def _cors(origin: str) -> list[tuple[bytes, bytes]]:
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", EXPOSE_HEADERS)]


def _refusal(origin: str) -> bytes:
    why = f"pages of {origin} may not call this endpoint: it is not one of Slotwise's --page-origins"
    return json.dumps({"error": why}).encode()


def _unnamed() -> bytes:
    why = ("a request of another page that names no origin (an image, a script, a link) may not call this "
           "endpoint: the tag's own requests name their page's origin, which must be one of Slotwise's --page-origins")
    return json.dumps({"error": why}).encode()


def _vary(send: Send, extra: list[tuple[bytes, bytes]] | None = None) -> Send:
    """``send`` with ``Vary: Origin`` (a cache must not give one origin's answer to another) and ``extra``."""
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (b"vary", b"Origin"), *(extra or ())]}
        await send(message)
    return sending


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    head = [(b"vary", b"Origin"), (b"cache-control", b"no-store"), *headers]
    if body:
        head += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
