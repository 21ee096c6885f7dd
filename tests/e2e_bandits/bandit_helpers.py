"""Helpers for issue 5's end-to-end tests (imported by the test modules; fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.proxy.operations.reporting import build_decision_log, read_all
from agents import DESKTOP_UA  # noqa: E402

T0 = 1_750_000_000.0  # the fake clock's start (2025-06-15)
HOLDOUT = 0.25
WINDOW_S = 1800.0

PAGE = """<!doctype html><html><head><title>Shop</title></head><body>
<div class="hero">Welcome</div>
<div class="banner">Our store</div>
<div class="offer">No offer</div>
<div class="recs">Popular</div>
</body></html>"""

RULES = """
holdout: 25%
attribution_window: 30m
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    goal: click
    variants:
      - id: a
        html: "<b>A</b>"
      - id: b
        html: "<b>B</b>"
      - id: c
        html: "<b>C</b>"
  - id: banner
    pages: "/"
    selector: ".banner"
    action: replace
    goal: purchase
    policy: {name: uniform, sticky: visitor}
    variants:
      - id: spring
        html: "<i>Spring</i>"
      - id: summer
        html: "<i>Summer</i>"
  - id: offer
    pages: "/"
    selector: ".offer"
    action: replace
    goal: margin
    policy: {name: epsilon-greedy, epsilon: 0.3, sticky: none}
    variants:
      - id: pct10
        html: "<p>10% off</p>"
        coupon_cost: 10%
      - id: flat5
        html: "<p>5 off</p>"
        coupon_cost: 5
  - id: recs
    pages: "/"
    selector: ".recs"
    action: replace
    goal: revenue
    variants:
      - id: top
        html: "<ul><li>top</li></ul>"
      - id: new
        html: "<ul><li>new</li></ul>"
"""


def upstream_app() -> Starlette:
    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(PAGE)

    async def category(request: Any) -> HTMLResponse:  # a category page, for the visitor's top category
        return HTMLResponse(f"<!doctype html><html><body><h1>{request.path_params['category']}</h1></body></html>")

    return Starlette(routes=[Route("/", page), Route("/c/{category}", category)])


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


DECISION_ATTR = re.compile(r'data-sw-decision="([^"]+)"')


class Edge:
    """A running proxy, its personalizer and its fake clock."""

    def __init__(self, server: Any, personalizer: SlotwisePersonalizer, settings: Settings, clock: FakeClock,
                 rules_path: Path) -> None:
        self.server, self.p, self.settings, self.clock, self.rules_path = server, personalizer, settings, clock, rules_path
        self.url = server.url

    # -- running code in the server's event loop (the learner is not thread-safe) ------------
    def run(self, coro: Any, timeout: float = 10) -> Any:
        loop = self.p.learning._task.get_loop()  # type: ignore[union-attr]
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    def learn(self) -> None:
        """One deterministic learning round (catch up with the log, close due windows at the fake now)."""
        self.run(self.p.learning.step())

    @property
    def learner(self) -> Any:
        return self.p.learning.learner

    def stats(self, slot: str) -> dict[str, list[float]]:
        """The slot's policy statistics per arm: ``[n, sum, sum_sq]`` (``n`` counts pending decisions
        as trials already: ``Policy.begin``)."""
        return {a: list(st) for a, st in self.learner.policies[slot].arms.items()}

    def learned(self, slot: str) -> dict[str, list[float]]:
        """``stats`` of the decisions that closed: the pending ones' trials taken out (arms with none left out)."""
        out = self.stats(slot)
        for pending in self.learner._pending.values():
            rec = pending.record
            if pending.begun and rec.slot == slot:
                out[rec.arm][0] -= 1.0
        return {a: st for a, st in out.items() if st != [0.0, 0.0, 0.0]}

    def records(self) -> list[Any]:
        return self.run(read_all(self.p.store))

    def decisions(self, visitor: str | None = None, slot: str | None = None) -> list[dict[str, Any]]:
        return [r.data for r in self.records() if r.kind == "decision"
                and (visitor is None or r.visitor == visitor) and (slot is None or r.data["slot"] == slot)]

    def decision_log(self) -> Any:
        from slotwise.proxy.personalization.choices import slot_configs

        return build_decision_log(self.records(), slot_configs(self.p.ruleset()), now=self.clock())

    # -- visitors ----------------------------------------------------------------------------
    def visitor(self, *, holdout: bool | None = False) -> "Visitor":
        """A browser with a signed visitor id (in or out of the global holdout, as asked)."""
        from slotwise.bandits.assignment import in_holdout

        while True:
            vid = self.p.cookies.new_id()
            if holdout is None or in_holdout(vid, HOLDOUT) == holdout:
                return Visitor(self, vid)


class Visitor:
    def __init__(self, edge: Edge, vid: str) -> None:
        self.edge, self.id = edge, vid
        self.client = httpx.Client(base_url=edge.url, timeout=10, headers={"user-agent": DESKTOP_UA},
                                   cookies={"sw_vid": edge.p.cookies.sign(vid)})

    def view(self, path: str = "/") -> dict[str, str]:
        """Loads a page; returns slot -> decision id as written in the page (``data-sw-decision``;
        the slot is looked up among the visitor's logged decisions)."""
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        self.last_page = response.text
        in_page = DECISION_ATTR.findall(response.text)
        slot_of = {d["decision_id"]: d["slot"] for d in self.edge.decisions(self.id)}
        assert set(in_page) <= set(slot_of), "a decision id in the page was never logged"
        return {slot_of[d]: d for d in in_page}

    def events(self, *events: dict[str, Any]) -> dict[str, Any]:
        """Events exactly as the tag batches them; ``event_id`` and ``ts`` (the fake now) filled in."""
        batch = [{"event_id": uuid.uuid4().hex, "ts": self.edge.clock(), "props": {}, **e} for e in events]
        response = self.client.post("/_sw/events", json={"events": batch})
        assert response.status_code == 200, response.text
        return response.json()

    def expose(self, decision_id: str, slot: str | None = None) -> dict[str, Any]:
        return self.events({"type": "exposure", "props": {"decision_id": decision_id, **({"slot": slot} if slot else {})}})

    def click(self, decision_id: str, event_id: str | None = None) -> dict[str, Any]:
        return self.events({"type": "click", "props": {"decision_id": decision_id, "href": "/p/1"},
                            **({"event_id": event_id} if event_id else {})})

    def purchase(self, total: float, order_id: str | None = None) -> dict[str, Any]:
        lines = [{"product": "p1", "category": "shoes", "size": "42", "qty": 1, "price": total}]
        return self.events({"type": "purchase", "props": {"order_id": order_id or uuid.uuid4().hex[:12],
                                                           "lines": lines, "total": total}})

    def close(self) -> None:
        self.client.close()
