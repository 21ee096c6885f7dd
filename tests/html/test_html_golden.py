"""Golden files: ``X.src.html`` + ``X.edits.json`` -> ``X.expected.html`` (lol-html style).

Regenerate after a deliberate change with ``SW_REGEN_GOLDEN=1 pytest tests/html`` and
review the diff: the expected files are the spec.
"""

from __future__ import annotations

import json
import os
import pathlib

import pytest

from slotwise.html import Edit, clear_cache, rewrite

GOLDEN = pathlib.Path(__file__).parent / "golden"
CASES = sorted(p.name[: -len(".src.html")] for p in GOLDEN.glob("*.src.html"))


def load(name: str) -> tuple[bytes, list[Edit], dict]:
    spec = json.loads((GOLDEN / f"{name}.edits.json").read_text())
    edits = [Edit(**e) for e in spec["edits"]]
    return (GOLDEN / f"{name}.src.html").read_bytes(), edits, spec


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("cache", [False, True])
def test_golden(name: str, cache: bool) -> None:
    src, edits, spec = load(name)
    clear_cache()
    result = rewrite(src, edits, cache=cache)
    if cache:  # second run is served from the per-page position cache
        src = bytes(bytearray(src))
        result = rewrite(src, edits)
        assert result.cached or spec["method"] != "splice"
    expected_path = GOLDEN / f"{name}.expected.html"
    if os.environ.get("SW_REGEN_GOLDEN"):
        expected_path.write_bytes(result.body)
    assert result.body == expected_path.read_bytes()
    assert result.method == spec["method"], result.fallback_reason
    assert {str(k): v for k, v in result.matches.items()} == spec["matches"]
    if spec["method"] == "none":
        assert result.body is src and not result.changed


@pytest.mark.parametrize("name", CASES)
def test_golden_chunked_equivalent(name: str) -> None:
    """Edits applied one by one give the same bytes as all at once (when none conflict)."""
    src, edits, spec = load(name)
    if spec["method"] != "splice" or 0 in spec["matches"].values():
        pytest.skip("only for fully-applied splice cases")
    whole = rewrite(src, edits, cache=False).body
    step = src
    for e in edits:
        step = rewrite(step, [e], cache=False).body
    assert step == whole
