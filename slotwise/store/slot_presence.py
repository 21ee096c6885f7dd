"""A slot's presence on its pages: how often its selector found no element where it applies.

A typo'd selector, or a store whose theme changed, drops a slot from its pages without an error: the
admin page says so from these records. Each worker counts in memory (``proxy.personalization.
slot_absence``) and adds its counts to the store every few seconds (``merge``, the one way both stores
combine them), so a page costs no write and every worker and instance sees the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

PATHS_KEPT = 5
"""The last few paths (no query: it may carry an e-mail or a token) where the element was not found."""
WINDOW_S = 24 * 3600.0
"""Counts start over once their window is this old: "37 of 40 pages since 09:12" speaks of today's pages,
and a theme that changed on Tuesday shows by Wednesday even on a slot found for months before."""


@dataclass(frozen=True)
class SlotPresence:
    """For one slot: of ``pages`` it applied to since ``since``, ``absent`` had no element for its
    ``selector``; ``paths`` the last absent ones' paths (oldest first), and when it was last not found
    and last found (kept when the window starts over; a new selector starts everything over)."""

    selector: str
    since: float
    pages: int = 0
    absent: int = 0
    paths: tuple[str, ...] = ()
    last_absent_at: float | None = None
    last_found_at: float | None = None

    @property
    def mostly_absent(self) -> bool:
        """Missing on most of the pages it applied to: the admin page's warning at the top."""
        return self.absent * 2 > self.pages

    def as_dict(self) -> dict[str, Any]:
        return {"selector": self.selector, "since": self.since, "pages": self.pages, "absent": self.absent,
                "paths": list(self.paths), "last_absent_at": self.last_absent_at, "last_found_at": self.last_found_at}

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> SlotPresence:
        return cls(str(data["selector"]), float(data["since"]), int(data["pages"]), int(data["absent"]),
                   tuple(str(p) for p in data.get("paths") or ()), _time(data.get("last_absent_at")),
                   _time(data.get("last_found_at")))


def _time(value: Any) -> float | None:
    return float(value) if value is not None else None


def _latest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def merge(old: SlotPresence | None, new: SlotPresence, window_s: float = WINDOW_S) -> SlotPresence:
    """``new`` (a worker's counts since its last flush) added to ``old`` (the store's): a new selector
    starts over; a window older than ``window_s`` starts its counts over, keeping when it was last found."""
    if old is None or old.selector != new.selector:
        return new
    last_absent, last_found = _latest(old.last_absent_at, new.last_absent_at), _latest(old.last_found_at, new.last_found_at)
    if new.since - old.since >= window_s:
        return replace(new, last_absent_at=last_absent, last_found_at=last_found,
                       paths=new.paths or old.paths)
    paths = tuple(p for p in old.paths if p not in new.paths) + new.paths
    return SlotPresence(old.selector, min(old.since, new.since), old.pages + new.pages, old.absent + new.absent,
                        paths[-PATHS_KEPT:], last_absent, last_found)
