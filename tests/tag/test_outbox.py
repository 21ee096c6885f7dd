"""Sign-up webhooks: stored with the sign-up, delivered at least once to a real server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from polling import wait_for

from slotwise.tag.outbox import backoff
from slotwise.proxy.config import Settings
from slotwise.tag.testing import SECRET


class Receiver:
    """A webhook endpoint on 127.0.0.1 that fails its first ``fail`` requests."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                status = 500 if len(receiver.requests) < receiver.fail else 204
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.close()


def test_webhook_is_retried_until_delivered(make_client: Any, store: Any, receiver: Receiver) -> None:
    client = make_client(webhook=receiver.url, outbox_options={"base_delay": 0.05, "poll_s": 0.2})
    r = client.post("/_sw/signup", json={"email": "hook@example.com", "decision_id": "d9"})
    assert r.status_code == 200
    wait_for(lambda: any(status == 204 for _, _, status in receiver.requests), timeout=10)
    statuses = [status for _, _, status in receiver.requests]
    assert statuses == [500, 500, 204]
    headers, body, _ = receiver.requests[-1]
    payload = json.loads(body)
    assert payload["email"] == "hook@example.com" and payload["coupon"] == r.json()["coupon"]
    assert payload["decision_id"] == "d9"
    assert len({h["idempotency-key"] for h, _, _ in receiver.requests}) == 1
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-slotwise-signature"] == f"sha256={expected}"
    wait_for(lambda: store.db.query("SELECT COUNT(*) FROM outbox")[0][0] == 0)
    # a second sign-up of the same person is not a new subscriber: no second webhook
    client.post("/_sw/signup", json={"email": "hook@example.com"})
    assert store.db.query("SELECT COUNT(*) FROM outbox")[0][0] == 0


def test_undelivered_messages_survive_and_are_erased_with_the_person(make_client: Any, store: Any) -> None:
    client = make_client(webhook="http://127.0.0.1:9/unreachable", outbox_options={"base_delay": 30})
    client.post("/_sw/signup", json={"email": "gone@example.com"})
    vid = client.cookies.get("sw_vid").split(".")[0]
    wait_for(lambda: store.db.query("SELECT attempts FROM outbox")[0][0] >= 1)
    exported = client.get(f"/_sw/admin/api/visitors/{vid}", headers={"authorization": "Bearer admin-token-for-tests"})
    assert exported.json()["outbox"][0]["payload"]["email"] == "gone@example.com"
    client.delete(f"/_sw/admin/api/visitors/{vid}", headers={"authorization": "Bearer admin-token-for-tests"})
    assert store.db.query("SELECT COUNT(*) FROM outbox")[0][0] == 0


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    delays = [backoff(n, 1.0, 60.0, rng) for n in range(1, 10)]
    assert 0.75 <= delays[0] <= 1.25 and delays[3] > delays[1] and max(delays) <= 75


def test_webhook_url_from_settings_or_env() -> None:
    assert Settings.from_env({}, webhook_url="http://a").webhook_url == "http://a"
    assert Settings.from_env({"SLOTWISE_WEBHOOK_URL": "http://b"}).webhook_url == "http://b"
    assert Settings.from_env({}).webhook_url == ""


def test_the_message_names_the_offer_of_the_visitors_own_decision(make_client: Any, store: Any) -> None:
    """The store gives the code the discount the popup promised: the variant comes from the logged
    decision, never from the browser; a decision id the visitor was not given names no offer."""
    from slotwise.tag.testing import sync

    receiver = Receiver(fail=0)
    try:
        client = make_client(webhook=receiver.url, outbox_options={"base_delay": 0.05, "poll_s": 0.2})
        client.post("/_sw/events", json={"events": [{"type": "page_view", "event_id": "pv-00000001", "props": {}}]})
        vid = client.cookies.get("sw_vid").split(".")[0]
        sync(store.update_profile(vid, lambda p: p.assignments.update(
            {"exit-coupon": {"arm": "pct15", "decision_id": "d-mine", "ts": 1.0, "session_start": 1.0}}), 1.0))
        assert client.post("/_sw/signup", json={"email": "offer@example.com", "decision_id": "d-mine"}).status_code == 200
        stranger = make_client(webhook=receiver.url, outbox_options={"base_delay": 0.05, "poll_s": 0.2})
        assert stranger.post("/_sw/signup", json={"email": "other@example.com", "decision_id": "d-mine"}).status_code == 200
        wait_for(lambda: len(receiver.requests) >= 2, timeout=10)
        payloads = {json.loads(body)["email"]: json.loads(body) for _, body, _ in receiver.requests}
        assert payloads["offer@example.com"]["offer"] == "pct15" and payloads["offer@example.com"]["slot"] == "exit-coupon"
        assert "offer" not in payloads["other@example.com"]
    finally:
        receiver.close()


def test_the_webhook_is_signed_with_its_own_key_when_given(tmp_path: Any, store: Any, cookies: Any) -> None:
    """``--webhook-secret``: the receiver holds that key, never the one that signs cookies and preview links."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from slotwise.tag.api import TagAPI
    from slotwise.tag.testing import asgi_client

    receiver = Receiver(fail=0)
    settings = Settings(secret=SECRET, webhook_secret="the-receivers-own-key", data=str(tmp_path))
    api = TagAPI(settings, store, cookies, webhook=receiver.url, outbox_options={"base_delay": 0.05, "poll_s": 0.2})
    client = asgi_client(Starlette(routes=[Mount("/_sw", routes=api.routes())]))
    try:
        assert client.post("/_sw/signup", json={"email": "own-key@example.com"}).status_code == 200
        wait_for(lambda: bool(receiver.requests), timeout=10)
        headers, body, _ = receiver.requests[-1]
        own = hmac.new(b"the-receivers-own-key", body, hashlib.sha256).hexdigest()
        assert headers["x-slotwise-signature"] == f"sha256={own}"
        assert settings.signing_key() == SECRET.encode()  # cookies and preview links keep the main key
    finally:
        client.close()
        receiver.close()
