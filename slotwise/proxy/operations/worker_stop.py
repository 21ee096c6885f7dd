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

Only a worker that does not stop is killed. granian's master reaped each worker
in two threads: a watcher thread, blocked in ``waitpid`` from the worker's start
(to notice a crash), and the stop's ``join``. When the watcher reaped the worker
but had not yet run again to note it (a loaded machine: the thread waits its turn
for the interpreter), the stop's ``waitpid`` found no such child and
``multiprocessing`` reported the worker still alive: granian logged "Killing
worker-N after it refused to gracefully stop" and sent SIGKILL to the pid it had
reaped, a moment after the worker stopped cleanly (about 1 stop in 15 under two
busy loops). ``reap_in_one_thread`` makes the watcher wait for the exit without
reaping (``WNOWAIT``): the thread that stops or replaces the worker reaps it.
"""

from __future__ import annotations

import logging
import os
import time
from socket import socket
from typing import Any

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


def _watch_without_reaping(worker: Any) -> None:
    """granian's ``AbstractWorker._watcher`` (the pinned version's), but the worker's exit is waited for, not
    reaped: the zombie stays until the stop's or the respawn's ``join`` reaps it, in the thread that asks."""
    from granian.server.common import logger

    try:
        os.waitid(os.P_PID, worker.inner.pid, os.WEXITED | os.WNOWAIT)
    except ChildProcessError:  # reaped already (a join that came first): it exited all the same
        pass
    if not worker.interrupt_by_parent:
        logger.error(f"Unexpected exit from worker-{worker.idx + 1}")
        if worker.parent.reload_on_changes and worker.parent.reload_ignore_worker_failure:
            return
        worker.parent.interrupt_children.append(worker.idx)
        worker.parent.main_loop_interrupt.set()


def reap_in_one_thread() -> None:
    """In the master, before granian starts its workers: their watcher threads no longer reap them (where the
    system can wait without reaping; elsewhere granian's own watcher stays)."""
    from granian.server.mp import WorkerProcess

    if hasattr(os, "waitid") and hasattr(os, "WNOWAIT"):
        WorkerProcess._watcher = _watch_without_reaping  # type: ignore[method-assign]
