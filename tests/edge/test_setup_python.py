"""scripts/setup's choice of interpreter for a new .venv: a Python 3.11 with libpython linked in when
the machine has one (the same pages cost ~17% less CPU, docs/benchmarks.md), else the first on PATH.

The functions are sourced from the script itself and checked against each interpreter's own view:
whether ``libpython3`` is among the libraries mapped into its process."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup"
_FUNCTIONS = 'source <(sed -n "/^links_libpython()/,/^}/p;/^pick_python()/,/^}/p" "$SETUP"); '


def shell(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", _FUNCTIONS + command], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SETUP": str(SETUP), **env})


@functools.cache
def maps_libpython(python: str) -> bool:
    """The interpreter's own answer: its process maps a libpython shared object."""
    out = subprocess.run([python, "-c", "print('libpython3' in open('/proc/self/maps').read())"],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip() == "True"


@functools.cache
def can_make_a_venv_311(python: str) -> bool:
    probe = "import sys, ensurepip, venv; sys.exit(sys.version_info[:2] != (3, 11))"
    return subprocess.run([python, "-c", probe], capture_output=True, timeout=30).returncode == 0


@functools.cache
def candidates() -> tuple[str, ...]:
    """The script's order: python3.11 on PATH, the two usual places, python3 on PATH."""
    found = shell('type -ap python3.11; echo /usr/bin/python3.11; echo /usr/local/bin/python3.11; type -ap python3')
    return tuple(c for c in found.stdout.split() if os.access(c, os.X_OK))


def interpreters() -> list[str]:
    seen, out = set(), []
    for c in candidates():
        real = os.path.realpath(c)
        if real not in seen and can_make_a_venv_311(c):
            seen.add(real)
            out.append(c)
    return out


@pytest.mark.skipif(not shutil.which("ldd"), reason="no ldd")
def test_links_libpython_says_what_each_interpreter_maps() -> None:
    checked = interpreters()
    assert checked, "no Python 3.11 that can make a venv on this machine"
    for python in checked:
        answer = shell(f'links_libpython "{python}" && echo shared || echo linked-in').stdout.strip()
        assert answer == ("shared" if maps_libpython(python) else "linked-in"), python


@pytest.mark.skipif(not shutil.which("ldd"), reason="no ldd")
def test_the_first_interpreter_with_libpython_linked_in_is_taken_else_the_first() -> None:
    checked = [c for c in candidates() if can_make_a_venv_311(c)]
    linked_in = [c for c in checked if not maps_libpython(c)]
    expected = linked_in[0] if linked_in else checked[0]
    assert shell("pick_python").stdout.strip() == expected


def test_slotwise_python_chooses() -> None:
    assert shell("pick_python", SLOTWISE_PYTHON="/opt/some/python3.11").stdout.strip() == "/opt/some/python3.11"


def test_an_interpreter_that_is_not_311_or_cannot_make_a_venv_is_passed_over(tmp_path: Path) -> None:
    fake = tmp_path / "python3.11"
    fake.write_text("#!/bin/sh\nexit 1\n")  # answers nothing: not a usable 3.11
    fake.chmod(0o755)
    picked = shell("pick_python", PATH=f"{tmp_path}:{os.environ['PATH']}").stdout.strip()
    assert picked != str(fake)
    assert picked == "" or can_make_a_venv_311(picked)
