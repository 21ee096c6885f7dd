"""Two stop signals at once (Ctrl+C reaches the whole process group, then the master's SIGTERM; systemd's
default KillMode) must stop a granian worker, not leave it blocked in its signal handler: granian's
``WorkerSignal.set`` blocks, holding the interpreter, when called a second time, so the worker's handler
sets it once (``worker_signals.once_per_worker``). Each try runs in a child process: a blocked ``set``
stops every thread of its process."""

from __future__ import annotations

import subprocess
import sys

import granian._signals

from slotwise.proxy.operations import worker_signals

TWO_SIGNALS = """
import signal, sys
from {module} import {function} as set_loop_signals

class Loop:
    handlers = {{}}
    def add_signal_handler(self, sig, callback, *args):
        self.handlers[sig] = (callback, args)

loop = Loop()
set_loop_signals(loop)
for sig in (signal.SIGINT, signal.SIGTERM):
    callback, args = loop.handlers.get(sig) or (signal.getsignal(sig), (sig, None))  # the loop's, or the process's
    callback(*args)
print("both handled")
"""

BETWEEN_TWO_RUNS = """
import asyncio, os, signal
import granian._granian, granian._signals, uvloop
from {module} import {function} as set_loop_signals

class WorkerSignal:  # granian's, which the Rust server waits on, seen from here
    is_set = False
    def set(self):
        WorkerSignal.is_set = True

granian._granian.WorkerSignal = granian._signals.WorkerSignal = WorkerSignal
loop = uvloop.new_event_loop()  # granian's workers' loop
set_loop_signals(loop)
loop.run_until_complete(asyncio.sleep(0))  # the app's start-up
os.kill(os.getpid(), signal.SIGTERM)  # while granian's ``serve`` sets the server up: the loop is not running
loop.run_until_complete(asyncio.sleep(0.3))  # serving
print("handled" if WorkerSignal.is_set else "lost")
"""


def _twice_returns(module: str, function: str) -> bool:
    """Whether a SIGINT then a SIGTERM through the handlers ``module.function`` installs both return."""
    try:
        done = subprocess.run([sys.executable, "-c", TWO_SIGNALS.format(module=module, function=function)],
                              capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return False
    assert done.returncode == 0, done.stderr
    return "both handled" in done.stdout


def test_granians_own_handler_blocks_on_a_second_signal() -> None:
    """The reason for the patch, pinned to granian's version: when this fails, the patch may go."""
    assert not _twice_returns("granian._signals", "set_loop_signals")


def test_the_workers_handler_acts_on_the_first_signal_only() -> None:
    assert _twice_returns("slotwise.proxy.operations.worker_signals", "_set_loop_signals_once")


def test_once_per_worker_is_what_granians_workers_import() -> None:
    original = granian._signals.set_loop_signals
    try:
        worker_signals.once_per_worker()
        from granian._signals import set_loop_signals  # as granian's worker imports it when it starts

        assert set_loop_signals is worker_signals._set_loop_signals_once
    finally:
        granian._signals.set_loop_signals = original


def _between_two_runs(module: str, function: str) -> str:
    done = subprocess.run([sys.executable, "-c", BETWEEN_TWO_RUNS.format(module=module, function=function)],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_granians_own_handler_loses_a_stop_signal_between_two_runs_of_the_loop() -> None:
    """The reason the handler is the process's, pinned to granian's and uvloop's versions: a worker stopped just
    as its start-up ended never stopped (killed at --stop-timeout). When this fails, the loop's handler may do."""
    assert _between_two_runs("granian._signals", "set_loop_signals") == "lost"


def test_the_workers_handler_acts_on_a_stop_signal_between_two_runs_of_the_loop() -> None:
    assert _between_two_runs("slotwise.proxy.operations.worker_signals", "_set_loop_signals_once") == "handled"
