"""Server workers die with their master.

A ``kill -9`` of the ``slotwise serve`` master used to leave its workers
serving on the port as orphans: a new ``serve`` then bound the port too but
its workers never got traffic. Each worker asks Linux to send it SIGKILL
when its parent dies (``PR_SET_PDEATHSIG``), and checks once that the parent
is still the master, in case it died before the request was made.

``server.run`` records the master's pid in ``SLOTWISE_MASTER_PID``; a process
that *is* the master (one uvicorn worker runs in the master) is left alone, so
a lone ``slotwise serve`` never dies because the shell that started it did.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys

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
