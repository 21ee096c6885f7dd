"""Signed preview links: force a slot's variant, or switch personalization off.

A marketer opens ``/any/page?sw_preview=TOKEN``; the token is signed with the
store's key (so visitors cannot force variants) and carries a mapping of slot
id to variant id, or ``{"*": "off"}``, and when it stops working
(``--preview-ttl``, 24 h by default: a link pasted in a ticket or a chat must
not force variants for ever). The proxy keeps it in a session cookie so the
preview stays on while the marketer clicks through pages, and never records
statistics for a previewed page. An expired link is answered with the page
as visitors see it and ``X-Slotwise-Preview: expired ...``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from itsdangerous import BadSignature, URLSafeSerializer

PREVIEW_PARAM = "sw_preview"
PREVIEW_COOKIE = "sw_preview"
OFF = "off"
DEFAULT_TTL_S = 24 * 3600.0
EXPIRED_HEADER = "expired (preview links last a limited time; ask for a new one)"


class PreviewLinks:
    def __init__(self, key: bytes, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.time) -> None:
        self._serializer = URLSafeSerializer(key, salt="slotwise-preview")
        self.ttl_s = ttl_s if ttl_s > 0 else DEFAULT_TTL_S
        self.clock = clock

    def token(self, forced: Mapping[str, str]) -> str:
        """A token forcing ``{slot_id: variant_id}``; ``{"*": "off"}`` means no personalization."""
        return self._serializer.dumps({"f": dict(forced), "exp": round(self.clock() + self.ttl_s)})

    def _load(self, token: str | None) -> tuple[dict[str, str], float] | None:
        if not token or len(token) > 2048:
            return None
        try:
            data: Any = self._serializer.loads(token)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("exp"), (int, float)):
            return None  # also the links made before links expired: they never did, so they stop now
        forced = data.get("f")
        if not isinstance(forced, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in forced.items()):
            return None
        return forced, float(data["exp"])

    def read(self, token: str | None) -> dict[str, str] | None:
        """The forced variants of a valid, unexpired token; else None."""
        loaded = self._load(token)
        if loaded is None or loaded[1] <= self.clock():
            return None
        return loaded[0]

    def expired(self, token: str | None) -> bool:
        """Whether ``token`` is a genuine link that has expired (to tell the marketer so)."""
        loaded = self._load(token)
        return loaded is not None and loaded[1] <= self.clock()

    @staticmethod
    def is_off(forced: Mapping[str, str]) -> bool:
        return forced.get("*") == OFF
