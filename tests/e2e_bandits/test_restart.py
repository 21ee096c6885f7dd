"""A kill -9 loses no learning: the proxy as a subprocess, restarted on the same data directory."""

from __future__ import annotations

import asyncio
import re
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from agents import DESKTOP_UA
from bandit_helpers import RULES
from conftest_paths import PYTHON
from polling import wait_for
from slotwise.bandits.learner import Learner
from slotwise.commands.ports import PortBusy, check_port_free
from slotwise.proxy.operations.learning import SNAPSHOT_NAME, learner_record
from slotwise.proxy.personalization.choices import slot_configs
from slotwise.proxy.operations.reporting import read_all
from slotwise.rules import load_rules
from slotwise.store import open_store

TOKEN = "restart-admin-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


def log_records(data: Path) -> list[Any]:
    async def read() -> list[Any]:
        store = open_store("", str(data))
        try:
            return await read_all(store)
        finally:
            await store.close()

    return asyncio.run(read())


def snapshot_of(data: Path) -> tuple[dict[str, Any], int]:
    async def read() -> Any:
        store = open_store("", str(data))
        try:
            return await store.load_snapshot(SNAPSHOT_NAME)
        finally:
            await store.close()

    found = asyncio.run(read())
    assert found is not None
    return found


def status(url: str) -> dict[str, Any]:
    response = httpx.get(url + "/_sw/admin/api/status", headers=AUTH, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def caught_up(url: str, data: Path, timeout: float = 10.0) -> dict[str, Any]:
    """Waits until the proxy's learner has applied every record in the log."""
    deadline = time.monotonic() + timeout
    while True:
        last = max(r.seq for r in log_records(data))
        st = status(url)
        if st["learner_seq"] == last:
            return st
        assert time.monotonic() < deadline, (st["learner_seq"], last)
        time.sleep(0.1)


def traffic(url: str, n: int, sent: list[dict[str, Any]], tag: str) -> None:
    """``n`` visitors: page views, exposures, clicks on some, orders from others (events as the tag sends them)."""
    for i in range(n):
        with httpx.Client(base_url=url, headers={"user-agent": DESKTOP_UA}, timeout=10) as client:
            page = client.get("/")
            assert page.status_code == 200
            decisions = re.findall(r'data-sw-decision="([^"]+)"', page.text)
            client.get("/")  # a second view (sticky slots decide nothing new; offer does)
            events = [{"type": "exposure", "event_id": f"{tag}x{i}{k}aaaa", "ts": time.time(),
                       "props": {"decision_id": d}} for k, d in enumerate(decisions)]
            if i % 2 == 0:
                events += [{"type": "click", "event_id": f"{tag}c{i}{k}aaaa", "ts": time.time(),
                            "props": {"decision_id": d}} for k, d in enumerate(decisions)]
            if i % 3 == 0:
                events.append({"type": "purchase", "event_id": f"{tag}p{i}aaaaa", "ts": time.time(),
                               "props": {"order_id": uuid.uuid4().hex[:10], "total": 20.0 + i,
                                         "lines": [{"product": "p1", "qty": 1, "price": 20.0 + i}]}})
            response = client.post("/_sw/events", json={"events": events})
            assert response.status_code == 200, response.text
            sent.append({"cookies": dict(client.cookies), "events": events})


def resend(url: str, sent: list[dict[str, Any]]) -> None:
    """The tag retries everything (same event ids): all duplicates."""
    for batch in sent:
        response = httpx.post(url + "/_sw/events", json={"events": batch["events"]}, cookies=batch["cookies"],
                              headers={"user-agent": DESKTOP_UA}, timeout=10)
        assert response.json()["stored"] == 0


def straight_run(rules: Path, data: Path) -> Learner:
    """One learner fed the whole log in order, no snapshot, no restart."""
    learner = Learner()
    learner.configure_local(slot_configs(load_rules(rules)))
    for rec in log_records(data):
        converted = learner_record(rec)
        if converted is None:
            learner.skip_to(rec.seq)
        else:
            learner.apply(converted)
    return learner


def _port_free(port: int) -> bool:
    try:
        check_port_free("127.0.0.1", port)
    except PortBusy:
        return False
    return True


def serve_setup(upstream: Any, tmp_path: Path, port: int, *extra: str) -> tuple[Path, Path, list[str]]:
    """The rules file, the data directory and the ``slotwise serve`` command line of these tests."""
    rules, data = tmp_path / "rules.yaml", tmp_path / "data"
    rules.write_text(RULES)
    args = [PYTHON, "-m", "slotwise.cli", "serve", "--upstream", upstream.url, "--rules", str(rules),
            "--data", str(data), "--port", str(port), *extra, "--log-level", "warning"]
    return rules, data, args


def test_kill_9_and_restart_lose_nothing_and_count_nothing_twice(
    upstream: Any, tmp_path: Path, process_runner: Any, port_factory: Any
) -> None:
    port = port_factory()
    rules, data, args = serve_setup(upstream, tmp_path, port, "--server", "uvicorn", "--admin-token", TOKEN)
    sent: list[dict[str, Any]] = []

    # 1. a first run, stopped cleanly (SIGTERM): its final snapshot covers everything so far
    with process_runner(args, port) as first:
        traffic(first.url, 4, sent, "a")
        caught_up(first.url, data)
    snapshot_seq = snapshot_of(data)[1]
    assert snapshot_seq == max(r.seq for r in log_records(data))

    # 2. more traffic, then kill -9: the learner's snapshot is older than the log
    second = process_runner(args, port).__enter__()
    try:
        traffic(second.url, 6, sent, "b")
        st = caught_up(second.url, data)
        assert st["learner"]["slots"]["hero"]["updates"] > 0
        assert snapshot_seq <= snapshot_of(data)[1] < st["learner_seq"]  # the tail is only in the log
    finally:
        second.proc.send_signal(signal.SIGKILL)
        second.proc.wait(10)
    assert second.proc.returncode == -signal.SIGKILL
    # its worker runs beside it and dies with it (PR_SET_PDEATHSIG), a moment later: the port is free then
    wait_for(lambda: _port_free(port), 10, what=f"port {port} let go by the killed serve's worker")

    # 3. restart on the same data: snapshot + replay of the tail = one straight run over the log
    with process_runner(args, port) as third:
        caught_up(third.url, data)
        resend(third.url, sent)  # the tag retries everything: duplicates, nothing changes
        time.sleep(0.6)  # a poll of the learning loop
        st = caught_up(third.url, data)
    expected = straight_run(rules, data)
    assert st["learner_seq"] == expected.seq == max(r.seq for r in log_records(data))
    assert st["learner"]["pending"] == expected.pending_count > 0
    live = st["learner"]["slots"]
    for slot, policy in expected.policies.items():
        assert live[slot]["updates"] == policy.version, slot
        assert {a: [v["n"], round(v["reward_sum"], 6)] for a, v in live[slot]["arms"].items()} == {
            a: [s[0], round(s[1], 6)] for a, s in policy.arms.items()}, slot
    records = log_records(data)
    hero = {r.key for r in records if r.kind == "decision" and r.data["slot"] == "hero" and not r.data["holdout"]}
    clicked = {e["props"]["decision_id"] for batch in sent for e in batch["events"] if e["type"] == "click"}
    assert sum(a["reward_sum"] for a in live["hero"]["arms"].values()) == len(hero & clicked) > 0  # each click once
