"""Waiting for something a real process does in its own time (a server's write, a browser's beacon)."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Polls ``probe`` until it returns something truthy; fails naming ``what`` (and the last value) after
    ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(0.05)
