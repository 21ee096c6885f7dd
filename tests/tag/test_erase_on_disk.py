"""After an erase, the SQLite files hold no trace of the person; the files are private to the service user.

The raw bytes of ``slotwise.db``, ``-wal`` and ``-shm`` are searched (while the
store is still open, as a running service would have it) for the visitor id,
the customer id, the e-mail hash and a URL only that visitor sent.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from slotwise.profile import hash_email
from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.testing import ADMIN_TOKEN, event, sync

EMAIL = "erase.me@example.com"
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}


def db_files(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("slotwise.db*"))


def traces(tmp_path: Path, needles: list[str]) -> list[tuple[str, str]]:
    found = []
    for f in db_files(tmp_path):
        data = f.read_bytes()
        found += [(f.name, n) for n in needles if n.encode() in data]
    return found


def test_erase_leaves_no_trace_in_the_db_the_wal_or_the_shm(client: Any, make_client: Any, store: Any,
                                                             tmp_path: Path) -> None:
    for n in range(30):  # enough writes that old versions of the profile are spread over pages and WAL frames
        r = client.post("/_sw/events", content=json.dumps({"events": [
            event("page_view", {"url": f"https://shop.test/only-erased-visitor-{n}", "category": "capes"}),
            event("add_to_cart", {"product": f"cape-{n}", "qty": 1, "price": 10}),
        ]}))
        assert r.status_code == 200
    r = client.post("/_sw/events", content=json.dumps({"events": [event("identify", {"customer_id": "cust-erase-77", "email": EMAIL})]}))
    assert r.status_code == 200
    visitor = client.cookies.get("sw_vid").split(".")[0]
    other = make_client().post("/_sw/events", content=json.dumps({"events": [event("page_view", {"category": "hats"})]}))
    # a coupon for an address someone else holds is owned by the profile ("profile:<id>")
    assert make_client().post("/_sw/signup", json={"email": "held.by.other@example.com"}).status_code == 200
    assert client.post("/_sw/signup", json={"email": "held.by.other@example.com"}).status_code == 200
    needles = [visitor, "cust-erase-77", hash_email(EMAIL), "only-erased-visitor"]
    assert traces(tmp_path, needles)  # the test sees what it looks for

    erased = client.delete(f"/_sw/admin/api/visitors/{visitor}", headers=AUTH)
    assert erased.status_code == 200 and erased.json()["erased"] is True
    assert traces(tmp_path, needles) == []
    assert other.status_code == 200 and len(sync(store.read_log(0))) == 2  # the other visitors' events stay
    assert len(store.db.query("SELECT code FROM coupons")) == 2  # codes stay claimed (never handed out twice)


def test_secure_delete_is_set_by_slotwise(store: Any) -> None:
    """Debian's SQLite zeroes deleted content by default; python.org's and others' builds do not."""
    assert store.db.query("PRAGMA secure_delete")[0][0] == 1


def test_the_database_files_are_private_to_the_service_user(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a typical, permissive umask
    try:
        store = SQLiteStore(tmp_path / "data" / "slotwise.db")
        sync(store.update_profile("v1", lambda p: None, 1.0))
        files = sorted((tmp_path / "data").glob("slotwise.db*"))
        assert {f.name for f in files} >= {"slotwise.db", "slotwise.db-wal", "slotwise.db-shm"}
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f.name, oct(f.stat().st_mode))
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        sync(store.close())
    finally:
        os.umask(old)


def test_a_data_directory_made_for_the_generated_key_is_private_too(tmp_path: Path) -> None:
    """``slotwise serve`` without ``--secret`` makes its key before the store opens: the directory is 0700 either way."""
    from slotwise.proxy.config import Settings

    old = os.umask(0o022)
    try:
        settings = Settings(data=str(tmp_path / "data"))
        settings.signing_key()
        store = SQLiteStore(tmp_path / "data" / "slotwise.db")
        sync(store.close())
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "data" / "secret").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "slotwise.db"
    sync(SQLiteStore(path).close())
    path.chmod(0o644)
    store = SQLiteStore(path)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        sync(store.close())
