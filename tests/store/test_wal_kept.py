"""Another process's short visit (``slotwise visitor export``, ``import``, ``report`` while the server
runs) must not delete the server's write-ahead log.

SQLite deletes the -wal and -shm files when the last connection to the database closes, and tells that
it is the last by taking an exclusive POSIX lock on the file. POSIX locks are the process's, and any
``close`` of any descriptor of the file drops them all: a server that opened and closed the database
file itself (to create it private, 0600) after its first connection held no lock any more. The next
command-line visit then deleted the log under the running server, whose later writes went to a
deleted file nobody else could read (seen: an export during the server's run found no visitor).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.store.sqlite.db import Database
from agents import DESKTOP_UA  # noqa: E402

RULES = """
slots:
  - id: hello
    pages: "/p/*"
    selector: h1
    action: replace
    variants:
      - {id: a, html: "<h1>A</h1>"}
      - {id: b, html: "<h1>B</h1>"}
"""
VISIT = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute('SELECT count(*) FROM t').fetchone()[0]); c.close()"


def _count_elsewhere(path: Path) -> int:
    """Another process opens the database, reads, and closes it: the last connection, were the locks gone."""
    done = subprocess.run([sys.executable, "-c", VISIT, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_a_second_connection_in_the_process_keeps_the_log_alive(tmp_path: Path) -> None:
    path = tmp_path / "slotwise.db"
    first = Database(path)
    first.conn.execute("CREATE TABLE t (x INTEGER)")
    second = Database(path)  # a worker's writer thread opens its own connection
    with first.transaction() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
    assert _count_elsewhere(path) == 1
    assert path.with_name("slotwise.db-wal").exists(), "another process's close deleted the running log"
    with second.transaction() as cur:
        cur.execute("INSERT INTO t VALUES (2)")
    assert _count_elsewhere(path) == 2, "a write after another process's visit went where no one can read it"
    first.close()
    second.close()


def test_an_export_while_the_server_runs_sees_each_new_visitor(asgi_server: Any, tmp_path: Path) -> None:
    origin = asgi_server(Starlette(routes=[Route("/p/{n}", lambda r: HTMLResponse("<body><h1>shoe</h1></body>"))]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    data = tmp_path / "data"
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(data), personalize_budget_ms=5000.0)
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    for n in range(3):  # each visitor, once: exported by the command line while the server runs
        with httpx.Client(headers={"user-agent": DESKTOP_UA}, timeout=20) as browser:
            assert browser.get(f"{proxy.url}/p/{n}").status_code == 200
            visitor = browser.cookies["sw_vid"].split(".")[0]
        exported = _export(data, visitor)
        assert exported.get("profile", {}).get("id") == visitor, f"visitor {n}: {exported}"
    assert (data / "slotwise.db-wal").exists()


def _export(data: Path, visitor: str) -> dict[str, Any]:
    """``slotwise visitor export``, in its own process as a person runs it; retried while the page view
    may still be in the worker's writer queue (a group commit: milliseconds)."""
    import time

    for _ in range(40):
        done = subprocess.run([sys.executable, "-m", "slotwise.cli", "visitor", "export", "--data", str(data), "--",
                               visitor], capture_output=True, text=True, timeout=60)
        answer: dict[str, Any] = json.loads(done.stdout)
        if done.returncode == 0:
            return answer
        time.sleep(0.05)
    return answer
