"""The commit a page has nothing to log for is not made (``commit_pending``), and nothing else changes.

``SafePersonalizer`` asks the personalizer's optional ``commit_pending``: a
page whose decisions are all sticky (a returning visitor's, most pages) has
nothing to log, so the commit — a call and a deadline — is skipped; any
other answer, a failing one included, runs the commit as before. The
product's personalizer says "pending" exactly when its commit would log a
decision record.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from slotwise.proxy.flow import Flow, Visitor
from slotwise.proxy.forwarding.forward_safe import SafePersonalizer
from slotwise.proxy.personalization.personalize import _UNLOGGED, SlotwisePersonalizer


def _flow() -> Flow:
    return Flow("GET", "/", "", [], "127.0.0.1", "http", "shop.example")


class _Inner:
    def __init__(self, pending: Any) -> None:
        self.pending = pending
        self.commits = 0

    async def on_html(self, flow: Flow, html: bytes) -> bytes:
        return html + b"<!-- personalized -->"

    def commit_pending(self, flow: Flow) -> bool:
        if isinstance(self.pending, Exception):
            raise self.pending
        return bool(self.pending)

    async def commit(self, flow: Flow) -> None:
        self.commits += 1


@pytest.mark.parametrize(("pending", "commits"), [(False, 0), (True, 1), (RuntimeError("odd"), 1)])
def test_the_commit_is_made_unless_the_personalizer_says_nothing_is_pending(pending: Any, commits: int) -> None:
    inner = _Inner(pending)
    safe = SafePersonalizer(inner, budget_ms=1_000)  # type: ignore[arg-type]
    flow = _flow()
    body = asyncio.run(safe.on_html(flow, b"<html><body>x</body></html>"))
    assert body == b"<html><body>x</body></html><!-- personalized -->"  # the page goes out either way
    assert inner.commits == commits and not safe.failed(flow)


def _choices(*records: Any) -> Any:
    return SimpleNamespace(choices=[SimpleNamespace(record=r) for r in records])


@pytest.mark.parametrize(("state", "visitor", "pending"), [
    ({}, True, False),  # on_html left nothing (a bot, no rules, a page not personalized)
    ({_UNLOGGED: (_choices(), 0.0)}, True, False),  # no slot applied
    ({_UNLOGGED: (_choices(None, None), 0.0)}, True, False),  # sticky choices, a preview's forced ones
    ({_UNLOGGED: (_choices(None, {"decision_id": "d"}), 0.0)}, True, True),  # one new decision
    ({_UNLOGGED: (_choices({"decision_id": "d"}), 0.0)}, False, False),  # no visitor: commit logs nothing
])
def test_pending_exactly_when_commit_would_log_a_decision(state: dict[str, Any], visitor: bool, pending: bool) -> None:
    flow = _flow()
    flow.state.update(state)
    flow.visitor = Visitor("v1", False) if visitor else None
    assert SlotwisePersonalizer.commit_pending(None, flow) is pending  # type: ignore[arg-type]
    logged: list[Any] = []

    class _Probe:
        async def _persist_decisions(self, visitor_id: str, work: Any, now: float) -> None:
            fresh = [c.record for c in work.choices if c.record is not None]
            if fresh:
                logged.extend(fresh)

    asyncio.run(SlotwisePersonalizer.commit(_Probe(), flow))  # type: ignore[arg-type]
    assert bool(logged) is pending
