"""The Redis store's settings, read from its URL (pure: no I/O).

Slotwise's own query parameters are taken out of the URL before it reaches
redis-py, which parses the rest (``db``, ``password``, ``ssl_*`` ...)::

    redis://host:6379/0?anon_ttl=30d&timeout=0.5&connect_timeout=0.5
                       &prefix=sw:&dedup_ttl=7d&log_maxlen=0
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_duration(text: str | float | int | None) -> float | None:
    """``"30d"``, ``"12h"``, ``"90"`` (seconds) → seconds; ``None``, ``""``, ``0``, ``"off"`` → no limit."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text) or None
    if text.strip().lower() in ("", "0", "off", "none", "never"):
        return None
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90, 90s, 15m, 12h, 30d, 2w)")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    return seconds or None


@dataclass(frozen=True)
class RedisOptions:
    """How the store talks to Redis and how long it keeps what."""

    anonymous_ttl_s: float | None = None
    """Anonymous profiles (no customer id, e-mail hash or alias) expire after this much inactivity."""
    timeout_s: float = 0.5
    """Socket read/write timeout: past it a call raises StoreUnavailable instead of hanging."""
    connect_timeout_s: float = 0.5
    prefix: str = "sw:"
    dedup_ttl_s: float | None = 7 * 86400
    """How long a log (kind, key) is remembered for idempotent appends; None = forever."""
    log_maxlen: int = 0
    """Approximate cap on the stream's length (XADD MAXLEN ~); 0 = keep everything."""


_OURS = {
    "anon_ttl": ("anonymous_ttl_s", parse_duration),
    "timeout": ("timeout_s", float),
    "connect_timeout": ("connect_timeout_s", float),
    "prefix": ("prefix", str),
    "dedup_ttl": ("dedup_ttl_s", parse_duration),
    "log_maxlen": ("log_maxlen", int),
}
OPTION_NAMES = tuple(_OURS)


def split_url(url: str, base: RedisOptions = RedisOptions()) -> tuple[str, RedisOptions]:
    """The URL redis-py should see, and our options (URL parameters override ``base``)."""
    parts = urlsplit(url)
    rest: list[tuple[str, str]] = []
    changes: dict[str, object] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _OURS:
            attr, convert = _OURS[name]
            try:
                changes[attr] = convert(value)
            except ValueError as exc:
                raise ValueError(f"{name}={value!r}: {exc}") from None
        else:
            rest.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(rest))), replace(base, **changes)  # type: ignore[arg-type]
