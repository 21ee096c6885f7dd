"""Server workers die with their master.

A ``kill -9`` of the ``slotwise serve`` master used to leave its workers
serving on the port as orphans: a new ``serve`` then bound the port too but
its workers never got traffic. Each worker asks Linux to send it SIGKILL
when its parent dies (``PR_SET_PDEATHSIG``), and checks once that the parent
is still the master, in case it died before the request was made.

``server.run`` records the master's pid in ``SLOTWISE_MASTER_PID``; a process
that *is* the master is left alone (both servers now run every worker, one or
several, beside it; an app built in ``serve``'s own process must never die because
the shell that started it did).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

MASTER_ENV = "SLOTWISE_MASTER_PID"
_PR_SET_PDEATHSIG = 1

log = logging.getLogger("slotwise.proxy")


def mark_master() -> None:
    """In the master, before workers are forked: they inherit the pid in their environment."""
    os.environ[MASTER_ENV] = str(os.getpid())


def die_with_master() -> bool:
    """In a worker: exit now if the master is gone, and be killed when it goes; True when armed.

    A no-op outside Linux and in the master itself.
    """
    try:
        master = int(os.environ.get(MASTER_ENV, "0"))
    except ValueError:
        return False
    if not master or master == os.getpid() or not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != master:  # the master died before prctl: nobody would signal us
        log.error("slotwise serve master %d is gone; worker %d exits", master, os.getpid())
        os._exit(1)
    return True


def stop_master(reason: BaseException) -> None:
    """In a worker that cannot build its app: stop ``slotwise serve`` rather than be started again.

    Both servers start a dead worker again (granian since its respawn is on, uvicorn always), and a
    worker that fails while it starts (a data directory it cannot create, say) would fail the same
    way each time: the master stopped, the fault is one message, and the exit is not an endless loop.
    """
    try:
        master = int(os.environ.get(MASTER_ENV, "0"))
    except ValueError:
        return
    if not master or master == os.getpid() or os.getppid() != master:
        return
    log.error("worker %d could not start (%s: %s); stopping slotwise serve", os.getpid(),
              type(reason).__name__, reason)
    try:
        _failed_marker(master).write_text(f"{type(reason).__name__}: {reason}\n")
    except OSError:
        pass
    os.kill(master, signal.SIGTERM)


def worker_failed() -> bool:
    """In the master, once the server has stopped: whether a worker stopped it (``stop_master``): exit 1."""
    marker = _failed_marker(os.getpid())
    try:
        marker.unlink()
        return True
    except OSError:
        return False


def _failed_marker(master: int) -> Path:
    return Path(tempfile.gettempdir()) / f"slotwise-serve-{master}.worker-failed"
