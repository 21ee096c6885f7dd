"""Issue 5 end to end: the real proxy (real HTTP on 127.0.0.1) in front of a tiny store,
a controllable clock, events through ``POST /_sw/events`` exactly as the tag sends them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from bandit_helpers import RULES, Edge, FakeClock, upstream_app
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer


@pytest.fixture(scope="session")
def upstream(uvicorn_runner: Any) -> Iterator[Any]:
    with uvicorn_runner(upstream_app()) as server:
        yield server


@pytest.fixture
def edge(upstream: Any, tmp_path: Path, asgi_server: Any) -> Callable[..., Edge]:
    """``edge(rules_text=RULES)`` → a proxy with a fake clock in front of the tiny store."""

    def start(rules_text: str = RULES, decision_ids: Callable[[], str] | None = None, **overrides: Any) -> Edge:
        rules_path = tmp_path / f"rules-{uuid.uuid4().hex[:6]}.yaml"
        rules_path.write_text(rules_text)
        # a generous time budget: on a loaded machine a page must not fail open (tested elsewhere)
        overrides.setdefault("personalize_budget_ms", 5000.0)
        settings = Settings(upstream=upstream.url, rules=str(rules_path), data=str(tmp_path / uuid.uuid4().hex),
                            admin_token="admin-token-for-tests", **overrides)
        clock = FakeClock()
        extra = {} if decision_ids is None else {"decision_ids": decision_ids}
        personalizer = SlotwisePersonalizer(settings, clock=clock, **extra)
        personalizer.learning.poll_s = 3600.0  # learning runs when poked (events) or when a test says so
        server = asgi_server(create_app(settings, personalizer))
        return Edge(server, personalizer, settings, clock, rules_path)

    return start
