"""The store calls a block makes, for tests that say a request writes (or reads) nothing more than it must: SQLite's
statements as run, or Redis's commands (``MONITOR``), on the store of a running server (``test_capture_tag.Stack``)."""

from __future__ import annotations

import threading
import uuid
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from test_capture_tag import Stack


@contextmanager
def store_calls(stack: Stack) -> Iterator[list[tuple[str, bool]]]:
    """The store calls made while the block runs, each with whether it writes (filled in when it ends):
    SQLite's statements as run (values bound; any but a read writes: ``_writes``), or Redis's commands (``MONITOR``: also
    those its scripts run; a command Redis flags ``write``)."""
    found: list[tuple[str, bool]] = []
    url = stack.personalizer.settings.store
    if not url:
        db = stack.store.inner.db.conn  # CachedProfiles over the SQLiteStore: links go straight to it
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        try:
            yield found
        finally:
            db.set_trace_callback(None)
        found += [(sql, _writes(sql)) for sql in statements]
        return
    import redis

    end, commands = f"end-{uuid.uuid4().hex}", []
    with closing(redis.Redis.from_url(url)) as client, client.monitor() as monitor:
        def watch() -> None:
            for command in monitor.listen():
                if end in command["command"]:
                    return
                commands.append(command["command"])

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield found
        finally:
            with closing(redis.Redis.from_url(url)) as other:
                other.echo(end)  # every command before it has been seen once it is
                watcher.join(10)
                writes = {name.lower() for name, info in other.command().items() if "write" in info["flags"]}
    found += [(command, command.split(" ", 1)[0].lower() in writes) for command in commands]


@contextmanager
def calls_naming(stack: Stack, text: str) -> Iterator[list[str]]:
    """The store calls made while the block runs that name ``text`` (filled in when it ends)."""
    found: list[str] = []
    with store_calls(stack) as calls:
        yield found
    found += [call for call, _ in calls if text in call]


def _writes(sql: str) -> bool:
    """Whether an SQLite statement writes: any but a SELECT, a transaction's own, a PRAGMA, or a ``WITH`` that
    only selects (the profile's head is read by one)."""
    text = sql.lstrip().upper()
    if text.startswith("WITH"):
        return any(f" {verb} " in f" {text} " for verb in ("INSERT", "UPDATE", "DELETE", "REPLACE"))
    return not text.startswith(("SELECT", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA"))
