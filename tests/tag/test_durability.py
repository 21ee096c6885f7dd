"""kill -9 right after a 2xx: nothing the server acknowledged is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.recorder import browser_key
from slotwise.tag.testing import event, free_port, sync


def test_acknowledged_events_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "slotwise.db"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "slotwise.tag.testing", "--db", str(db), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 15
        while True:
            try:
                if httpx.get(f"{base}/_sw/tag.js", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "server did not start"
            time.sleep(0.05)
        acked: list[str] = []
        with httpx.Client(base_url=base) as client:
            for i in range(5):
                batch = [event("add_to_cart", {"product": f"p{i}-{j}", "qty": 1, "price": 1}) for j in range(20)]
                r = client.post("/_sw/events", content=json.dumps({"events": batch}))
                assert r.status_code == 200
                acked += [e["event_id"] for e in batch]
            visitor = client.cookies.get("sw_vid").split(".")[0]
        os.kill(proc.pid, signal.SIGKILL)  # no shutdown, no checkpoint, right after the last 2xx
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = SQLiteStore(db)
    try:
        keys = {r.key for r in sync(store.read_log(0, limit=10_000))}
        assert {browser_key(visitor, a) for a in acked} <= keys
        profile = sync(store.get_profile(visitor))
        assert profile is not None and len(profile.cart) == 100
    finally:
        sync(store.close())
