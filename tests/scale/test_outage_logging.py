"""A Redis outage under traffic is logged once when it starts and once when it ends, with counts.

Real parts: redis-server (stopped and started again on the same port), the
demo store, ``slotwise serve`` as a subprocess, pages and events sent all along.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from scale_helpers import PYTHON, SECRET, Proc, browser, event, free_port, post_events

from slotwise.demo.server import DemoServer

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

RULES = Path(__file__).with_name("rules.yaml")


def _traffic(base: str, stop: threading.Event, counts: dict[str, int]) -> None:
    with browser() as client:
        while not stop.is_set():
            try:
                page = client.get(f"{base}/", timeout=5)
                counts[f"page {page.status_code}"] = counts.get(f"page {page.status_code}", 0) + 1
                r = post_events(client, base, event("page_view", {"url": "/"}))
                counts[f"events {r.status_code}"] = counts.get(f"events {r.status_code}", 0) + 1
            except Exception as exc:  # the proxy must answer throughout; count what it did not
                counts[type(exc).__name__] = counts.get(type(exc).__name__, 0) + 1
            time.sleep(0.01)


def test_a_redis_outage_is_logged_once_at_start_and_once_at_end(tmp_path: Path, own_redis: Any) -> None:
    server = own_redis()  # its own: stopped and started again on the same port
    with DemoServer(tmp_path / "demo") as demo:
        port = free_port()
        proxy = Proc("proxy", [
            PYTHON, "-m", "slotwise.cli", "serve", "--upstream", demo.url, "--rules", str(RULES),
            # a 2 s socket timeout (default 0.5 s): the one outage is the server stopped, not a slow first
            # answer of the restarted server on a loaded machine (once seen with three test workers)
            "--store", f"{server.url}?timeout=2", "--port", str(port), "--server", "uvicorn", "--data", str(tmp_path / "data"),
            "--secret", SECRET, "--log-level", "info", "--personalize-budget-ms", "1000",
        ], tmp_path, port).start(wait=60)
        stop, counts = threading.Event(), {}
        worker = threading.Thread(target=_traffic, args=(proxy.url, stop, counts), daemon=True)
        try:
            worker.start()
            time.sleep(1.0)
            before = len(proxy.tail(10**9).splitlines())
            server.stop()
            time.sleep(3.0)
            server.start()
            time.sleep(2.0)  # traffic after the outage: the store is used (and works) again
            stop.set()
            worker.join(10)
            lines = proxy.tail(10**9).splitlines()[before:]
        finally:
            stop.set()
            proxy.stop()
        text = "\n".join(lines)
        assert counts.get("page 200", 0) > 10 and counts.get("events 503", 0) > 0, counts  # traffic during the outage
        assert "Traceback" not in text, text[-3000:]
        starts = [ln for ln in lines if "store unavailable" in ln]
        ends = [ln for ln in lines if "store available again" in ln]
        assert len(starts) == 1 and len(ends) == 1, text[-3000:]
        failed = re.search(r"(\d+) store calls failed", ends[0])
        assert failed and int(failed.group(1)) > 0, ends[0]
        assert len(lines) <= 6, f"{len(lines)} log lines for one outage:\n{text[-3000:]}"
