"""Each slot's health on the admin page, in its status API and in ``slotwise report``: whether its selector
finds its element on the pages it applies to (``store.slot_presence``), in the marketer's words, where they
look, rather than in the server's log. ``health_rows`` builds the rows all three show, so they never differ."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable, Mapping

from slotwise.proxy.operations.admin_html import utc_text
from slotwise.store.base import Store
from slotwise.store.slot_presence import SlotPresence

log = logging.getLogger("slotwise.slot_health")

WARNING = ("these slots' selectors find no element on most pages they apply to, so they are shown to almost "
           "nobody. Fix the selector in the rules ({check} suggests one)")
"""The warning's words, ``{check}`` the command (code on the admin page, plain in the terminal)."""
CHECK = "slotwise rules check RULES --url URL"


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


@dataclass(frozen=True)
class HealthRow:
    """One slot's record and its line."""

    slot: str
    presence: SlotPresence
    line: str

    @property
    def mostly_absent(self) -> bool:
        return self.presence.mostly_absent


def health_rows(presence: Mapping[str, SlotPresence], slots: Iterable[str] | None = None) -> dict[str, HealthRow]:
    """The rows of the slots in ``slots`` (the rules', in their order; None: every slot the store holds, by
    name) that pages counted: a slot the rules no longer have has none, whatever the store still holds."""
    names = sorted(presence) if slots is None else [s for s in slots if s in presence]
    return {s: HealthRow(s, presence[s], health_line(presence[s])) for s in names}


async def read_presence(store: Store) -> dict[str, SlotPresence]:
    """Every slot's record in the store; nothing when it cannot say (fail open: the page, or the report,
    without the lines)."""
    try:
        return await store.slot_presence()
    except Exception as exc:
        log.debug("slot presence not read (%s)", exc)
        return {}


def health_status(rows: Mapping[str, HealthRow]) -> dict[str, Any]:
    """``/_sw/admin/api/status``'s ``slot_health``: each slot's record, its line and whether it is missing on
    most of its pages (the page's warning); a slot no page counted yet is absent from it."""
    return {slot: {**row.presence.as_dict(), "mostly_absent": row.mostly_absent, "line": row.line}
            for slot, row in rows.items()}


def render_warning(rows: Mapping[str, HealthRow]) -> str:
    """The warning at the top of the admin page: the slots whose element is missing on most of their pages
    (a typo'd selector, a theme that changed), each linking to its report."""
    missing = [row for row in rows.values() if row.mostly_absent]
    if not missing:
        return ""
    items = "".join(f"<li><a href=\"#slot-{escape(r.slot)}\"><code>{escape(r.slot)}</code></a>: {escape(r.line)}"
                    f" (selector <code>{escape(r.presence.selector)}</code>)</li>" for r in missing)
    return ("<div class=alert id=slot-health role=alert><b>Not on their pages:</b> "
            f"{escape(WARNING, quote=False).format(check=f'<code>{escape(CHECK)}</code>')}:<ul>{items}</ul></div>")


def render_line(rows: Mapping[str, HealthRow], slot: str) -> str:
    """One slot's line beside its report (nothing before any page counted it)."""
    row = rows.get(slot)
    if row is None:
        return ""
    return (f"<p class={'warn' if row.presence.absent else 'note'} data-slot-health=\"{escape(slot)}\">"
            f"{escape(row.line)}</p>")


def warning_lines(rows: Mapping[str, HealthRow]) -> list[str]:
    """``slotwise report``'s warning, before the tables: the admin page's, as text."""
    missing = [row for row in rows.values() if row.mostly_absent]
    if not missing:
        return []
    return [f"WARNING: not on their pages: {WARNING.format(check=CHECK)}:",
            *(f"  {r.slot}: {r.line} (selector {r.presence.selector})" for r in missing)]
