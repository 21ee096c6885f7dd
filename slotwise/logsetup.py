"""Logging for the service: no query strings, no per-request HTTP client lines at info.

Query strings carry reset tokens, e-mail addresses and order keys; the
default log must not. A filter on the root handlers cuts ``?query`` off
every URL in every record (Slotwise's, httpx's, the server's), and httpx's
own per-request line ("HTTP Request: GET <url>") is only logged at debug.
"""

from __future__ import annotations

import logging
import re
from typing import IO

QUERY = re.compile(r"((?:https?://|/)[^\s?#\"'<>]*)\?[^\s#\"'<>]*")
"""A URL or a path followed by its query; the query (up to a space or a quote) is cut."""

CHATTY = ("httpx", "httpcore")


def strip_queries(text: str) -> str:
    return QUERY.sub(r"\1?…", text) if "?" in text else text


class NoQueries(logging.Filter):
    """Rewrites each record's message with the query strings cut off."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: leave it to the handler to report
            return True
        if "?" in message:
            record.msg, record.args = strip_queries(message), None
        return True


def configure_logging(level: str, stream: IO[str] | None = None) -> None:
    """The root logger at ``level`` with query stripping on every handler; httpx quiet unless debug."""
    logging.basicConfig(level=level.upper(), stream=stream)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level.lower() == "debug" else logging.WARNING)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, NoQueries) for f in handler.filters):
            handler.addFilter(NoQueries())
