"""HTTP/2 as offered (README: Protocols): granian speaks h2c with prior knowledge and h2 over TLS (ALPN);
uvicorn speaks HTTP/1.1 over TLS, and refuses ``--http 2`` at start rather than failing at the first request.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from sw_servers import proxy_process
from tls_files import issue_cert_files
from websockets.asyncio.client import connect

BIG = 300_000


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, trustme.CA]:
    return issue_cert_files(tmp_path_factory.mktemp("tls"), "127.0.0.1", "localhost")


def check(client: httpx.Client, base: str, version: str) -> None:
    small = client.get(f"{base}/echo/h2?x=1", headers={"cookie": "a=1"})
    assert small.status_code == 200 and small.http_version == version
    seen = dict(small.json()["headers"])
    assert seen["cookie"] == "a=1" and seen["x-forwarded-proto"] == ("https" if base.startswith("https") else "http")
    big = client.get(f"{base}/bigfile?n={BIG}")
    assert big.http_version == version and len(big.content) == BIG // 256 * 256
    posted = client.post(f"{base}/echo", content=b"x" * 100_000)
    assert posted.json()["size"] == 100_000


def test_h2c_with_prior_knowledge_behind_a_balancer(origin: Any, port_factory: Any, process_runner: Any) -> None:
    port = port_factory()
    with proxy_process(process_runner, port, origin.url, "granian"):
        with httpx.Client(http1=False, http2=True, trust_env=False, timeout=10) as h2c:
            check(h2c, f"http://127.0.0.1:{port}", "HTTP/2")
        with httpx.Client(trust_env=False, timeout=10) as h1:  # the same port still speaks HTTP/1.1
            check(h1, f"http://127.0.0.1:{port}", "HTTP/1.1")


@pytest.mark.parametrize(("server", "version"), [("granian", "HTTP/2"), ("uvicorn", "HTTP/1.1")])
def test_tls_with_a_certificate(origin: Any, port_factory: Any, process_runner: Any, tls: Any, server: str,
                                version: str) -> None:
    cert, key, ca = tls
    port = port_factory()
    with proxy_process(process_runner, port, origin.url, server, tls_cert=cert, tls_key=key):
        with httpx.Client(http2=True, verify=_context(ca), trust_env=False,
                          timeout=10) as client:
            check(client, f"https://127.0.0.1:{port}", version)
        with httpx.Client(verify=_context(ca), trust_env=False, timeout=10) as h1:  # an HTTP/1.1-only client
            check(h1, f"https://127.0.0.1:{port}", "HTTP/1.1")
        assert _wss_echo(f"wss://127.0.0.1:{port}/ws/tls", _context(ca), "secure") == "secure"  # WebSockets over TLS


def _wss_echo(url: str, context: ssl.SSLContext, text: str) -> str:
    """``text`` there and back over wss, every step bounded.

    Not the sync client: over TLS its reader thread blocks inside a read (after the server's session tickets
    the ssl module's read waits for the next record) that neither ``open_timeout`` nor ``close()`` can end:
    it closes the socket and joins the reader with no limit, so a server slow to answer held the test for as
    long as the server stayed silent (the hang under load in a full ``-n 2`` run).
    """
    async def exchange() -> str:
        async with asyncio.timeout(30):
            async with connect(url, ssl=context, open_timeout=10, close_timeout=5) as ws:
                await ws.send(text)
                return str(await ws.recv())

    return asyncio.run(exchange())


def _context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def test_uvicorn_refuses_http2_at_start(origin: Any, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import slotwise.proxy.server
    from slotwise.cli import main

    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr(slotwise.proxy.server, "run", started)
    assert main(["serve", "--upstream", origin.url, "--server", "uvicorn", "--http", "2"]) == 2
    assert "uvicorn speaks HTTP/1.1 only" in capsys.readouterr().err
