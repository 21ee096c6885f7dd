"""The rewriter API the rules produce edits for, from ``slotwise.html``.

Until that module is importable (it is being written alongside), a
compatible stand-in keeps the rules package usable and testable: the same
``Edit`` fields, the same ``ACTIONS``, and selectors checked by lexbor (the
engine the rewriter uses). Once ``slotwise.html`` imports, its versions win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

try:
    from slotwise.html import ACTIONS, Edit, validate_selector  # type: ignore[attr-defined]

    REAL_REWRITER = True
except ImportError:  # the rewriter has not landed yet
    REAL_REWRITER = False

    ACTIONS = (  # type: ignore[assignment]
        "replace", "append", "prepend", "before", "after",
        "set-attribute", "remove", "reorder", "select-option", "set-value",
    )

    @dataclass(frozen=True)
    class Edit:  # type: ignore[no-redef]
        """Stand-in for ``slotwise.html.Edit`` (same fields, same defaults)."""

        slot: str
        selector: str
        action: str
        html: str = ""
        attributes: Mapping[str, str | None] = field(default_factory=dict)
        order: Sequence[str] = ()
        key: str = "data-category"
        value: str = ""
        decision_id: str | None = None
        limit: int | None = None

    def validate_selector(selector: str) -> str | None:  # type: ignore[misc]
        """An error message for a selector lexbor cannot parse, else None."""
        from selectolax.lexbor import LexborHTMLParser

        try:
            LexborHTMLParser("<html></html>").css(selector)
        except Exception as exc:  # selectolax raises its own error type
            return f"invalid CSS selector {selector!r}: {exc}"
        return None


def count_matches(html: bytes, selectors: Sequence[str]) -> list[int]:
    """How many elements each selector matches in a page (for ``rules check --url``)."""
    try:
        from slotwise.html import count_matches as real  # type: ignore[attr-defined]
    except ImportError:
        real = None
    if real is not None:
        result = real(html, list(selectors))
        if isinstance(result, Mapping):
            return [int(result.get(sel, 0)) for sel in selectors]
        return [int(n) for n in result]
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    return [len(tree.css(sel)) for sel in selectors]


__all__ = ["ACTIONS", "Edit", "REAL_REWRITER", "count_matches", "validate_selector"]
