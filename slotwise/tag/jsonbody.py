"""Reading a JSON request body that a stranger wrote: bounded depth, finite numbers, text that is Unicode.

``json.loads`` accepts ``NaN``/``Infinity`` (and turns ``1e999`` into one),
which then breaks every later ``json.dumps(allow_nan=False)`` — the visitor's
export, the learner's reports. Deep nesting costs a RecursionError (a 500)
or, short of it, work in every later step. An escaped lone surrogate
(``"\\ud800"``) is a ``str`` no UTF-8 can carry: stored in a profile, Redis's
scripts (cjson) refused that profile, so the person's export and erasure
failed. All three are refused at the door.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

MAX_DEPTH = 32
"""Far deeper than any body the tag, the snippet or a store's webhook sends."""


class BadJSON(ValueError):
    """The body is not JSON we accept; the message says why (for a 400)."""


class TooLarge(Exception):
    """The body is longer than its endpoint takes (a 413)."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, read only up to ``limit`` bytes: a stranger's gigabyte is refused, not held in memory."""
    length = request.headers.get("content-length", "")
    if length.isdecimal() and int(length) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON(f"numbers must be finite, got {text[:40]}")
    return value


def _constant(name: str) -> Any:
    raise BadJSON(f"numbers must be finite, got {name}")


def _unicode(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadJSON(f"text must be Unicode: a lone surrogate escape in {text[:40]!r}") from None


def _depth(value: Any, limit: int) -> int:
    """The nesting depth of parsed JSON, iteratively (stops past ``limit``); ``BadJSON`` for a string
    (key or value) with a lone surrogate."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _unicode(item)
        elif isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            if isinstance(item, dict):
                for key in item:
                    _unicode(key)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def loads(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parsed JSON, or ``BadJSON`` saying what is wrong (malformed, too deep, not finite, not Unicode)."""
    try:
        value = json.loads(body, parse_float=_finite, parse_constant=_constant)
    except BadJSON:
        raise
    except RecursionError:
        raise BadJSON(f"malformed JSON: nested too deeply (at most {max_depth} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadJSON(f"malformed JSON: {exc}") from None
    if _depth(value, max_depth) > max_depth:
        raise BadJSON(f"malformed JSON: nested too deeply (at most {max_depth} levels)")
    return value
