"""A shipped rules example made deterministic for a test: one variant per slot, no holdout.

A test asserts what a personalized visitor sees, so no bandit may hand it a
control. The example runs otherwise unchanged, with its included files and
templates beside it (``tests/woo_store``, ``tests/shopify_store``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable, Mapping

import yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "slotwise" / "rules" / "examples"


def pinned_example(directory: Path, example: str, companions: Iterable[str], pinned: Mapping[str, str]) -> Path:
    """``example`` (a file of ``EXAMPLES``) written into ``directory`` with its ``companions`` (capture
    file, templates), each slot down to its ``pinned`` variant, no holdout; returns its path."""
    for name in companions:
        shutil.copy(EXAMPLES / name, directory / name)
    rules = yaml.safe_load((EXAMPLES / example).read_text(encoding="utf-8"))
    rules["holdout"] = 0
    for slot in rules["slots"]:
        slot["variants"] = [v for v in slot["variants"] if v.get("id") == pinned[slot["id"]]]
        assert slot["variants"], f"{example}: slot {slot['id']} has no variant {pinned[slot['id']]!r}"
    path = directory / example
    path.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    return path
