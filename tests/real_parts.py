"""The real programs the suite drives (redis-server, Chromium, nginx): skip locally, fail on CI.

A developer without Chromium still runs the rest of the suite; a CI machine
whose install step failed must not stay green with those tests skipped. So
when the ``CI`` environment variable is set (``.ci/run`` sets it), a missing
real part fails the test that needs it, with the install hint, and the
session fails at its start (``tests/conftest.py``) before any time is spent.
"""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import NoReturn

import pytest

INSTALL = "scripts/setup --test installs all of them (apt-get install redis-server chromium nginx-light)"
CHROMIUM = "/usr/bin/chromium"
# what to install for each real part (Debian packages, as scripts/setup does)
HINTS = {
    "redis": "apt-get install redis-server",
    "chromium": "apt-get install chromium",
    "nginx": "apt-get install nginx-light",
    "playwright": "pip install -e '.[test]'",
}


def _hint(what: str) -> str:
    """The install command for the part ``what`` names, else the general one."""
    lowered = what.lower()
    for key, command in HINTS.items():
        if key in lowered:
            return f"{command}; {INSTALL}"
    return INSTALL


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str) -> NoReturn:
    """Skip the test for lack of ``what`` — or, on CI, fail it."""
    reason = f"{what} ({_hint(what)})"
    if on_ci():
        pytest.fail(f"CI is set and {reason}", pytrace=False)
    pytest.skip(reason)


def state_store(kind: str, running: ExitStack) -> str:
    """The ``--store`` for a test parametrized over the state stores: ``""`` (SQLite in the data directory)
    for ``sqlite``, else the URL of a real redis-server of the test's own, stopped when ``running`` closes."""
    if kind != "redis":
        return ""
    from redis_server import RedisServer, redis_server_binary

    if redis_server_binary() is None:
        missing("redis-server binary not found (apt-get install redis-server)")
    return running.enter_context(RedisServer()).url


def _binary(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((f for f in fallbacks if os.access(f, os.X_OK)), None)


def absent() -> list[str]:
    """The real parts this machine lacks, each with what it is for."""
    out = []
    if _binary("redis-server", "/usr/bin/redis-server") is None:
        out.append(f"redis-server is not installed (the Redis store and scale-out tests): {HINTS['redis']}")
    if not Path(CHROMIUM).exists():
        out.append(f"Debian chromium is not installed at {CHROMIUM} (the browser tests): {HINTS['chromium']}")
    if _binary("nginx", "/usr/sbin/nginx") is None:
        out.append(f"nginx is not installed (the tag-only store and the deploy/nginx.conf tests): {HINTS['nginx']}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        out.append(f"the playwright Python package is missing (the browser tests): {HINTS['playwright']}")
    return out


def check_session() -> None:
    """On CI, stop the whole run at its start when a real part is missing (exit status 3)."""
    if on_ci() and (lacking := absent()):
        lines = "\n  ".join(lacking)
        pytest.exit(f"CI is set, and the suite drives real programs this machine lacks:\n  {lines}\n{INSTALL}",
                    returncode=3)


def nginx_binary() -> str | None:
    return _binary("nginx", "/usr/sbin/nginx")
