"""What ``slotwise demo`` prints: one log format, no line per request unless asked, the banner last."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx

from demo_cli import BANNER_END, DemoProcess
from agents import DESKTOP_UA  # noqa: E402

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +[\w.]+: \S")
BROWSER = {"user-agent": DESKTOP_UA}
PATHS = ("/", "/c/shoes", "/p/101", "/cart", "/search?q=secret-query")


def _browse(base: str) -> None:
    with httpx.Client(base_url=base, headers=BROWSER, timeout=20) as client:
        for path in PATHS:
            assert client.get(path).status_code in (200, 404)


def _banner(lines: list[str]) -> tuple[int, int]:
    """(first, last) index of the banner's lines."""
    end = lines.index(BANNER_END)
    start = max(i for i in range(end) if lines[i] == "Slotwise demo")
    return start, end


def _settle(demo: DemoProcess) -> list[str]:
    time.sleep(1.5)  # what the requests made the processes write has arrived
    return list(demo.lines)


def test_one_format_no_request_lines_and_the_banner_last(tmp_path: Path) -> None:
    with DemoProcess(tmp_path / "data") as demo:
        _browse(demo.url)
        lines = _settle(demo)
    start, end = _banner(lines)
    before = [line for line in lines[:start] if line.strip()]
    assert before, "the servers say they started"
    assert all(LOG_LINE.match(line) for line in before), before
    assert any("granian: Listening at" in line for line in before)
    assert any("slotwise.rules:" in line and "loaded" in line for line in before)
    after = [line for line in lines[end + 1:] if line.strip()]
    assert not [line for line in after if "GET /" in line or ".access:" in line], "no line per request"
    assert all(LOG_LINE.match(line) for line in after), after
    assert lines[start + 1].strip().startswith("open") and demo.url in lines[start + 1]
    assert not any("HTTP Request" in line or "INFO:" in line or line.startswith("[INFO]") for line in lines)


def test_access_log_on_request_in_the_same_format(tmp_path: Path) -> None:
    with DemoProcess(tmp_path / "data", "--access-log") as demo:
        _browse(demo.url)
        lines = _settle(demo)
    _, end = _banner(lines)
    after = [line for line in lines[end + 1:] if line.strip()]
    assert all(LOG_LINE.match(line) for line in after), after
    proxy = [line for line in after if "granian.access:" in line]
    store = [line for line in after if "uvicorn.access:" in line]
    assert any('"GET /cart HTTP/1.1" 200' in line for line in proxy), after
    assert any("GET /cart" in line for line in store), after  # the store's own, as the proxy asked it
    assert not any("secret-query" in line for line in lines)  # queries never reach the log


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_the_demo_stops_when_its_store_dies(tmp_path: Path) -> None:
    """It must not keep serving without its store, or in front of whatever takes the store's port."""
    with DemoProcess(tmp_path / "data") as demo:
        assert demo.pid is not None
        store = [c for c in _children(demo.pid) if "slotwise.demo" in Path(f"/proc/{c}/cmdline").read_text()]
        assert len(store) == 1
        os.kill(store[0], signal.SIGKILL)
        code = demo.wait(60)
    assert code == 1
    assert any("the demo store stopped" in line for line in demo.lines)
