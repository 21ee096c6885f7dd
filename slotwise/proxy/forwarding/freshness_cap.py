"""A page that keeps the store's caching must turn stale when the rules' next campaign window opens or
closes, or when the clock a ``when`` reads turns (``time.hour``: the next full hour).

A page no slot changed (a slot outside its ``active`` window, a ``when`` false), or one a bot got, goes
out with the store's ``Cache-Control``. A shared cache in front of Slotwise (a CDN) would then serve it
past a window's start, or past 18:00 for a ``when: time.hour >= 18``: the store's page while the
campaign runs. ``capped`` lowers what the response advertises so that it is stale from that edge on
(the personalizer's ``fresh_for``): ``max-age``/``s-maxage`` (and Akamai's
``cache-maxage``) in ``Cache-Control`` and the CDN fields written the same way, ``Expires``,
``X-Accel-Expires``; ``stale-while-revalidate`` ends by then too (it would serve the stale page once more).
A lifetime shorter than the cap is left as it is, and a response with none gets none: the cap never
makes a page cacheable. Nor does it leave one cacheable past the edge by heuristics: a ``Last-Modified``
lets a cache without an explicit lifetime for the page choose its own (RFC 9111 §4.2.2, commonly a tenth
of the time since then: days, for a page last changed a month ago), so it goes unless ``max-age`` or
``Expires`` gives every cache one (``s-maxage`` binds shared caches only, a browser would still guess) or
``no-cache``/``no-store`` forbid reuse without asking. Adding a ``max-age`` instead would give a lifetime
to a page that had none, longer than a cache's guess might have been. Personalized pages need none of
this: they go out ``private, no-cache``, without validators.
"""

from __future__ import annotations

import math
import re
from email.utils import formatdate

from slotwise.proxy.forwarding.cache_control import MAX_DELTA, http_time, parse_cache_control, values
from slotwise.proxy.forwarding.headers import SHARED_CACHE, Headers

_DIRECTIVE_FIELDS = frozenset({b"cache-control", *SHARED_CACHE} - {b"x-accel-expires"})
_LIFETIME = re.compile(rb"(?i)(?<![\w-])(max-age|s-maxage|cache-maxage)(\s*=\s*)(\"?)(\d+)([smhd]?)\3")
_STALE = re.compile(rb"(?i)(?<![\w-])(stale-while-revalidate)(\s*=\s*)(\"?)(\d+)()\3")
_UNIT = {b"": 1, b"s": 1, b"m": 60, b"h": 3600, b"d": 86400}


def capped(headers: Headers, seconds: float) -> Headers:
    """``headers`` whose advertised freshness ends within ``seconds`` from now (the next edge).

    A shared cache counts a lifetime from the response's birth (``Age`` says how long ago that was:
    a page from Slotwise's own HTML cache), so the cap on a lifetime is ``Age`` plus ``seconds``;
    ``Expires`` is read against ``Date`` the same way."""
    remaining = max(0, math.floor(seconds))
    if remaining >= MAX_DELTA:
        return headers
    age_raw = values(headers, b"age")
    age = int(age_raw[0]) if age_raw and age_raw[0].strip().isdigit() else 0
    limit = age + remaining
    guessable = _guessable(headers)
    out: Headers = []
    for name, value in headers:
        if name == b"last-modified" and guessable:
            continue
        if name in _DIRECTIVE_FIELDS:
            value = _directives(value, limit)
        elif name == b"x-accel-expires":
            value = _accel(value, headers, remaining)
        elif name == b"expires":
            value = _expires(value, headers, limit)
        out.append((name, value))
    return out


def _guessable(headers: Headers) -> bool:
    """Whether some cache may give the page a heuristic lifetime from its ``Last-Modified``: one that has
    no explicit lifetime for it (neither ``max-age`` nor ``Expires``) and may reuse it unasked."""
    if not values(headers, b"last-modified") or values(headers, b"expires"):
        return False  # an Expires, even an unparsable one (already stale), is explicit
    cc = parse_cache_control(values(headers, b"cache-control"))
    return cc.max_age is None and not cc.no_cache and not cc.no_store


def _directives(value: bytes, limit: int) -> bytes:
    """Each lifetime in one field lowered to ``limit``; ``stale-while-revalidate`` to what is left after
    the longest of them (serving stale is keeping it too)."""
    kept: list[int] = []

    def lowered(m: re.Match[bytes]) -> bytes:
        given = int(m.group(4)) * _UNIT[m.group(5).lower()]
        kept.append(min(given, limit))
        if given <= limit:
            return m.group(0)
        return m.group(1) + m.group(2) + str(limit).encode() + (b"s" if m.group(5) else b"")

    value = _LIFETIME.sub(lowered, value)
    left = limit - max(kept, default=0)
    return _STALE.sub(lambda m: m.group(0) if int(m.group(4)) <= left else m.group(1) + m.group(2) + str(left).encode(),
                      value)


def _accel(value: bytes, headers: Headers, remaining: int) -> bytes:
    """nginx's ``X-Accel-Expires``: seconds from now, or ``@`` a Unix time (read against ``Date``)."""
    text = value.strip()
    date = http_time(next(iter(values(headers, b"date")), None))
    if text.isdigit():
        left = int(text)
    elif text.startswith(b"@") and text[1:].isdigit() and date is not None:
        left = int(text[1:]) - int(date)
    else:
        return value
    return value if left <= remaining else str(remaining).encode()


def _expires(value: bytes, headers: Headers, limit: int) -> bytes:
    when = http_time(value)
    date = http_time(next(iter(values(headers, b"date")), None))
    if when is None or date is None or when - date <= limit:
        return value  # an unparsable Expires is already in the past (RFC 9111 §5.3)
    return formatdate(date + limit, usegmt=True).encode()


__all__ = ["capped"]
