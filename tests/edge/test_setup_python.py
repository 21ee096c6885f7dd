"""The interpreter a new .venv gets (scripts/setup, scripts/pick_python.py): SLOTWISE_PYTHON, else of the
Python 3.11s on the machine the first on PATH, unless another takes clearly less CPU for the same
pure-Python workload (Debian's /usr/bin/python3.11 runs personalization ~17% cheaper than pyenv's
default build: docs/benchmarks.md)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup"
_spec = importlib.util.spec_from_file_location("pick_python", ROOT / "scripts" / "pick_python.py")
assert _spec is not None and _spec.loader is not None
pick = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pick)


def test_the_first_is_kept_unless_another_takes_clearly_less_cpu() -> None:
    order = ["/a/python3.11", "/b/python3.11", "/c/python3.11"]
    assert pick.choose(order, {"/a/python3.11": 1.0, "/b/python3.11": 0.95, "/c/python3.11": 0.97}) == "/a/python3.11"
    assert pick.choose(order, {"/a/python3.11": 1.0, "/b/python3.11": 0.80, "/c/python3.11": 0.90}) == "/b/python3.11"
    assert pick.choose(order, {"/a/python3.11": 1.0, "/b/python3.11": pick.MARGIN}) == "/b/python3.11"
    # the first that could be measured stands for the first
    assert pick.choose(order, {"/b/python3.11": 1.0, "/c/python3.11": 0.99}) == "/b/python3.11"
    assert pick.choose(order, {}) == "/a/python3.11"  # one interpreter: nothing measured
    assert pick.choose([], {}) is None


def executable(path: Path, text: str = "#!/bin/sh\nexit 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_candidates_are_python311_on_path_then_the_usual_places_then_python3(tmp_path: Path, monkeypatch) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    a = executable(one / "python3.11")
    b = executable(two / "python3.11")
    c = executable(one / "python3")
    (two / "python3").write_text("not executable")
    monkeypatch.setenv("PATH", f"{one}{os.pathsep}{two}")
    places = [p for p in pick.PLACES if os.path.isfile(p) and os.access(p, os.X_OK)]
    assert pick.candidates() == [str(a), str(b), *places, str(c)]


def test_only_a_311_that_can_make_a_venv_is_usable(tmp_path: Path) -> None:
    assert pick.usable(str(executable(tmp_path / "python3.11"))) is None  # fails every probe
    wrong = executable(tmp_path / "py", f"#!/bin/sh\nexec {sys.executable} -c 'import sys; sys.exit(3)'\n")
    assert pick.usable(str(wrong)) is None
    assert pick.usable(str(tmp_path / "absent")) is None
    assert pick.usable(sys.executable) == os.path.realpath(sys.executable)  # the suite runs on 3.11


def test_the_workload_takes_measurable_cpu() -> None:
    took = pick.cpu_seconds(sys.executable)
    assert took is not None and 0 < took < 10
    assert pick.cpu_seconds("/nonexistent/python3.11") is None


def test_the_script_names_a_usable_311_and_setup_takes_slotwise_python_instead() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "pick_python.py")], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert pick.usable(done.stdout.strip()) is not None
    functions = f'source <(sed -n "/^pick_python()/,/^}}/p" "{SETUP}"); pick_python'
    chosen = subprocess.run(["bash", "-c", functions], capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "SLOTWISE_PYTHON": "/opt/some/python3.11"})
    assert chosen.stdout.strip() == "/opt/some/python3.11"
