"""The store keeps working through the proxy: CSRF-protected login, cookies, redirects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from slotwise.demo.server import DemoServer


def test_login_with_csrf_survives_the_round_trip(edge: Any, tmp_path: Path) -> None:
    # the store knows itself as "localhost" (its cookies' Domain and absolute redirects say so);
    # visitors reach the proxy as 127.0.0.1: both must be rewritten to the public host
    with DemoServer(tmp_path / "store", cookie_domain="localhost") as store:
        upstream = store.url.replace("127.0.0.1", "localhost")
        e = edge(upstream=upstream)
        with e.client() as client:
            form = client.get("/login")
            token = LexborHTMLParser(form.text).css_first('input[name="csrf_token"]').attributes["value"]
            session = form.headers.get("set-cookie", "")
            assert "demo_session=" in session and "Domain=127.0.0.1" in session and "localhost" not in session
            refused = client.post("/login", data={"email": "demo@example.com", "password": "demo", "csrf_token": "forged"})
            assert refused.status_code == 403
            done = client.post("/login", data={"email": "demo@example.com", "password": "demo", "csrf_token": token})
            assert done.status_code == 303
            assert done.headers["location"] == f"{e.url}/account"  # the public host, not the upstream's
            account = client.get("/account")
            assert account.status_code == 200 and "demo@example.com" in account.text
            body = LexborHTMLParser(account.text).css_first("body")
            assert body is not None and body.attributes.get("data-customer-id")
