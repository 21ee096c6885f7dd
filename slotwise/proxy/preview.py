"""Signed preview links: force a slot's variant, or switch personalization off.

A marketer opens ``/any/page?sw_preview=TOKEN``; the token is signed with the
store's key (so visitors cannot force variants) and carries a mapping of slot
id to variant id, or ``{"*": "off"}``. The proxy keeps it in a session cookie
so the preview stays on while the marketer clicks through pages, and never
records statistics for a previewed page.
"""

from __future__ import annotations

from typing import Mapping

from itsdangerous import BadSignature, URLSafeSerializer

PREVIEW_PARAM = "sw_preview"
PREVIEW_COOKIE = "sw_preview"
OFF = "off"


class PreviewLinks:
    def __init__(self, key: bytes) -> None:
        self._serializer = URLSafeSerializer(key, salt="slotwise-preview")

    def token(self, forced: Mapping[str, str]) -> str:
        """A token forcing ``{slot_id: variant_id}``; ``{"*": "off"}`` means no personalization."""
        return self._serializer.dumps(dict(forced))

    def read(self, token: str | None) -> dict[str, str] | None:
        if not token or len(token) > 2048:
            return None
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            return None
        return data

    @staticmethod
    def is_off(forced: Mapping[str, str]) -> bool:
        return forced.get("*") == OFF
