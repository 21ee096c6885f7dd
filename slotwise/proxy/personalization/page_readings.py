"""The reading of a page (its product markup, the groups the rules capture), kept per page bytes.

Why: a store serves the same product page to every visitor, and a page the
origin marks ``no-store`` comes back byte for byte on every view; each
personalized view read it again — a nesting-depth check and a Lexbor parse,
~2 ms of a 120 KB page, the largest step of a personalized page
(``python -m bench.proxy.breakdown``). A reading is a pure function of the
bytes, the rules' catalog and the groups asked for, so it is kept in a small
LRU keyed by a digest of the page (~0.1 ms for 120 KB), the rules object and
the group names. A page that fails the bounds is never kept: it raises again.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Callable, Hashable

from cachetools import LRUCache

from slotwise.rules.reading import PageReading

SIZE = 256
"""Distinct (page, rules, groups) readings a worker keeps; a reading is small (no page bytes)."""


class PageReadings:
    """Readings by page: ``read`` returns the kept one or makes it (page work threads share it)."""

    def __init__(self, size: int = SIZE) -> None:
        self._kept: LRUCache[Hashable, tuple[Any, PageReading]] = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def read(self, html: bytes, rules: Any, groups: tuple[str, ...], structured: bool,
             make: Callable[[], PageReading]) -> PageReading:
        key = (hashlib.blake2b(html, digest_size=16).digest(), len(html), id(rules), groups, structured)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] is rules:  # the same rules object, not one that reused its id
            self.hits += 1
            return kept[1]
        self.misses += 1
        reading = make()
        with self._lock:
            self._kept[key] = (rules, reading)
        return reading
