"""CI must not skip the real parts: a missing program skips locally, fails the test (and the run) on CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def run(tmp: Path, ci: str | None, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest on the tests in ``tmp`` (tests/ on the path), with ``CI`` set to ``ci`` or unset."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(TESTS)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # plain pytest starts in a fraction of the time
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, str(tmp)],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=120)


def test_a_missing_program_skips_locally_and_fails_on_ci(tmp_path: Path) -> None:
    (tmp_path / "test_needs.py").write_text(
        "from real_parts import missing\n\ndef test_needs_it():\n    missing('frobnicator is not installed')\n")
    local = run(tmp_path, None)
    assert local.returncode == 0 and "1 skipped" in local.stdout
    on_ci = run(tmp_path, "true")  # what the CI runner sets; .ci/run sets 1 when nothing did
    assert on_ci.returncode == 1 and "1 failed" in on_ci.stdout
    assert "frobnicator is not installed" in on_ci.stdout and "scripts/setup --test" in on_ci.stdout


def test_the_hint_names_the_package_to_install() -> None:
    from real_parts import _hint

    assert _hint("nginx is not installed").startswith("apt-get install nginx-light;")
    assert _hint("Debian chromium is not installed at /usr/bin/chromium").startswith("apt-get install chromium;")
    assert _hint("redis-server binary not found").startswith("apt-get install redis-server;")


def test_on_ci_the_run_stops_at_once_with_the_install_hint(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "import real_parts\n"
        "real_parts.absent = lambda: ['nginx is not installed (pretend)']\n\n"
        "def pytest_sessionstart(session):\n    real_parts.check_session()\n")
    (tmp_path / "test_any.py").write_text("def test_fine():\n    pass\n")
    stopped = run(tmp_path, "1")
    assert stopped.returncode == 3
    out = stopped.stdout + stopped.stderr
    assert "nginx is not installed (pretend)" in out and "scripts/setup --test" in out
