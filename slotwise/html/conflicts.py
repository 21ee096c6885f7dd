"""Deterministic overlap rules: first edit wins.

Edits are applied in list order, each to its matched elements in document
order. An application is refused (counts 0, changes nothing) when:

* its element was replaced/removed by an earlier application, or lies inside
  one (*target vanished*), or lies inside an element whose content an earlier
  application rewrote (reorder, select-option, textarea set-value);
* it would replace/remove an element, or rewrite its content, inside which an
  earlier application already changed something (it would silently undo it).

Insertions ``before``/``after`` an element sit outside it, so they never
conflict with that element's own replacement; start-tag edits
(set-attribute, input value, decision ids) on one element accumulate.
Both the splice and the tree path use this class, so both report the same
counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

OUTER, INNER, TAG, BEFORE, AFTER, PREPEND, APPEND = (
    "outer", "inner", "tag", "before", "after", "prepend", "append",
)

_CLAIMS = {
    "replace": (OUTER,),
    "remove": (OUTER,),
    "before": (BEFORE,),
    "after": (AFTER,),
    "prepend": (PREPEND,),
    "append": (APPEND,),
    "set-attribute": (TAG,),
    "reorder": (INNER,),
    "select-option": (INNER,),
}


MARK_ONLY = (TAG,)
"""What marking an element with a decision claims, when the edit cannot act on it (``rewriter._decide``)."""


def claims_for(action: str, tag: str, decision: bool) -> tuple[str, ...]:
    if action == "set-value":
        kinds: tuple[str, ...] = (TAG,) if tag == "input" else (INNER,)
    else:
        kinds = _CLAIMS[action]
    if decision and INNER in kinds:
        kinds = kinds + (TAG,)
    return kinds


class Claims:
    """What earlier applications changed; ``admit`` decides on the next one."""

    def __init__(self, same: Callable[[Any, Any], bool], inside: Callable[[Any, Any], bool]) -> None:
        self._same = same  # same(a, b): a and b are the same element
        self._inside = inside  # inside(a, b): b is strictly inside a
        self._taken: list[tuple[str, Any]] = []

    def _refused(self, kind: str, el: Any) -> bool:
        same, inside = self._same, self._inside
        for k, e in self._taken:
            if k == OUTER and (same(e, el) or inside(e, el)):
                return True
            if k == INNER and inside(e, el):
                return True
            if k == INNER and same(e, el) and kind in (INNER, OUTER, PREPEND, APPEND):
                return True
            if kind == OUTER and (inside(el, e) or (same(el, e) and k not in (BEFORE, AFTER))):
                return True
            if kind == INNER and (inside(el, e) or (same(el, e) and k in (PREPEND, APPEND))):
                return True
        return False

    def admit(self, kinds: tuple[str, ...], el: Any) -> bool:
        if any(self._refused(k, el) for k in kinds):
            return False
        self._taken.extend((k, el) for k in kinds)
        return True


def span_same(a: Any, b: Any) -> bool:
    return a.start == b.start


def span_inside(a: Any, b: Any) -> bool:
    return a.start < b.start and b.end <= a.end and b.start < a.end


def node_same(a: Any, b: Any) -> bool:
    return a.mem_id == b.mem_id


def node_inside(a: Any, b: Any) -> bool:
    target = a.mem_id
    p = b.parent
    while p is not None:
        if p.mem_id == target:
            return True
        p = p.parent
    return False
