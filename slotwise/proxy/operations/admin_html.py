"""HTML pieces every part of the admin page uses, so that each reads the same at any width."""

from __future__ import annotations


def scrolled(table: str) -> str:
    """A table that scrolls sideways inside its own box on a narrow screen (a phone), instead of
    pushing the whole page wider than the window: the buttons in its last column stay reachable."""
    return f"<div class=scroll>{table}</div>"
