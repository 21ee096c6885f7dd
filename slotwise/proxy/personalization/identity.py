"""The first-party visitor cookie: a random id signed with the store's key.

The cookie value is ``<id>.<signature>``; anything else — forged, truncated,
oversized, badly encoded — reads as "no visitor" and a fresh id is issued.
Nothing here raises on bad input.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Iterable

from slotwise.lru import LRUCache
from slotwise.rules.cookies import cookie_pairs

MAX_COOKIE_LEN = 128
VERIFIED_KEPT = 8192
"""Cookie values whose signature was checked, kept per signer (a returning visitor's every page is one
dict lookup instead of an HMAC); only values that verified are kept, so forgeries cannot fill it."""
ONE_YEAR_S = 365 * 24 * 3600
NONCE_MAX_AGE_S = 24 * 3600
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_NONCE_RE = re.compile(r"^[0-9a-z]{6,12}\.[0-9a-z]{16,64}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class VisitorCookies:
    """Issues and verifies signed visitor ids."""

    key: bytes
    name: str = "sw_vid"
    max_age: int = ONE_YEAR_S
    _verified: LRUCache[str, str] = field(default_factory=lambda: LRUCache(maxsize=VERIFIED_KEPT), init=False,
                                          repr=False, compare=False, hash=False)

    def sign(self, visitor_id: str) -> str:
        mac = hmac.new(self.key, b"vid:" + visitor_id.encode("ascii"), hashlib.sha256).digest()[:18]
        return f"{visitor_id}.{_b64(mac)}"

    def verify(self, value: str | None) -> str | None:
        """The visitor id in a cookie value, or None if it is not one we signed."""
        if not value:
            return None
        kept = self._verified.get(value)  # only values this signer (this key) verified are in it
        if kept is not None:
            return kept
        if len(value) > MAX_COOKIE_LEN or value.count(".") != 1:
            return None
        visitor_id, _ = value.split(".", 1)
        if not _ID_RE.match(visitor_id):
            return None
        if not hmac.compare_digest(self.sign(visitor_id), value):
            return None
        self._verified[value] = visitor_id
        return visitor_id

    @staticmethod
    def new_id() -> str:
        return _b64(secrets.token_bytes(16))

    def from_nonce(self, nonce: str | None, now: float) -> str | None:
        """The visitor id a tag's nonce stands for (``<base36 ms>.<random>``, made within a day of now).

        Until a browser has our cookie, the tag sends one random nonce with
        every request; the id derived from it with the store's key is the same
        for all of them, so requests that race on a first visit cannot make
        two visitors. The nonce is dropped once the cookie is known, and a
        stale one stands for nobody (the tag then makes a new one). "Within a
        day" either way: the time is the browser's clock, and a clock set to
        the wrong time zone is hours off.
        """
        if not nonce or len(nonce) > 80 or not _NONCE_RE.match(nonce):
            return None
        try:
            made = int(nonce.split(".", 1)[0], 36) / 1000
        except ValueError:
            return None
        if not now - NONCE_MAX_AGE_S <= made <= now + NONCE_MAX_AGE_S:
            return None
        return _b64(hmac.new(self.key, b"nonce:" + nonce.encode("ascii"), hashlib.sha256).digest()[:16])

    def read(self, cookie_headers: Iterable[str]) -> str | None:
        """The verified visitor id from the request's Cookie header(s)."""
        for header in cookie_headers:
            value = cookie_value(header, self.name)
            if value is not None:
                return self.verify(value)
        return None

    def set_cookie(self, visitor_id: str, secure: bool) -> str:
        """The Set-Cookie header value for this visitor."""
        parts = [
            f"{self.name}={self.sign(visitor_id)}",
            "Path=/",
            f"Max-Age={self.max_age}",
            "HttpOnly",
            "SameSite=Lax",
        ]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)


def cookie_value(header: str, name: str) -> str | None:
    """One cookie's value from a Cookie header, tolerating junk around it."""
    if name not in header:  # most requests carry no preview cookie: no split for it
        return None
    return next((value for key, value in cookie_pairs(header) if key == name), None)


__all__ = ["VisitorCookies", "cookie_value"]
