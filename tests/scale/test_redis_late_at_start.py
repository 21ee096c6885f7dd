"""An instance started while Redis is away personalizes once Redis is up, without a restart.

It used to fail its start-up (the first load of the learner's models raised), fall back to a
transparent proxy and say ``personalizer_failed`` until restarted. Real parts: redis-server
started only after ``slotwise serve``, the demo store, ``slotwise serve`` as a subprocess.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from polling import wait_for
from scale_helpers import PYTHON, SECRET, Proc, browser, free_port

from slotwise.demo.server import DemoServer

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

RULES = Path(__file__).with_name("rules.yaml")


def test_an_instance_started_before_redis_personalizes_once_redis_is_up(tmp_path: Path, own_redis: Any) -> None:
    server = own_redis(start=False)  # its port known, nothing listening there yet
    with DemoServer(tmp_path / "demo") as demo:
        port = free_port()
        proxy = Proc("proxy", [
            PYTHON, "-m", "slotwise.cli", "serve", "--upstream", demo.url, "--rules", str(RULES),
            "--store", server.url, "--port", str(port), "--server", "uvicorn", "--data", str(tmp_path / "data"),
            "--secret", SECRET, "--log-level", "info", "--personalize-budget-ms", "1000",
        ], tmp_path, port)
        try:
            proxy.start(wait=60)
            with browser() as client:
                away = httpx.get(f"{proxy.url}/_sw/health", timeout=5).json()
                assert away["reasons"] == ["store_unavailable"], (away, proxy.tail())
                assert client.get(f"{proxy.url}/").status_code == 200  # the store's page, unchanged

                server.start()

                def personalized() -> bool:
                    timing = client.get(f"{proxy.url}/").headers.get("server-timing", "")
                    return "hero=" in timing
                wait_for(personalized, 20, what=f"a personalized page once Redis is up:\n{proxy.tail()}")
                health = httpx.get(f"{proxy.url}/_sw/health", timeout=5).json()
                assert health["personalizer"] == "SlotwisePersonalizer", health
                assert "personalizer_failed" not in health.get("reasons", []), health
            assert "failed to start" not in proxy.tail(10**6)
        finally:
            proxy.stop()
