"""Hypothesis' settings follow ``CI`` as tests/real_parts.py reads it: on CI the same examples every run (a red
run anyone reproduces, its blob printed), no deadline; elsewhere, Hypothesis' default (new examples each run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SHOW = ("import conftest, hypothesis; s = hypothesis.settings.default; "
        "print(s.derandomize, s.print_blob, s.deadline, s.database is None)")


@pytest.mark.parametrize("ci,expected", [("1", "True True None True"), ("true", "True True None True"),
                                         ("0", "False False 0:00:00.200000 False"),
                                         ("", "False False 0:00:00.200000 False"),
                                         (None, "False False 0:00:00.200000 False")],
                         ids=["ci-1", "ci-true", "ci-0", "ci-empty", "ci-unset"])
def test_the_profile_follows_ci(ci: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({} if ci is None else {"CI": ci})
    env["PYTHONPATH"] = str(TESTS.parent)  # conftest's imports
    shown = subprocess.run([sys.executable, "-c", SHOW], cwd=TESTS, env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert shown == expected
