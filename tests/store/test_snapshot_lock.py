"""A snapshot is encoded before the store's write lock is taken: the workers' writers never wait on the encoding."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from slotwise.store.sqlite import SQLiteStore


class Probe(dict):  # type: ignore[type-arg]
    """A mapping inside the snapshot that, while the JSON encoder walks it, tries a write from another
    connection (as another worker's writer would) without waiting."""

    def __init__(self, path: Path) -> None:
        super().__init__(probe=1)
        self.path = path
        self.writable: list[bool] = []

    def items(self) -> Any:  # the C encoder asks a dict subclass for its items
        other = sqlite3.connect(str(self.path), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            self.writable.append(True)
        except sqlite3.OperationalError:  # database is locked
            self.writable.append(False)
        finally:
            other.close()
        return super().items()


def test_another_writer_is_not_blocked_while_a_snapshot_is_encoded(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "slotwise.db")
    probe = Probe(tmp_path / "slotwise.db")
    asyncio.run(store.save_snapshot("bandits", {"hero": probe, "n": 3}, 7))
    assert probe.writable == [True]
    assert asyncio.run(store.load_snapshot("bandits")) == ({"hero": {"probe": 1}, "n": 3}, 7)
