"""What a shared cache reads in HTTP headers (RFC 9111): Cache-Control, Vary, Age, Expires, and the key.

Pure functions over ASGI-style header lists (``(bytes, bytes)`` pairs), so the
HTML cache (``html_cache``) and its property tests share one reading. Where a
header is malformed the reading is the conservative one: an unparsable
``max-age`` or ``Expires`` makes the response stale (RFC 9111 §4.2.1), a
``private`` or ``no-cache`` with field names counts for the whole response,
``Vary: *`` can never be matched.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

Headers = list[tuple[bytes, bytes]]

MAX_DELTA = 2**31  # RFC 9111 §1.2.2: a larger delta-seconds is taken as this
ALWAYS_VARY_FREE = frozenset({b"accept-encoding"})  # the cache keeps the decoded page: any coding can be served


@dataclass(frozen=True)
class CacheControl:
    """The directives a shared cache acts on; ``None`` ages are absent, ``0`` are absent-but-stale."""

    no_store: bool = False
    no_cache: bool = False
    private: bool = False
    public: bool = False
    must_revalidate: bool = False  # also proxy-revalidate: a stale copy is never served unrevalidated
    max_age: int | None = None
    s_maxage: int | None = None


_NONE = CacheControl()


def values(headers: Headers, name: bytes) -> list[bytes]:
    """Every value of a header (lower-case ``name``), in order (the length first, as ``headers.first``)."""
    size = len(name)
    return [v for n, v in headers if len(n) == size and n.lower() == name]


def _directives(raw: list[bytes]) -> list[tuple[str, str | None]]:
    """``a, b=1, c="x, y"`` → [(a, None), (b, "1"), (c, "x, y")]: commas inside quotes do not split."""
    out: list[tuple[str, str | None]] = []
    text = b",".join(raw).decode("latin-1")
    i, n = 0, len(text)
    while i < n:
        j = i
        while j < n and text[j] not in ",=":
            j += 1
        name = text[i:j].strip().lower()
        value: str | None = None
        if j < n and text[j] == "=":
            j += 1
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == '"':
                k = j + 1
                buf = []
                while k < n and text[k] != '"':
                    if text[k] == "\\" and k + 1 < n:
                        k += 1
                    buf.append(text[k])
                    k += 1
                value = "".join(buf)
                j = k + 1
                while j < n and text[j] != ",":
                    j += 1
            else:
                k = j
                while k < n and text[k] != ",":
                    k += 1
                value = text[j:k].strip()
                j = k
        if name:
            out.append((name, value))
        i = j + 1
    return out


def _delta(value: str | None) -> int:
    """delta-seconds; anything else (missing, negative, not decimal digits: "¹" is a digit int() refuses) is 0: stale, never fresher."""
    if value is None or not value.isdecimal():
        return 0
    return min(int(value), MAX_DELTA)


_KEPT_LINES = 512
"""Header lines up to this many bytes in all are parsed once per value (a store sends the same few
``Cache-Control`` lines on every page; ``CacheControl`` is frozen, so one answer serves them all)."""


def parse_cache_control(raw: list[bytes]) -> CacheControl:
    """Every ``Cache-Control`` line of a response, read as one list of directives.

    A directive given twice with different ages counts as 0 (stale), as RFC 9111
    §4.2.1 allows; unknown directives are ignored.
    """
    if not raw:
        return _NONE
    if sum(len(line) for line in raw) <= _KEPT_LINES:
        return _kept_cache_control(tuple(raw))
    return _parse_cache_control(raw)


@functools.lru_cache(maxsize=1024)
def _kept_cache_control(raw: tuple[bytes, ...]) -> CacheControl:
    return _parse_cache_control(list(raw))


def _parse_cache_control(raw: list[bytes]) -> CacheControl:
    flags: dict[str, bool] = {}
    ages: dict[str, int] = {}
    for name, value in _directives(raw):
        if name in ("max-age", "s-maxage"):
            age = _delta(value)
            ages[name] = 0 if name in ages and ages[name] != age else age
        elif name == "proxy-revalidate":
            flags["must-revalidate"] = True
        else:
            flags[name] = True
    return CacheControl(
        no_store=flags.get("no-store", False),
        no_cache=flags.get("no-cache", False),
        private=flags.get("private", False),
        public=flags.get("public", False),
        must_revalidate=flags.get("must-revalidate", False),
        max_age=ages.get("max-age"),
        s_maxage=ages.get("s-maxage"),
    )


def parse_vary(raw: list[bytes]) -> tuple[bytes, ...] | None:
    """The request header names a response varies on, lower-case, sorted, once each; None for ``*``.

    ``Accept-Encoding`` is left out: the cache keeps the decoded page and serves
    each visitor a coding it accepts (``accepts``).
    """
    names: set[bytes] = set()
    for line in raw:
        for token in line.split(b","):
            name = token.strip().lower()
            if name == b"*":
                return None
            if name and name not in ALWAYS_VARY_FREE:
                names.add(name)
    return tuple(sorted(names))


def http_time(value: bytes | None) -> float | None:
    """An HTTP-date as a Unix time; None when absent or not a date."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.decode("latin-1").strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    try:
        return parsed.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def freshness_lifetime(cc: CacheControl, headers: Headers) -> float:
    """Seconds the response is fresh for a shared cache (RFC 9111 §4.2.1): s-maxage, max-age, Expires − Date.

    ``no-cache`` makes it 0 (revalidate every time); an unparsable ``Expires``
    is in the past; no explicit expiry is 0 too (no heuristic freshness: the
    store decides, not us).
    """
    if cc.no_cache:
        return 0.0
    if cc.s_maxage is not None:
        return float(cc.s_maxage)
    if cc.max_age is not None:
        return float(cc.max_age)
    expires = values(headers, b"expires")
    if expires:
        when = http_time(expires[0]) if len(expires) == 1 else None
        date = http_time(next(iter(values(headers, b"date")), None))
        if when is None or date is None:
            return 0.0
        return max(0.0, when - date)
    return 0.0


def initial_age(headers: Headers, request_time: float, response_time: float) -> float:
    """The response's age when it arrived (RFC 9111 §4.2.3): the origin's ``Age`` plus the trip, or
    how old its ``Date`` says it is, whichever is larger. A ``Date`` has a resolution of one second,
    so it is allowed one second before it counts (a ``max-age=1`` page is not stale on arrival)."""
    raw = values(headers, b"age")
    age_value = float(_delta(raw[0].decode("latin-1").strip())) if raw else 0.0
    date = http_time(next(iter(values(headers, b"date")), None))
    apparent = max(0.0, response_time - date - 1.0) if date is not None else 0.0  # Date counts whole seconds
    return max(apparent, age_value + max(0.0, response_time - request_time))


def vary_value(headers: Headers, name: bytes) -> bytes | None:
    """The request's value of one header for a cache key: lines joined, spaces around commas
    dropped (RFC 9111 §4.1 allows this normalisation); None when absent (absent ≠ empty)."""
    found = values(headers, name)
    if not found:
        return None
    return b",".join(part.strip() for line in found for part in line.split(b","))


def cache_key(
    method: str, scheme: str, host: str, target: str, vary: tuple[bytes, ...], request_headers: Headers
) -> tuple[object, ...]:
    """The key a shared cache files a response under: method, URL, and the values of the headers it varies on."""
    primary = primary_key(method, scheme, host, target)
    return (*primary, tuple((name, vary_value(request_headers, name)) for name in vary))


def primary_key(method: str, scheme: str, host: str, target: str) -> tuple[str, str, str, str]:
    """Method, scheme, host (case-insensitive) and path with query (case-sensitive, as sent)."""
    return (method.upper(), scheme.lower(), host.lower(), target)


_ALIASES = {"x-gzip": "gzip", "x-compress": "compress"}  # RFC 9110 §8.4.1.3: the same codings


def accepts(accept_encoding: list[bytes], coding: str) -> bool:
    """Whether a request's ``Accept-Encoding`` allows a content coding (RFC 9110 §12.5.3).

    ``identity`` is acceptable unless refused (``identity;q=0``, or ``*;q=0``
    without it); another coding must be named, or matched by ``*``, with q > 0.
    """
    coding = _ALIASES.get(coding.lower(), coding.lower())
    named: dict[str, float] = {}
    for line in accept_encoding:
        for item in line.decode("latin-1").split(","):
            token, _, params = item.partition(";")
            token = token.strip().lower()
            token = _ALIASES.get(token, token)
            if not token:
                continue
            q = 1.0
            for param in params.split(";"):
                key, _, value = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        q = float(value.strip())
                    except ValueError:
                        q = 0.0
            named[token] = q
    if coding in named:
        return named[coding] > 0
    if "*" in named:
        return named["*"] > 0
    return coding == "identity"
