"""The admin page's Campaign windows table: each ``active`` window of the rules, and what it means now.

Read on a phone as on a desk: a variant's row names its slot and, under it, the variant; a date and
time is never broken inside (``2026-11-`` / ``27 00:00`` read as two things); each state says when it
changes (``starts in 1.5 days``) by the proxy's clock, whose time the note gives in the rules' zone;
and a slot whose window is open while none of its variants' is says that it shows nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from html import escape
from typing import Any

from slotwise.proxy.operations.admin_html import scrolled
from slotwise.proxy.operations.webhook_health import ago
from slotwise.rules.schedule import DEFAULT_TIMEZONE, Window, zone

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def render_schedules(slots: list[Any], now: float) -> str:
    """Each slot's and variant's ``active`` window and whether it runs ``now`` (the proxy's clock): a campaign
    that has not started, or has ended, is said here, not only found missing from the store's pages."""
    rows = []
    timezone = None
    for slot in slots:
        owners = [(None, slot.window)] + [(v.id, v.window) for v in slot.variants]
        for variant, window in owners:
            if window is None:
                continue
            timezone = timezone or window.timezone
            state, css, when = _state(window, now, idle=variant is None and not slot.runs(now))
            who = f"<code>{escape(slot.id)}</code>"
            if variant is not None:
                who += f"<br><small>variant <code>{escape(variant)}</code></small>"
            rows.append(f"<tr data-window=\"{escape(slot.id)}{'/' + escape(variant) if variant else ''}\">"
                        f"<td>{who}</td><td>{_unbroken(window.span())}</td>"
                        f"<td><span class={css}>{escape(state)}</span><br><small>{escape(when)}</small></td></tr>")
    if not rows:
        return ""
    local = dt.datetime.fromtimestamp(now, zone(timezone or DEFAULT_TIMEZONE) or dt.timezone.utc)
    return ("<section id=schedules><h2>Campaign windows</h2><p class=note>From the rules' <code>active</code> "
            "windows: outside its window a slot leaves the store's page as it is, and a variant is not offered. "
            f"Now, by this proxy's clock: <span class=nw>{local:%Y-%m-%d %H:%M}</span> {escape(timezone or '')}.</p>"
            + scrolled("<table class=left><tr><th>slot</th><th>window</th><th>now</th></tr>" + "".join(rows) + "</table>")
            + "</section>")


def _state(window: Window, now: float, idle: bool) -> tuple[str, str, str]:
    """The state's words, its CSS class and when it changes; ``idle``: a slot's open window while none of
    its variants' is (the slot shows nothing until one opens)."""
    state = window.state(now)
    if state == "not yet started":
        assert window.start is not None
        return state, "note", f"starts in {ago(window.start - now)}"
    if state == "ended":
        assert window.end is not None
        return state, "off", f"ended {ago(now - window.end)} ago"
    until = f"ends in {ago(window.end - now)}" if window.end is not None else "no end"
    if idle:
        return "running, no variant is", "warn", f"the store's page until a variant's window opens; {until}"
    return state, "ok", until


def _unbroken(text: str) -> str:
    """``text`` escaped, each date and time in it kept on one line."""
    return _MOMENT.sub(lambda m: f"<span class=nw>{m.group(0)}</span>", escape(text))


__all__ = ["render_schedules"]
