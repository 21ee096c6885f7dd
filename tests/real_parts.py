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
from redis_server import RedisServer, redis_server_binary

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


def start_redis(running: ExitStack, *, appendonly: bool = False, start: bool = True) -> RedisServer:
    """The one way a test starts a redis-server (the fixtures in ``tests/redis_fixtures.py`` use it): a
    server of the caller's own, started unless ``start=False`` (a test that starts it later); stopped, and
    its directory removed, when ``running`` closes, whatever the test did to it or however it ended. No
    redis-server on this machine: the test is skipped, or failed on CI (``missing``)."""
    if redis_server_binary() is None:
        missing("redis-server binary not found")
    server = RedisServer(appendonly=appendonly)
    running.push(server)  # its ``__exit__``: stopped (SIGTERM, SIGKILL after 10 s), its own directory removed
    return server.start() if start else server


def state_store(kind: str, running: ExitStack) -> str:
    """The ``--store`` for a test parametrized over the state stores: ``""`` (SQLite in the data directory)
    for ``sqlite``, else the URL of a real redis-server of the test's own, stopped when ``running`` closes."""
    return start_redis(running).url if kind == "redis" else ""


def _binary(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return next((f for f in fallbacks if os.access(f, os.X_OK)), None)


def absent() -> list[str]:
    """The real parts this machine lacks, each with what it is for."""
    out = []
    if redis_server_binary() is None:
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
