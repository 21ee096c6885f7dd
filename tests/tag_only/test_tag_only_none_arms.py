"""Tag-only mode, in Chromium: an arm that shows nothing is applied, so logged, only where its slot is.

The holdout, a popup's no-popup control and a control on an element the page's
script renders change nothing, yet they are the baseline every variant is
measured against: they must count on the pages a variant would, no other. The
tag reports a decision ``applied`` (and the server logs it) only when its slot's
element is on the page: for a popup, the element its template would be appended
to (the slot's ``selector``); for a slot with ``wait``, once the element comes
within the wait. ``/arms/with`` has every slot of ``rules-arms.yaml`` (half the
visitors held out), ``/arms/without`` none; a visitor held out, and one not, see
both. ``tests/proxy/test_absent_none_arms.py`` holds the proxy to the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from tag_only_helpers import RULES_ARMS, SECRET, Requests, Stack, flush, goto, sync, visitor_id, wait_for

from slotwise.bandits.assignment import in_holdout
from slotwise.proxy.personalization.identity import VisitorCookies

pytestmark = pytest.mark.browser

RULES = RULES_ARMS  # the stack (conftest) for these rules
SLOTS = {"offer", "quiet", "note"}
# one visitor held out and one not, per page (the holdout is the visitor id's: the same every run)
VISITORS = {held: next(v for v in (f"none-arms-browser-{i:04d}" for i in range(100)) if in_holdout(v, 0.5) == held)
            for held in (True, False)}
SHOWN = {True: {"offer": None, "quiet": None, "note": None}, False: {"offer": "ten", "quiet": "no-popup", "note": "control"}}


def applied_tokens(requests: Requests) -> list[str]:
    return [t for e in requests.events() if e["type"] == "applied" for t in e["props"]["tokens"]]


def told(page: Any, requests: Requests) -> int:
    """The decisions the tag has sent its word on so far (applied, or absent once the slot's wait is over)."""
    flush(page)
    return len({t for e in requests.events() if e["type"] in ("applied", "absent") for t in e["props"]["tokens"]})


def visit(stack: Stack, new_context: Any, visitor: str, path: str) -> Requests:
    """The visitor's page view (in a browser of its own), stored, once the tag has told of every slot (an
    absent one after its wait, 800 ms): waited for, not slept."""
    context = new_context()
    context.add_cookies([{"name": "sw_vid", "value": VisitorCookies(SECRET.encode()).sign(visitor),
                          "url": stack.url("arms")}])
    page = context.new_page()
    requests = Requests(context)
    goto(page, stack.url("arms", path))
    wait_for(lambda: told(page, requests) >= len(SLOTS), what="the tag's word on every slot")
    assert visitor_id(context) == visitor
    wait_for(lambda: stack.events("page_view", visitor), what="the page view stored")
    return requests


@pytest.mark.parametrize("held", [True, False], ids=["holdout", "variants"])
def test_every_arm_counts_where_its_slot_is_and_none_where_it_is_not(stack: Stack, new_context: Any,
                                                                      held: bool) -> None:
    visitor = VISITORS[held]
    requests = visit(stack, new_context, visitor, "/arms/without")
    assert applied_tokens(requests) == []  # no slot there: nothing applied, whatever the arm
    assert stack.decisions(visitor) == []
    # ...but the tag says so (``absent``: at once, or after the slot's wait): each slot's health counts the page
    assert len({t for e in requests.events() if e["type"] == "absent" for t in e["props"]["tokens"]}) == len(SLOTS)
    health = wait_for(lambda: h if SLOTS <= set(h := sync(stack.store.slot_presence())) else None,
                      what="the absent pages in the slots' health", timeout=20)
    assert all(health[slot].absent >= 1 and "/arms/without" in health[slot].paths for slot in SLOTS), health

    requests = visit(stack, new_context, visitor, "/arms/with")
    logged = wait_for(lambda: d if len(d := stack.decisions(visitor)) == len(SLOTS) else None,
                      what="a decision per slot logged")
    assert {d.data["slot"]: d.data["arm"] for d in logged} == SHOWN[held]
    assert len(applied_tokens(requests)) == len(SLOTS)
