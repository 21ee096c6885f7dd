"""How long the Redis log is kept: ``slotwise learner --log-retention 30d``.

The learner trims after each snapshot (at most every ``every_s``): entries
the saved snapshot contains and older than the retention go, with their
visitors' index entries. Reports, ``slotwise replay`` and the admin page read
the log, so they count from the oldest entry kept (``store.log_start()``);
``off`` keeps everything (the stream then grows ~1 KB per page view).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Callable

from slotwise.store.base import StoreUnavailable
from slotwise.store.outage import is_outage

log = logging.getLogger("slotwise.learner")

DEFAULT_RETENTION = "30d"
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_retention(text: str | float | None) -> float | None:
    """``"30d"`` → seconds; ``"0"`` → keep only what the snapshot lacks; ``"off"`` → None (keep all)."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return max(0.0, float(text))
    if text.strip().lower() in ("off", "never", "forever", "none"):
        return None
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a retention: {text!r} (use e.g. 30d, 12h, 2w, 0, or off)")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


class LogTrimmer:
    """Trims the store's log behind the learner's saved snapshot."""

    def __init__(self, store: Any, retention_s: float | None, *, every_s: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.retention_s, self.every_s, self.clock = store, retention_s, every_s, clock
        self._last = float("-inf")
        self.trimmed = 0

    async def after_snapshot(self, snapshot_seq: int) -> int:
        """Called once the snapshot including ``snapshot_seq`` is saved; returns entries removed."""
        trim = getattr(self.store, "trim_log", None)
        if trim is None or self.retention_s is None or self.clock() - self._last < self.every_s:
            return 0
        self._last = self.clock()
        try:
            n = int(await trim(snapshot_seq, self.clock() - self.retention_s if self.retention_s else None))
        except Exception as exc:  # the next round tries again; nothing is lost by trimming late
            if not is_outage(exc):
                log.warning("trimming the log failed; retrying in %.0fs", self.every_s, exc_info=True)
            return 0
        self.trimmed += n
        if n:
            log.info("log trimmed: %d entries up to seq %d (retention %.0fs)", n, snapshot_seq, self.retention_s)
        return n

    async def relieve(self, refused: BaseException) -> int:
        """The snapshot save was refused (Redis at ``maxmemory``): free memory, reports pay.

        Nothing could be saved, so nothing would ever be trimmed and Redis
        would stay full. Trimming (XTRIM, SREM) is allowed at ``maxmemory``: the
        entries the *last saved* snapshot has go now, whatever the retention,
        so the next save, and the proxies' events, can succeed again.
        """
        from slotwise.proxy.operations.learning import SNAPSHOT_NAME  # here: the CLI imports this module to parse flags

        trim = getattr(self.store, "trim_log", None)
        seq_of = getattr(self.store, "snapshot_seq", None)
        if trim is None or seq_of is None or not is_outage(refused) or isinstance(refused, StoreUnavailable):
            return 0
        try:
            saved = await seq_of(SNAPSHOT_NAME)
            n = int(await trim(saved)) if saved else 0
        except Exception:  # still refused or gone: the next failed save tries again
            return 0
        if n:
            self.trimmed += n
            log.error("the store refuses writes (maxmemory?): trimmed %d log entries up to the last saved snapshot "
                      "(seq %d) regardless of --log-retention, so the snapshot and events can be stored again; "
                      "reports lose that history. Give Redis more memory or shorten --log-retention.", n, saved)
        return n
