"""A store that goes away shows in ``/_sw/health`` and the metrics, and so does its return.

A real store (uvicorn on 127.0.0.1) stops and starts again on the same port
behind a real proxy. What an SRE expects: Slotwise's own status stays "ok"
(a balancer must not take every instance out for a fault none of them has),
while the health body says the upstream is failing, since when and why, and
``slotwise_upstream_up`` goes to 0 and back to 1; the store's return is seen
by the health check's own request, without any visitor.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from slotwise.proxy.app import HEALTH_CACHE_S
from slotwise.proxy.forwarding.upstream_health import PROBE_TIMEOUT_S

Store = Callable[[int | None], Any]


async def shop(request: Request) -> HTMLResponse:
    return HTMLResponse("<!doctype html><html><body><h1>Shop</h1></body></html>")


@pytest.fixture
def store(uvicorn_runner: Any) -> Iterator[Store]:
    """``store(port)`` → a store serving ``/`` and ``/p`` (on ``port``, or a free one); stopped after the test."""
    running: list[Any] = []

    def start(port: int | None = None) -> Any:
        server = uvicorn_runner(Starlette(routes=[Route("/", shop, methods=["GET", "HEAD"]), Route("/p", shop)]),
                                **({"port": port} if port else {}))
        if port:
            server.port = port
        running.append(server.__enter__())
        return server

    yield start
    for server in running:
        server.__exit__()


def health(http: httpx.Client) -> dict[str, Any]:
    time.sleep(HEALTH_CACHE_S + 0.05)  # a fresh check, not the one kept for a second
    answer = http.get("/_sw/health")
    assert answer.status_code == 200, answer.text  # the store being down is not Slotwise degraded
    body: dict[str, Any] = answer.json()
    assert body["status"] == "ok" and body["reasons"] == []
    return body


def gauge(http: httpx.Client, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", http.get("/_sw/metrics").text, re.M)
    assert found is not None, name
    return float(found.group(1))


def parse(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def test_a_store_that_goes_away_and_comes_back(store: Store, make_proxy: Callable[..., Any], client: Any,
                                               caplog: pytest.LogCaptureFixture) -> None:
    shop_server = store(None)
    http = client(make_proxy(upstream=shop_server.url))
    assert http.get("/p").status_code == 200
    upstream = health(http)["upstream"]
    assert (upstream["url"], upstream["status"]) == (shop_server.url, "ok")
    assert upstream["last_answer"] is not None and "failing_since" not in upstream and "last_error" not in upstream
    assert gauge(http, "slotwise_upstream_up") == 1

    shop_server.__exit__()
    went = time.time()
    assert [http.get("/p").status_code for _ in range(3)] == [502, 502, 502]
    upstream = health(http)["upstream"]
    assert upstream["status"] == "failing"
    assert went - 2 <= parse(upstream["failing_since"]) <= time.time()
    assert upstream["failed_requests"] >= 3 and upstream["failing_for_seconds"] >= 0
    assert upstream["last_error"].startswith("UpstreamUnavailable: ") and "onnect" in upstream["last_error"]
    assert gauge(http, "slotwise_upstream_up") == 0
    assert went - 2 <= gauge(http, "slotwise_upstream_failing_since_seconds") <= time.time()
    assert http.get("/_sw/live").status_code == 200

    store(shop_server.port)  # back, on the same address: no visitor asks for anything meanwhile
    with caplog.at_level(logging.WARNING, logger="slotwise.proxy"):
        upstream = health(http)["upstream"]
    assert upstream["status"] == "ok" and "failing_since" not in upstream
    assert upstream["last_error"].startswith("UpstreamUnavailable: ")  # what happened last stays visible
    assert parse(upstream["last_answer"]) >= parse(upstream["last_error_at"])
    assert gauge(http, "slotwise_upstream_up") == 1 and gauge(http, "slotwise_upstream_failing_since_seconds") == 0
    said = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert len(said) == 1 and shop_server.url in said[0] and "failed request" in said[0]
    assert http.get("/p").status_code == 200


def test_an_upstream_never_reached_is_named_before_any_visitor(make_proxy: Callable[..., Any], client: Any) -> None:
    """A wrong ``--upstream``: the first health check asks the store itself."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    http = client(make_proxy(upstream=f"http://127.0.0.1:{port}"))
    upstream = health(http)["upstream"]
    assert upstream["status"] == "failing" and upstream["last_answer"] is None
    assert upstream["failed_requests"] == 1 and "UpstreamUnavailable" in upstream["last_error"]


def test_a_store_that_never_answers_does_not_hold_the_health_check(make_proxy: Callable[..., Any],
                                                                    client: Any) -> None:
    """A store that accepts connections and sends nothing: ``/_sw/health`` answers at once with what is
    known (a balancer's check must not time out on Slotwise for the store's fault), and a later check
    says what the probe found once its own timeout ran out."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # the kernel accepts; nobody reads or answers
        http = client(make_proxy(upstream=f"http://127.0.0.1:{hung.getsockname()[1]}"))
        time.sleep(HEALTH_CACHE_S + 0.05)
        asked = time.monotonic()
        answer = http.get("/_sw/health")
        took = time.monotonic() - asked
        assert answer.status_code == 200 and answer.json()["upstream"]["status"] == "ok"  # nothing known yet
        assert took < PROBE_TIMEOUT_S, f"the health check waited {took:.2f} s for the store's probe"
        deadline = time.monotonic() + PROBE_TIMEOUT_S + 5
        while True:
            upstream = health(http)["upstream"]
            if upstream["status"] == "failing" or time.monotonic() > deadline:
                break
        assert upstream["status"] == "failing", upstream
        assert upstream["last_error"].startswith("UpstreamTimeout: ") and upstream["last_answer"] is None
