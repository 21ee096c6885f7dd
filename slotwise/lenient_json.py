"""JSON a store's pages, feeds or forms carry, read so that whatever is kept can be stored.

``json.loads`` turns ``NaN``, ``Infinity`` and ``1e999`` into floats that no
strict JSON can carry again, and an escaped lone surrogate (``"\\ud800"``)
into a ``str`` no UTF-8 can carry. Kept in a profile (a product's price or
name seen on a page, a cart captured from a request), either one later broke
that person's export, and on Redis (whose scripts use cjson) their erasure.
The JSON endpoints refuse such input with a 400 (``slotwise.tag.jsonbody``);
input that is the store's, not a caller's, is read leniently instead: a
number that is not finite becomes ``None`` and a lone surrogate U+FFFD, so
one bad value never loses the rest of the page's facts.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""Only text with such an escape can decode to a surrogate (raw ones never reach ``json.loads`` from bytes)."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def _finite_or_none(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def _none(_name: str) -> None:
    return None


def _replace_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD.

    A valid pair's escapes decode to one character, so any surrogate left is a lone one.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(key): _replace_surrogates(item) for key, item in value.items()}
    return value


def loads(text: str | bytes) -> Any:
    """Parsed JSON with non-finite numbers as ``None`` and lone surrogates as U+FFFD.

    Raises what ``json.loads`` raises for malformed text (``ValueError``, ``RecursionError``).
    """
    if isinstance(text, bytes):  # decoded once, as json.loads would, and searched for escapes after
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    value = json.loads(text, parse_float=_finite_or_none, parse_constant=_none)
    return _replace_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value
