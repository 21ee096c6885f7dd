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
from typing import Any, Callable, Iterable, Mapping

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


class PreviewError(ValueError):
    """A preview that names a slot or variant the rules do not have."""


WHEN_STILL_HOLDS = ("a forced variant still shows only where its 'when' holds, so open this link as such a visitor "
                    "would (on their device, after their visits)")


def when_notes(forced: Mapping[str, str], slots: Iterable[Any]) -> list[str]:
    """For each forced slot with a ``when``: that forcing does not lift it (the preview bar says the same
    on a page where it is false), so a link made for a banner aimed at returning mobile visitors is not
    opened on a desktop in the belief that it will show."""
    return [f"slot {slot.id!r} has when: {slot.when_source}; {WHEN_STILL_HOLDS}"
            for slot in slots if slot.id in forced and getattr(slot, "when_source", None)]


def check_forced(forced: Mapping[str, str], slots: Mapping[str, Any]) -> None:
    """Raises ``PreviewError`` naming the known slots (or variants) and the closest one.

    ``slots``: slot id -> its variant ids, as the rules define them.
    """
    from difflib import get_close_matches

    def hint(name: str, known: list[str]) -> str:
        close = get_close_matches(name, known, n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""

    for slot, variant in forced.items():
        if slot == "*":
            if variant != OFF:
                raise PreviewError(f"'*' can only be {OFF!r} (personalization off), not {variant!r}")
            continue
        if slot not in slots:
            known = sorted(slots)
            raise PreviewError(f"unknown slot {slot!r}{hint(slot, known)}; the rules have: "
                               f"{', '.join(known) or 'no slots'}")
        variants = list(slots[slot])
        if variant not in variants:
            raise PreviewError(f"slot {slot!r} has no variant {variant!r}{hint(variant, variants)}; "
                               f"its variants: {', '.join(variants)}")


def parse_forces(items: list[str]) -> dict[str, str]:
    """``["slot=variant", ...]`` as a mapping; a malformed item raises ``PreviewError``."""
    forced: dict[str, str] = {}
    for item in items:
        slot, sep, variant = item.partition("=")
        if not sep or not slot.strip() or not variant.strip():
            raise PreviewError(f"{item!r}: expected SLOT=VARIANT")
        forced[slot.strip()] = variant.strip()
    return forced
