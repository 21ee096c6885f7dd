"""A worker that does not stop is killed after ``--stop-timeout``, so ``slotwise serve`` always stops.

A worker stuck in its shutdown (once, a granian worker stayed in granian's own
signal handler) kept the master waiting on it for ever: the service never
stopped. granian kills such a worker itself when given ``workers_kill_timeout``
(``server.run`` passes it). uvicorn's multi-worker supervisor has no such bound:
it sends each worker SIGTERM and joins it with no timeout. ``BoundedMultiprocess``
is that supervisor with the same rule as granian's: one budget for all the
workers from the stop, then SIGKILL for any still alive, with a warning.

``--workers 1`` runs under it too: ``uvicorn.run`` serves one worker in the master
itself, where a hung lifespan shutdown (a store that does not answer while the
profile writer flushes) kept the process alive for ever. A watchdog thread in that
process would also bound it, but not a hang that holds the GIL, and its exit would
skip what ``serve`` does after the server (the learner's stop, the exit status);
one more small process gives the single worker the very stop of several: the same
kill, warning and status.
"""

from __future__ import annotations

import logging
import time
from socket import socket

from uvicorn.config import Config
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("slotwise.proxy")


class BoundedMultiprocess(Multiprocess):
    """uvicorn's supervisor of several workers whose stop kills a worker alive ``stop_timeout`` s after it."""

    def __init__(self, config: Config, sockets: list[socket], stop_timeout: float) -> None:
        super().__init__(config, sockets)
        self.stop_timeout = stop_timeout

    def join_all(self) -> None:
        """Called once every worker was sent SIGTERM (``terminate_all``)."""
        deadline = time.monotonic() + self.stop_timeout  # for all of them, as granian's workers_kill_timeout
        for worker in self.processes:
            worker.process.join(max(deadline - time.monotonic(), 0.0))
            if worker.process.is_alive():
                log.warning("killing worker %s: still running %g s after the stop signal (--stop-timeout)",
                            worker.pid, self.stop_timeout)
                worker.kill()
                worker.process.join()
