"""Helpers shared by the sub-commands: settings from flags, opening the store."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from slotwise.proxy.config import Settings
from slotwise.store import Store, open_store


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None, help="data directory of the embedded store (env SLOTWISE_DATA)")
    parser.add_argument("--store", default=None, help="store URL, e.g. redis://127.0.0.1:6379/0 (env SLOTWISE_STORE)")


def missing_store(args: argparse.Namespace) -> str | None:
    """Why there is nothing to read, for the commands that only read: an embedded store whose file
    does not exist (a mistyped ``--data``, or run from another directory) — opening it would create
    an empty one and report "no decisions" instead of the mistake."""
    settings = Settings.from_env(data=getattr(args, "data", None), store=getattr(args, "store", None))
    path = embedded_store_path(settings)
    if path is None or path.exists():
        return None
    return (f"no Slotwise data at {path} (--data / SLOTWISE_DATA, or --store; the directory "
            "`slotwise serve` or `slotwise demo` runs with, .slotwise by default)")


def new_store(args: argparse.Namespace) -> str | None:
    """Where a command that writes would make a new, empty embedded store (a mistyped ``--data``, or a
    first import on a fresh machine), for it to say so: the server keeps reading the store it was given."""
    settings = Settings.from_env(data=getattr(args, "data", None), store=getattr(args, "store", None))
    path = embedded_store_path(settings)
    if path is None or path.exists():
        return None
    return f"--store {settings.store}" if settings.store.startswith("sqlite:") else f"--data {settings.data}"


def embedded_store_path(settings: Settings) -> Path | None:
    """The SQLite file the settings name (``--store sqlite:PATH`` or ``--data``), None for Redis."""
    if settings.store.startswith(("redis://", "rediss://", "unix://")):
        return None
    return Path(settings.store[len("sqlite:"):]) if settings.store.startswith("sqlite:") else settings.data_dir / "slotwise.db"


def store_from_args(args: argparse.Namespace) -> tuple[Settings, Store]:
    settings = Settings.from_env(data=getattr(args, "data", None), store=getattr(args, "store", None))
    return settings, open_store(settings.store, settings.data)


def run_on_store(command: str, work: Coroutine[Any, Any, int], *, failed: str, after: str) -> int:
    """Run a one-shot command's ``work`` on the store, for import, visitor and report alike: a setting
    that is not one (``ConfigError``) is status 2, a store that fails (``StoreError``, Redis away) status
    3 — one line each, never a traceback nor the proxy's outage line. ``failed`` names what failed
    (``slotwise import coupons: FILE``), ``after`` what that leaves done and what to do; 3 and not 1,
    which those commands use for "some rows rejected" or "nothing held": a job must see the failure."""
    from slotwise.proxy.config import ConfigError
    from slotwise.store.base import StoreError
    from slotwise.store.outage import OUTAGE

    try:
        with OUTAGE.told_by_caller():
            return asyncio.run(work)
    except ConfigError as exc:  # a --store or SLOTWISE_* value that is not one
        print(f"slotwise {command}: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"{failed}: the store failed ({exc}); {after}", file=sys.stderr)
        return 3


def positive_int(text: str) -> int:
    """An argparse type for a count that must be at least 1 (``--batch 0`` wrote a transaction per row)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str, now: float | None = None) -> float:
    """``7d``/``12h``/``30m`` ago, or an ISO 8601 date/time (UTC when no zone)."""
    now = time.time() if now is None else now
    match = _DURATION.match(value.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--since {value!r}: expected a duration like 7d, 12h, 30m or an ISO date like 2026-11-01"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()
