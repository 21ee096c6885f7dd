"""One headless Chromium per test worker, that each browser test module connects to (``browser_fixtures``).

Launching Chromium took ~1 s per module (~50 modules); connecting to a running one over CDP costs a
Playwright driver start alone. The browser is launched by Playwright as ever (its own switches, Debian's
Chromium: ``slotwise.tag.testing``), only in a process of its own (``python tests/chromium_server.py``):
Playwright's sync API keeps an event loop running in the thread that uses it, so a driver kept for the
whole session would break every later ``asyncio.run()`` in that worker. Modules still start and stop
their own driver (a module fixture), and tests their own contexts (new cookies, new storage). The
process prints the browser's DevTools URL, and ends (with its browser) when its stdin closes: when the
test worker ends, however it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ChromiumServer:
    """The worker's Chromium, started on first use and again if it died (a crash stays in its module)."""

    START_TIMEOUT = 60.0  # a loaded machine

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self._endpoint = ""

    def endpoint(self) -> str:
        """The DevTools URL to ``connect_over_cdp`` to; ``FileNotFoundError`` without Debian's Chromium."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        return self._endpoint

    def _start(self) -> None:
        from slotwise.tag.testing import CHROMIUM

        if not Path(CHROMIUM).exists():
            raise FileNotFoundError(f"Debian chromium is not installed at {CHROMIUM}")
        self.close()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()  # EOF (an empty line) if it failed: its stderr is the test's
        if not line.startswith("ws://"):
            self.close()
            raise RuntimeError(f"the test worker's Chromium did not start: {line!r}")
        self._endpoint = line

    def close(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # it closes its browser and ends
            self.proc.wait(20)
        except (subprocess.TimeoutExpired, OSError):
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def serve() -> None:
    """Launch Chromium with its DevTools on a free port, print its URL, and keep it until stdin closes."""
    from playwright.sync_api import sync_playwright

    from slotwise.tag.testing import CHROMIUM, CHROMIUM_ARGS

    with tempfile.TemporaryDirectory(prefix="sw-chromium-") as profile, sync_playwright() as pw:
        # a persistent context only to name the profile directory, where Chromium writes its DevTools port;
        # tests never use that context: each makes its own
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM,
                                                        args=[*CHROMIUM_ARGS, "--remote-debugging-port=0"])
        written = Path(profile, "DevToolsActivePort")
        deadline = time.monotonic() + ChromiumServer.START_TIMEOUT
        while not written.exists() or len(written.read_text().split()) < 2:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium wrote no DevToolsActivePort")
            time.sleep(0.01)
        port, path = written.read_text().split()[:2]
        print(f"ws://127.0.0.1:{port}{path}", flush=True)
        sys.stdin.read()  # until the worker closes it, or ends
        context.close()


if __name__ == "__main__":
    serve()
