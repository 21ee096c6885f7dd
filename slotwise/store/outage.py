"""One log line when the store goes away, one when it is back, with counts in between.

A 3 s Redis outage used to write 77 tracebacks and 5,165 log lines on one
proxy: every event batch, learning step and outbox round logged its own
failure. Now the store's error mapping (``redis/client.guarded``) reports
each call to :data:`OUTAGE`, which logs the first failure and the first
success after it; callers ask :func:`is_outage` and stay quiet for errors
already covered. Errors that are not an outage (a bug, a bad value) still
reach the caller's own logging with their traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

log = logging.getLogger("slotwise.store")

OUTAGE_ATTR = "sw_outage"


ANY = "*"


class Outage:
    """Process-wide state of the store connection, as seen by every call.

    Unreachable (``key=ANY``): any call that works ends the outage. Refused
    (Redis at maxmemory or read-only, ``key`` = the method): reads still work,
    so only a method that was refused working again ends it; otherwise every
    read between two refused writes would log an end and a new start.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.since: float | None = None
        self.failed_calls = 0
        self.listeners: list[Callable[[str], None]] = []  # metrics: called with "unavailable" or "refused"
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        self._told = 0  # callers inside ``told_by_caller``

    @contextmanager
    def told_by_caller(self) -> Iterator[None]:
        """For a command that reports a failed store call itself, in one line naming what failed and
        what to do (``slotwise import``): the outage is counted but not logged as well — that line
        ("pages are served unchanged ...") is a server's, and was a second, misleading line."""
        self._told += 1
        try:
            yield
        finally:
            self._told -= 1

    @property
    def down(self) -> bool:
        return bool(self._keys)

    def failed(self, exc: BaseException, key: str = ANY) -> None:
        """A store call failed for an outage reason; logs only the first failure of an outage."""
        setattr(exc, OUTAGE_ATTR, True)
        for listener in self.listeners:
            listener("unavailable" if key == ANY else "refused")
        with self._lock:
            self.failed_calls += 1
            first = not self._keys
            self._keys.add(key)
            if not first:
                return
            self.since = self.clock()
        if self._told:
            return
        what = "unavailable" if key == ANY else "refusing writes"
        log.error("store %s: %s; pages are served unchanged and events answered 503 until it is back", what, exc)

    def succeeded(self, key: str) -> None:
        """The call ``key`` worked: if that ends the outage, say so and how much failed meanwhile."""
        if not self._keys:  # the common case: one attribute read
            return
        with self._lock:
            if not self._keys or (ANY not in self._keys and key not in self._keys):
                return
            took, failed = self.clock() - (self.since or self.clock()), self.failed_calls
            self._keys.clear()
            self.since, self.failed_calls = None, 0
        if self._told:
            return
        log.warning("store available again after %.1fs; %d store calls failed meanwhile", took, failed)


OUTAGE = Outage()


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` is a store failure the outage log already covers (log nothing more)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # also when wrapped by a caller
        if getattr(current, OUTAGE_ATTR, False):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
