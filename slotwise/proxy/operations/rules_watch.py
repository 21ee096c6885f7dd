"""Keeps the current rules: reloads on change and on SIGHUP, keeps the last good set.

A new file is loaded and validated aside; only a rule set that loaded whole
replaces the serving one (one reference swap, so no request ever sees half
of a reload). A broken file leaves the last good rules serving and its
error is kept for the admin status page and logged. What a good reload
should tell besides (a variant rewritten under its old id keeps what was
learned: ``slotwise.rules.reload_notes``) is kept and logged the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from slotwise.proxy.operations import heap
from slotwise.tasks import cancel_and_wait

log = logging.getLogger("slotwise.rules")

T = TypeVar("T")

SETTLE_S = 0.25  # a changed file is loaded once it has stood this long without a further change
SETTLE_TRIES = 8  # a file that keeps changing is loaded after this many waits all the same
# what a rejected file means for the proxy, logged with it: (good rules were loaded before, none were)
SERVING = ("the last good rules keep serving", "no rules serve (pages pass through unchanged) until it is fixed")


@dataclass
class ReloadStatus:
    """What the admin page shows about the rules."""

    path: str
    loaded_at: float = 0.0
    version: int = 0
    error: str | None = None
    error_at: float = 0.0
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the last good reload changed that matters


class RulesHolder(Generic[T]):
    """The serving rule set plus the machinery to replace it safely."""

    def __init__(self, path: str, load: Callable[[Path], T], files_of: Callable[[T], list[str]] | None = None,
                 poll_s: float = 1.0, announce: bool = True,
                 notes_of: Callable[[T, T], list[str]] | None = None, meaning: tuple[str, str] = SERVING) -> None:
        self.path = Path(path)
        self.announce = announce  # log each load and rejection (a process that only reads the rules: no)
        self.meaning = meaning  # what a rejection means for the process that holds the rules (``SERVING``)
        self._load = load
        self._files_of = files_of or (lambda _rules: [str(self.path)])
        self._notes_of = notes_of  # (serving rules, new rules) -> what the reload should tell
        self.poll_s = poll_s
        self.settle_s = SETTLE_S
        self.current: T | None = None
        self.status = ReloadStatus(path=str(self.path))
        self._mtimes: dict[str, float] = {}
        self._watched: list[str] = []  # the serving set's files, and after a rejection also the files it read
        self._task: asyncio.Task[Any] | None = None

    def _stat(self, files: list[str]) -> dict[str, float]:
        out = {}
        for name in files:
            try:
                st = os.stat(name)
                out[name] = st.st_mtime_ns + st.st_size * 1e-3 + st.st_ino * 1e-9
            except OSError:
                out[name] = -1.0
        return out

    def reload(self) -> bool:
        """Loads the file now; returns True when a new rule set is serving."""
        files = self._watched or [str(self.path)]
        mtimes = self._stat(files)
        try:
            rules = self._load(self.path)
        except Exception as exc:  # a broken file, whatever the reason: keep the last good rules
            return self._rejected(exc, files, mtimes)
        return self._loaded(rules)

    async def reload_aside(self) -> bool:
        """``reload`` with the loading in a thread: a large rules file (a second for a few hundred
        slots, more for thousands) must not hold up every page of this worker while it loads."""
        files = self._watched or [str(self.path)]
        mtimes = self._stat(files)
        try:
            rules = await asyncio.to_thread(self._load, self.path)
        except Exception as exc:  # a broken file, whatever the reason: keep the last good rules
            return self._rejected(exc, files, mtimes)
        return self._loaded(rules)

    def _rejected(self, exc: Exception, files: list[str], mtimes: dict[str, float]) -> bool:
        self.status.error = str(exc)
        self.status.error_at = time.time()
        # also the files the rejected set read or looked for (a new template, a new include):
        # fixing or creating one of them must reload as an edit of the main file does
        tried = [name for name in getattr(exc, "files", []) if name not in mtimes]
        self._watched = [*files, *tried]
        self._mtimes = {**mtimes, **self._stat(tried)}
        if self.announce:
            log.error("rules %s rejected, %s:\n%s", self.path, self.meaning[0 if self.current is not None else 1], exc)
        return False

    def _loaded(self, rules: T) -> bool:
        # no local name holds the old rules past the swap: the resettle below must be able to collect them
        self.status.notes = self._notes_of(self.current, rules) if self.current is not None and self._notes_of else []
        self.current = rules
        self.status.files = self._files_of(rules)
        self._watched = list(self.status.files)
        self._mtimes = self._stat(self.status.files)
        self.status.version += 1
        self.status.loaded_at = time.time()
        self.status.error = None
        if self.announce:
            log.info("rules %s loaded (version %d)", self.path, self.status.version)
            for note in self.status.notes:
                log.info("rules %s: %s", self.path, note)
        if self.status.version > 1:
            heap.resettle_soon()  # a worker froze the old rules with its start-up: let them go
        return True

    def changed(self) -> bool:
        return self._stat(self._watched or [str(self.path)]) != self._mtimes

    async def watch(self) -> None:
        """Polls the rules files (cheap stats) and reloads when one changes."""
        while True:
            await asyncio.sleep(self.poll_s)
            if self.changed():
                await self._settle()
                await self.reload_aside()

    async def _settle(self) -> None:
        """Wait until the watched files stop changing (``settle_s`` without a change, a few times
        at most): a file caught while it is being written can be valid YAML with slots missing,
        and loading it would drop what those slots learned."""
        before = self._stat(self._watched or [str(self.path)])
        for _ in range(SETTLE_TRIES):
            await asyncio.sleep(self.settle_s)
            after = self._stat(self._watched or [str(self.path)])
            if after == before:
                return
            before = after

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self.watch())
        try:
            loop.add_signal_handler(signal.SIGHUP, self.reload)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (e.g. in tests) or no signals on this platform

    async def stop(self) -> None:
        await cancel_and_wait(self._task)


def ruleset_holder(path: str, announce: bool = True, meaning: tuple[str, str] = SERVING, *,
                   secrets: bool = True) -> "RulesHolder[Any]":
    """A holder of a rules file as ``load_rules`` reads it, watching the file and every file it includes;
    ``meaning``: what a rejected file means for its process (``SERVING``: the proxy's); ``secrets`` false:
    a process that checks no signature (the learner) needs none of the rules' secrets in its environment."""
    from slotwise.rules import load_rules
    from slotwise.rules.reload_notes import reload_notes

    def load(rules: str) -> Any:
        return load_rules(rules, secrets=secrets)

    return RulesHolder(path, load, files_of=lambda rs: [str(f) for f in rs.files], announce=announce,
                       notes_of=reload_notes, meaning=meaning)
