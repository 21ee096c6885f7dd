"""README: Protocols is a tested claim: every flag it names exists, and the defaults it quotes are the code's."""

from __future__ import annotations

import re
from pathlib import Path

from slotwise.proxy.config import OPTIONS

ROOT = Path(__file__).resolve().parents[2]


def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Protocols")
    return text[start:text.index("\n## ", start + 1)]


def test_every_flag_named_exists_with_the_default_quoted() -> None:
    options = {o.name.replace("_", "-"): o for o in OPTIONS}
    named = set(re.findall(r"--([a-z][a-z0-9-]*)", section()))
    assert {"http", "tls-cert", "tls-key", "read-timeout", "idle-timeout", "path-timeouts", "html-hold-ms"} <= named
    assert named <= set(options), named - set(options)
    quoted = re.findall(r"`--([a-z-]+)[^`]*`\s*\((\d+(?:\.\d+)?) (s|ms)\)", section())
    assert len(quoted) >= 3
    for name, value, _ in quoted:
        assert float(options[name].default) == float(value), (name, options[name].default, value)
    assert options["http"].default == "auto" and "`--http auto`, the default" in section()


def test_ci_runs_the_readme_test_command() -> None:
    assert "scripts/test    # set up, then run the whole test suite (what CI runs)" in (ROOT / "README.md").read_text()
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[-1] == "exec scripts/test"
