"""A worker stopped while it starts up stops, instead of serving on for ever.

granian's master installs its SIGINT/SIGTERM handler, then forks its
workers. A forked worker keeps that handler (it only sets a flag in the
worker's copy of the master) until granian installs the worker's own handler
on its event loop — after the worker has imported and built the app (about a
second for ours). A SIGTERM in that window was swallowed: the worker went on
to serve and never exited, and ``slotwise serve`` hung in its shutdown,
waiting for it. Stopping a server that had just started (a deploy rolled
back, a test, a supervisor's restart) hung about one time in five.

``reset_in_forked_workers`` registers a fork hook in the master: a forked
child starts with the default actions (SIGTERM ends it at once; nothing is
open yet that would need a clean close). granian then installs its own
handlers before the app's start-up runs, so a running worker still shuts
down cleanly.
"""

from __future__ import annotations

import os
import signal

_registered = False


def default_stop_signals() -> None:
    """In a freshly forked child: SIGINT and SIGTERM back to their default actions."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    except ValueError:  # forked from a thread other than the main one: handlers cannot be set there
        pass


def reset_in_forked_workers() -> None:
    """In the master, before the server forks its workers (once per process: fork hooks cannot be removed)."""
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=default_stop_signals)
        _registered = True
