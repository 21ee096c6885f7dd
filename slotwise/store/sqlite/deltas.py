"""What the last writes of a profile did, in shared memory: the page views profile writers applied.

Why: a visitor's pages alternate between the server's workers, so a worker often finds its cached
copy behind the row (the change board, ``board``, shows it) and read the row back: a query, on
which the event loop gives the interpreter up, then the decode of the whole profile — in the
worker's event loop, and again in its writer's thread, whose own copy was behind too. When those
writes were profile writers' groups of page views and sticky assignments (``ViewRecord``,
``AssignRecord``: plain data), each writer leaves here, beside the board, the records it applied and
the versions around them; a worker whose copy is at a version one of them started from applies the
same records to it instead.

What it holds: a file beside the database (``<db>-deltas``, mapped by every process that opens
it) of ``CELLS`` cells of ``CELL`` bytes; a profile's cell is its board slot's low bits. A cell:
``done`` (the last write's version once it committed; 0 while a write fills the cell), ``version``
(the last write's), the payload's length and CRC, then the payload, msgpack of
``[profile id, [[base, prev, version, [record, ...]], ...]]``, a record ``[0, now, category, product,
price, in_stock]`` (a view) or ``[1, [[slot, arm, decision id, ts, session start], ...]]`` (a page's
assignments):
the profile's last writes, oldest first, each with the row's version it was made on (``base``),
what the profile's board slot held right before it marked it (``prev``) and its own version. A
writer extends the chain when its write was made on the cell's last one, else starts it anew, and
drops the oldest writes to fit.

When a reader may use a cell (``views_since``): the board slot holds the cell's version and ``done``
is that version (the write committed: ``done`` is set after the ``COMMIT``; a write that failed or a
process killed before it leaves 0), the payload's profile id is the reader's, a write of the chain
has ``base`` equal to the version of the reader's copy, and from it on each write's ``prev`` is its
``base`` and each ``base`` the version before: the board slot was marked by these writes only since
the reader's version (no login's alias, erase, colliding profile or write by anything else in
between), so the reader's (visitor → profile) still holds and its copy plus these views, in order,
is the row. Anything else: the reader asks the database, as before. A cell is written under the
database's write lock before the marks (``Database.transaction``); a reader that copies one while
it is rewritten sees ``done`` change (set to 0 first) or the CRC fail. An erase zeroes the person's
cells (their views are personal data).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any, Sequence

import msgspec

from slotwise.profile import AssignRecord, ViewRecord
from slotwise.store.sqlite.board import SLOTS, one_per_process, shared_map, slot_of

CELLS = 1 << 15
"""Cells (16 MB of shared memory, allocated on disk when first mapped): profiles whose slots share the low bits share
a cell; the later write wins and the other reads the row back."""

CELL = 512
HEAD = struct.Struct("<QQII")  # done, version, length, crc
PAYLOAD = CELL - HEAD.size
"""The payload's room: a view is ~60–100 bytes, so a chain of ~3–5 writes."""

_DONE = struct.Struct("<Q")
Step = tuple[int, int, int, msgspec.Raw]  # base, prev, version, the views (read only for the writes replayed)
_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder(tuple[str, list[Step]]).decode
Record = ViewRecord | AssignRecord
_unpack_views = msgspec.msgpack.Decoder(list[Record]).decode
_ZERO = bytes(CELL)
_PLAIN = frozenset({type(None), bool, int, float, str})
_TEXT = frozenset({type(None), str})


def _cell(slot: int) -> int:
    return (slot & (CELLS - 1)) * CELL


def _crc(version: int, payload: bytes) -> int:
    return zlib.crc32(payload, version & 0xFFFFFFFF ^ version >> 32)


def publishable(updates: Sequence[Any]) -> bool:
    """Whether every update is a ``ViewRecord`` or an ``AssignRecord`` of exact plain types (not a
    closure, not a mapping for a price, not a ``str`` subclass): what msgpack gives back exactly as it
    was crosses a process."""
    return all(_view_data(update) if type(update) is ViewRecord else _assign_data(update) for update in updates)


def _view_data(view: ViewRecord) -> bool:
    return (type(view.now) is float and type(view.category) in _TEXT and type(view.product) in _TEXT
            and type(view.price) in _PLAIN and type(view.in_stock) in _PLAIN and type(view.currency) in _TEXT)


def _assign_data(update: Any) -> bool:
    return type(update) is AssignRecord and type(update.slots) is tuple and all(
        type(one) is tuple and len(one) == 5 and type(one[0]) is str and type(one[1]) is str
        and type(one[2]) is str and type(one[3]) is float and type(one[4]) is float for one in update.slots)


def chain(profile_id: str, last: bytes | None, base: int, prev: int, version: int,
          views: list[Record]) -> bytes | None:
    """A cell's payload for a write (``views`` made ``version`` from ``base``), after ``last``'s writes
    when the cell's last write was ``base`` (the caller checks), the oldest dropped to fit; None if
    the write alone does not fit or cannot be packed (an integer beyond 64 bits, a lone surrogate)."""
    steps: list[Step] = []
    if last is not None:
        last_id, steps = _unpack(last)
        if last_id != profile_id:
            steps = []
    try:
        steps.append((base, prev, version, msgspec.Raw(_pack(views))))
    except (TypeError, ValueError, OverflowError, UnicodeEncodeError):
        return None
    while steps:
        try:
            payload = _pack((profile_id, steps))
        except (TypeError, ValueError, OverflowError, UnicodeEncodeError):
            return None
        if len(payload) <= PAYLOAD:
            return payload
        steps = steps[1:]
    return None


def views_since(payload: bytes, profile_id: str, version: int, *, unmarked: bool = True) -> list[Record] | None:
    """The views (and assignments) that made the cell's last version from ``version``, in order; None
    when the chain does not start there, (``unmarked``) something else marked the board slot on the
    way, or a write's records are not this format's (a cell left by an older release: before the
    records carried their kind)."""
    read_id, steps = _unpack(payload)
    if read_id != profile_id:
        return None
    for start, step in enumerate(steps):
        if step[0] == version:
            break
    else:
        return None
    out: list[Record] = []
    at = version
    for base, prev, written, views in steps[start:]:
        if base != at or (unmarked and prev != base):
            return None
        try:
            out.extend(_unpack_views(views))
        except msgspec.DecodeError:  # ValidationError too: not records of this format
            return None
        at = written
    return out


class Deltas:
    """A process's view of ``<db>-deltas`` (see the module doc)."""

    def __init__(self, path: Path, owner: Path | None = None) -> None:
        self._map = shared_map(path, CELLS * CELL, owner)  # zeros: done = 0, nothing to use
        self.path = path

    def write(self, slot: int, version: int, payload: bytes) -> None:
        """Under the database's write lock, before the write marks the board (``done`` stays 0)."""
        at = _cell(slot)
        _DONE.pack_into(self._map, at, 0)  # first: a reader copying the last one sees it change
        cell = HEAD.pack(0, version, len(payload), _crc(version, payload)) + payload
        self._map[at + 8:at + CELL] = cell[8:].ljust(CELL - 8, b"\0")  # the rest zeroed: nothing of the last one left

    def done(self, slot: int, version: int) -> None:
        """After the ``COMMIT``: the cell may be used (unless another write took it meanwhile)."""
        at = _cell(slot)
        if HEAD.unpack_from(self._map, at)[1] == version:
            _DONE.pack_into(self._map, at, version)

    def read(self, slot: int) -> tuple[int, bytes] | None:
        """(version, payload) of the committed write the slot's cell holds last, if any."""
        at = _cell(slot)
        done, version, length, crc = HEAD.unpack_from(self._map, at)
        if not done or done != version or length > PAYLOAD:
            return None
        payload = self._map[at + HEAD.size:at + HEAD.size + length]
        if _DONE.unpack_from(self._map, at)[0] != version or _crc(version, payload) != crc:
            return None  # rewritten while it was copied
        return version, payload

    def clear(self, keys: Sequence[str]) -> None:
        for key in keys:
            at = _cell(slot_of(key))
            self._map[at:at + CELL] = _ZERO


def deltas_for(db_path: Path) -> Deltas:
    """One mapping per database file and process."""
    return one_per_process(db_path, "-deltas", Deltas)


assert CELLS <= SLOTS
