"""Decisions made for the tag, signed, and logged only once the tag has applied them.

In tag-only mode ``/decide`` answers before the page is shown, and the tag may
be too late (the anti-flicker window ended) or find no element to change. A
decision is therefore handed out as a signed token and logged only when the
tag reports it applied (an ``applied`` event): a decision that was never on
the page is never counted as shown and never rewarded, whatever the goal.
The token carries the whole record (propensity, context), so any worker or
instance can log it; it names its visitor and expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Mapping

MAX_AGE_S = 3600.0
MAX_TOKEN = 8192


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DecisionTokens:
    def __init__(self, key: bytes) -> None:
        self.key = hashlib.sha256(b"slotwise-decision-token:" + key).digest()

    def _mac(self, body: bytes) -> str:
        return _b64(hmac.new(self.key, body, hashlib.sha256).digest()[:18])

    def sign(self, record: Mapping[str, Any]) -> str:
        body = json.dumps(dict(record), sort_keys=True, separators=(",", ":")).encode()
        return f"{_b64(body)}.{self._mac(body)}"

    def open(self, token: Any, visitor_id: str, now: float) -> dict[str, Any] | None:
        """The record, if the token is ours, for this visitor and fresh; else None."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN or token.count(".") != 1:
            return None
        body_text, mac = token.split(".")
        try:
            body = _unb64(body_text)
        except ValueError:
            return None
        if not hmac.compare_digest(self._mac(body), mac):
            return None
        try:
            record = json.loads(body)
        except ValueError:
            return None
        if not isinstance(record, dict) or record.get("visitor_id") != visitor_id:
            return None
        ts = record.get("ts")
        if not isinstance(ts, (int, float)) or not now - MAX_AGE_S <= ts <= now + 60:
            return None
        return record
