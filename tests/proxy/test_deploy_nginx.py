"""The shipped production layout: ``deploy/nginx.conf`` itself, in front of two real Slotwise instances.

Only what a container name and a port must change is rewritten (the two
``server proxy-?:8000`` lines and ``listen 80``); everything else is the file
as shipped. Through it: a 5 MB upload arrives whole (the old 1 MB limit
refused it), a WebSocket echoes, and a trickled page streams.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from real_parts import missing, nginx_binary
from sw_servers import proxy_process
from sw_upstreams import TRICKLED
from test_streamed_html import timed_get
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx.conf"

MAIN = """daemon off;
user {user};
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
    include {tmp}/default.conf;
}}
"""


def layout(conf: str, port: int, a: int, b: int) -> str:
    """The shipped file with its addresses replaced by local ones (nothing else)."""
    out, n = re.subn(r"server proxy-a:8000", f"server 127.0.0.1:{a}", conf)
    out, m = re.subn(r"server proxy-b:8000", f"server 127.0.0.1:{b}", out)
    out, k = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", out)
    assert (n, m, k) == (1, 1, 1), "deploy/nginx.conf changed shape: update this test's substitutions"
    return out


@pytest.fixture(scope="module")
def front(origin: Any, port_factory: Any, process_runner: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """nginx with deploy/nginx.conf → two Slotwise instances (granian, uvicorn) → the test origin."""
    binary = nginx_binary()
    if binary is None:
        missing("nginx is not installed")
    tmp = tmp_path_factory.mktemp("deploy-nginx")
    a, b, port = port_factory(), port_factory(), port_factory()
    with proxy_process(process_runner, a, origin.url, "granian", trusted_proxies="127.0.0.1"), \
            proxy_process(process_runner, b, origin.url, "uvicorn", trusted_proxies="127.0.0.1"):
        (tmp / "default.conf").write_text(layout(SHIPPED.read_text(), port, a, b))
        user = f"{pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name}"
        (tmp / "nginx.conf").write_text(MAIN.format(tmp=tmp, user=user))
        with process_runner([binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")], port):
            yield port


def test_a_5mb_upload_arrives_whole_through_the_documented_layout(front: int) -> None:
    body = os.urandom(5 * 1024 * 1024)
    with httpx.Client(trust_env=False, timeout=30) as client:
        for _ in range(2):  # both instances (round robin)
            r = client.post(f"http://127.0.0.1:{front}/echo/upload", content=body,
                            headers={"content-type": "application/octet-stream"})
            assert r.status_code == 200, r.text[:200]
            assert r.json()["size"] == len(body) and r.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_a_websocket_through_the_documented_layout(front: int) -> None:
    for _ in range(2):  # both instances (round robin)
        with connect(f"ws://127.0.0.1:{front}/ws/chat", open_timeout=10) as ws:
            ws.send("through nginx")
            assert ws.recv(timeout=5) == "through nginx"
            ws.send(b"\x00\x01")
            assert ws.recv(timeout=5) == b"\x00\x01"


def test_a_streamed_page_is_not_held_by_nginx(front: int) -> None:
    """A page the store trickles reaches the visitor as it comes through the whole layout: first byte long before the last."""
    for _ in range(2):  # both instances (round robin)
        t = timed_get(front, "/trickle", {"Accept-Encoding": "identity"})
        assert t.status == 200 and t.body == TRICKLED
        assert t.total_ms > 900 and t.first_byte_ms < 400, (t.first_byte_ms, t.total_ms)
