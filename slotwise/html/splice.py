"""Splice edits into the original bytes: everything else stays byte-identical.

Each change is an operation on a byte range of the original page (a
zero-width range for insertions). At one offset several insertions can meet
(``after`` the last child, ``append`` to its parent, ``before`` the next
element...); they are ordered exactly as applying the edits one by one to
the tree would order them, see :func:`Splicer.insert`.
"""

from __future__ import annotations

import functools
import html as _html
from typing import Sequence

from selectolax.lexbor import LexborHTMLParser

from .locate import LocateError, Locator
from .scan import ATTR, attr_unescape, normalise_text


class SpliceError(Exception):
    """Two operations overlap: a bug guard, the caller falls back to the tree."""


def encode_text(value: str, encoding: str) -> bytes:
    return value.encode(encoding, "xmlcharrefreplace")


def escape_attr(value: str) -> str:
    return _html.escape(value, quote=True)


KEPT_TAG_BYTES = 1024
"""Start tags up to this size have their rewrites kept (``rewrite_start_tag`` is a pure function)."""


def rewrite_start_tag(tag: bytes, changes: Sequence[tuple[str, str | None]], encoding: str) -> bytes:
    """Apply attribute changes (name -> value, None removes) to one start tag's bytes.

    Untouched attributes keep their bytes (quotes, case, entities); an
    attribute set to the value it already has is left alone.

    The same tag of the same page gets the same changes again and again (a
    returning visitor's sticky decision marks, the ``selected`` of a size
    everyone with that size gets): kept, keyed by all three arguments.
    """
    if len(tag) <= KEPT_TAG_BYTES:
        return _kept_rewrite(tag, tuple(changes), encoding)
    return _rewrite_start_tag(tag, changes, encoding)


@functools.lru_cache(maxsize=4096)
def _kept_rewrite(tag: bytes, changes: tuple[tuple[str, str | None], ...], encoding: str) -> bytes:
    return _rewrite_start_tag(tag, changes, encoding)


def _rewrite_start_tag(tag: bytes, changes: Sequence[tuple[str, str | None]], encoding: str) -> bytes:
    i = 1
    n = len(tag)
    while i < n and tag[i] not in b"\t\n\f\r />":
        i += 1
    head = tag[:i]
    stop = n - 1  # the ">"
    attrs: list[list[bytes | str]] = []  # [lead, text, lower name]
    while i < stop:
        m = ATTR.match(tag, i, stop)
        if m is None or m.end() == i:
            break
        attrs.append([m.group(1), tag[m.start(2) : m.end()], m.group(2).decode(encoding, "replace").lower()])
        i = m.end()
    tail = tag[i:]
    for name, value in changes:
        lname = name.lower()
        found = next((a for a in attrs if a[2] == lname), None)
        if value is None:
            if found is not None:
                attrs.remove(found)
            continue
        text = f'{name}="{escape_attr(value)}"' if value else name  # "" is the bare attribute
        new = text.encode(encoding, "xmlcharrefreplace")
        if found is not None:
            old = _attr_value(bytes(found[1]), encoding)
            if old != value:
                found[1] = new
        else:
            attrs.append([b" ", new, lname])
    out = [head]
    for lead, text, _ in attrs:
        out.append(lead if lead else b" ")
        out.append(text)  # type: ignore[arg-type]
    out.append(tail)
    return b"".join(out)  # type: ignore[arg-type]


def _attr_value(text: bytes, encoding: str) -> str | None:
    m = ATTR.match(text)
    if m is None or m.group(3) is None:
        return ""
    raw = m.group(4) if m.group(4) is not None else m.group(5) if m.group(5) is not None else m.group(6)
    return attr_unescape(normalise_text(raw.decode(encoding, "replace")))


def fragment_parser(fragment: str | bytes, context: str) -> LexborHTMLParser:
    """Parse a fragment as if inside ``context`` (``div`` when Lexbor does not know that tag)."""
    try:
        return LexborHTMLParser(fragment, is_fragment=True, fragment_tag=context or "div")
    except ValueError:
        return LexborHTMLParser(fragment, is_fragment=True, fragment_tag="div")


@functools.lru_cache(maxsize=512)
def _fragment_tops(fragment: str, context: str) -> tuple[tuple[int, int], ...] | None:
    """Start-tag spans of the fragment's top-level elements (in its UTF-8 bytes), or None."""
    data = fragment.encode("utf-8", "surrogatepass")
    parser = fragment_parser(data, context)
    locator = Locator(data, parser, "utf-8")
    tops = []
    node = parser.root
    try:
        while node is not None:
            if node.is_element_node:
                start = locator.start_of(node)
                tops.append((start, locator.tag_end(start)))
            node = node.next
    except LocateError:
        return None
    return tuple(tops)


def render_fragment(fragment: str, marks: Sequence[tuple[str, str]], context: str, encoding: str) -> bytes:
    """The fragment's bytes, with ``marks`` (the decision's attributes) on each top-level element."""
    if not marks or "<" not in fragment:
        return encode_text(fragment, encoding)
    tops = _fragment_tops(fragment, context)
    if tops is None:  # odd markup: let Lexbor normalise our own fragment, never the page
        parser = fragment_parser(fragment, context)
        node = parser.root
        while node is not None:
            if node.is_element_node:
                for name, value in marks:
                    node.attrs[name] = value
            node = node.next
        return encode_text(parser.html or "", encoding)
    data = fragment.encode("utf-8", "surrogatepass")
    out = []
    pos = 0
    change = list(marks)
    for start, tag_end in tops:
        out.append(data[pos:start])
        out.append(rewrite_start_tag(data[start:tag_end], change, "utf-8"))
        pos = tag_end
    out.append(data[pos:])
    joined = b"".join(out)
    if _is_utf8(encoding):
        return joined
    return encode_text(joined.decode("utf-8", "surrogatepass"), encoding)


@functools.lru_cache(maxsize=64)
def _is_utf8(encoding: str) -> bool:
    """Asked for every fragment with marks (a page's cards, its popup): the same few names, kept."""
    return encoding.replace("_", "-").lower() in ("utf-8", "utf8")


class Splicer:
    """Collects operations on the original bytes, then builds the new document."""

    def __init__(self, buf: bytes, encoding: str) -> None:
        self.buf = buf
        self.encoding = encoding
        self._ops: list[tuple[tuple[int, int, int, int, int], int, int, bytes]] = []
        self._tags: dict[int, tuple[int, list[tuple[str, str | None]]]] = {}
        self._seq = 0

    def _add(self, pos: int, end: int, side: int, anchor: int, rank: int, data: bytes) -> None:
        if pos == end and not data:  # nothing inserted (a popup's no-popup arm, ``choices.mark_only``): the page as is
            return
        self._seq += 1
        self._ops.append(((pos, side, anchor, rank, self._seq), pos, end, data))

    # Ordering at one offset: first what closes (append to the innermost element, then
    # after it, then append to its parent...), then what opens (prepend to the outermost,
    # before the next element, its own start tag...). That is the order one-by-one tree
    # edits produce.
    def before(self, start: int, data: bytes) -> None:
        self._add(start, start, 1, start, 0, data)

    def after(self, start: int, end: int, data: bytes) -> None:
        self._add(end, end, 0, -start, 1, data)

    def append(self, start: int, content_end: int, data: bytes) -> None:
        self._add(content_end, content_end, 0, -start, 0, data)

    def prepend(self, start: int, tag_end: int, data: bytes) -> None:
        self._add(tag_end, tag_end, 1, start, 2, data)

    def replace(self, start: int, end: int, data: bytes) -> None:
        self._add(start, end, 1, start, 1, data)

    def content(self, start: int, tag_end: int, content_end: int, data: bytes) -> None:
        self._add(tag_end, content_end, 1, start, 2, data)

    def attributes(self, start: int, tag_end: int, changes: list[tuple[str, str | None]]) -> None:
        if start in self._tags:
            self._tags[start][1].extend(changes)
        else:
            self._tags[start] = (tag_end, list(changes))

    def build(self) -> bytes:
        return self._join(self._prepared())

    def build_tailed(self, at: int, tail: bytes) -> tuple[bytes, bool] | None:
        """``build()`` with ``tail`` inserted at offset ``at`` of the original bytes, after everything
        else inserted there, and whether the page changed without it; one copy of the page instead of
        two. None (nothing built) when an operation ends past ``at`` — it could remove or move what is
        there, or add after it — or when the operations keep the page's length (whether they changed
        it would take a comparison): the caller then builds and inserts as two steps.

        The caller's ``at`` is where the page's last ``</body>`` starts: since no operation touches
        the bytes from there on, it is still the last one in the output, right after what was inserted
        at ``at`` — where ``inject_before_body_end`` would put ``tail`` in the built page."""
        ops = self._prepared()
        delta = 0
        for _, pos, end, data in ops:
            if end > at:
                return None
            delta += len(data) - (end - pos)
        if ops and delta == 0:
            return None
        return self._join([*ops, ((at, 9, 0, 0, 0), at, at, tail)]), bool(ops)

    def _prepared(self) -> list[tuple[tuple[int, int, int, int, int], int, int, bytes]]:
        """The operations in order, the start tags' rewrites among them (once)."""
        buf = self.buf
        for start, (tag_end, changes) in self._tags.items():
            new = rewrite_start_tag(buf[start:tag_end], changes, self.encoding)
            if new != buf[start:tag_end]:
                self._add(start, tag_end, 1, start, 1, new)
        self._tags = {}
        self._ops.sort(key=lambda op: op[0])
        return self._ops

    def _join(self, ops: list[tuple[tuple[int, int, int, int, int], int, int, bytes]]) -> bytes:
        view = memoryview(self.buf)  # the page's pieces are not copied before the one copy that joins them
        out: list[bytes | memoryview] = []
        cursor = 0
        for _, pos, end, data in ops:
            if pos < cursor:
                raise SpliceError(f"overlapping operations at byte {pos}")
            out.append(view[cursor:pos])
            out.append(data)
            cursor = end
        out.append(view[cursor:])
        return b"".join(out)

    @property
    def empty(self) -> bool:
        return not self._ops and not self._tags

