"""``slotwise demo`` as a newcomer runs it: a real process, its output read line by line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import ports  # noqa: E402 (tests/ports.py)

ROOT = Path(__file__).resolve().parents[2]
BANNER_END = "Press Ctrl+C to stop."


def free_port() -> int:
    return ports.free_port()  # outside the ephemeral range: see tests/ports.py


def slotwise_command(*args: str) -> list[str]:
    """The ``slotwise`` console script, run by this interpreter from this tree."""
    return [sys.executable, "-c", "import sys; from slotwise.cli import main; sys.exit(main())", *args]


def slotwise_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTWISE_")}
    env["PYTHONPATH"] = str(ROOT)
    # behaviour, not speed, is tested: a loaded machine must not fail pages open
    env["SLOTWISE_PERSONALIZE_BUDGET_MS"] = "5000"
    return env


class DemoProcess:
    """``slotwise demo`` on free ports; ``lines`` is everything it wrote (stdout and stderr, in order)."""

    def __init__(self, data: Path, *extra: str, start_timeout: float = 90.0) -> None:
        self.port, self.store_port = free_port(), free_port()
        self.data = data
        self.url = f"http://127.0.0.1:{self.port}"
        self.store_url = f"http://127.0.0.1:{self.store_port}"
        self.args = ["demo", "--port", str(self.port), "--store-port", str(self.store_port), "--data", str(data),
                     *extra]
        self.start_timeout = start_timeout
        self.lines: list[str] = []
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> "DemoProcess":
        self._proc = subprocess.Popen(slotwise_command(*self.args), cwd=self.data.parent, env=slotwise_env(),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.start_timeout
        while BANNER_END not in self.lines:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("slotwise demo did not start:\n" + "\n".join(self.lines))
            time.sleep(0.1)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def wait(self, timeout: float) -> int:
        """The exit status once it ends by itself."""
        assert self._proc is not None
        code = self._proc.wait(timeout)
        if self._reader is not None:
            self._reader.join(10)
        return int(code)

    def stop(self) -> int:
        """Ctrl+C, as the banner says; the exit status."""
        if self._proc is None:
            return 0
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        if self._reader is not None:
            self._reader.join(10)
        return int(self._proc.returncode)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
