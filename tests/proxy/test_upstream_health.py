"""A store that goes away shows in ``/_sw/health`` and the metrics, and so does its return.

A real store (uvicorn on 127.0.0.1) stops and starts again on the same port
behind a real proxy. What an SRE expects: Slotwise's own status stays "ok"
(a balancer must not take every instance out for a fault none of them has),
while the health body says the upstream is failing, since when and why, and
``slotwise_upstream_up`` goes to 0 and back to 1; the store's return is seen
by the health check's own request, without any visitor.
"""

from __future__ import annotations

import asyncio
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
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from slotwise.proxy.app import HEALTH_CACHE_S
from slotwise.proxy.config import ConfigError, Settings
from slotwise.proxy.forwarding.upstream import PROBE_AGENT
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


class Recorded:
    """A store whose ``/`` answers late (past the probe's timeout) and whose ``/robots.txt`` at once, ``405``
    to a HEAD when ``refuse_head``; every request it gets is noted (method, path and query, user agent)."""

    def __init__(self, refuse_head: bool = False) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.refuse_head = refuse_head

    async def handle(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.seen.append((request.method, target, request.headers.get("user-agent", "")))
        if request.method == "HEAD" and self.refuse_head:
            return PlainTextResponse("", status_code=405, headers={"allow": "GET"})
        if request.url.path == "/":
            await asyncio.sleep(PROBE_TIMEOUT_S + 1)
        return PlainTextResponse("User-agent: *\n")

    def probes(self) -> list[tuple[str, str]]:
        return [(method, target) for method, target, agent in self.seen if agent == PROBE_AGENT.decode()]


def answered(http: httpx.Client) -> dict[str, Any]:
    """The health body once the probe's answer is in (the check waits for it a quarter of a second only)."""
    deadline = time.monotonic() + PROBE_TIMEOUT_S + 5
    while True:
        upstream = health(http)["upstream"]
        if upstream["last_answer"] is not None or upstream["status"] == "failing" or time.monotonic() > deadline:
            return upstream


def test_the_health_check_asks_the_path_it_is_given(uvicorn_runner: Any, make_proxy: Callable[..., Any],
                                                    client: Any) -> None:
    """A store whose home page is slow: ``--upstream-health-path /robots.txt`` asks a page it answers at
    once, so the store shows ``ok`` without a visitor (``HEAD /`` would time out and say ``failing``)."""
    store = Recorded()
    with uvicorn_runner(Starlette(routes=[Route("/{path:path}", store.handle, methods=["GET", "HEAD"])])) as shop:
        http = client(make_proxy(upstream=shop.url, upstream_health_path="/robots.txt?from=slotwise"))
        upstream = answered(http)
    assert upstream["status"] == "ok" and upstream["last_answer"] is not None, upstream
    assert store.probes() and set(store.probes()) == {("HEAD", "/robots.txt?from=slotwise")}


def test_a_store_that_refuses_head_answers_and_is_not_asked_with_get(uvicorn_runner: Any,
                                                                    make_proxy: Callable[..., Any],
                                                                    client: Any) -> None:
    """A 405 to the check's HEAD is the store answering: ``ok``, and no GET follows (it would cost the store a
    page on every check and say nothing more about whether it answers)."""
    store = Recorded(refuse_head=True)
    with uvicorn_runner(Starlette(routes=[Route("/{path:path}", store.handle, methods=["GET", "HEAD"])])) as shop:
        http = client(make_proxy(upstream=shop.url, upstream_health_path="/robots.txt"))
        upstream = answered(http)
    assert upstream["status"] == "ok" and upstream["last_answer"] is not None, upstream
    assert store.probes() and set(store.probes()) == {("HEAD", "/robots.txt")}


@pytest.mark.parametrize("path", ["robots.txt", "//other.example/x", "/a b", "/a#b", "/é", ""])
def test_a_health_path_that_is_not_a_path_on_the_store_is_refused_at_start(path: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"SLOTWISE_UPSTREAM": "http://127.0.0.1:9", "SLOTWISE_UPSTREAM_HEALTH_PATH": path})
    assert str(refused.value).startswith(f"SLOTWISE_UPSTREAM_HEALTH_PATH / --upstream-health-path: {path!r} ")
    assert Settings.from_env({"SLOTWISE_UPSTREAM_HEALTH_PATH": "/healthz?deep=0"}).upstream_health_path == "/healthz?deep=0"
    assert Settings.from_env({}).upstream_health_path == "/"
