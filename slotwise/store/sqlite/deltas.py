"""What the last write of a profile did, in shared memory: the views a profile writer applied.

Why: a visitor's pages alternate between the server's workers, so half the time a worker finds
its cached copy one write behind (the change board, ``board``, shows it) and read the row back: a
query, on which the event loop gives the interpreter up, then the decode of the whole profile —
in the worker's event loop, and again in its writer's thread, whose own copy was one write behind
too. When that write was a profile writer's group of page views (``ViewRecord``: plain data), the
writer leaves here, beside the board, the views it applied and the versions around them; a worker
whose copy is at the version the write started from applies the same views to it instead.

What it holds: a file beside the database (``<db>-deltas``, mapped by every process that opens
it) of ``CELLS`` cells of ``CELL`` bytes; a profile's cell is its board slot's low bits. A cell:
``done`` (the version once committed; 0 while written), ``version`` (the write's), ``base`` (the
row's version the writer read and applied the views to), ``prev`` (what the profile's board slot
held before the write marked it), the payload's length and CRC, then the payload: msgpack of
``[profile id, [[now, category, product, price, in_stock], ...]]``.

When a reader may use a cell (``since``): the board slot holds the cell's version and ``done`` is
that version (the write committed: ``done`` is set after the ``COMMIT``; a write that failed or a
process killed before it leaves 0), the payload's profile id is the reader's, and both ``base``
and ``prev`` are the version of the reader's copy. ``prev``: the board slot held the reader's
version right before this write marked it, so nothing else was marked there in between (a login's
alias, an erase, another writer, a colliding profile) — the reader's (visitor → profile) is still
right and its copy plus these views is the row. Anything else: the reader asks the database, as
before. A cell is written under the database's write lock before the marks (``Database.transaction``);
a reader that copies one while it is rewritten sees ``done`` change (set to 0 first) or the CRC
fail. An erase zeroes the person's cells (their views are personal data).
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import Any, Sequence

import msgspec

from slotwise.profile import ViewRecord
from slotwise.store.sqlite.board import SLOTS, slot_of

CELLS = 1 << 16
"""Cells (16 MB of shared memory, sparse until used): profiles whose slots share the low bits share
a cell; the later write wins and the other reads the row back."""

CELL = 256
HEAD = struct.Struct("<QQQQII")  # done, version, base, prev, length, crc
PAYLOAD = CELL - HEAD.size
"""The payload's room: a view is ~60–100 bytes; a group of more views of one profile than fit is
not published (the readers ask the database)."""

_DONE = struct.Struct("<Q")
_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder().decode
_ZERO = bytes(CELL)
_PLAIN = frozenset({type(None), bool, int, float, str})


def _cell(slot: int) -> int:
    return (slot & (CELLS - 1)) * CELL


def _crc(version: int, base: int, prev: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack("<QQQ", version, base, prev)))


def pack_views(profile_id: str, updates: Sequence[Any]) -> bytes | None:
    """The payload for these updates, or None when one is not a ``ViewRecord`` of plain values (a
    closure, an integer beyond 64 bits, a lone surrogate) or they do not fit a cell."""
    rows = []
    for update in updates:
        if type(update) is not ViewRecord:
            return None
        row = [update.now, update.category, update.product, update.price, update.in_stock]
        if any(type(value) not in _PLAIN for value in row):  # exact types: msgpack gives them back as they are
            return None
        rows.append(row)
    try:
        payload = _pack([profile_id, rows])
    except (TypeError, ValueError, OverflowError, UnicodeEncodeError):
        return None
    return payload if len(payload) <= PAYLOAD else None


def unpack_views(payload: bytes) -> tuple[str, list[ViewRecord]]:
    profile_id, rows = _unpack(payload)
    return profile_id, [ViewRecord(*row) for row in rows]


class Deltas:
    """A process's view of ``<db>-deltas`` (see the module doc)."""

    def __init__(self, path: Path, owner: Path | None = None) -> None:
        size = CELLS * CELL
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            if owner is not None and os.geteuid() == 0:  # as the board: the database's owner keeps it
                st = os.stat(owner)
                os.fchown(fd, st.st_uid, st.st_gid)
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)  # zeros: done = 0, nothing to use
            self._map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self.path = path

    def write(self, slot: int, version: int, base: int, prev: int, payload: bytes) -> None:
        """Under the database's write lock, before the write marks the board (``done`` stays 0)."""
        at = _cell(slot)
        _DONE.pack_into(self._map, at, 0)  # first: a reader copying the old cell sees it change
        cell = HEAD.pack(0, version, base, prev, len(payload), _crc(version, base, prev, payload)) + payload
        self._map[at + 8:at + CELL] = cell[8:].ljust(CELL - 8, b"\0")  # the rest zeroed: nothing of the last one left

    def done(self, slot: int, version: int) -> None:
        """After the ``COMMIT``: the cell may be used (unless another write took it meanwhile)."""
        at = _cell(slot)
        if HEAD.unpack_from(self._map, at)[1] == version:
            _DONE.pack_into(self._map, at, version)

    def read(self, slot: int) -> tuple[int, int, int, bytes] | None:
        """(version, base, prev, payload) of the committed write the slot's cell holds, if any."""
        at = _cell(slot)
        done, version, base, prev, length, crc = HEAD.unpack_from(self._map, at)
        if not done or done != version or length > PAYLOAD:
            return None
        payload = self._map[at + HEAD.size:at + HEAD.size + length]
        if _DONE.unpack_from(self._map, at)[0] != version or _crc(version, base, prev, payload) != crc:
            return None  # rewritten while it was copied
        return version, base, prev, payload

    def clear(self, keys: Sequence[str]) -> None:
        for key in keys:
            at = _cell(slot_of(key))
            self._map[at:at + CELL] = _ZERO


_deltas: dict[str, Deltas] = {}
_deltas_lock = threading.Lock()


def deltas_for(db_path: Path) -> Deltas:
    """One mapping per database file and process (a forked worker keeps its parent's: it is shared)."""
    path = Path(str(db_path) + "-deltas")
    key = os.path.realpath(path)
    with _deltas_lock:
        deltas = _deltas.get(key)
        if deltas is None:
            deltas = _deltas[key] = Deltas(path, owner=Path(db_path))
        return deltas


assert CELLS <= SLOTS
