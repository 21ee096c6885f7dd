"""Fail open: any personalizer failure serves the origin's response byte for byte."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from sw_upstreams import Rewriter

from slotwise.proxy.operations import metrics
from slotwise.proxy.flow import Flow, PersonalizationError


class Failing(Rewriter):
    def __init__(self, stage: str, exc: Exception | None = None, delay: float = 0.0) -> None:
        super().__init__(extra=[])
        self.stage, self.exc, self.delay = stage, exc or RuntimeError("boom"), delay

    async def on_request(self, flow: Flow) -> None:
        if self.stage == "request":
            raise self.exc

    def wants_body(self, flow: Flow) -> bool:
        if self.stage == "wants_body":
            raise self.exc
        return True

    async def on_html(self, flow: Flow, html: bytes) -> bytes | None:
        if self.stage == "html":
            if self.delay:
                await asyncio.sleep(self.delay)
            else:
                raise self.exc
        if self.stage == "cpu":
            time.sleep(self.delay)  # blocking work cannot be interrupted, its result is discarded
        if self.stage == "type":
            return "not bytes"  # type: ignore[return-value]
        return await super().on_html(flow, html)


def fail_open_count(stage: str) -> float:
    metrics.flush()  # counted in the process first (``metrics.Pending``)
    return metrics.FAIL_OPEN.labels(stage)._value.get()


def wire(c: Any, url: str) -> tuple[bytes, list[tuple[str, str]]]:
    with c.stream("GET", url) as r:
        return b"".join(r.iter_raw()), [(k, v) for k, v in r.headers.multi_items() if k != "date"]


@pytest.mark.parametrize(
    ("failing", "stage"),
    [
        (Failing("request"), "request"),
        (Failing("wants_body"), "wants_body"),
        (Failing("html"), "html"),
        (Failing("html", PersonalizationError("render", "template error", slot="recs")), "render"),
        (Failing("html", delay=0.3), "html"),
        (Failing("cpu", delay=0.15), "html"),
        (Failing("type"), "html"),
    ],
    ids=["request", "wants_body", "html", "PersonalizationError", "budget-async", "budget-cpu", "wrong-type"],
)
def test_each_stage_fails_open_byte_identical(
    make_proxy: Any, origin: Any, client: Any, failing: Failing, stage: str, caplog: Any
) -> None:
    before = fail_open_count(stage)
    c = client(make_proxy(failing, personalize_budget_ms=100))
    with caplog.at_level(logging.WARNING, logger="slotwise.proxy"):
        for _ in range(2):
            assert wire(c, "/html?enc=gzip") == wire(client(origin), "/html?enc=gzip")
    assert fail_open_count(stage) == before + 2
    logged = [r for r in caplog.records if "failed open" in r.getMessage()]
    assert len(logged) == 1  # once per (stage, slot, reason)


def test_startup_failure_falls_back_to_transparent(make_proxy: Any, client: Any) -> None:
    class BadStart(Rewriter):
        async def startup(self) -> None:
            raise RuntimeError("no store")

    c = client(make_proxy(BadStart()))
    r = c.get("/html")
    assert b"<h1>Shop</h1>" in r.content and r.headers["etag"] == '"v1"'
    health = c.get("/_sw/health")  # serving, but not as configured: alerting must know
    assert health.status_code == 503 and health.json()["reasons"] == ["personalizer_failed"]
    assert "no store" in health.json()["details"]["personalizer_failed"]
    assert c.get("/_sw/live").status_code == 200
