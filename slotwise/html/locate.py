"""Map Lexbor nodes to byte spans of the original document, and verify the mapping.

A matched node is identified by its ordinal among elements of the same tag
name (tree order == source order for well-formed markup). The mapping for a
name is trusted only if the source has exactly as many start tags of that
name as the tree has elements (parser-inserted elements, adoption-agency
clones, stray ``</p>`` break that), and a target's start tag must carry the
very attributes Lexbor reports. The element's end is found by replaying the
end tags after its last descendant against the tree's open-element chain, so
optional end tags (``li``, ``p``, ``option``) and implied closes need no
table of HTML's rules. Anything that does not add up returns ``None`` and
the caller falls back to editing the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .scan import (
    IMPLIED, RAW_TEXT, TAG, TOKEN, VOID, Masked, balance_pattern, is_self_closing, parse_attributes,
)

#: elements whose end tag is required and whose nesting the parser keeps as written, so
#: counting <x ...> and </x> finds the end (checked against the tree's next element).
BALANCED = frozenset(
    {"div", "section", "article", "aside", "nav", "main", "header", "footer", "ul", "ol",
     "select", "span", "figure", "blockquote", "fieldset", "details", "label", "picture",
     "video", "audio", "table", "dl", "menu", "address", "hgroup", "search", "em", "strong"}
)
_HTML_INTEGRATION = frozenset(
    {"foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml"}
)


@dataclass(frozen=True, slots=True)
class Span:
    """Where one element is in the original bytes."""

    start: int  # the "<" of its start tag
    tag_end: int  # just past the start tag (== where its content starts)
    content_end: int  # where its end tag starts (== end when it has none)
    end: int  # just past its end tag, or where the parser implicitly closed it
    tag: str  # lower-case tag name
    kind: str  # "normal" | "void" | "raw" (script/style/textarea/title...) | "empty" (<x/> in SVG)


def tag_of(node: LexborNode) -> str:
    return (node.tag or "").lower()


def element_children(node: LexborNode) -> list[LexborNode]:
    out = []
    child = node.first_child
    while child is not None:
        if child.is_element_node:
            out.append(child)
        child = child.next
    return out


def _last_element_child(node: LexborNode) -> LexborNode | None:
    child = node.last_child
    while child is not None and not child.is_element_node:
        child = child.prev
    return child


def _first_element_child(node: LexborNode) -> LexborNode | None:
    child = node.first_child
    while child is not None and not child.is_element_node:
        child = child.next
    return child


def _next_after_subtree(node: LexborNode) -> LexborNode | None:
    n: LexborNode | None = node
    while n is not None:
        s = n.next
        while s is not None and not s.is_element_node:
            s = s.next
        if s is not None:
            return s
        n = n.parent
    return None


def _ancestors(node: LexborNode) -> list[LexborNode]:
    out = []
    p = node.parent
    while p is not None and p.is_element_node:
        out.append(p)
        p = p.parent
    return out


def _is_foreign(node: LexborNode) -> bool:
    """Whether ``node`` is an SVG/MathML element (where ``<x/>`` really is empty)."""
    n: LexborNode | None = node
    first = True
    while n is not None and n.is_element_node:
        t = tag_of(n)
        if t in ("svg", "math"):
            return True
        if not first and t in _HTML_INTEGRATION:
            return False
        if t in ("body", "html", "head"):
            return False
        first = False
        n = n.parent
    return False


def same_attributes(src: dict[str, str | None], node_attrs: dict[str, Any]) -> bool:
    if len(src) != len(node_attrs):
        return False
    for k, v in node_attrs.items():
        k = k.lower()
        if k not in src:
            return False
        if (src[k] or "") != (v or ""):
            return False
    return True


class LocateError(Exception):
    """The node cannot be mapped to the original bytes with certainty."""


class Locator:
    """Per-document mapping from nodes to :class:`Span` (lazy, memoised per tag name)."""

    def __init__(self, buf: bytes, parser: LexborHTMLParser, encoding: str) -> None:
        self.buf = buf
        self.parser = parser
        self.encoding = encoding
        self.masked = Masked(buf)
        self._names: dict[str, tuple[dict[int, int], list[int]] | None] = {}

    # -- start tags ---------------------------------------------------------
    def index(self, names: set[str]) -> None:
        """Map the start tags of several names at once: one pass over the page, one tree walk."""
        names = {n for n in names if n not in self._names and n.isascii()}
        if len(names) < 2:
            return
        ordered = sorted(names)
        tree: dict[str, list[int]] = {n: [] for n in ordered}
        for node in self.parser.css(", ".join(_css_ident(n) for n in ordered)):
            lst = tree.get(tag_of(node))
            if lst is not None:
                lst.append(node.mem_id)
        found = self.masked.start_tags_of(ordered)
        for n in ordered:
            ids, positions = tree[n], found[n]
            if len(ids) != len(positions) or len(set(ids)) != len(ids):
                self._names[n] = None
            else:
                self._names[n] = ({m: i for i, m in enumerate(ids)}, positions)

    def start_of(self, node: LexborNode) -> int:
        name = tag_of(node)
        if name not in self._names:
            tree = self.parser.tags(name)
            positions = self.masked.start_tags(name)
            if len(tree) != len(positions):
                self._names[name] = None
            else:
                self._names[name] = ({n.mem_id: i for i, n in enumerate(tree)}, positions)
        entry = self._names[name]
        if entry is None:
            raise LocateError(f"<{name}> start tags and elements differ in number")
        i = entry[0].get(node.mem_id)
        if i is None:
            raise LocateError(f"<{name}> element not in document order list")
        return entry[1][i]

    def tag_end(self, start: int) -> int:
        m = TAG.match(self.masked.data, start)
        if m is None:
            raise LocateError("unterminated start tag")
        # a "<!--" or "<script" inside one of its attribute values was masked as if real
        u = TAG.match(self.masked.lower, start)
        if u is None or u.end() != m.end():
            raise LocateError("start tag overlaps a masked region")
        return m.end()

    # -- whole elements -----------------------------------------------------
    def span(self, node: LexborNode, verify: bool = True) -> Span:
        """The verified span of ``node``; raises :class:`LocateError`."""
        name = tag_of(node)
        start = self.start_of(node)
        tag_end = self.tag_end(start)
        if verify:
            src = parse_attributes(self.buf, start, tag_end, self.encoding)
            if not same_attributes(src, node.attributes):
                raise LocateError(f"<{name}> attributes differ from the tree's")
        raw = self.masked.raw.get(start)
        if raw is not None and name in RAW_TEXT:
            return Span(start, tag_end, raw[0], raw[1], name, "raw")
        if name in VOID:
            return Span(start, tag_end, tag_end, tag_end, name, "void")
        if (
            node.first_child is None
            and is_self_closing(self.buf, start, tag_end)
            and _is_foreign(node)
        ):
            return Span(start, tag_end, tag_end, tag_end, name, "empty")
        extent = self._balanced(node, name, tag_end, None) if name in BALANCED else None
        if extent is None:
            extent = self._extent(node, name, tag_end)
        return Span(start, tag_end, extent[0], extent[1], name, "normal")

    def _balanced(self, node: LexborNode | None, name: str, tag_end: int, bound: int | None) -> tuple[int, int] | None:
        """Count ``<name`` / ``</name>`` from the start tag; None if they do not balance.

        With a node, the first start tag after the end must be the tree's next
        element (same name and attributes); with a ``bound`` (reorder
        children) the end must fall before it.
        """
        data = self.masked.data
        depth = 1
        for m in balance_pattern(name).finditer(data, tag_end, len(data) if bound is None else bound):
            if m.group(1):
                depth -= 1
                if depth == 0:
                    t = TAG.match(data, m.start())
                    if t is None:
                        return None
                    if node is not None and not self._next_is(node, t.end()):
                        return None
                    return m.start(), t.end()
            else:
                depth += 1
        return None

    def _next_is(self, node: LexborNode, pos: int) -> bool:
        """Whether the first start tag at/after ``pos`` is the tree's next element after ``node``."""
        data = self.masked.data
        while True:
            m = TOKEN.search(data, pos)
            if m is None:
                return _next_after_subtree(node) is None
            t = TAG.match(data, m.start())
            if t is None:
                return False
            if not m.group(1):
                break
            pos = t.end()
        nxt = _next_after_subtree(node)
        name = m.group(2).decode("latin-1")
        while nxt is not None and tag_of(nxt) != name and tag_of(nxt) in IMPLIED:
            nxt = _first_element_child(nxt) or _next_after_subtree(nxt)
        if nxt is None or tag_of(nxt) != name:
            return False
        src = parse_attributes(self.buf, m.start(), t.end(), self.encoding)
        return same_attributes(src, nxt.attributes)

    def children(self, node: LexborNode, span: Span) -> list[tuple[int, int]]:
        """Byte ranges of ``node``'s element children; text between them is not theirs."""
        kids = element_children(node)
        starts = [self.start_of(k) for k in kids]
        bounds = starts[1:] + [span.content_end]
        data = self.masked.data
        out = []
        pos = span.tag_end
        for kid, start, bound in zip(kids, starts, bounds):
            if start < pos or bound < start or TOKEN.search(data, pos, start) and _has_start_tag(data, pos, start):
                raise LocateError("unexpected markup between children")
            name = tag_of(kid)
            tag_end = self.tag_end(start)
            if name in VOID or (start in self.masked.raw and name in RAW_TEXT):
                end = tag_end if name in VOID else self.masked.raw[start][1]
            else:
                ext = self._balanced(None, name, tag_end, bound)
                end = bound if ext is None else ext[1]
            out.append((start, end))
            pos = end
        if _has_start_tag(data, pos, span.content_end):
            raise LocateError("unexpected markup after the last child")
        return out

    def _extent(self, node: LexborNode, name: str, tag_end: int) -> tuple[int, int]:
        """Replay the end tags after the last descendant: where does ``node`` close?"""
        data = self.masked.data
        dk = node
        c = _last_element_child(node)
        while c is not None:
            dk = c
            c = _last_element_child(c)
        chain: list[str] = []
        if dk is node:
            pos = tag_end
            chain.append(name)
        else:
            dk_name = tag_of(dk)
            dk_start = self.start_of(dk)
            dk_end = self.tag_end(dk_start)
            raw = self.masked.raw.get(dk_start)
            if raw is not None and dk_name in RAW_TEXT:
                pos = raw[1]
            elif dk_name in VOID or (
                dk.first_child is None
                and is_self_closing(self.buf, dk_start, dk_end)
                and _is_foreign(dk)
            ):
                pos = dk_end
            else:
                pos = dk_end
                chain.append(dk_name)
            p = dk.parent
            while p is not None:
                chain.append(tag_of(p))
                if p.mem_id == node.mem_id:
                    break
                p = p.parent
            else:
                raise LocateError("descendant outside its ancestor")
        last = len(chain) - 1
        outer: set[str] | None = None
        search = TOKEN.search
        while True:
            m = search(data, pos)
            if m is None:
                return len(data), len(data)
            if not m.group(1):  # the next start tag: must be the tree's next element
                if m.group(2).decode("latin-1") not in self._next_names(node):
                    raise LocateError(f"<{name}>: next start tag is not the tree's next element")
                return m.start(), m.start()
            t = TAG.match(data, m.start())
            if t is None:
                raise LocateError("unterminated end tag")
            ename = m.group(2).decode("latin-1")
            if ename in chain:
                idx = chain.index(ename)
                if idx == last:
                    return m.start(), t.end()
                del chain[: idx + 1]
                last = len(chain) - 1
                pos = t.end()
                continue
            if outer is None:
                outer = {tag_of(a) for a in _ancestors(node)}
            if ename in outer:
                return m.start(), m.start()
            pos = t.end()  # a stray end tag the parser ignores

    @staticmethod
    def _next_names(node: LexborNode) -> set[str]:
        names: set[str] = set()
        n = _next_after_subtree(node)
        while n is not None:
            t = tag_of(n)
            names.add(t)
            if t not in IMPLIED:
                break
            n = _first_element_child(n) or _next_after_subtree(n)
        return names


def _has_start_tag(data: bytes, pos: int, end: int) -> bool:
    while True:
        m = TOKEN.search(data, pos, end)
        if m is None:
            return False
        if not m.group(1):
            return True
        t = TAG.match(data, m.start(), end)
        if t is None:
            return False
        pos = t.end()


def _css_ident(name: str) -> str:
    """A tag name as a CSS type selector (escape everything but [a-z0-9-_])."""
    return "".join(c if c.isalnum() or c in "-_" else "\\" + c for c in name)
