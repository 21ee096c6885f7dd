"""Where a process's resident memory lies, by kind of mapping (``/proc/<pid>/smaps``).

Why: RSS alone cannot tell the allocator's arenas from SQLite's shared files
or the interpreter's own arenas; ``worker_memory --smaps`` prints these kinds
for each worker at every sample, so a step in RSS is attributed to a mapping.

Kinds: ``heap`` (glibc malloc's main arena, ``[heap]``), ``arena`` (its
thread arenas: a 64 MB-aligned reservation, the part in use readable), ``anon``
(other anonymous mappings: Python's obmalloc arenas of 1 MB, thread stacks,
large ``mmap`` allocations), ``file:<name>`` for the store's own files (``-deltas``,
``-board``, ``-shm``, the database), ``lib`` (shared objects and other
files), ``other`` (stack, vdso...). Each with Rss and its Private_Dirty part
(what this process wrote itself: not shared with another worker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$")
STORE_TAILS = ("-deltas", "-board", "-shm", "-wal")
WINDOW = 1 << 26
"""64 MB: glibc's thread arenas are reserved 64 MB-aligned; adjacent anonymous mappings that the kernel merges
or splits between two samples stay in one window."""


@dataclass
class Mapping:
    start: int
    size_kb: int
    name: str
    perms: str = ""
    kb: dict[str, int] = field(default_factory=dict)
    arena: bool = False  # glibc's thread arena: 64 MB-aligned, the rest of its 64 MB reserved (---p) right after


def mappings(pid: int) -> list[Mapping]:
    """The process's mappings with their smaps counters (kB); empty if it is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return []
    found: list[Mapping] = []
    for line in text.splitlines():
        header = HEADER.match(line)
        if header:
            start, end = int(header.group(1), 16), int(header.group(2), 16)
            found.append(Mapping(start, (end - start) // 1024, header.group(4).strip(), header.group(3)))
        elif found and line.endswith(" kB"):
            key, value = line.split(":", 1)
            found[-1].kb[key] = int(value.split()[0])
    for m, after in zip(found, found[1:]):
        m.arena = (not m.name and not after.name and m.start % WINDOW == 0 and after.perms.startswith("---")
                   and m.start + m.size_kb * 1024 == after.start and after.start + after.size_kb * 1024 == m.start + WINDOW)
    return found


def kind(mapping: Mapping) -> str:
    name = mapping.name
    if name == "[heap]":
        return "heap"
    if not name:
        return "arena" if mapping.arena else "anon"
    if name.startswith("/"):
        tail = next((t for t in STORE_TAILS if name.endswith(t)), None)
        if tail:
            return f"file:{tail}"
        if name.endswith((".db", ".sqlite", ".sqlite3")):
            return "file:db"
        return "lib"
    return "other"


def by_kind(pid: int) -> dict[str, tuple[int, int]]:
    """kind -> (Rss kB, Private_Dirty kB)."""
    totals: dict[str, tuple[int, int]] = {}
    for m in mappings(pid):
        rss, dirty = totals.get(kind(m), (0, 0))
        totals[kind(m)] = (rss + m.kb.get("Rss", 0), dirty + m.kb.get("Private_Dirty", 0))
    return totals


def line(pid: int) -> str:
    """One line for a sample: each kind's Rss in MB (its private dirty part in brackets when it differs)."""
    parts = []
    for name, (rss, dirty) in sorted(by_kind(pid).items(), key=lambda kv: -kv[1][0]):
        if rss >= 512:
            parts.append(f"{name} {rss / 1024:.1f}" + (f" ({dirty / 1024:.1f})" if abs(rss - dirty) >= 512 else ""))
    return ", ".join(parts)


def by_window(pid: int) -> dict[tuple[int, str], int]:
    """(start of the 64 MB window, mapping's name) -> Rss kB: comparable between samples."""
    found: dict[tuple[int, str], int] = {}
    for m in mappings(pid):
        key = (m.start & ~(WINDOW - 1), m.name)
        found[key] = found.get(key, 0) + m.kb.get("Rss", 0)
    return found


def anon_regions(pid: int) -> list[tuple[int, int, int]]:
    """Anonymous mappings as (start, size kB, Rss kB), the largest resident first: 64 MB-aligned
    reservations are glibc's thread arenas; 256 KB or 1 MB ones Python's obmalloc arenas."""
    return sorted(((m.start, m.size_kb, m.kb.get("Rss", 0)) for m in mappings(pid)
                   if kind(m) in ("anon", "arena", "heap")),
                  key=lambda r: -r[2])
