"""Header rules of a reverse proxy: hop-by-hop, X-Forwarded-*, Location and cookie domains, caching.

Headers travel as ASGI-style lists of ``(bytes, bytes)`` pairs so that
repeated headers (Set-Cookie above all) keep their order and are never merged
through a dict.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from urllib.parse import urlsplit

from slotwise.client_origin import ClientOrigin, upstream_forwarded

Headers = list[tuple[bytes, bytes]]

# RFC 9110 §7.6.1 plus the legacy ones; ``proxy`` is httpoxy (CVE-2016-5385).
HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade", b"proxy"}
)
# Request headers the ASGI server already acted on or that name *our* hop.
_REQUEST_DROP = frozenset({b"host", b"expect", b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto"})
# Client-address headers other proxies and CDNs set: believable only from a trusted proxy.
CLIENT_IP_HEADERS = frozenset({b"x-real-ip", b"true-client-ip", b"cf-connecting-ip", b"x-client-ip", b"x-cluster-client-ip"})
# What a front proxy tells the app about the URL the browser used, besides X-Forwarded-*: frameworks build
# links (Rack: X-Forwarded-Ssl, Front-End-Https) or route (X-Original-URL) by them. From a stranger
# they are not keyed by the HTML cache, so one request could make the page kept for everyone.
FRONT_PROXY_HEADERS = frozenset({b"front-end-https", b"x-original-url", b"x-rewrite-url"})
_FORWARDED_PREFIX = b"x-forwarded-"  # -prefix, -port, -scheme, -ssl, -server, ...: all a front proxy's to say


def hop_by_hop_names(headers: Headers) -> frozenset[bytes]:
    """The fixed hop-by-hop set plus every header a Connection header names."""
    named: set[bytes] | None = None
    for name, value in headers:
        if len(name) == 10 and name.lower() == b"connection":  # the length first: most headers are not
            for token in value.split(b","):
                token = token.strip().lower()
                if token and token not in HOP_BY_HOP:  # "keep-alive", "close": nothing more to drop
                    if named is None:
                        named = set()
                    named.add(token)
    return HOP_BY_HOP | named if named else HOP_BY_HOP


def strip_hop_by_hop(headers: Headers) -> Headers:
    drop = hop_by_hop_names(headers)
    return [(n, v) for n, v in headers if (low := n.lower()) not in drop and not low.startswith(b"proxy-")]


def first(headers: Headers, name: bytes) -> bytes | None:
    """The first value of a header (lower-case ``name``), or None.

    The length first: most names differ in it, so they are not lowered (this runs ~10 times a
    page over the same headers)."""
    size = len(name)
    for key, value in headers:
        if len(key) == size and key.lower() == name:
            return value
    return None


_UNTRUSTED_DROP = _REQUEST_DROP | CLIENT_IP_HEADERS | FRONT_PROXY_HEADERS
_TRUSTED_DROP_HOP = _REQUEST_DROP | HOP_BY_HOP
_UNTRUSTED_DROP_HOP = _UNTRUSTED_DROP | HOP_BY_HOP


def upstream_request_headers(
    headers: Headers, *, upstream_host: str, origin: ClientOrigin, public_host: str, scheme: str
) -> Headers:
    """What the origin receives: the client's end-to-end headers, its own Host, X-Forwarded-* and Forwarded.

    The incoming X-Forwarded-For/-Host/-Proto and ``Forwarded`` are replaced by ours, which say the
    same thing: ``origin.chain`` (the visitor's address, then only the hops after it: what a
    visitor wrote to the left of it is dropped; the peer alone from a stranger), the public
    ``public_host`` and ``scheme`` (``client_origin.upstream_forwarded``). From a trusted proxy
    (``origin.trusted``) every other ``X-Forwarded-*`` (``-Prefix``, ``-Port``, ``-Scheme``,
    ``-Ssl``, ...), the other client-address headers (``X-Real-IP``, ``True-Client-IP``,
    ``CF-Connecting-IP``, ...) and ``FRONT_PROXY_HEADERS`` pass; from anyone else they are dropped.
    One pass over the headers (this runs for every request).
    """
    trusted = origin.trusted
    hop = hop_by_hop_names(headers)
    if hop is HOP_BY_HOP:  # the usual case: the sets are made once
        drop = _TRUSTED_DROP_HOP if trusted else _UNTRUSTED_DROP_HOP
    else:
        drop = (_REQUEST_DROP if trusted else _UNTRUSTED_DROP) | hop
    out: Headers = [
        (name, value) for name, value in headers
        if not ((low := name.lower()) in drop or low.startswith(b"proxy-") or (not trusted and low.startswith(_FORWARDED_PREFIX)))
    ]
    out.append((b"host", upstream_host.encode()))
    out.append((b"x-forwarded-for", ", ".join(origin.chain).encode("latin-1")))
    out.append((b"x-forwarded-host", public_host.encode()))
    out.append((b"x-forwarded-proto", scheme.encode()))
    out.append((b"forwarded", upstream_forwarded(origin, scheme, public_host).encode("latin-1")))
    return out


def _rewrite_location(value: bytes, upstream_origin: bytes, upstream_netloc: bytes, public_origin: bytes) -> bytes:
    low = value.lower()
    if low.startswith(upstream_origin) and (len(value) == len(upstream_origin) or value[len(upstream_origin)] in b"/?#"):
        return public_origin + value[len(upstream_origin):]
    if low.startswith(b"//" + upstream_netloc) and (len(value) == len(upstream_netloc) + 2 or value[len(upstream_netloc) + 2] in b"/?#"):
        return b"//" + public_origin.split(b"://", 1)[1] + value[len(upstream_netloc) + 2:]
    return value


def _rewrite_cookie_domain(value: bytes, upstream_hostname: bytes, public_hostname: bytes) -> bytes:
    parts = value.split(b";")
    changed = False
    for i, part in enumerate(parts[1:], 1):
        key, sep, domain = part.partition(b"=")
        if sep and key.strip().lower() == b"domain" and domain.strip().lstrip(b".").lower() == upstream_hostname:
            parts[i] = key + b"=" + public_hostname
            changed = True
    return b";".join(parts) if changed else value


class ResponseHeaderRewriter:
    """Rewrites upstream response headers for the public side, per settings (built once)."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_origin = f"{parts.scheme}://{parts.netloc}".lower().encode()
        self.upstream_netloc = parts.netloc.lower().encode()
        self.upstream_hostname = (parts.hostname or "").encode()

    def __call__(self, headers: Headers, public_origin: str) -> Headers:
        drop = hop_by_hop_names(headers)
        out: Headers = []
        origin = public_origin.encode()
        for name, value in headers:
            low = name.lower()
            if low in drop or low.startswith(b"proxy-"):
                continue
            if low == b"location":
                value = _rewrite_location(value, self.upstream_origin, self.upstream_netloc, origin)
            elif low == b"set-cookie" and b"omain" in value:
                hostname = (urlsplit(public_origin).hostname or "").encode()
                value = _rewrite_cookie_domain(value, self.upstream_hostname, hostname)
            out.append((low, value))
        return out


_date_cache: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The current IMF-fixdate, formatted at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode())
    return _date_cache[1]


_BYTE_VALIDATORS = frozenset({b"etag", b"last-modified", b"accept-ranges", b"content-length"})
# Caching directives aimed at shared caches (CDNs, surrogates) next to Cache-Control: a personalized
# page must not carry any of them, or a CDN honouring one could keep one visitor's page for everyone.
SHARED_CACHE = frozenset({
    b"cdn-cache-control", b"surrogate-control", b"cloudflare-cdn-cache-control", b"edge-control",
    b"fastly-surrogate-control", b"x-accel-expires",
})
_VALIDATORS = frozenset(  # and Age: a personalized page is new, not a copy of some age
    {b"etag", b"last-modified", b"accept-ranges", b"content-length", b"cache-control", b"expires", b"age", *SHARED_CACHE}
)


def rewritten(headers: Headers, body_length: int) -> Headers:
    """Headers of a page changed the same way for every visitor (e.g. only the tag injected).

    The origin's caching policy still holds, but its validators and ranges
    describe other bytes, so they go.
    """
    out = [(n, v) for n, v in headers if n not in _BYTE_VALIDATORS]
    out.append((b"content-length", str(body_length).encode()))
    return out


def personalized(headers: Headers, body_length: int | None) -> Headers:
    """Headers of a page personalization changed (or may change: a streamed page, ``body_length`` None).

    Validators and ranges describe the origin's bytes, not ours, so they go;
    the page is per visitor, so shared caches must not keep it and any cache
    must revalidate (``private, no-cache``) and key on the cookie (``Vary``);
    every shared-cache directive of the origin (``CDN-Cache-Control``,
    ``Surrogate-Control``, ...) goes too.
    A streamed page has no length yet: the server frames it (chunked on HTTP/1.1).
    """
    out = [(n, v) for n, v in headers if n not in _VALIDATORS]
    vary = [v for n, v in out if n == b"vary"]
    tokens = {t.strip().lower() for v in vary for t in v.split(b",")}
    if b"cookie" not in tokens and b"*" not in tokens:
        out = [(n, v) for n, v in out if n != b"vary"]
        out.append((b"vary", b", ".join([*vary, b"Cookie"]) if vary else b"Cookie"))
    out.append((b"cache-control", b"private, no-cache"))
    if body_length is not None:
        out.append((b"content-length", str(body_length).encode()))
    return out


def personalized_kept(headers: Headers, body_length: int, kept: dict[str, Headers]) -> Headers:
    """``personalized(headers, body_length)`` for one stored copy's pages, its body-free part kept in
    ``kept`` (the copy's own dict): the copy's headers are the same for every visitor but ``Age``
    and ``Content-Length``, which ``personalized`` drops. Why: a cached page's headers were
    filtered again for every visitor (~1% of a cached page's CPU)."""
    base = kept.get("personalized")
    if base is None:
        base = kept["personalized"] = personalized(headers, None)
    return [*base, (b"content-length", str(body_length).encode())]


def with_early_hints(headers: Headers, hints: list[list[tuple[bytes, bytes]]] | None) -> Headers:
    """The final response's headers plus the ``Link`` headers of the origin's ``103 Early Hints``.

    An ASGI server cannot send a 1xx response, so what the hints announced
    (preload, preconnect) travels on the final head instead; one the origin
    repeats there is not doubled.
    """
    if not hints:
        return headers
    present = {v.strip() for n, v in headers if n == b"link"}
    extra = []
    for hint in hints:
        for name, value in hint:
            if name.lower() == b"link" and value.strip() not in present:
                present.add(value.strip())
                extra.append((b"link", value))
    return headers + extra if extra else headers


def with_ours(headers: Headers, ours: Headers) -> Headers:
    """The response's headers followed by Slotwise's own (``ours``: cookie, ``Server-Timing``, ...).

    Our visitor cookie must never be kept by a shared cache, or a CDN would hand one visitor's
    id to everyone: whenever ``ours`` sets a cookie, the response goes out ``private, no-cache``
    without shared-cache directives, whatever the store said (a page that failed open, or was
    only tagged, otherwise keeps the store's ``public`` headers).
    """
    if not any(n == b"set-cookie" for n, _ in ours):
        return headers + ours
    return unshared(headers) + ours


def unshared(headers: Headers) -> Headers:
    """``headers`` that let no shared cache keep the response: ``private, no-cache`` without shared-cache
    directives, unless they already say ``private`` or ``no-store`` and name no shared-cache field."""
    kept = [v for n, v in headers if n == b"cache-control"]
    if any(b"private" in v.lower() or b"no-store" in v.lower() for v in kept) and not any(
            n in SHARED_CACHE for n, _ in headers):
        return headers
    out = [(n, v) for n, v in headers if n not in SHARED_CACHE and n not in (b"cache-control", b"expires")]
    return out + [(b"cache-control", b"private, no-cache")]
