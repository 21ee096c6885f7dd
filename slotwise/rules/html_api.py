"""The rewriter API the rules produce edits for (``slotwise.html``)."""

from __future__ import annotations

from typing import Mapping, Sequence

from slotwise.html import ACTIONS, Edit, validate_selector
from slotwise.html.edits import ItemKey


def count_matches(html: bytes, selectors: Sequence[str]) -> list[int]:
    """How many elements each selector matches in a page (for ``rules check --url``)."""
    from slotwise.html import count_matches as real

    result: Mapping[str, int] = real(html, list(selectors))
    return [int(result.get(sel, 0)) for sel in selectors]


__all__ = ["ACTIONS", "Edit", "ItemKey", "count_matches", "validate_selector"]
