"""``slotwise rules check EXAMPLE --url URL`` as a platform example's tests run it: clean, or the test fails."""

from __future__ import annotations

import pytest

from slotwise.cli import main


def clean_check(capsys: pytest.CaptureFixture[str], example: str, url: str, *args: str) -> str:
    """The command's output for ``url``; it must exit 0 with no warning and no selector that finds nothing."""
    assert main(["rules", "check", example, "--url", url, *args]) == 0
    out = capsys.readouterr().out
    assert "WARNING" not in out and "nothing usable" not in out and "<- selector finds nothing" not in out, out
    return out
