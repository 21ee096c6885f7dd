"""The change board: the last version written of each profile (and of the catalog), in shared memory.

Why: a worker's profile cache asked SQLite for the visitor's (profile id, version) on every page
(``profiles.HEAD_SQL``). The query is cheap, but the event loop gives the interpreter up while
SQLite runs, and the profile writer's thread takes it and keeps it for its Python work: the loop
waited. The board answers "is my copy still the row?" with one read of shared memory.

What it holds: a file beside the database (``<db>-board``, mapped by every process that opens the
database) of ``SLOTS`` numbers. A profile id hashes to a slot; the slot holds the version of the
last write of a profile in that slot, or a number no row ever has (a deleted profile, a changed
alias). Slot 0 is the catalog's version (``catalog_version``).

How it stays true: each connection of ``Database`` has TEMP triggers (``install``) that note, for
every row written in ``profiles``, ``aliases`` or ``catalog_version``, the slot and the new value;
``Database.transaction`` writes the notes to the board *before* its ``COMMIT``, while it holds the
database's write lock. So marks are made in the order of the commits, and a mark is on the board
before its row can be read. A reader (``fresh``) trusts its copy at version ``v`` only while the
slot holds ``v``, and remembers a version it read from the database only when the slot held that
very version right after the read: a write in flight (marked, not committed) then shows as a
different number, and the reader asks the database again next time. A write that rolls back, or a
process killed between the mark and the commit, leaves a number no row has: readers ask the
database until the next write (slower, never stale). A write to the database by something other
than Slotwise (the ``sqlite3`` shell), or by a Slotwise from before the board, does not mark it:
restart the workers after one. A process that cannot open the board cannot open the database
(it would write without marking).

Collisions only cost queries: two profiles in one slot make each other's copies look changed.
"""

from __future__ import annotations

import errno
import mmap
import os
import random
import sqlite3
import threading
import zlib
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")

SLOTS = 1 << 18
"""Slots for profiles (2 MB of shared memory, allocated on disk when first mapped): with a few thousand visitors active
per worker, two of them share a slot rarely, and that only costs them a query."""

CATALOG = 0
"""The slot of the catalog's version (profiles hash to 1..SLOTS)."""

_GONE = random.Random()
os.register_at_fork(after_in_child=_GONE.seed)


def gone() -> int:
    """A number no row has (versions are 1..2^62): what a deleted row or a changed alias leaves."""
    return (1 << 62) + 1 + _GONE.getrandbits(61)


def slot_of(key: str) -> int:
    """The same in every process (``hash`` is not: it is salted per process)."""
    return 1 + (zlib.crc32(key.encode("utf-8", "surrogatepass")) & (SLOTS - 1))


def shared_map(path: Path, size: int, owner: Path | None = None) -> mmap.mmap:
    """A file of ``size`` bytes (zeros until written) mapped shared, private to its user (0600).

    Its blocks are allocated here, not when a page is first written: a write through the mapping to a
    page the file system cannot allocate (the data directory full) is a SIGBUS that kills the process,
    where a full disk should only make writes fail (SQLite does the same for its -shm). No room at
    all: an OSError now, at start."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        if owner is not None and os.geteuid() == 0:  # as SQLite does for -wal/-shm: the database's owner
            st = os.stat(owner)  # keeps it (a command run as root must not lock the service out)
            os.fchown(fd, st.st_uid, st.st_gid)
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)  # zeros: nothing is trusted until written
        try:
            os.posix_fallocate(fd, 0, size)  # a file from before: its holes filled too (cheap where none are)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise OSError(exc.errno, f"no room for {path.name} ({size >> 20} MB) in {path.parent}") from None
            # a file system without allocation: sparse, as before
        return mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)


_mapped: dict[str, Any] = {}
_mapped_lock = threading.Lock()


def one_per_process(db_path: Path, suffix: str, make: Callable[[Path, Path], T]) -> T:
    """The one object mapping ``<db><suffix>`` in this process (a forked worker keeps its parent's: it is shared)."""
    path = Path(str(db_path) + suffix)
    key = os.path.realpath(path)
    with _mapped_lock:
        found = _mapped.get(key)
        if found is None:
            found = _mapped[key] = make(path, Path(db_path))
        return found  # type: ignore[no-any-return]


class Board:
    """A process's view of ``<db>-board``: 8-byte slots read and written in place."""

    def __init__(self, path: Path, owner: Path | None = None) -> None:
        self._map = shared_map(path, (SLOTS + 1) * 8, owner)  # zeros: no version, nothing trusted until marked
        self._slots = memoryview(self._map).cast("Q")
        self.path = path

    def get(self, key: str) -> int:
        return int(self._slots[slot_of(key)])

    def fresh(self, key: str, version: int | None) -> bool:
        """Whether ``key``'s row still has ``version`` (None: never; see the module doc)."""
        return version is not None and self._slots[slot_of(key)] == version

    def value(self, slot: int) -> int:
        return int(self._slots[slot])

    def catalog(self) -> int:
        return int(self._slots[CATALOG])

    def mark(self, slot: int, value: int) -> None:
        self._slots[slot] = value


def board_for(db_path: Path) -> Board:
    """One mapping per database file and process."""
    return one_per_process(db_path, "-board", Board)


MARKS_SQL = """
CREATE TEMP TABLE IF NOT EXISTS sw_marks(key TEXT, version INTEGER);
CREATE TEMP TRIGGER IF NOT EXISTS sw_profile_added AFTER INSERT ON main.profiles
BEGIN INSERT INTO sw_marks VALUES (NEW.id, NEW.version); END;
CREATE TEMP TRIGGER IF NOT EXISTS sw_profile_changed AFTER UPDATE ON main.profiles
BEGIN
    INSERT INTO sw_marks SELECT OLD.id, NULL WHERE OLD.id IS NOT NEW.id;
    INSERT INTO sw_marks VALUES (NEW.id, NEW.version);
END;
CREATE TEMP TRIGGER IF NOT EXISTS sw_profile_deleted AFTER DELETE ON main.profiles
BEGIN INSERT INTO sw_marks VALUES (OLD.id, NULL); END;
CREATE TEMP TRIGGER IF NOT EXISTS sw_alias_adding BEFORE INSERT ON main.aliases
BEGIN
    INSERT INTO sw_marks VALUES (NEW.alias, NULL);
    INSERT INTO sw_marks SELECT profile_id, NULL FROM main.aliases WHERE alias = NEW.alias;
END;
CREATE TEMP TRIGGER IF NOT EXISTS sw_alias_changed AFTER UPDATE ON main.aliases
BEGIN
    INSERT INTO sw_marks VALUES (OLD.alias, NULL);
    INSERT INTO sw_marks VALUES (OLD.profile_id, NULL);
    INSERT INTO sw_marks VALUES (NEW.alias, NULL);
END;
CREATE TEMP TRIGGER IF NOT EXISTS sw_alias_deleted AFTER DELETE ON main.aliases
BEGIN
    INSERT INTO sw_marks VALUES (OLD.alias, NULL);
    INSERT INTO sw_marks VALUES (OLD.profile_id, NULL);
END;
CREATE TEMP TRIGGER IF NOT EXISTS sw_catalog_changed AFTER UPDATE ON main.catalog_version
BEGIN INSERT INTO sw_marks VALUES (NULL, NEW.version); END;
"""
"""What each write leaves to mark, in order (a later note on a slot wins). NULL version: the row is
gone or its alias changed (``gone()``); NULL key: the catalog. A visitor id resolves through
``aliases``: a change of its alias row marks the profile it named before (``OLD.profile_id``, or
the alias itself when it named no row yet: ``INSERT OR REPLACE`` replaces without a DELETE trigger,
hence the BEFORE INSERT lookup)."""


def install(conn: sqlite3.Connection) -> None:
    """The TEMP triggers on this connection (TEMP: other programs that open the file see none)."""
    conn.executescript(MARKS_SQL)


def take_marks(cur: sqlite3.Cursor, late: bool = False) -> list[tuple[int, int]]:
    """The notes of the transaction so far, as (slot, value), in order; cleared. ``late``: the
    transaction committed already (its marks may come after a later write's): every value is ``gone()``."""
    rows = cur.execute("SELECT key, version FROM temp.sw_marks ORDER BY rowid").fetchall()
    if not rows:
        return []
    cur.execute("DELETE FROM temp.sw_marks")
    return [(CATALOG if key is None else slot_of(key), gone() if version is None or late else int(version))
            for key, version in rows]
