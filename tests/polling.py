"""Waiting for something a real process does in its own time (a server's write, a browser's beacon, its port)."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 10.0, what: str = "condition", interval: float = 0.05) -> T:
    """Polls ``probe`` every ``interval`` s until it returns something truthy; fails (``AssertionError``) naming
    ``what`` and the last value after ``timeout`` s. A probe that raises counts as not yet (a server still
    starting, Redis away for a moment): the last exception is in the failure, as its cause."""
    deadline = time.monotonic() + timeout
    while True:
        error: Exception | None = None
        try:
            last: object = probe()
        except Exception as exc:  # noqa: BLE001 (reported below if it is the last)
            last, error = exc, exc
        if last and error is None:
            return last  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})") from error
        time.sleep(interval)


def wait_for_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Until something listens on 127.0.0.1:``port``; a ``proc`` (the server) that exits first fails at once
    (``RuntimeError``), not after ``timeout`` s (``TimeoutError``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")
