"""A fault at each stage of personalization serves the store's page byte for byte, counted and logged."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from agents import DESKTOP_UA

TAG_SCRIPT = re.compile(rb'<script src="/_sw/tag\.[0-9a-f]+\.js"[^>]*></script>')


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault")


async def aboom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault")


def fail_open_count(metrics_text: str, stage: str) -> float:
    match = re.search(rf'slotwise_fail_open_total\{{stage="{stage}"\}} ([0-9.e+]+)', metrics_text)
    return float(match.group(1)) if match else 0.0


def inject(e: Any, stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    p = e.p
    ruleset = p.ruleset()
    if stage == "rules":  # a `when` condition that blows up
        slot = ruleset.slot("home-categories")
        monkeypatch.setattr(type(slot), "applies", boom)
    elif stage == "render":  # a template that fails at render time
        slot = ruleset.slot("home-categories")
        monkeypatch.setattr(type(slot), "render", boom)
    elif stage == "decide":  # the bandit
        monkeypatch.setattr(p.learning.learner, "decide", boom)
    elif stage == "store":  # the state store (a page view's update goes through update_profile_soon)
        monkeypatch.setattr(p.store, "update_profile", aboom)
        monkeypatch.setattr(p.store, "update_profile_soon", aboom)
    elif stage == "rewrite":  # the HTML rewriter
        monkeypatch.setattr("slotwise.proxy.personalization.personalize.rewrite", boom)


@pytest.mark.parametrize("stage", ["rules", "render", "decide", "store", "rewrite"])
def test_fault_at_each_stage_serves_the_upstream_bytes(
    stage: str, edge: Any, demo: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    e = edge()
    with e.client() as client:
        client.get("/c/jeans")
        # the store's own cart (the proxy reads the add-to-cart post and the header's count)
        assert client.post("/cart/add", data={"product_id": "501", "size": "W32", "qty": "1"}).status_code == 303
        healthy = client.get("/")
        assert b"data-sw-decision" in healthy.content and b"data-sw-popup" in healthy.content  # personalized
    inject(e, stage, monkeypatch)
    caplog.set_level(logging.WARNING, logger="slotwise.proxy")
    with e.client() as client:  # a new visitor: no sticky decision to fall back on
        client.get("/c/jeans")
        before = fail_open_count(client.get("/_sw/metrics").text, stage)
        broken = client.get("/")
        again = client.get("/")
        after = fail_open_count(client.get("/_sw/metrics").text, stage)
    upstream = httpx.get(demo.url + "/", headers={"user-agent": DESKTOP_UA})
    assert broken.status_code == 200
    assert broken.content == upstream.content  # byte for byte: no tag, no edit
    assert broken.headers["cache-control"] == upstream.headers["cache-control"]
    assert again.content == upstream.content
    assert after - before == 2  # counted per request, by stage
    lines = [r.getMessage() for r in caplog.records if "failed open" in r.getMessage()]
    reasons = [line.rsplit(" (", 1)[0] for line in lines]  # without the page's path
    assert reasons and all(f"at {stage}" in r for r in reasons)
    assert len(reasons) == len(set(reasons))  # logged once per (stage, slot, reason), not per request
