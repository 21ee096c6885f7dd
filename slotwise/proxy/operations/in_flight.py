"""Requests still running a worker's budget after its stop signal are cancelled, under either server.

uvicorn does so itself (``timeout_graceful_shutdown``, ``server.run``), then runs the lifespan shutdown: the
worker writes out what it holds. granian waits for every request before its lifespan shutdown, bounded only
by the kill at ``--stop-timeout``: one response that never ends (an event stream, a long poll) kept the
worker until it was killed, its shutdown never run and its queued page views lost. ``InFlight`` knows the
app's running requests and cancels those left ``Settings.worker_stop_budget`` after the signal: the client
sees its response cut (never ended as if whole), the worker shuts down in the time left, as under uvicorn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from slotwise.proxy.operations.worker_signals import when_told_to_stop

log = logging.getLogger("slotwise.proxy")


class InFlight:
    """The app's running HTTP requests (their tasks), cancelled ``budget`` seconds after the stop signal."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.tasks: set[asyncio.Task[object]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._forget: Callable[[], None] | None = None

    def start(self) -> None:
        """In the app's start-up, on the loop that runs its requests."""
        self._loop = asyncio.get_running_loop()
        self._forget = when_told_to_stop(self._told)

    def stop(self) -> None:
        """In the app's shutdown: a process that builds several apps (the tests') keeps no listener behind."""
        if self._forget is not None:
            self._forget()
            self._forget = None

    def _told(self) -> None:
        """Called by the signal handler, which may interrupt the loop anywhere: only a thread-safe call."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.call_later, self.budget, self.cut)

    def cut(self) -> None:
        if self.tasks:
            log.warning("stopping: cancelling %d request(s) still running %g s after the stop signal",
                        len(self.tasks), self.budget)
        for task in list(self.tasks):
            task.cancel()
