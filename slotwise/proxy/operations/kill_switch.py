"""Kill switches: a slot, or all personalization, off from the admin page, on every instance.

The switches live in the store (SQLite or Redis), so every worker and every
instance sees the same ones. Each process reads them at most every
``REFRESH_S`` seconds, inline on the first page after that (one indexed read;
no background task to keep alive): a flip takes effect within a second
everywhere. A store that cannot be read keeps the last known switches (fail
open: the rules and ``enabled: false`` still apply).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from slotwise.store.base import Store

log = logging.getLogger("slotwise.admin")

ALL = "*"
REFRESH_S = 0.5


@dataclass(frozen=True)
class Switches:
    """The switches as last read: ``{name: {"off", "at", "who"}}``."""

    entries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def all_off(self) -> bool:
        return bool(self.entries.get(ALL, {}).get("off"))

    def slot_off(self, slot_id: str) -> bool:
        return bool(self.entries.get(slot_id, {}).get("off"))


class KillSwitches:
    """The process's cached view of the store's switches, and the one way to flip one."""

    def __init__(self, store: Store, *, refresh_s: float = REFRESH_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.monotonic = monotonic
        self._state = Switches()
        self._read_at = -float("inf")

    async def current(self) -> Switches:
        if self.monotonic() - self._read_at >= self.refresh_s:
            self._read_at = self.monotonic()  # one read per interval, even when it fails
            get = getattr(self.store, "get_switches", None)
            if get is not None:
                try:
                    self._state = Switches(await get())
                except Exception as exc:  # fail open: keep the last known switches
                    log.debug("kill switches not read (%s); keeping the last known", exc)
        return self._state

    async def flip(self, name: str, off: bool, now: float, who: str) -> None:
        """Stores the switch (every instance reads it within a second) and audits it in the log."""
        await self.store.set_switch(name, off, now, who)
        what = "all personalization" if name == ALL else f"slot {name!r}"
        log.warning("kill switch: %s turned %s by %s", what, "OFF" if off else "back ON", who)
        self._read_at = -float("inf")  # this process: at once
