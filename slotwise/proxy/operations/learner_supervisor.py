"""``slotwise serve``'s dedicated learner process for the embedded store, kept running while it serves.

With several workers over SQLite, the learner (the one process that holds the
decisions waiting for their reward, see ``learning``) should not be a worker:
its memory would grow with the traffic in a process that also serves pages.
Nor with river models behind even one worker: whoever learns pickles them at
each save, megabytes for a tree or a forest. So ``serve`` starts ``slotwise
learner`` beside the workers and restarts it if it exits. Meanwhile nothing is lost: a worker takes the learner lock over
(``learner_lock``) until the restarted learner asks for it again.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any

log = logging.getLogger("slotwise.learning")

RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 60.0
STEADY_S = 60.0  # a learner that ran this long before it exited starts the back-off again


def restart_delay(quick_exits: int, base: float = RESTART_DELAY_S, cap: float = MAX_RESTART_DELAY_S) -> float:
    """Seconds before the next start after ``quick_exits`` exits in a row that came soon after a start:
    1, 2, 4, … up to a minute, so a learner that cannot start (a broken store, say) does not spin."""
    return min(cap, base * 2 ** max(0, quick_exits - 1))


def wants_learner_process(settings: Any) -> bool:
    """Over the embedded store, with rules (without rules nothing is decided or learned): several workers, or
    one whose rules name a river model. Whoever learns pickles the models at each save, and a river tree's or
    forest's are megabytes (0.3–0.4 s a save, ``docs/rules.md``): not on the event loop that serves pages."""
    embedded = not settings.store.startswith(("redis://", "rediss://", "unix://"))
    if not embedded or not settings.rules:
        return False
    return settings.workers > 1 or names_river_model(settings.rules)


def may_want_learner_process(settings: Any) -> bool:
    """One worker over the embedded store, with rules that do not name a river model yet: a reload may
    bring one, and then the learner process is wanted (``RiverRulesWatch``)."""
    embedded = not settings.store.startswith(("redis://", "rediss://", "unix://"))
    return embedded and bool(settings.rules) and not wants_learner_process(settings)


def names_river_model(rules: str) -> bool:
    """Whether a slot of the rules file (as ``serve`` starts with it) is decided by a ``river-model`` policy.
    A file that does not load says no: the workers report what is wrong with it."""
    from slotwise.rules import load_rules

    try:
        ruleset = load_rules(rules)
    except Exception:
        return False
    return ruleset_names_river_model(ruleset)


def ruleset_names_river_model(ruleset: Any) -> bool:
    return any(slot.policy_spec.get("name") == "river-model" for slot in ruleset.slots)


class LearnerSupervisor:
    """Runs ``slotwise learner`` (embedded mode) as a child; restarts it when it exits until ``stop``."""

    def __init__(self, settings: Any) -> None:
        self.env = {**os.environ, **settings.to_env()}
        self.command = [sys.executable, "-c", "import sys; from slotwise.cli import main; sys.exit(main())",
                        "learner", "--exit-with-parent"]
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.base_delay = RESTART_DELAY_S
        self.steady_s = STEADY_S
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep_running, name="slotwise-learner", daemon=True)

    def start(self) -> None:
        """Starts the learner process and keeps it running; a second call does nothing."""
        with self._lock:
            if self._thread.ident is not None:
                return
            self._thread.start()

    def _keep_running(self) -> None:
        self._spawn()
        self._restart_on_exit()

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                # its own session: a Ctrl-C to serve must not stop it behind the supervisor's back (serve stops it)
                self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)

    def _restart_on_exit(self) -> None:
        quick_exits = 0
        while not self._stopping.is_set():
            process = self.process
            if process is None:
                return
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            quick_exits = quick_exits + 1 if time.monotonic() - started < self.steady_s else 1
            delay = restart_delay(quick_exits, self.base_delay)
            log.warning("the learner process exited (status %s); a worker learns meanwhile; restarting it in %.0f s",
                        code, delay)
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: the learner saves its state and releases the lock; killed, with a warning, if it takes
        over ``timeout`` (``serve`` passes ``--stop-timeout``, as granian's kill of a worker)."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the learner process did not stop %g s after the stop signal (--stop-timeout): killing it;"
                        " the next one resumes from its last snapshot and the decision log", timeout)
            process.kill()
            process.wait()


class RiverRulesWatch:
    """Starts the learner process the first time the rules on disk name a ``river-model`` policy.

    Why: behind one worker over the embedded store, that worker learns, and whoever learns pickles the models
    at each save (a river tree's or forest's: 0.3–0.4 s on its event loop). A river model that comes with a
    reload of the rules must move the learning out of the worker just as one in the rules ``serve`` started
    with; the worker hands over when the learner process asks for the lock (``learning``). The workers watch
    and report the rules themselves; this watch (in ``serve``'s own process) only reads them, silently.
    """

    def __init__(self, rules: str, supervisor: LearnerSupervisor, poll_s: float = 1.0) -> None:
        from slotwise.proxy.operations.rules_watch import ruleset_holder

        self.supervisor = supervisor
        self.poll_s = poll_s
        self.holder = ruleset_holder(rules, announce=False)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slotwise-river-rules", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        loaded = self.holder.reload()
        while not self._stopping.is_set():
            if loaded and self.holder.current is not None and ruleset_names_river_model(self.holder.current):
                log.info("the rules now name a river-model policy: starting the learner process beside the worker")
                self.supervisor.start()
                return
            if self._stopping.wait(self.poll_s):
                return
            loaded = self.holder.changed() and self.holder.reload()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(5.0)
