"""The SQLite connection every SQLite mixin shares, and its schema.

One connection per process, in autocommit mode; operations that read and
write take ``BEGIN IMMEDIATE`` so concurrent worker processes serialise on
the database lock instead of losing updates. WAL with ``synchronous=NORMAL``
keeps every committed transaction across a kill -9 of the process.
``secure_delete`` zeroes deleted content; the files are private (0600).
Where the profile tables exist, every write to them is marked on the change board
(``board``) before its commit: what lets a worker's cache skip asking SQLite.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from slotwise.store.outage import OUTAGE
from slotwise.store.sqlite.board import Board, board_for, install, take_marks
from slotwise.store.sqlite.deltas import Deltas, deltas_for

log = logging.getLogger("slotwise.store")

REFUSED_CODES = (sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY)
"""A write SQLite refuses for want of room or permission: the store refuses writes until it is fixed."""
REFUSED_KEY = "sqlite write"
BUSY_TIMEOUT_MS = 10_000  # what a write waits for another connection's lock (SQLite's busy handler)

SCHEMAS: list[str] = []
"""SQL run at open; each mixin module appends its ``CREATE ... IF NOT EXISTS``."""

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []
"""Run at open after ``SCHEMAS``: bring a database made by an older version up to date (idempotent)."""


def schema(sql: str) -> str:
    SCHEMAS.append(sql)
    return sql


_versions = random.Random()  # seeded from the system's randomness; again in a forked child (below)
os.register_at_fork(after_in_child=_versions.seed)  # two forked workers must not draw the same versions


def new_version() -> int:
    """A version (a profile's, the catalog's) is random, not a counter: a row erased and written
    again, or a database restored from a copy, never repeats a version a worker's cache may still hold.

    Drawn from a generator seeded from the system's randomness, not from the system's randomness each
    time: that is a system call, and the profile writer's thread gave the interpreter up at each one
    (and waited to get it back from the event loop) for every profile it wrote."""
    return _versions.getrandbits(62) + 1


def _private_files(path: Path) -> None:
    """The database and its -wal/-shm/-board readable by the service user only (0600; a new directory 0700).

    SQLite gives the -wal and -shm files the database file's mode, so creating
    that one 0600 (and tightening an existing one) covers all three.

    An existing file is never opened here: closing any descriptor of it drops every POSIX lock this
    process holds on it, SQLite's too. A worker opening its second connection then held none, and the
    next command-line visit (an export, an import), closing what it took for the last connection,
    deleted the -wal and -shm under the running server (``tests/store/test_wal_kept.py``).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    except FileExistsError:  # made before (maybe by another process a moment ago): its mode is checked below
        pass
    for f in (path, *(path.with_name(path.name + tail) for tail in ("-wal", "-shm", "-board", "-deltas"))):
        try:
            if f.exists() and stat.S_IMODE(f.stat().st_mode) & 0o077:
                f.chmod(0o600)
        except OSError:  # not ours to change (another user's file): SQLite will say if it cannot open it
            pass


def _while_locked(step: Callable[[], None], within_s: float = 30.0, max_pause: float = 0.2) -> None:
    """``step``, again while SQLite answers "database is locked" (up to ``within_s``; pauses double up to
    ``max_pause``).

    Processes that open one new file at once (``slotwise serve``'s workers and its learner on a new
    data directory) race to switch it to WAL and create its tables; SQLite answers some of those
    lock upgrades with SQLITE_BUSY at once, without waiting in the busy handler (it would deadlock),
    and a worker died at start.
    """
    deadline = time.monotonic() + within_s
    pause = min(0.005, max_pause)
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, max_pause)


class Database:
    """A SQLite file with the pragmas and the transaction helper we rely on."""

    def __init__(self, path: Path) -> None:
        _private_files(path)
        self.path = path
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                    timeout=BUSY_TIMEOUT_MS / 1000)
        self.conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            _while_locked(self._prepare)
            self.board: Board | None = None
            self.deltas: Deltas | None = None
            if self.conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                 "('profiles', 'aliases', 'catalog_version')").fetchone()[0] == 3:
                install(self.conn)
                self.board = board_for(path)
                self.deltas = deltas_for(path)
        self._published: list[tuple[int, int, bytes]] = []  # this transaction's, for ``deltas``

    def _prepare(self) -> None:
        """The pragmas, the tables and the migrations: each step idempotent, so all may run again."""
        self.conn.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed, not left in free space
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.conn.execute("PRAGMA foreign_keys=ON")
        for sql in SCHEMAS:  # idempotent CREATE ... IF NOT EXISTS; executescript commits itself
            self.conn.executescript(sql)
        for migrate in MIGRATIONS:
            migrate(self.conn)

    @contextmanager
    def transaction(self, within_s: float | None = None) -> Iterator[sqlite3.Cursor]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, rolled back on error.

        ``within_s``: the write lock is taken by asking again every millisecond, for that long at most, not
        by SQLite's busy handler (10 s, its pauses growing to 100 ms). Another process writing one group
        after another takes the lock back within such a pause: a worker's last snapshot waited 6 s, or
        failed after 10, while the stop's kill came sooner. For a write that must get in before a deadline.

        A write refused because the data directory is full or read-only is an outage of the store
        (``store/outage.py``): logged once when it starts and once when writes work again, not with a
        traceback by every caller (the learner retried and logged one four times a second)."""
        try:
            with self._transaction(within_s) as cur:
                yield cur
        except sqlite3.OperationalError as exc:
            if ((getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF) in REFUSED_CODES:  # extended codes too
                OUTAGE.failed(exc, REFUSED_KEY)
            raise
        OUTAGE.succeeded(REFUSED_KEY)

    @contextmanager
    def _transaction(self, within_s: float | None = None) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self.conn.cursor()
            if within_s is None:
                cur.execute("BEGIN IMMEDIATE")
            else:
                self._begin_within(cur, within_s)
            self._published = []
            try:
                yield cur
            except BaseException:
                self._published = []
                cur.execute("ROLLBACK")
                raise
            else:
                published, self._published = self._published, []
                if self.board is not None:  # before the commit, under the write lock: marks in commit order
                    if self.deltas is not None and published:
                        try:
                            for slot, version, payload in published:
                                self.deltas.write(slot, version, payload)
                        except Exception:  # never the write's failure: the views stay unpublished (done = 0)
                            log.exception("database: the views of a write could not be published")
                            published = []
                    for slot, value in take_marks(cur):
                        self.board.mark(slot, value)
                cur.execute("COMMIT")
                if self.deltas is not None:
                    for slot, version, _ in published:
                        self.deltas.done(slot, version)

    def _begin_within(self, cur: sqlite3.Cursor, within_s: float) -> None:
        """``BEGIN IMMEDIATE`` asked for every millisecond up to ``within_s`` (the busy handler off meanwhile)."""
        self.conn.execute("PRAGMA busy_timeout=0")
        try:
            _while_locked(lambda: cur.execute("BEGIN IMMEDIATE"), within_s, max_pause=0.001)
        finally:
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    def publish(self, slot: int, version: int, payload: bytes) -> None:
        """Inside ``transaction``: what its write of a profile did (``deltas``), shown to the other
        workers once it commits."""
        self._published.append((slot, version, payload))

    def checkpoint(self, attempts: int = 20) -> bool:
        """Copies the WAL into the database and truncates it (after an erase: no old frames left).

        Busy while another connection reads an old snapshot: retried briefly;
        False if it never completed (the next erase or checkpoint finishes it).
        """
        for attempt in range(attempts):
            with self._lock:
                busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return True
            time.sleep(0.005 * (attempt + 1))
        return False

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            changes = self.conn.total_changes
            rows = self.conn.execute(sql, params).fetchall()
            if self.board is not None and self.conn.total_changes != changes and not self.conn.in_transaction:
                # a write outside ``transaction`` committed already: marked late, so as "ask the database"
                for slot, value in take_marks(self.conn.cursor(), late=True):
                    self.board.mark(slot, value)
            return rows

    def close(self) -> None:
        with self._lock:
            self.conn.close()
