"""What a page's bytes tell, kept per page: its reading (product markup, captured groups), its CSP nonce.

Why: a store serves the same product page to every visitor, and a page the
origin marks ``no-store`` comes back byte for byte on every view; each
personalized view read it again — a nesting-depth check and a Lexbor parse,
~2 ms of a 120 KB page, the largest step of a personalized page
(``python -m bench.proxy.breakdown``). A reading is a pure function of the
bytes, their charset, the rules' catalog and the groups asked for, so it is
kept in a small LRU keyed by the page's digest (``slotwise.html.page_digest``
of the page as served, hashed once per view by the personalizer), its
charset, the rules object and the group names: a page that is not UTF-8 is
transcoded for reading (``rules.reading.bytes_to_read``) once, with its parse. A page
that fails the bounds is never kept: it raises again.

``get`` only looks (the event loop asks it: a kept reading needs no thread
hop); ``read`` makes a missing reading (in a page-work thread).

The nonce of the page's first ``<script nonce>`` (reused for the tag's
script) is a scan of the whole page; it depends on the bytes and their
charset alone, so it is kept per digest and charset too. The scan reads
ASCII bytes: a page whose markup is not ASCII bytes (UTF-16) is scanned as
``bytes_to_read`` gives it, else its nonce is never found and a strict CSP
blocks the tag; any other page is scanned as it is (no copy). A page's
facts (``rules.page_facts``: its type, product,
category) are a pure function of its reading, the rules and the URL, and are
kept per (reading, rules, URL): the same immutable facts object for every
view of the same page, which also lets the page-view recorder see at once
that it learned this product already.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, TypeVar

from slotwise.lru import LRUCache
from slotwise.proxy.forwarding.encoding import ascii_compatible
from slotwise.proxy.personalization.inject import last_body_end
from slotwise.rules.reading import PageReading, bytes_to_read
from slotwise.tag.assets import find_csp_nonce

T = TypeVar("T")

SIZE = 256
"""Distinct (page, rules, groups) readings a worker keeps; a reading is small (no page bytes)."""
FACTS_SIZE = 1024
"""Distinct (reading, rules, path, query, URL) page facts a worker keeps (a query string makes a URL distinct)."""

_NO_NONCE = ""  # kept for a page without one (a nonce is never empty)


def page_nonce(html: bytes, charset: str) -> str | None:
    """``find_csp_nonce`` of a page in ``charset``: a page whose markup is not ASCII bytes (UTF-16) is
    scanned in UTF-8 (``bytes_to_read``); the nonce is ASCII, written back in the page's charset by
    ``inject_before_body_end``."""
    return find_csp_nonce(html if ascii_compatible(charset) else bytes_to_read(html, charset))


class PageReadings:
    """Readings by page: ``get`` returns the kept one, ``read`` returns it or makes it (threads share it)."""

    def __init__(self, size: int = SIZE) -> None:
        self._kept: LRUCache[Hashable, tuple[Any, PageReading]] = LRUCache(maxsize=size)
        self._nonces: LRUCache[tuple[bytes, str], str] = LRUCache(maxsize=size)
        self._ends: LRUCache[bytes, int] = LRUCache(maxsize=size)
        self._facts: LRUCache[Hashable, tuple[PageReading, Any, Any]] = LRUCache(maxsize=FACTS_SIZE)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(digest: bytes, rules: Any, groups: tuple[str, ...], structured: bool, charset: str = "utf-8") -> Hashable:
        """What a reading depends on: the page (its digest, as served), the charset it is read in, the rules
        and what is read of the page."""
        return (digest, id(rules), groups, structured, charset)

    def get(self, key: Hashable, rules: Any) -> PageReading | None:
        """The kept reading, or None (cheap: no parse)."""
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] is rules:  # the same rules object, not one that reused its id
            self.hits += 1
            return kept[1]
        return None

    def read(self, key: Hashable, rules: Any, make: Callable[[], PageReading]) -> PageReading:
        """The kept reading, else ``make()``'s, kept (unless it raised)."""
        found = self.get(key, rules)
        if found is not None:
            return found
        self.misses += 1
        reading = make()
        with self._lock:
            self._kept[key] = (rules, reading)
        return reading

    def nonce(self, digest: bytes, html: bytes, charset: str = "utf-8") -> str | None:
        """``page_nonce(html, charset)`` for the page with this digest, scanned once per page and charset."""
        key = (digest, charset)
        with self._lock:
            kept = self._nonces.get(key)
        if kept is None:
            kept = page_nonce(html, charset) or _NO_NONCE
            with self._lock:
                self._nonces[key] = kept
        return kept or None

    def body_end(self, digest: bytes, html: bytes) -> int | None:
        """Where the page with this digest has its last ``</body>`` (``inject.last_body_end``), or None;
        found once per page."""
        with self._lock:
            kept = self._ends.get(digest)
        if kept is None:
            found = last_body_end(html)
            kept = found.start() if found is not None else -1
            with self._lock:
                self._ends[digest] = kept
        return kept if kept >= 0 else None

    def facts(self, reading: PageReading, rules: Any, path: str, query: tuple[tuple[str, str], ...], url: str,
              make: Callable[[], T]) -> T:
        """``make()`` (the page's facts) once per (reading, rules, path, query, URL): kept while the same
        reading and rules objects are current (both immutable; a new page or reload makes new ones)."""
        key = (id(reading), id(rules), path, query, url)
        with self._lock:
            kept = self._facts.get(key)
        if kept is not None and kept[0] is reading and kept[1] is rules:
            return kept[2]  # type: ignore[no-any-return]
        facts = make()
        with self._lock:
            self._facts[key] = (reading, rules, facts)
        return facts
