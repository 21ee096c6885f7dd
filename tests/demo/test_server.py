"""The demo over real HTTP: uvicorn in a thread, the CLI, concurrent shoppers."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from demo_helpers import csrf_of, html
from slotwise.demo.server import DemoServer

ROOT = Path(__file__).resolve().parents[2]


def test_real_http_pages_login_and_stream(tmp_path: Path, images_dir: Path) -> None:
    with DemoServer(tmp_path, images_dir=images_dir) as demo, httpx.Client(base_url=demo.url) as client:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", demo.url)
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        assert html(page).css_first("section.category-tiles") is not None

        token = csrf_of(client.get("/login"))
        response = client.post("/login", data={"email": "demo@example.com", "password": "demo", "csrf_token": token})
        assert response.status_code == 303
        assert response.headers["location"] == f"{demo.url}/account"  # the real host:port, absolute
        assert html(client.get("/account")).css_first("body").attributes["data-customer-id"] == "c000001"

        with client.stream("GET", "/download/catalog.csv") as download:
            assert download.headers["transfer-encoding"] == "chunked"
            assert sum(len(chunk) for chunk in download.iter_raw()) > 900_000


def _shopper(base_url: str, n: int) -> str:
    with httpx.Client(base_url=base_url) as client:
        client.post("/cart/add", data={"product_id": "101", "size": "42", "qty": "1"})
        client.post("/cart/add", data={"product_id": "301", "size": "M", "qty": str(n % 3 + 1)})
        response = client.post("/checkout", data={"name": f"Shopper {n}", "email": f"s{n}@example.com"})
        assert response.status_code == 303, response.text[:300]
        return response.headers["location"]


def test_concurrent_shoppers(tmp_path: Path, images_dir: Path) -> None:
    with DemoServer(tmp_path, images_dir=images_dir) as demo, ThreadPoolExecutor(8) as pool:
        locations = list(pool.map(lambda n: _shopper(demo.url, n), range(16)))
    assert len(set(locations)) == 16
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 16
        assert conn.execute("SELECT COUNT(*) FROM order_lines").fetchone()[0] == 32
        assert conn.execute("SELECT COUNT(*) FROM cart_items").fetchone()[0] == 0
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_module_entry_point_prints_its_url(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "slotwise.demo", "--host", "127.0.0.1", "--port", "0", "--data", str(tmp_path),
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, line
        response = httpx.get(match.group(0) + "healthz", timeout=10)
        assert response.status_code == 200 and response.text == "ok"
        assert (tmp_path / "demo.db").exists()
        image = httpx.get(match.group(0) + "static/img/101.svg", timeout=10)
        assert image.status_code == 200 and (tmp_path / "demo-img" / "101.svg").exists()
    finally:
        proc.terminate()
        proc.wait(10)
