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


def names_river_model(rules: str) -> bool:
    """Whether a slot of the rules file (as ``serve`` starts with it) is decided by a ``river-model`` policy.
    A file that does not load says no: the workers report what is wrong with it."""
    from slotwise.rules import load_rules

    try:
        ruleset = load_rules(rules)
    except Exception:
        return False
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
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                # its own session: a Ctrl-C to serve must not stop it behind the supervisor's back (serve stops it)
                self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)

    def _keep_running(self) -> None:
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
        """SIGTERM: the learner saves its state and releases the lock; killed if it takes over ``timeout``."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
