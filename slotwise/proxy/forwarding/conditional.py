"""A visitor's conditional request for a page Slotwise may change: the store's ``304`` must not answer it.

``If-None-Match``/``If-Modified-Since`` name a copy the visitor (or a CDN in front) holds. A store's
``304`` says its own page did not change, not that Slotwise's would be the same: a copy of the store's page
kept from before (a bot's page a CDN keeps, one that failed open, one from before Slotwise) would be served
on while a slot applies now. So for a request the personalizer could change (``SafePersonalizer.may_change``)
the forwarding layer sends the store the request without them (``without_validators``) and answers
``304`` itself only when the page goes out as the store's, with a validator still matching the visitor's
(``Revalidated``): a page Slotwise changed never carries the store's ``ETag``/``Last-Modified``
(``headers.personalized``, ``headers.rewritten``), so it always goes out whole. Every other request (an
asset, a page outside every slot's pages, a bot's) keeps its validators and the store's ``304``.

The comparison is a cache's (RFC 9110 §13.1.2–3): ``If-None-Match`` weakly (``W/"x"`` matches ``"x"``),
a list or ``*``; ``If-Modified-Since`` only without it, and not for a date after the page's own ``Date``
(conservative, RFC 2616's rule: a clock ahead would otherwise match every page).
``*`` matches only a page with an ``ETag``: one without may be a page Slotwise changed.
"""

from __future__ import annotations

import re

from slotwise.proxy.forwarding.cache_control import http_time
from slotwise.proxy.forwarding.forward_stream import Responder
from slotwise.proxy.forwarding.headers import Headers, first

Validators = tuple[bytes | None, bytes | None]
"""What a request asks about its copy: its ``If-None-Match`` (every field line, joined) and its
``If-Modified-Since``."""

_INM, _IMS = b"if-none-match", b"if-modified-since"
_NAMES = frozenset({_INM, _IMS})
_QUOTED = re.compile(rb'(?:W/)?("[^"]*")')  # an entity tag; its opaque part (commas may stand inside the quotes)
_NOT_ON_304 = frozenset({b"content-length", b"content-type", b"content-encoding", b"content-language",
                         b"content-range", b"transfer-encoding"})  # about the body a 304 does not carry


def asked_validators(headers: Headers) -> Validators | None:
    """The request's validators, or None without any (the usual request: one pass over names an ASGI
    server gives lower-case, as ``Forwarder.forward`` reads ``Content-Length``)."""
    inm: list[bytes] = []
    ims: bytes | None = None
    for name, value in headers:
        if name in _NAMES:
            if name == _INM:
                inm.append(value)
            elif ims is None:
                ims = value
    if not inm and ims is None:
        return None
    return (b", ".join(inm) if inm else None), ims


def without_validators(headers: Headers) -> Headers:
    """``headers`` less ``If-None-Match`` and ``If-Modified-Since``: the store answers with its page."""
    return [(n, v) for n, v in headers if n.lower() not in _NAMES]


def _opaque_tags(value: bytes) -> set[bytes]:
    """The opaque tags of an ``If-None-Match`` list (or of one ``ETag``), weak or not; a store's unquoted
    tag, echoed as the visitor got it, is taken as written."""
    quoted = _QUOTED.findall(value)
    if quoted:
        return set(quoted)
    return {t.strip().removeprefix(b"W/") for t in value.split(b",") if t.strip()}


def not_modified(asked: Validators, headers: Headers) -> bool:
    """Whether a 200 with ``headers`` is the copy ``asked`` names (see the module docstring)."""
    inm, ims = asked
    if inm is not None:
        etag = first(headers, b"etag")
        if etag is None:
            return False
        return inm.strip() == b"*" or not _opaque_tags(inm).isdisjoint(_opaque_tags(etag))
    modified = http_time(first(headers, b"last-modified"))
    since = http_time(ims)
    if modified is None or since is None:
        return False
    date = http_time(first(headers, b"date"))
    return modified <= since and (date is None or since <= date)


class Revalidated(Responder):
    """The response to a request sent to the store without the visitor's validators: a 200 that goes out
    with the store's validators, still matching, goes out as a ``304`` with the same headers but those of the
    body (RFC 9110 §15.4.5: its caching, ``ETag``, ``Vary``, cookies); the body is read and dropped. Only made
    for such a request: every other keeps the plain ``Responder``."""

    __slots__ = ("inner", "asked", "dropping")

    def __init__(self, inner: Responder, asked: Validators) -> None:
        super().__init__(inner.send)
        self.inner = inner  # the forwarding layer's own: it reads started/status on errors and for metrics
        self.asked = asked
        self.dropping = False

    async def start(self, status: int, headers: Headers) -> None:
        if status == 200 and not_modified(self.asked, headers):
            status, headers, self.dropping = 304, [(n, v) for n, v in headers if n not in _NOT_ON_304], True
        self.started, self.status = True, status
        await self.inner.start(status, headers)
        if self.dropping:
            await self.inner.body(b"")

    async def body(self, data: bytes, more: bool = False) -> None:
        if not self.dropping:
            await self.inner.body(data, more)


__all__ = ["Revalidated", "Validators", "asked_validators", "not_modified", "without_validators"]
