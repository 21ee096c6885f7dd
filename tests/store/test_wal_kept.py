"""A serving process's WAL survives another process opening and closing the store.

SQLite deletes the -wal and -shm files when the last connection closes, and
knows it is the last when no process holds a lock on the database file. POSIX
drops every lock a process holds on a file when it closes *any* descriptor of
that file: a serving worker that opened the database file for a moment (its
profile writer's second connection used to) lost the locks of its first one,
and a ``slotwise visitor export`` or ``import`` run beside it then took the WAL
away with the worker's writes, which went on into a deleted file: page views,
events and decisions that no other process saw, gone at the restart.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from slotwise.store.sqlite import SQLiteStore
from slotwise.store.sqlite.db import Database
from slotwise.tag.testing import sync

OTHER_PROCESS = """
import asyncio, sys
from pathlib import Path
from slotwise.store.sqlite import SQLiteStore
async def main():
    store = SQLiteStore(Path(sys.argv[1]))
    profile = await store.get_profile(sys.argv[2])
    print(profile.visits if profile else "none")
    await store.close()
asyncio.run(main())
"""


def other_process_reads(path: Path, visitor: str) -> str:
    done = subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(path), visitor], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_second_connection_in_the_serving_process_leaves_its_locks_and_wal_alone(tmp_path: Path) -> None:
    path = tmp_path / "slotwise.db"
    store = SQLiteStore(path)
    sync(store.update_profile("v1", lambda p: setattr(p, "visits", 1), 1.0))
    second = Database(path)  # what the profile writer's thread opens in the same process
    assert other_process_reads(path, "v1") == "1"  # opens and closes the store beside this one
    assert path.with_name("slotwise.db-wal").exists()
    sync(store.update_profile("v1", lambda p: setattr(p, "visits", 2), 2.0))
    assert other_process_reads(path, "v1") == "2"  # the write went to the WAL everyone reads
    second.close()
    sync(store.close())
