"""The fallback path: edit the Lexbor tree, then serialise the whole document.

Correct for any markup Lexbor can parse, but the serialiser normalises bytes
nobody edited (entities, ``<use/>``, attribute quotes), so the splice path is
preferred and this one is only used when the original bytes could not be
mapped with certainty.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .edits import Edit, decision_marks
from .splice import fragment_parser
from .targets import Target, choice_marks, chosen_option


def _fragment_nodes(html: str, context: str, marks: list[tuple[str, str]]) -> tuple[LexborHTMLParser, list[LexborNode]]:
    parser = fragment_parser(html, context)
    nodes = []
    node = parser.root
    while node is not None:
        if node.is_element_node:
            for name, value in marks:
                node.attrs[name] = value
        nodes.append(node)
        node = node.next
    return parser, nodes


def apply(edit: Edit, target: Target, acts: bool = True) -> None:
    """Apply one admitted edit to one node of the tree (``acts`` False: only mark it with the decision)."""
    node: LexborNode = target.ref
    a = edit.action
    if not acts:
        _mark(node, edit)
        return
    if a in ("replace", "before", "after"):
        _, frag = _fragment_nodes(edit.html, target.parent_tag, decision_marks(edit))
        if a == "after":
            anchor = node.next
            for f in frag:
                if anchor is None:
                    parent = node.parent
                    if parent is not None:
                        parent.insert_child(f)
                else:
                    anchor.insert_before(f)
        else:
            for f in frag:
                node.insert_before(f)
        if a == "replace":
            node.decompose()
        return
    if a in ("append", "prepend"):
        _, frag = _fragment_nodes(edit.html, target.tag, decision_marks(edit))
        first = node.first_child
        for f in frag:
            if a == "prepend" and first is not None:
                first.insert_before(f)
            else:
                node.insert_child(f)
        return
    if a == "remove":
        node.decompose()
        return
    if a == "set-attribute":
        for name, value in edit.attributes.items():
            if value is None:
                if name in node.attributes:
                    del node.attrs[name]
            else:
                node.attrs[name] = value
        _mark(node, edit)
        return
    _mark(node, edit)
    if a == "reorder":
        _reorder(node, target, edit.order)
    elif target.options and a in ("select-option", "set-value"):
        chosen = chosen_option(target, edit.value, edit.names)
        for i, opt in enumerate(target.options):
            onode: LexborNode = opt.ref
            for name, value in choice_marks(opt.tag, edit.attributes, i == chosen, opt.selected):
                if value is None:
                    if name in onode.attributes:
                        del onode.attrs[name]
                else:
                    onode.attrs[name] = value
    elif a == "set-value":
        if target.tag == "input":
            node.attrs["value"] = edit.value
        else:  # textarea: its text content
            child = node.first_child
            while child is not None:
                nxt = child.next
                child.decompose()
                child = nxt
            if edit.value:
                node.insert_child(edit.value)


def _mark(node: LexborNode, edit: Edit) -> None:
    for name, value in decision_marks(edit):
        node.attrs[name] = value


def new_order(keys: list[str | None], order: list[str] | tuple[str, ...]) -> list[int]:
    """Indexes of children in their new order: keys in ``order`` first, the rest after."""
    rank = {}
    for i, k in enumerate(order):
        rank.setdefault(k, i)
    first = sorted(
        (i for i, k in enumerate(keys) if k is not None and k in rank),
        key=lambda i: (rank[keys[i]], i),  # type: ignore[index]
    )
    chosen = set(first)
    return first + [i for i in range(len(keys)) if i not in chosen]


def _reorder(node: LexborNode, target: Target, order: tuple[str, ...] | list[str]) -> None:
    kids = [c.ref for c in target.children]
    perm = new_order([c.key for c in target.children], order)
    if perm == list(range(len(kids))):
        return
    parser = node.parser
    markers = []
    for kid in kids:
        marker = parser.create_node("sw-slot")
        kid.insert_before(marker, move=True)
        markers.append(marker)
    for marker, i in zip(markers, perm):
        marker.insert_before(kids[i], move=True)
    for marker in markers:
        marker.decompose()
