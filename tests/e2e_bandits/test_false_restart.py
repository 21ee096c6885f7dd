"""LinUCB's default change threshold keeps a steady store's run that restarted at the old one learning.

In issue 11's bandit bench, held-out seed 36 (steady store, 250 visits an hour,
a +-30% daily swing) restarted at visit 10,255 under ``change_threshold`` 8,
through the proxy and in its twin: variant b's rewards against LinUCB's own
predictions moved from -1.8 to +2.3 points as the model learned, not as the
store changed. That run is replayed here the way the bench runs it (the twin
as a program, so that OpenBLAS's kernel is the benches' pinned one and the run
is the same on any x86-64 host), once with the default and once with the old
threshold, so that the test still shows the case it stands for.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys

import pytest
from conftest_paths import ROOT

pytestmark = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                                reason="the run is pinned to an x86-64 BLAS kernel")


def twin(params: str = "") -> subprocess.Popen[str]:
    """Seed 36's steady run at 250 / h (``bench.bandits_twin``), started: ``restarts`` reads its answer."""
    command = [sys.executable, "-m", "bench.bandits_twin", "--policy", "linucb", "--seeds", "1",
               "--first-seed", "36", "--visits", "12000", "--rates", "250", "--scales", "1"]
    if params:
        command += ["--params", params]
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def restarts(run: subprocess.Popen[str]) -> list[int]:
    """The visits at which the run restarted learning."""
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    found = re.search(r"^seed 36 .* restarts \[([\d, ]*)\]", out, re.M)
    assert found, out
    return [int(v) for v in found[1].split(",") if v.strip()]


def test_the_default_does_not_restart_the_steady_run_that_the_old_threshold_restarted() -> None:
    old, default = runs = twin("change_threshold=8"), twin()  # both at once: two programs of ~6 s CPU each
    try:
        assert restarts(old) == [10255]  # the case: a false restart at the old default
        assert restarts(default) == []
    finally:
        for run in runs:
            run.kill()
            run.wait()
