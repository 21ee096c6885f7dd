"""Splices the tag's script element into a page without re-serialising it."""

from __future__ import annotations

import re

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def inject_before_body_end(html: bytes, snippet: bytes, not_before: int = 0) -> bytes:
    """Inserts ``snippet`` before the last ``</body>`` (else ``</head>``, else at the end).

    ``not_before``: the first bytes were already sent (a streamed page); a
    place before that offset is passed over for the end of the page.
    """
    last = None
    for last in _BODY_END.finditer(html):
        pass
    if last is not None and last.start() >= not_before:
        return html[: last.start()] + snippet + html[last.start():]
    head = _HEAD_END.search(html) if last is None else None
    if head is not None and head.start() >= not_before:
        return html[: head.start()] + snippet + html[head.start():]
    return html + snippet
