"""A personalizer that says it touches no forwarded request (``serve`` without rules) is not called at all.

The forwarding layer asks once (``passes_through``); a personalizer that says
so gets no call for a forwarded page, and the page goes out byte for byte.
One that says no, has no answer, or fails to answer is called as usual.
"""

from __future__ import annotations

from typing import Any

import pytest
from sw_upstreams import PAGE, Rewriter

from slotwise.proxy.config import Settings
from slotwise.proxy.flow import Flow
from slotwise.proxy.forwarding.forward_safe import SafePersonalizer


class Counting(Rewriter):
    def __init__(self, answer: Any) -> None:
        super().__init__()
        self.answer = answer
        self.calls = 0

    def passes_through(self) -> bool:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer  # type: ignore[no-any-return]

    async def on_request(self, flow: Flow) -> None:
        self.calls += 1


class Unasked(Rewriter):
    """No ``passes_through`` at all (it is optional)."""

    calls = 0

    async def on_request(self, flow: Flow) -> None:
        self.calls += 1


@pytest.mark.parametrize(("personalizer", "called"), [
    (Counting(True), False),
    (Counting(False), True),
    (Counting("yes"), True),  # only True means it: anything else personalizes as usual
    (Counting(RuntimeError("boom")), True),
    (Unasked(), True),
])
def test_only_a_personalizer_that_passes_through_is_left_out(make_proxy: Any, client: Any, personalizer: Any,
                                                            called: bool) -> None:
    r = client(make_proxy(personalizer)).get("/html")
    assert r.status_code == 200
    assert (personalizer.calls > 0) is called
    assert (r.content == PAGE) is not called  # left out: the store's page; asked: the Rewriter's


def test_serve_without_rules_passes_through_and_with_rules_does_not(tmp_path: Any, origin: Any) -> None:
    from slotwise.proxy.personalization.personalize import build_personalizer

    bare = Settings(upstream=origin.url, data=str(tmp_path / "a"))
    assert SafePersonalizer(build_personalizer(bare), 50).passes_through()
    rules = tmp_path / "rules.yaml"
    rules.write_text("slots: []\n")
    ruled = Settings(upstream=origin.url, data=str(tmp_path / "b"), rules=str(rules))
    assert not SafePersonalizer(build_personalizer(ruled), 50).passes_through()

