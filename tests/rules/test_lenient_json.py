"""``lenient_json``: the store's own JSON (pages, feeds, captured forms) read so that what is kept can be stored."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from slotwise import lenient_json

_TEXT = st.text(st.characters(codec=None, categories=None) | st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"]),
                max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=25,
)


def _clean(value: Any) -> bool:
    """True when strict JSON carries ``value`` as it is (no surrogate, only finite numbers)."""
    if isinstance(value, str):
        return not any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_clean(item) for item in value)
    if isinstance(value, dict):
        return all(_clean(key) and _clean(item) for key, item in value.items())
    return True


@given(_JSON, st.booleans(), st.booleans())
def test_what_it_reads_strict_json_can_store(value: Any, as_bytes: bool, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)  # NaN, Infinity and lone surrogates' escapes included
    if not ascii_only and not _clean(value):
        text = json.dumps(value)  # raw surrogates cannot even be encoded into bytes: a page carries escapes
    read = lenient_json.loads(text.encode("utf-8") if as_bytes else text)
    json.dumps(read, allow_nan=False).encode("utf-8")  # neither raises
    if _clean(value):
        assert read == value  # clean JSON reads exactly as json.loads reads it


def test_what_it_replaces() -> None:
    read = lenient_json.loads('{"a": NaN, "b": -Infinity, "c": 1e999, "d": 2.5, "\\udc00k": ["\\ud83d\\ude00", "x\\uD800"]}')
    assert read == {"a": None, "b": None, "c": None, "d": 2.5, "\ufffdk": ["\U0001f600", "x\ufffd"]}


def test_malformed_text_still_raises() -> None:
    for bad in ("{", "[1,]", b"\xff\xfe{"):
        try:
            lenient_json.loads(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was read")
