"""E-mail addresses hashed on arrival, wherever a browser puts them in an event.

``identify`` and ``signup`` name an address in ``email``; a capture's form
values, a custom event's props, a page's URL or title may hold one anywhere.
Before anything is stored, an ``email`` prop becomes ``email_hash`` and any
address inside a string (also ``%40``-encoded, as in a query string) becomes
``email:<sha256>`` — the same hash the profile and the aliases use.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from slotwise.profile import hash_email

ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def scrub_text(text: str) -> str:
    """``text`` with every e-mail address in it replaced by ``email:<sha256>``."""
    if "@" not in text and "%40" not in text:
        return text
    return ADDRESS.sub(lambda m: f"email:{hash_email(unquote(m.group(0)))}", text)


def scrub(value: Any) -> Any:
    """A JSON-like value with every address hashed (``email`` keys become ``email_hash``)."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key == "email" and isinstance(item, str):
                out["email_hash"] = hash_email(item)
            else:
                out[scrub_text(key) if isinstance(key, str) else key] = scrub(item)
        return out
    return value
