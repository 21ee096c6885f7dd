"""``/_sw/health`` tells a load balancer and alerting when the instance is degraded.

Real parts: a redis-server whose ``maxmemory`` the test shrinks to nothing,
a ``slotwise serve`` and a ``slotwise learner`` as subprocesses.
"""

from __future__ import annotations

import shutil
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import redis as redis_py
from polling import wait_for
from scale_helpers import PYTHON, SECRET, Proc, browser, event, free_port, learner, post_events

RULES = Path(__file__).with_name("rules.yaml")


def _serve(store_url: str, rules: Path, tmp_path: Path) -> Proc:
    port = free_port()
    return Proc("proxy", [
        PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--rules", str(rules),
        "--store", store_url, "--port", str(port), "--server", "uvicorn", "--data", str(tmp_path / "data"),
        "--secret", SECRET, "--log-level", "warning", "--health-max-lag", "1",
    ], tmp_path, port)


def _health(base: str) -> tuple[int, dict]:
    r = httpx.get(f"{base}/_sw/health", timeout=5)
    return r.status_code, r.json()


def _gauge(base: str, reason: str) -> float:
    text = httpx.get(f"{base}/_sw/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(f'slotwise_degraded{{reason="{reason}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no slotwise_degraded gauge for {reason}:\n{text[-2000:]}")


def test_health_degrades_on_maxmemory_learner_lag_and_bad_rules_and_recovers(tmp_path: Path, own_redis: Any) -> None:
    rules = tmp_path / "rules.yaml"
    shutil.copy(RULES, rules)
    server = own_redis()  # its own: the test fills it up (maxmemory)
    with closing(redis_py.Redis.from_url(server.url)) as admin:
        proxy = _serve(server.url, rules, tmp_path).start(wait=60)
        learn: Proc | None = None
        visitor = browser()
        try:
            base = proxy.url
            assert _health(base) == (200, {**_health(base)[1], "status": "ok", "reasons": []})

            # Redis full: the events endpoint refuses, health says why, liveness stays 200
            admin.config_set("maxmemory-policy", "noeviction")
            admin.config_set("maxmemory", 1)
            r = post_events(visitor, base, event("page_view", {"url": "/"}))
            assert r.status_code == 503, r.text
            body = wait_for(lambda: (h := _health(base))[0] == 503 and h[1], 5, what="degraded")  # 1 s cache
            assert body["status"] == "degraded", body
            assert "store_unwritable" in body["reasons"] and "maxmemory" in body["details"]["store_unwritable"], body
            assert httpx.get(f"{base}/_sw/live", timeout=5).status_code == 200
            assert _gauge(base, "store_unwritable") == 1
            assert "slotwise_store_errors_total{kind=\"refused\"}" in httpx.get(f"{base}/_sw/metrics", timeout=5).text

            admin.config_set("maxmemory", 0)
            wait_for(lambda: _health(base)[0] == 200, 5, what="ok again")
            assert _gauge(base, "store_unwritable") == 0

            # events nobody learns from: after --health-max-lag (1 s) the learner is behind
            r = post_events(visitor, base, event("page_view", {"url": "/"}))
            assert r.status_code < 300, r.text
            time.sleep(1.2)
            body = wait_for(lambda: (h := _health(base))[0] == 503 and h[1], 5, what="learner_behind")
            assert body["reasons"] == ["learner_behind"], body
            assert body["learner_lag_records"] >= 1 and body["learner_lag_seconds"] > 1, body
            assert "slotwise_learner_lag_seconds" in httpx.get(f"{base}/_sw/metrics", timeout=5).text

            learn = learner(server.url, rules, tmp_path).spawn()  # it snapshots: the lag goes away
            wait_for(lambda: _health(base)[0] == 200, 60, what=f"health ok once the learner runs\n{learn.tail()}")

            # a broken rules file: the last good rules serve, health says the file is invalid
            rules.write_text(rules.read_text() + "\nslots: [this is not a slot\n")
            body = wait_for(lambda: (b := _health(base)[1])["status"] == "degraded" and b, 10, what="rules_invalid")
            assert body["reasons"] == ["rules_invalid"], body
        finally:
            if learn is not None:
                learn.stop()
            proxy.stop()
            visitor.close()

