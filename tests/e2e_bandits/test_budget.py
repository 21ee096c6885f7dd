"""A page that runs out of its time budget goes out unchanged, and logs no decision."""

from __future__ import annotations

import time
from typing import Any


def test_a_page_past_its_budget_logs_no_decision(edge: Any) -> None:
    e = edge(personalize_budget_ms=200.0)
    decide = e.p._decide_step

    async def slow_decide(*args: Any, **kwargs: Any) -> Any:
        result = await decide(*args, **kwargs)
        time.sleep(0.5)  # CPU-bound: nothing can interrupt it, only its result can be refused
        return result

    e.p._decide_step = slow_decide  # type: ignore[method-assign]
    v = e.visitor(holdout=False)
    assert v.view() == {}  # the original page: no slot marked
    assert "data-sw-decision" not in v.last_page
    assert e.decisions() == []  # and nothing logged that the visitor never saw

    e.p._decide_step = decide  # type: ignore[method-assign]
    assert set(v.view()) >= {"hero"}  # within the budget: shown and logged
    assert {d["slot"] for d in e.decisions()} >= {"hero"}
