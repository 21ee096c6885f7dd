"""The admin page's funnel: how many people are at each stage, per category.

The store has no "every profile" scan (profiles are read one by one on the
hot path), so the table counts the people behind the most recent entries of
the log — decisions and events name their visitor — at most ``MAX_PEOPLE``
of them, each profile read once. It says how many people it counted.
"""

from __future__ import annotations

from html import escape
from typing import Any, Iterable, Sequence

from slotwise.profile import Profile
from slotwise.proxy.operations.admin_html import scrolled
from slotwise.rules.signals import Signals
from slotwise.rules.stage import STAGES, stage_counts
from slotwise.store.base import LogRecord, Store

MAX_PEOPLE = 500


def recent_visitors(records: Sequence[LogRecord], limit: int = MAX_PEOPLE) -> list[str]:
    """Distinct visitor ids of the log, newest first, at most ``limit``."""
    seen: dict[str, None] = {}
    for record in reversed(records):
        if record.visitor and record.visitor not in seen:
            seen[record.visitor] = None
            if len(seen) >= limit:
                break
    return list(seen)


async def recent_profiles(store: Store, visitors: Iterable[str]) -> list[Profile]:
    """Each person once (several devices of one person resolve to one golden record)."""
    people: dict[str, Profile] = {}
    for visitor in visitors:
        profile = await store.get_profile(visitor)
        if profile is not None:
            people.setdefault(profile.id, profile)
    return list(people.values())


async def funnel(store: Store, records: Sequence[LogRecord], signals: Signals | None, now: float
                 ) -> dict[str, Any]:
    """``{"people": N, "stages": [...], "categories": {slug: {stage: count}}}`` for the admin page and API."""
    people = await recent_profiles(store, recent_visitors(records))
    counts = stage_counts(people, (signals or Signals()).stages, now)
    ordered = dict(sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))
    return {"people": len(people), "stages": list(STAGES), "categories": ordered}


def render_funnel(data: dict[str, Any]) -> str:
    """The funnel as an HTML section (values escaped)."""
    head = "".join(f"<th>{escape(s)}</th>" for s in data["stages"])
    rows = "".join(
        f"<tr><td>{escape(slug)}</td>" + "".join(f"<td>{row.get(s, 0)}</td>" for s in data["stages"]) + "</tr>"
        for slug, row in data["categories"].items()
    )
    body = (scrolled(f"<table class=funnel><tr><th>category</th>{head}</tr>{rows}</table>") if rows
            else "<p>No stages yet: nobody has browsed a category.</p>")
    who = (f"The {data['people']} most recent people in the log, by their stage in each category"
           if data["people"] else "People by their stage in each category")  # never "the 0 most recent people"
    return (f"<section id=funnel><h2>Funnel stages</h2><p>{who} (thresholds: <code>stages:</code> in the rules).</p>"
            f"{body}</section>")
