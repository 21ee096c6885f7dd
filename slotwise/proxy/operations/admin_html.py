"""HTML pieces every part of the admin page uses, so that each reads the same at any width."""

from __future__ import annotations

import time


def scrolled(table: str) -> str:
    """A table that scrolls sideways inside its own box on a narrow screen (a phone), instead of
    pushing the whole page wider than the window: the buttons in its last column stay reachable."""
    return f"<div class=scroll>{table}</div>"


def utc_text(ts: float, seconds: bool = True) -> str:
    """A time on the admin page: always UTC, and saying so, as its charts, kill switches and restarts do,
    so a server in another time zone never shows two clocks side by side."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC", time.gmtime(ts))
