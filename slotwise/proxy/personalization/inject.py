"""Splices the tag's script element into a page without re-serialising it."""

from __future__ import annotations

import re

from slotwise.proxy.forwarding.encoding import ascii_compatible

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_END_TEXT = re.compile(r"</body\s*>", re.IGNORECASE)
_HEAD_END_TEXT = re.compile(r"</head\s*>", re.IGNORECASE)


def inject_before_body_end(html: bytes, snippet: bytes, not_before: int = 0, charset: str = "utf-8") -> bytes:
    """Inserts ``snippet`` (ASCII) before the last ``</body>`` (else ``</head>``, else at the end).

    ``not_before``: the first bytes were already sent (a streamed page); a
    place before that offset is passed over for the end of the page.
    ``charset``: a page whose markup is not ASCII bytes (UTF-16, ...) is
    decoded, given the snippet in its own encoding and encoded back (ASCII
    bytes appended to it would corrupt it); one that does not decode cleanly
    is left as it is.
    """
    if not ascii_compatible(charset):
        return _inject_transcoded(html, snippet.decode("ascii"), charset)
    last = last_body_end(html)
    if last is not None and last.start() >= not_before:
        return _insert(html, last.start(), snippet)
    head = _HEAD_END.search(html) if last is None else None
    if head is not None and head.start() >= not_before:
        return _insert(html, head.start(), snippet)
    return html + snippet


def _insert(html: bytes, at: int, snippet: bytes) -> bytes:
    """One copy of the page (``a + b + c`` of slices made three of it)."""
    view = memoryview(html)
    return b"".join((view[:at], snippet, view[at:]))


TAIL = 4096
"""Where ``</body>`` is looked for first: the end of the page (where it is), not the whole page."""


def last_body_end(html: bytes, tail: int = TAIL) -> re.Match[bytes] | None:
    """The last ``</body>`` of the page: searched backwards from the end, in the last ``tail`` bytes
    first (a page's ``</body>`` is in its last few hundred bytes); the whole page only if not there."""
    start = max(0, len(html) - tail)
    tail = html[start:].lower()
    at = len(tail)
    while (at := tail.rfind(b"</body", 0, at)) >= 0:
        found = _BODY_END.match(html, start + at)
        if found is not None:
            return found
    last = None
    for last in _BODY_END.finditer(html):  # none starts in the tail: the last one is before it
        pass
    return last


def _inject_transcoded(html: bytes, snippet: str, charset: str) -> bytes:
    try:
        text = html.decode(charset)
    except (UnicodeError, LookupError):
        return html
    last = None
    for last in _BODY_END_TEXT.finditer(text):
        pass
    at = last or (_HEAD_END_TEXT.search(text))
    out = text[: at.start()] + snippet + text[at.start():] if at is not None else text + snippet
    try:
        return out.encode(charset)
    except (UnicodeError, LookupError):
        return html
