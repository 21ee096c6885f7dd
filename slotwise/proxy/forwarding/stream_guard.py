"""How much of a page still arriving can be sent before the personalizer has seen all of it.

The personalizer decides on the whole page (page facts, captures and JSON-LD
can be anywhere), but its edits only touch elements its slots' selectors
match, from the element's start tag on, plus the tag's script before
``</body>``. So every byte before the first start tag that *could* match one
of those selectors, and before the first ``</body``, can go to the visitor as
it arrives: the store's early flush of ``<head>`` reaches the browser while the
rest of the page is still being made.

"Could match" is decided on the subject (last compound) of each selector,
conservatively: its tag name, and its ids, classes and attribute names as
substrings of the raw start tag (case-insensitive). A selector this scan
cannot narrow (``*``, ``:is(...)`` alone) stops at the first start tag.
Raw-text elements (script, style, ...) are skipped whole, so markup inside a
script is not taken for an element. Whatever this scan gets wrong only
costs a slot, never the page: the rewriter refuses edits that start in bytes
already sent (``rewrite(..., frozen=N)``) and the forwarding layer checks
that the sent bytes come back unchanged.

Where the scan stopped is kept per selector set (``_KEPT``): the answer is a
function of the selectors and of the bytes up to the end of the construct it
stopped at, and a store's pages begin with the same head, so the next page
that starts with those very bytes (one ``startswith``) gets it without a scan
(~40 tags of Python each). Only stops the page's own bytes decide are kept
(an element that could match, ``</body``), never a give-up on a tag that does
not close.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import Sequence

from slotwise.lru import LRUCache

_START = re.compile(rb"""<([A-Za-z][^\t\n\f\r />]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_DOCTYPE = re.compile(rb"<!doctype\s+html", re.IGNORECASE)
_RAW_TEXT = frozenset({b"script", b"style", b"textarea", b"title", b"xmp", b"noembed", b"noframes", b"iframe",
                       b"plaintext"})  # not noscript: a parser without scripting reads its elements
_GIVE_UP = 256 * 1024  # a start tag that has not closed after this many bytes: stop streaming there
_KEPT_PREFIX = 32 * 1024  # a stop further into the page than this is not kept (bounded memory: at most 4 MB)
_KEPT_PER_SET = 4  # prefixes kept per selector set (pages whose heads differ)
_KEPT: LRUCache[tuple[str, ...], tuple[tuple[bytes, int, bool], ...]] = LRUCache(maxsize=32)
_KEPT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Subject:
    """What the element a selector's last compound names must have: a tag name and substrings."""

    tag: bytes | None
    tokens: tuple[bytes, ...]

    def could_match(self, name: bytes, attributes: bytes) -> bool:
        if self.tag is not None and self.tag != name:
            return False
        return all(token in attributes for token in self.tokens)


def _split_top(text: str, separators: str) -> list[tuple[int, str]]:
    """Positions and characters of ``separators`` outside brackets, parentheses and quotes."""
    out, depth, quote = [], 0, ""
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in separators:
            out.append((i, ch))
    return out


def _strip_groups(text: str) -> str:
    """The compound without the arguments of its pseudo-classes and without quoted strings."""
    out, depth, quote = [], 0, ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def subjects(selector: str) -> tuple[Subject, ...]:
    """One ``Subject`` per selector of a selector list (cached: the rules' selectors, parsed once, not per page)."""
    result = []
    cuts = [-1] + [i for i, _ in _split_top(selector, ",")] + [len(selector)]
    for a, b in zip(cuts, cuts[1:]):
        complex_ = selector[a + 1:b].strip()
        if not complex_:
            continue
        combinators = _split_top(complex_, " \t\n>+~")
        last = complex_[combinators[-1][0] + 1:] if combinators else complex_
        result.append(_subject(last.strip()))
    return tuple(result)


def _subject(compound: str) -> Subject:
    if "\\" in compound:  # escapes: do not guess at the raw bytes, keep the tag name only
        m = re.match(r"[A-Za-z][\w-]*", compound)
        return Subject(m.group(0).lower().encode() if m else None, ())
    plain = _strip_groups(compound)
    tag = None
    m = re.match(r"([A-Za-z][\w-]*|\*)", plain)
    if m and m.group(1) != "*":
        tag = m.group(1).lower().encode()
    tokens: list[bytes] = []
    for kind, name in re.findall(r"([#.])(-?[_A-Za-z\u00a0-\uffff][\w\u00a0-\uffff-]*)", plain):
        tokens.append(name.lower().encode("utf-8"))
    for name in re.findall(r"\[\s*([^\s~|^$*!=\]]+)", compound):
        tokens.append(name.lower().encode("utf-8"))
    return Subject(tag, tuple(tokens))


class StreamGuard:
    """Scans a growing page for the first byte an edit could touch (see the module docstring).

    ``advance(buffer)`` returns how many leading bytes of ``buffer`` no edit
    can touch; ``buffer`` only ever grows (the same page, more of it), and
    the answer never goes backwards. ``document`` says whether an
    ``<html>``/``<body>`` start tag or an HTML doctype was seen.
    """

    def __init__(self, selectors: Sequence[str]) -> None:
        self.subjects = [s for selector in selectors for s in subjects(selector)]
        self._key = tuple(selectors)  # what the subjects are made of (strings: their hashes are kept)
        self.pos = 0
        self.stop: int | None = None
        self.document = False
        self._raw: bytes | None = None  # inside this raw-text element

    def advance(self, buf: bytes | bytearray) -> int:
        if self.stop is not None:
            return self.stop
        with _KEPT_LOCK:
            kept = _KEPT.get(self._key, ())
        for prefix, stop, document in kept:
            if buf.startswith(prefix):  # the same bytes up to where the scan stopped: the same answer
                self.stop, self.document = stop, document
                return stop
        return self._scan(buf)

    def _stopped(self, buf: bytes | bytearray, at: int, through: int) -> int:
        """The scan stops at ``at``, decided by the bytes before ``through``: kept for the next page."""
        self.stop = at
        if through <= _KEPT_PREFIX:
            entry = (bytes(buf[:through]), at, self.document)
            with _KEPT_LOCK:
                others = tuple(e for e in _KEPT.get(self._key, ()) if e[0] != entry[0])
                _KEPT[self._key] = (entry, *others)[:_KEPT_PER_SET]
        return at

    def _scan(self, buf: bytes | bytearray) -> int:
        n = len(buf)
        while True:
            if self._raw is not None:
                end = _find_ci(buf, b"</" + self._raw, self.pos)
                if end < 0:
                    self.pos = max(self.pos, n - len(self._raw) - 2)  # a partial end tag may be at the end
                    return self.pos
                self._raw = None
                self.pos = end
            i = buf.find(b"<", self.pos)
            if i < 0:
                self.pos = n
                return n
            if i + 1 >= n:
                return self._hold(i)
            nxt = buf[i + 1:i + 2]
            if nxt.isalpha():
                m = _START.match(buf, i)
                if m is None:
                    if n - i > _GIVE_UP:
                        self.stop = i
                    return self._hold(i)
                name = m.group(1).lower()
                if name in (b"html", b"body"):
                    self.document = True
                attributes = m.group(2).lower()
                if any(s.could_match(name, attributes) for s in self.subjects):
                    return self._stopped(buf, i, m.end())
                self.pos = m.end()
                if name in _RAW_TEXT and not m.group(2).rstrip().endswith(b"/"):
                    self._raw = name
            elif nxt == b"/":
                if n - i < 7:
                    return self._hold(i)
                if buf[i + 2:i + 6].lower() == b"body":  # the tag's script goes before </body>
                    return self._stopped(buf, i, i + 7)
                self.pos = i + 2
            elif nxt == b"!":
                if buf.startswith(b"<!--", i):
                    end = buf.find(b"-->", i + 4)
                    if end < 0:
                        return self._hold(i)
                    self.pos = end + 3
                else:
                    end = buf.find(b">", i)
                    if end < 0:
                        return self._hold(i)
                    if _DOCTYPE.match(buf, i):
                        self.document = True
                    self.pos = end + 1
            else:
                self.pos = i + 1

    def _hold(self, i: int) -> int:
        """An incomplete construct starts at ``i``: safe up to there, look again with more bytes."""
        self.pos = i
        return i


def _find_ci(buf: bytes, needle: bytes, start: int) -> int:
    """``buf.find`` ignoring ASCII case, without lowering the whole buffer each time."""
    m = re.compile(re.escape(needle), re.IGNORECASE).search(buf, start)
    return m.start() if m else -1
