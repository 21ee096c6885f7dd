"""Coupon codes Slotwise generates when the store loaded no pool.

``SW-<random>-<mac>``: 10 base32 characters of randomness (50 bits) and 6 of
HMAC-SHA256 over them with the store's key, so the shop (or support) can
check that a code came from this Slotwise with ``verify``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_CODE_RE = re.compile(r"^SW-([A-Z2-7]{10})-([A-Z2-7]{6})$")
POOL_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


class CouponSigner:
    def __init__(self, key: bytes) -> None:
        self.key = key

    def _mac(self, body: str) -> str:
        return _b32(hmac.new(self.key, b"coupon:" + body.encode(), hashlib.sha256).digest())[:6]

    def generate(self) -> str:
        body = _b32(secrets.token_bytes(7))[:10]
        return f"SW-{body}-{self._mac(body)}"

    def verify(self, code: str) -> bool:
        match = _CODE_RE.match(code.strip().upper())
        return bool(match) and hmac.compare_digest(self._mac(match.group(1)), match.group(2))


def valid_pool_code(code: str) -> bool:
    """A code a shop may load into the pool: 3–64 letters, digits, ``_ . -``."""
    return bool(POOL_CODE_RE.match(code))
