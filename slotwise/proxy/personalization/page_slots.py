"""The slots of a request, kept per what the rules' ``pages`` read of it.

Why: ``RuleSet.slots_for`` runs every slot's page rules — path regexes, the
query parsed and normalized, header conditions — on every page view (~12 µs
for four slots), yet its answer depends only on the path, the query string
and the values of the few headers those rules name. A store's pages come
again and again, so the answer is kept under exactly those inputs, per rules
object (a reload starts afresh).
"""

from __future__ import annotations

from typing import Sequence
from urllib.parse import parse_qsl

from slotwise.rules.pages import header
from slotwise.rules.ruleset import RuleSet, Slot

MAX_KEPT = 4096
"""Answers kept per rules object; past it they are all dropped (a flood of distinct URLs costs a
recomputation each, never memory)."""

_MAX_KEY_CHARS = 2048  # a longer path, query or header value is computed each time, not kept


def header_names(ruleset: RuleSet) -> tuple[str, ...]:
    """Every header name a slot's ``pages`` condition reads, lower-cased, once each."""
    names = {c.name.lower() for slot in ruleset.slots for rule in slot.pages.rules for c in rule.headers}
    return tuple(sorted(names))


class PageSlots:
    """``ruleset.slots_for(path, query, headers)``, kept per (path, query string, values of the headers
    the rules read). Not thread-safe: the event loop's."""

    def __init__(self) -> None:
        self._ruleset: RuleSet | None = None
        self._names: tuple[str, ...] = ()
        self._kept: dict[tuple[object, ...], tuple[Slot, ...]] = {}

    def slots(self, ruleset: RuleSet, path: str, query_string: str,
              headers: Sequence[tuple[str, str]]) -> tuple[Slot, ...]:
        if ruleset is not self._ruleset:
            self._ruleset, self._names, self._kept = ruleset, header_names(ruleset), {}
        if len(path) + len(query_string) > _MAX_KEY_CHARS:
            return self._compute(ruleset, path, query_string, headers)
        values = tuple(header(headers, n) for n in self._names)
        if any(v is not None and len(v) > _MAX_KEY_CHARS for v in values):
            return self._compute(ruleset, path, query_string, headers)
        key = (path, query_string, values)
        kept = self._kept.get(key)
        if kept is None:
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            kept = self._kept[key] = self._compute(ruleset, path, query_string, headers)
        return kept

    def recent_page(self, slot_id: str) -> str | None:
        """A page served lately (path and query) whose rules matched ``slot_id``: where the admin
        page's preview of that slot opens, rather than the home page it may not apply to."""
        for (path, query_string, _), slots in reversed(self._kept.items()):
            if any(slot.id == slot_id for slot in slots):
                return f"{path}?{query_string}" if query_string else path
        return None

    @staticmethod
    def _compute(ruleset: RuleSet, path: str, query_string: str,
                 headers: Sequence[tuple[str, str]]) -> tuple[Slot, ...]:
        return tuple(ruleset.slots_for(path, parse_qsl(query_string, keep_blank_values=True), headers))
