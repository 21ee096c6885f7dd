"""Processes that open one new SQLite file at once all open it: ``slotwise serve``'s workers and its
learner start together on a new data directory, and SQLite answers some of their races to switch the
file to WAL and create its tables with "database is locked" at once, without waiting (a worker died at
start: seen in the full suite, 2 of 30 rounds of six processes here)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

ROUNDS, PROCESSES = 25, 6


def _open(path: str, barrier: Any, answers: Any) -> None:
    from slotwise.store.sqlite.db import Database

    barrier.wait()
    try:
        db = Database(Path(path))
        answers.put(db.conn.execute("PRAGMA journal_mode").fetchone()[0])
    except Exception as exc:  # the answer the test reads: any failure to open
        answers.put(repr(exc))


def _rounds(directory: str, results: Any) -> None:
    """Every round's answers, in a small process of its own that forks the racers: forking the test worker
    itself (the whole suite's memory) 150 times took ~15 s of the suite, forking this one ~2 s."""
    import slotwise.store.sqlite.db  # noqa: F401 (imported once here, not in each racer)

    context = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        path = Path(directory) / f"round{round_}" / "slotwise.db"
        barrier, answers = context.Barrier(PROCESSES), context.Queue()
        processes = [context.Process(target=_open, args=(str(path), barrier, answers)) for _ in range(PROCESSES)]
        for process in processes:
            process.start()
        got = [answers.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        results.put(got)


def test_processes_opening_one_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    runner = context.Process(target=_rounds, args=(str(tmp_path), results))
    runner.start()
    try:
        for round_ in range(ROUNDS):
            got = results.get(timeout=120)
            assert got == ["wal"] * PROCESSES, f"round {round_}: {got}"
    finally:
        runner.join(timeout=60)
        if runner.is_alive():
            runner.kill()
    assert runner.exitcode == 0
