"""Logging for the service: one format, no query strings, no per-request lines unless asked.

Every line goes through one root handler in one format (``FORMAT``):
Slotwise's own, granian's and uvicorn's (their loggers hand their records to
the root instead of printing in their own formats) — in the proxy, its
workers and the demo store alike. One line per request (the server's access
log) only with ``--access-log``; httpx's own per-request line ("HTTP Request:
GET <url>") only at debug.

Query strings carry reset tokens, e-mail addresses and order keys; the
default log must not. A filter on the handler cuts ``?query`` off every URL
in every record (Slotwise's, httpx's, the server's), and the
``user:password@`` off every URL that names one (a feed's API key, a
``redis://:password@host`` state store), whoever wrote the line.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import IO, Any

QUERY = re.compile(r"((?:https?://|/)[^\s?#\"'<>]*)\?[^\s#\"'<>]*?(?=[)\],.;:]*(?:[\s#\"'<>]|$))")
"""A URL or a path followed by its query; the query (up to a space or a quote, less the punctuation of the
sentence around it: ``(/feed?page=1): ...`` keeps its ``):``) is cut."""

CREDENTIALS = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#@\"'<>]*@")
"""A URL's scheme and its ``user:password@`` (up to the first ``/``, ``?``, ``#`` or space): the credentials
are cut, the scheme and host kept."""

CHATTY = ("httpx", "httpcore")
SERVERS = ("_granian", "uvicorn", "uvicorn.error")
ACCESS = ("granian.access", "uvicorn.access")
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
DATEFMT = "%Y-%m-%d %H:%M:%S"
_SHORT_NAMES = {"_granian": "granian", "uvicorn.error": "uvicorn"}


def strip_queries(text: str) -> str:
    """``text`` with every URL's query and credentials cut (what the log may hold of a URL)."""
    if "@" in text and "://" in text:
        text = CREDENTIALS.sub(r"\1", text)
    return QUERY.sub(r"\1?…", text) if "?" in text else text


class NoQueries(logging.Filter):
    """Rewrites each record's message with the query strings and URLs' credentials cut off."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: leave it to the handler to report
            return True
        if "?" in message or "@" in message:
            record.msg, record.args = strip_queries(message), None
        return True


class ShortNames(logging.Filter):
    """Servers' internal logger names as a reader knows them (``_granian`` is granian)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = _SHORT_NAMES.get(record.name, record.name)
        record.name = name[1:] if name.startswith("_granian.") else name
        return True


def make_handler(stream: IO[str] | None = None) -> logging.Handler:
    """The one handler: ``FORMAT``, queries cut, to ``stream`` (standard error by default)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    handler.addFilter(NoQueries())
    handler.addFilter(ShortNames())
    handler._slotwise = True  # type: ignore[attr-defined]  # ours: replaced, never doubled, on a second call
    return handler


def _levels(level: str, access: bool) -> dict[str, str]:
    """Each logger's level: the servers' at ``level``, access lines only if asked, httpx at debug."""
    level = level.upper()
    levels = {name: level for name in SERVERS}
    levels.update({name: "INFO" if access else "WARNING" for name in ACCESS})
    levels.update({name: "DEBUG" if level == "DEBUG" else "WARNING" for name in CHATTY})
    return levels


def dict_config(level: str, *, access: bool = False) -> dict[str, Any]:
    """The same set-up as a ``logging.config.dictConfig`` dict, for granian and uvicorn to apply
    in their own processes (master and workers) before any of our code runs there."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"slotwise": {"()": "slotwise.logsetup.make_handler"}},
        "root": {"level": level.upper(), "handlers": ["slotwise"]},
        "loggers": {name: {"level": lvl, "handlers": [], "propagate": True}
                    for name, lvl in _levels(level, access).items()},
    }


def configure_logging(level: str, stream: IO[str] | None = None, *, access: bool = False) -> None:
    """The root logger at ``level`` with the one handler; the servers' loggers feed it.

    Called again (a worker after its server's own set-up), it replaces its
    handler instead of adding a second one; handlers it did not make stay.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_slotwise", False)]:
        root.removeHandler(old)
    root.addHandler(make_handler(stream))
    root.setLevel(level.upper())
    for name, lvl in _levels(level, access).items():
        logger = logging.getLogger(name)
        logger.setLevel(lvl)
        if name in SERVERS or name in ACCESS:
            logger.handlers.clear()  # a server's own handler would print the line a second time
            logger.propagate = True
