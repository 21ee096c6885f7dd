"""Counts, per worker, the pages where a slot applied and whether its element was there, and adds them
to the store every ``FLUSH_S`` (``store.slot_presence``): the admin page's health line of each slot, shared
by every worker and instance, at the cost of a dict update per page (no write per page, as the profile
writer's group commit). When the rules' slots change, the flush drops the counts of the slots they no longer
have, here and in the store: once per rules load, never per page."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Collection, Iterable
from urllib.parse import urlsplit

from slotwise.lru import LRUCache

from slotwise.proxy.operations.metrics import count_slot_absent
from slotwise.store.base import Store
from slotwise.store.outage import is_outage
from slotwise.store.slot_presence import PATHS_KEPT, SlotPresence, merge

log = logging.getLogger("slotwise.slot_absence")

FLUSH_S = 5.0
"""How often a worker adds its counts to the store: what the admin page shows is at most this old (the default
of ``--slot-health-flush``, ``SLOTWISE_SLOT_HEALTH_FLUSH``)."""
MAX_SLOTS = 1000
"""Slots counted between flushes at most (rules name a few dozen): memory stays bounded whatever happens."""


class _Tally:
    __slots__ = ("selector", "since", "pages", "absent", "paths", "last_absent_at", "last_found_at")

    def __init__(self, selector: str, now: float) -> None:
        self.selector, self.since, self.pages, self.absent = selector, now, 0, 0
        self.paths: list[str] = []
        self.last_absent_at: float | None = None
        self.last_found_at: float | None = None

    def presence(self) -> SlotPresence:
        paths = tuple(dict.fromkeys(reversed(self.paths)))[:PATHS_KEPT][::-1]  # the last few, each once, oldest first
        return SlotPresence(self.selector, self.since, self.pages, self.absent, paths,
                            self.last_absent_at, self.last_found_at)


class SlotAbsence:
    """This worker's counts since its last flush; ``run`` flushes them until cancelled, ``flush`` once more
    at the end. A store away keeps them (merged) for the next flush: fail open, nothing lost but time."""

    def __init__(self, store: Store, flush_s: float = FLUSH_S,
                 slots: Callable[[], Collection[str] | None] = lambda: None) -> None:
        self.store = store
        self.flush_s = flush_s
        self.slots = slots  # the rules' slot ids (None: no rules loaded, nothing is dropped)
        self._kept: frozenset[str] | None = None  # the slots the store was last cleaned for
        self._tallies: dict[str, _Tally] = {}
        self._unsent: dict[str, SlotPresence] = {}
        self._told: LRUCache[str, bool] = LRUCache(maxsize=20_000)  # decisions the tag told of: a page each, once

    def note(self, slot: str, selector: str, path: str, found: bool, now: float) -> None:
        """One page the slot applied to: its element was ``found`` there, or not (on the hot path: no I/O)."""
        tally = self._tallies.get(slot)
        if tally is None or tally.selector != selector:  # a reload changed the selector: the old one's counts go
            if tally is None and len(self._tallies) >= MAX_SLOTS:
                return
            tally = self._tallies[slot] = _Tally(selector, now)
        tally.pages += 1
        if found:
            tally.last_found_at = now
            return
        tally.absent += 1
        tally.last_absent_at = now
        tally.paths.append(path)
        if len(tally.paths) > 4 * PATHS_KEPT:
            del tally.paths[:-PATHS_KEPT]
        count_slot_absent(slot)

    def note_decisions(self, records: Iterable[dict[str, Any]], url: str | None, found: bool, now: float,
                       selector_of: Callable[[str], str | None]) -> None:
        """The tag's word on decisions it was given (their opened tokens): applied (``found``), or their element
        not found within the slot's ``wait`` (``absent``); on the page ``url`` (its path only). A decision
        counts once, however often its token comes back; a slot the rules no longer have, not at all."""
        path = (urlsplit(url).path or "/") if url else "/"
        for record in records:
            decision, slot = str(record.get("decision_id") or ""), str(record.get("slot") or "")
            selector = selector_of(slot)
            if not decision or selector is None or decision in self._told:
                continue
            self._told[decision] = True
            self.note(slot, selector, path, found, now)

    async def forget_removed(self) -> None:
        """Drops the counts of the slots the rules no longer have (a slot taken out, or renamed), here and in
        the store, when the rules' slots changed since the last time: the admin page and ``slotwise report``
        no longer show them. A store away: tried again at the next flush."""
        current = self.slots()
        if current is None or (keep := frozenset(current)) == self._kept:
            return
        for held in (self._tallies, self._unsent):
            for slot in [s for s in held if s not in keep]:
                del held[slot]
        try:
            await self.store.forget_slot_presence(keep)
        except Exception as exc:
            if not is_outage(exc):
                log.warning("slot presence of removed slots not dropped; trying again in %.0f s", self.flush_s,
                            exc_info=True)
            return
        self._kept = keep

    async def flush(self) -> None:
        await self.forget_removed()
        tallies, self._tallies = self._tallies, {}
        counts = self._unsent
        for slot, tally in tallies.items():
            counts[slot] = merge(counts.get(slot), tally.presence(), window_s=float("inf"))
        if not counts:
            return
        self._unsent = {}
        try:
            await self.store.add_slot_presence(counts)
        except Exception as exc:  # kept for the next flush
            self._unsent = counts
            if not is_outage(exc):
                log.warning("slot presence not saved; trying again in %.0f s", self.flush_s, exc_info=True)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self.flush()
