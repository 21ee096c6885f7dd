"""docs/security.md names the test behind each promise: every test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REF = re.compile(r"`((?:[a-z_]+/)+test_[a-z_]+\.py)((?:::test_[a-z0-9_]+)?)`")
TAIL = re.compile(r"`::(test_[a-z0-9_]+)`")


def test_every_test_the_security_doc_names_exists() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    refs = REF.findall(text)
    assert len(refs) >= 15
    for path, name in refs:
        source = (ROOT / "tests" / path).read_text()
        if name:
            assert re.search(rf"^(async )?def {name[2:]}\(", source, re.M), f"{path}{name} is not a test"
    for name in TAIL.findall(text):  # `::test_x` right after a named file: checked against the files named
        assert any(re.search(rf"^(async )?def {name}\(", (ROOT / "tests" / p).read_text(), re.M) for p, _ in refs), name
    assert "Not yet" in text
