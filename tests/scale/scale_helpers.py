"""Processes for the scale-out test: proxies and the learner as real subprocesses.

Each process writes to its own log file under the test's tmp dir (a pipe could
fill up and block it); ``tail()`` shows the end of that log when something fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser
from agents import DESKTOP_UA  # noqa: E402
from polling import wait_for_port
from ports import free_port  # noqa: F401 (outside the ephemeral range: see tests/ports.py; re-exported)

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
ADMIN_TOKEN = "scale-admin-token-0123"
SECRET = "scale-test-shared-secret"

class Proc:
    """One subprocess with its log file; ``kill()`` is a kill -9, ``stop()`` a SIGTERM."""

    def __init__(self, name: str, args: list[str], log_dir: Path, port: int | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.args, self.port = name, args, port
        self.env = env or {}  # on top of the defaults (a PYTHONPATH here replaces theirs)
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 60.0) -> "Proc":
        return self.spawn().ready(wait)

    def spawn(self) -> "Proc":
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SLOTWISE_LOG_LEVEL": "info", **self.env}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        return self

    def ready(self, wait: float = 60.0) -> "Proc":
        """Waits until the port accepts connections (no port: nothing to wait for). One that does not start is
        stopped before the error: a failed start leaves no process behind, whatever the caller's cleanup."""
        if self.port is not None:
            try:
                wait_for_port(self.port, wait, self.proc)
            except (RuntimeError, TimeoutError) as exc:  # exited, or not listening in time: with its log
                self.stop(5)
                raise type(exc)(f"{self.name}: {exc}:\n{self.tail()}") from None
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def proxy(name: str, upstream: str, rules: Path, store_url: str, data: Path, log_dir: Path) -> Proc:
    port = free_port()
    return Proc(name, [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", upstream, "--rules", str(rules),
        "--store", store_url, "--port", str(port), "--server", "uvicorn", "--data", str(data),
        "--secret", SECRET, "--admin-token", ADMIN_TOKEN, "--log-level", "warning",
        # a cold first page (connections, template compiles) on a busy 2-core box can pass the
        # default 50 ms and fail open; the test is about state, not speed
        "--personalize-budget-ms", "1000",
    ], log_dir, port)


def learner(store_url: str, rules: Path, log_dir: Path, consumer: str = "scale-test") -> Proc:
    return Proc("learner", [
        PYTHON, "-m", "slotwise.cli", "learner", "--store", store_url, "--rules", str(rules),
        "--consumer", consumer, "--snapshot-every", "0.25",
    ], log_dir)


# -- pages ---------------------------------------------------------------------------


def browser() -> httpx.Client:
    """One visitor: one cookie jar, used against every instance (cookies ignore the port)."""
    return httpx.Client(headers={"user-agent": DESKTOP_UA}, timeout=10, follow_redirects=False)


def decisions(html: str) -> dict[str, str]:
    """slot → decision id, from the rewritten page (``data-sw-decision``)."""
    tree = LexborHTMLParser(html)
    out: dict[str, str] = {}
    nav = tree.css_first("nav.category-nav ul")
    if nav is not None and nav.attributes.get("data-sw-decision"):
        out["home-categories"] = nav.attributes["data-sw-decision"] or ""
    hero = tree.css_first("section.hero .hero-copy")
    if hero is not None and hero.attributes.get("data-sw-decision"):
        out["hero"] = hero.attributes["data-sw-decision"] or ""
    return out


def nav_categories(html: str) -> list[str]:
    return [n.attributes.get("data-category") or "" for n in LexborHTMLParser(html).css("nav.category-nav li")]


def hero_text(html: str) -> str:
    node = LexborHTMLParser(html).css_first("section.hero h1")  # the store's, or ours (replace swaps the element)
    return node.text(strip=True) if node is not None else ""


def event(type_: str, props: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"type": type_, "event_id": event_id or uuid.uuid4().hex, "ts": time.time(), "props": props}


def post_events(client: httpx.Client, base: str, *events: dict[str, Any]) -> httpx.Response:
    return client.post(f"{base}/_sw/events", json={"events": list(events)})


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def dumps(x: Any) -> str:
    return json.dumps(x, sort_keys=True)
