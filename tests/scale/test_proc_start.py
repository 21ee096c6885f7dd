"""``scale_helpers.Proc``: a process that does not start leaves nothing behind, whatever the caller does next."""

from __future__ import annotations

from pathlib import Path

import pytest
from scale_helpers import PYTHON, Proc, free_port


def test_a_start_that_fails_stops_the_process(tmp_path: Path) -> None:
    """``Proc.start`` spawned, then waited for the port outside the callers' try/finally: a server that never
    listened kept running after the test failed (a leaked process per failed start)."""
    silent = Proc("silent", [PYTHON, "-c", "import time; time.sleep(120)"], tmp_path, free_port())
    with pytest.raises(TimeoutError, match="silent: nothing listening"):
        silent.start(wait=0.5)
    assert silent.proc is not None and not silent.alive()
