"""Each slot's health on the admin page and in its status API: whether its selector finds its element on
the pages it applies to (``store.slot_presence``), in the marketer's words, where they look, rather than
in the server's log."""

from __future__ import annotations

from html import escape
from typing import Any, Mapping

from slotwise.proxy.operations.admin_html import utc_text
from slotwise.store.slot_presence import SlotPresence


def health_line(p: SlotPresence) -> str:
    """"element not found on 37 of 40 pages since 2026-12-05 09:12 UTC, e.g. /p/fell-jacket; last found
    2026-12-04 18:00 UTC": how often, where, and since when it is gone (a theme change shows as a date)."""
    since = utc_text(p.since, seconds=False)
    if not p.absent:
        return f"element found on all {p.pages} pages since {since}"
    line = f"element not found on {p.absent} of {p.pages} pages since {since}"
    if p.paths:
        line += f", e.g. {', '.join(reversed(p.paths))}"
    line += f"; last found {utc_text(p.last_found_at, seconds=False)}" if p.last_found_at else "; never found"
    return line


def health_status(presence: Mapping[str, SlotPresence], slots: list[str]) -> dict[str, Any]:
    """``/_sw/admin/api/status``'s ``slot_health``: each slot's record, its line and whether it is missing on
    most of its pages (the page's warning); a slot no page counted yet is absent from it."""
    return {slot: {**presence[slot].as_dict(), "mostly_absent": presence[slot].mostly_absent,
                   "line": health_line(presence[slot])}
            for slot in slots if slot in presence}


def render_warning(presence: Mapping[str, SlotPresence], slots: list[str]) -> str:
    """The warning at the top of the admin page: the slots whose element is missing on most of their pages
    (a typo'd selector, a theme that changed), each linking to its report."""
    missing = [s for s in slots if s in presence and presence[s].mostly_absent]
    if not missing:
        return ""
    items = "".join(f"<li><a href=\"#slot-{escape(s)}\"><code>{escape(s)}</code></a>: {escape(health_line(presence[s]))}"
                    f" (selector <code>{escape(presence[s].selector)}</code>)</li>" for s in missing)
    return ("<div class=alert id=slot-health role=alert><b>Not on their pages:</b> these slots' selectors find no "
            "element on most pages they apply to, so they are shown to almost nobody. Fix the selector in the "
            "rules (<code>slotwise rules check RULES --url URL</code> suggests one):"
            f"<ul>{items}</ul></div>")


def render_line(presence: Mapping[str, SlotPresence], slot: str) -> str:
    """One slot's line beside its report (nothing before any page counted it)."""
    p = presence.get(slot)
    if p is None:
        return ""
    return f"<p class={'warn' if p.absent else 'note'} data-slot-health=\"{escape(slot)}\">{escape(health_line(p))}</p>"
