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

A running worker given two stop signals at once — Ctrl+C reaches every
process of the terminal's group, and the master then stops its workers
with SIGTERM; systemd's default ``KillMode`` does the same — sometimes
never stopped: granian's handler sets its worker signal (in Rust) once per
signal, and the second ``set`` blocked for good (seen with py-spy: the
worker's main thread in ``signal_handler`` → ``WorkerSignal.set``), so
granian killed the worker after ``--stop-timeout`` (about 1 stop in 10).
``once_per_worker`` makes granian's worker handler set it once: the first
signal stops the worker, the others are moot.

A worker stopped just as it finished starting ran on until granian killed it
at ``--stop-timeout`` (about 1 stop in 40 on a loaded 2-core box: its log
had "Started worker-1" and never "Stopping worker-1"; py-spy showed it idle
in ``run_until_complete(_main())``, the signal handled by nobody). granian
set its handler with ``loop.add_signal_handler``, and uvloop watches its
signal pipe only while the loop runs: a signal between two of granian's
``run_until_complete`` (the app's start-up, then serving; ``serve`` runs in
between) is noted and never acted on. The worker's handler is the process's
(``signal.signal``, what granian does where the loop has none): Python runs
it as soon as the main thread runs Python again, and uvloop's wake-up pipe
still makes a running loop do so at once.

granian stops its workers all at once but waits for them one after another,
and a worker goes on running its app between its stop signal and its lifespan
shutdown (the server drains its connections first). What must not start in a
stopping worker — taking the learning over from a worker that stopped first,
only to save and release it again, and outlast ``--stop-timeout`` doing so —
hears the signal through ``when_told_to_stop``: the first stop signal calls
the listeners before it sets granian's worker signal. uvicorn drains the same
way before its lifespan shutdown, and its handler is wrapped to tell the
listeners first too (``tell_at_uvicorns_stop``); the WebSocket relay asks
``stopping`` to tell the server's end of a WebSocket from a visitor's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from typing import Any, Callable

log = logging.getLogger("slotwise.proxy")

_registered = False
_listeners: list[Callable[[], None]] = []
_told = False  # this process got its stop signal (a listener registered later hears it at once)


def when_told_to_stop(listener: Callable[[], None]) -> Callable[[], None]:
    """``listener`` is called (by the signal handler, in the main thread) when this worker gets its first stop
    signal, at once if it got it already (granian installs the handler before the app starts); returns the
    call that forgets it (an app's shutdown: a process that builds several apps, the tests', keeps none behind)."""
    _listeners.append(listener)
    if _told:
        listener()

    def forget() -> None:
        with contextlib.suppress(ValueError):
            _listeners.remove(listener)

    return forget


def stopping() -> bool:
    """Whether this worker got its stop signal: the server is draining its connections."""
    return _told


def told_to_stop() -> None:
    """Tells every listener this worker is stopping, once; one that fails is logged and the stop goes on."""
    global _told
    if _told:
        return
    _told = True
    for listener in list(_listeners):
        try:
            listener()
        except Exception:
            log.warning("a stop listener failed; stopping anyway", exc_info=True)


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


def _set_loop_signals_once(loop: Any) -> Any:
    """granian's ``set_loop_signals`` (granian/_signals.py, the pinned version's), but the worker signal is set
    by the first stop signal only, after the listeners of ``when_told_to_stop`` heard it, and the handler is the
    process's (``signal.signal``, granian's own fallback), not the event loop's: uvloop's loses a signal that
    comes while the loop is not running (``loop`` is granian's argument, unused)."""
    from granian._granian import WorkerSignal
    from granian._signals import _get_signals

    signal_event = WorkerSignal()
    fired = False

    def signal_handler(signum: int, frame: Any) -> None:
        nonlocal fired
        if not fired:
            fired = True
            told_to_stop()
            signal_event.set()

    for sigval in _get_signals():
        signal.signal(sigval, signal_handler)
    return signal_event


def tell_at_uvicorns_stop() -> None:
    """In a uvicorn worker, as it builds its app: its stop signals tell the listeners first, as granian's do.

    uvicorn sets its own handler (``Server.handle_exit``) before it loads the app, and drains its connections
    before the lifespan shutdown: without this a worker heard of its stop only once its last request ended,
    up to ``--stop-timeout`` later. Its handler stays the one that stops the server; uvicorn restores the
    handlers it found when it ends. Outside the main thread (a server run in a thread: the tests') there is
    no handler to wrap."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        server_handler = signal.getsignal(signum)
        if not callable(server_handler) or getattr(server_handler, "tells_listeners", False):
            continue

        def handler(signum: int, frame: Any, server_handler: Callable[[int, Any], Any] = server_handler) -> None:
            told_to_stop()
            server_handler(signum, frame)

        handler.tells_listeners = True  # type: ignore[attr-defined]
        signal.signal(signum, handler)


def once_per_worker() -> None:
    """In the master, before granian forks its workers: their stop handler acts on the first signal only, and
    on one that comes while their event loop is not running. granian's workers import ``set_loop_signals``
    from its module when they start, so they take this one."""
    import granian._signals

    granian._signals.set_loop_signals = _set_loop_signals_once  # type: ignore[assignment]
