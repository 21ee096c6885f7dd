"""Processes that open one new SQLite file at once all open it: ``slotwise serve``'s workers and its
learner start together on a new data directory (a worker died at start: seen in the full suite).

The race: switching the file to WAL (``PRAGMA journal_mode=WAL``) reads the file's header under a shared
lock, then upgrades to the write lock to change it. While another opener holds the write lock (switching
the file itself, or creating its tables), SQLite refuses that upgrade with "database is locked" at once,
without waiting in the busy handler (waiting there could deadlock). Racing six processes for 25 rounds
hit that window too rarely to catch it; here the window is held open: the test holds the write lock of
the new file, as an opener in the middle of its switch does, until every racer was refused at least once,
then lets go. A racer must then open the file all the same.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from pathlib import Path
from typing import Any

RACERS = 3


def _open(path: str, go: Any, refused: Any, answers: Any) -> None:
    """A racer: opens the file with the store's ``Database`` once told to; says when SQLite refuses a step."""
    import functools

    from slotwise.store.sqlite.db import Database

    class Watched(sqlite3.Connection):
        """A real connection that reports each "database is locked" it gets (it still raises it)."""

        def execute(self, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
            try:
                return super().execute(*args)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc):
                    refused.put(os.getpid())
                raise

    sqlite3.connect = functools.partial(sqlite3.connect, factory=Watched)  # this racer's process only
    go.wait()
    try:
        answers.put(Database(Path(path)).conn.execute("PRAGMA journal_mode").fetchone()[0])
    except Exception as exc:  # the answer the test reads: any failure to open
        answers.put(repr(exc))


def test_processes_opening_one_new_file_while_another_writes_it_all_open_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "slotwise.db"
    path.parent.mkdir()
    context = multiprocessing.get_context("fork")
    go, refused, answers = context.Event(), context.Queue(), context.Queue()
    # forked before this process opens the file: a child must not inherit a connection (SQLite's locks would
    # be the parent's, held in the child for ever)
    racers = [context.Process(target=_open, args=(str(path), go, refused, answers)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    writer = sqlite3.connect(str(path), isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the write lock of the new file, as an opener switching it holds
        go.set()
        told: set[int] = set()
        while len(told) < RACERS:  # a racer may be refused several times before the others are
            told.add(refused.get(timeout=20))
        assert told == {racer.pid for racer in racers}, "every racer met the lock"
        writer.execute("COMMIT")
        got = [answers.get(timeout=30) for _ in racers]
        assert got == ["wal"] * RACERS, got
    finally:
        writer.close()
        for racer in racers:
            racer.join(timeout=30)
            if racer.is_alive():
                racer.kill()
    assert [racer.exitcode for racer in racers] == [0] * RACERS
