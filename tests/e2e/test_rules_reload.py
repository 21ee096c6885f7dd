"""Rules reload under traffic: the change applies, a broken file is rejected whole, no request fails."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from e2e_helpers import SLOTS
from polling import wait_for

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str, bump: float) -> None:
    path.write_text(text.replace("../../slotwise", str(ROOT / "slotwise")))
    os.utime(path, (time.time() + bump, time.time() + bump))


def test_reload_under_traffic_keeps_serving_and_rejects_broken_files(edge: Any, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    original = SLOTS.read_text()
    write(rules, original, 0)
    e = edge(rules)
    statuses: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        with e.client() as client:
            while not stop.is_set():
                statuses.append(client.get("/").status_code)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        with e.client() as client:
            assert "home-categories=recent" in client.get("/").headers["server-timing"]
            # 1. a valid change is picked up (the slot gets a kill switch)
            write(rules, original.replace("  - id: home-categories\n", "  - id: home-categories\n    enabled: false\n"), 5)
            wait_for(lambda: "home-categories" not in client.get("/").headers["server-timing"], 8.0)
            # 2. a broken file: rejected whole, the last good rules keep serving, the admin page says why
            write(rules, original.replace("    selector: \"select#size\"\n", "    selectr: \"select#size\"\n"), 10)
            wait_for(lambda: e.p.rules is not None and e.p.rules.status.error is not None, 8.0)
            assert "home-categories" not in client.get("/").headers["server-timing"]
            status = client.get("/_sw/admin/api/status", headers={"authorization": "Bearer admin-token-for-tests"}).json()
            assert "selectr" in status["rules"]["error"] and "did you mean 'selector'" in status["rules"]["error"]
            assert f"{rules}:" in status["rules"]["error"]  # file:line:column
            page = client.get("/_sw/admin?token=admin-token-for-tests", follow_redirects=True)
            assert page.status_code == 200 and "selectr" in page.text and "last good rules" in page.text
            # 3. fixed again: serving the new rules, the error is gone
            write(rules, original, 15)
            wait_for(lambda: "home-categories=recent" in client.get("/").headers["server-timing"], 8.0)
            assert e.p.rules.status.error is None
            # 4. a template file of the set is watched too (docs/rules.md): broken, rejected naming it; fixed, loaded
            popup = tmp_path / "popup.html"
            popup.write_text((ROOT / "slotwise/rules/examples/coupon-popup.html").read_text())
            write(rules, original.replace("../../slotwise/rules/examples/coupon-popup.html", str(popup)), 20)
            wait_for(lambda: e.p.rules.status.version == 4, 8.0)
            write(popup, popup.read_text().replace("{{", "{{{", 1), 25)
            wait_for(lambda: e.p.rules.status.error is not None, 8.0)
            assert e.p.rules.status.error.startswith("1 error in rules:") and f"{popup}:" in e.p.rules.status.error
            assert e.p.rules.status.version == 4  # the last good rules keep serving
            write(popup, (ROOT / "slotwise/rules/examples/coupon-popup.html").read_text(), 30)
            wait_for(lambda: e.p.rules.status.version == 5 and e.p.rules.status.error is None, 8.0)
    finally:
        stop.set()
        worker.join(10)
    assert len(statuses) > 20 and set(statuses) == {200}  # no request failed during the reloads


def test_admin_needs_the_token(edge: Any) -> None:
    e = edge()
    with e.client() as client:
        signin = client.get("/_sw/admin")  # the sign-in form, and nothing of the admin page
        assert signin.status_code == 200 and "Sign in" in signin.text and "Kill switches" not in signin.text
        assert client.get("/_sw/admin/api/status").status_code == 401
        assert client.get("/_sw/admin/api/status", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/_sw/admin?token=wrong").status_code == 401
        assert client.get("/_sw/admin/api/status", headers={"authorization": "Bearer admin-token-for-tests"}).status_code == 200
