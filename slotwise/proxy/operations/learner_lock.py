"""Which process learns: the one holding an advisory lock file next to the SQLite store.

Several ``slotwise serve`` workers (or several ``serve`` processes) share one
SQLite file. Only one of them should hold the pending decisions and learn;
the others load its snapshots. ``flock`` gives exactly one holder, and the
kernel releases the lock when its holder dies however it dies (kill -9
included), so another process takes over at its next try.

``slotwise serve`` with several workers also starts a dedicated learner
process (``learner_supervisor``), so that no worker holds the pending
decisions. It *wants* the lock (``<lock>.wanted`` holds its pid): a worker
that leads hands over, and the workers do not take the lock while a live
process wants it. If the dedicated learner dies, a worker takes over until
the supervisor's restarted learner asks again.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("slotwise.learning")


class LearnerLock:
    """An exclusive, non-blocking ``flock`` on ``path``; held until ``release`` or the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if no other process (or other ``LearnerLock``) holds it; True when held."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who learns, for a person looking
        self._fd = fd
        return True

    @property
    def wanted_path(self) -> Path:
        return self.path.with_name(self.path.name + ".wanted")

    def want(self) -> None:
        """Say this process (the dedicated learner) wants the lock: a worker holding it hands over."""
        tmp = self.wanted_path.with_name(self.wanted_path.name + f".{os.getpid()}")
        tmp.write_text(f"{os.getpid()}\n")
        os.replace(tmp, self.wanted_path)

    def unwant(self) -> None:
        try:
            if self.wanted_path.read_text().strip() == str(os.getpid()):
                self.wanted_path.unlink()
        except (OSError, ValueError):
            pass

    def wanted_by(self) -> int | None:
        """The pid of another live process that wants the lock, if one does."""
        try:
            pid = int(self.wanted_path.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid == os.getpid():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None  # it died wanting: stale
        except PermissionError:
            pass  # alive, another user's
        return pid

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor releases the flock


def lock_for(store: Any) -> LearnerLock | None:
    """The learner lock of a file-backed store (``<db>.learner.lock``); None when the store is not a file
    (Redis has its separate ``slotwise learner``) or its directory cannot hold one: then this process learns."""
    path = getattr(store, "path", None)
    if not isinstance(path, Path) or not path.parent.is_dir():
        return None
    lock = LearnerLock(path.with_name(path.name + ".learner.lock"))
    try:
        lock.try_acquire()
        lock.release()
    except OSError:
        log.warning("cannot use %s to elect one learner; every process learns", lock.path, exc_info=True)
        return None
    return lock
