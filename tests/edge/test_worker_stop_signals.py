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
    callback, args = loop.handlers[sig]
    callback(*args)
print("both handled")
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
