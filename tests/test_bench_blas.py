"""``bench.blas.pin``: the bandit benches' one BLAS kernel, set before numpy loads, or said not to be."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 kernels")
def test_pinned_before_numpy_loads_and_run_by_it() -> None:
    done = run("from bench.blas import pin, core, kernel; print(pin()); print(core()); print(kernel())")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["Haswell", "Haswell", "OpenBLAS kernel Haswell (pinned)"]


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 kernels")
def test_a_kernel_already_chosen_is_kept() -> None:
    done = run("from bench.blas import pin, core; print(pin()); print(core())", OPENBLAS_CORETYPE="Sandybridge")
    assert done.stdout.split("\n")[:2] == ["Sandybridge", "Sandybridge"], done.stderr


def test_too_late_once_numpy_is_loaded_and_said_so() -> None:
    done = run("import numpy; from bench.blas import pin, kernel; print(pin()); print(kernel())")
    assert done.stdout.split("\n")[0] == "None"
    assert done.stdout.split("\n")[1].endswith("(the host's choice)")
    assert "numpy was loaded before" in done.stderr
