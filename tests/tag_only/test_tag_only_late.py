"""Slots on elements the store's own scripts render after the page loads (a slot's ``wait``), in Chromium.

A Magento-like product page builds its size swatches from its ``jsonConfig``
300 ms after ``DOMContentLoaded``; a page's script replaces the
recommendation rail once, 200 ms after it (a framework's hydration); a
reviews widget never comes. The store is nginx serving ``site/late/``, the
tag and ``/decide`` the real ``slotwise serve --tag-only`` with
``rules-late.yaml``. Without ``wait`` none of these decisions is ever shown.
"""

from __future__ import annotations

from typing import Any

import pytest
from late_swatches import PICKED, size_chosen_before_paint
from tag_only_helpers import (
    OPACITY_PROBE,
    RULES_LATE,
    Requests,
    Stack,
    brief,
    flush,
    goto,
    hidden_past,
    sync,
    visitor_id,
    wait_for,
)

pytestmark = pytest.mark.browser

RULES = RULES_LATE  # the stack (conftest) for these rules
SLACK_MS = 400  # timers on a loaded 2-core machine, as in test_tag_only_timing


def applied_tokens(requests: Requests) -> list[str]:
    return [t for e in requests.events() if e["type"] == "applied" for t in e["props"]["tokens"]]


def logged(stack: Stack, visitor: str, slot: str) -> list[Any]:
    return [d for d in stack.decisions(visitor) if d.data["slot"] == slot]


def test_the_size_preset_is_selected_on_swatches_the_store_builds_after_load(stack: Stack, page: Any) -> None:
    """Selected when the swatches appear, before the browser paints them, and counted applied once; the
    widget that never comes is neither applied nor logged."""
    requests = Requests(page.context)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    goto(page, stack.url("late", "/late/p/tee"))
    size_chosen_before_paint(page, "M")
    flush(page)
    visitor = visitor_id(page.context)
    [decision] = wait_for(lambda: logged(stack, visitor, "size-preset"), what="the size decision logged")
    assert decision.data["arm"] == "default"
    assert page.get_attribute(".swatch-attribute-options", "data-sw-decision") == decision.data["decision_id"]
    assert len(applied_tokens(requests)) == 1  # the size preset's token, once; never the widget's
    assert logged(stack, visitor, "reviews") == [] and page.locator(".sw-reviews").count() == 0
    assert stack.decisions(visitor) == [decision]
    flush(page)  # in view: its exposure is reported as for any decision (the report's "seen")
    wait_for(lambda: [e for e in stack.events("exposure", visitor)
                      if e.data["props"]["decision_id"] == decision.data["decision_id"]], what="the exposure")
    assert not errors


@pytest.mark.parametrize("how", ["replaced", "in-place"])
def test_a_rail_the_store_re_renders_gets_the_recommendations_again(stack: Stack, page: Any, how: str) -> None:
    """Applied to the server's rail at DOM ready, then again when the page's script puts a new rail in its
    place, or renders the rail's content again (taking the recommendations out): one decision, applied once."""
    requests = Requests(page.context)
    inplace = "&inplace=1" if how == "in-place" else ""
    goto(page, stack.url("late", f"/late/recs?settled=1{inplace}"))  # re-rendered 200 ms after it shows them
    page.wait_for_function("window.hydrated === 1")
    assert page.evaluate("window.hadRecs") == [True]  # the server's rail had them (at DOM ready)
    page.wait_for_selector(f"section.recs-rail{'' if inplace else ':not([data-server])'} .sw-recs")
    assert page.locator(".sw-recs").count() == 1  # once, in the rail there now
    flush(page)
    visitor = visitor_id(page.context)
    [decision] = wait_for(lambda: logged(stack, visitor, "recs"), what="the recommendations decision logged")
    assert page.get_attribute(".sw-recs", "data-sw-decision") == decision.data["decision_id"]
    assert len(applied_tokens(requests)) == 1


@pytest.mark.parametrize("how", ["replaced", "in-place"])
def test_a_rail_re_rendered_again_and_again_is_left_to_the_page_after_three_re_applies(stack: Stack, page: Any,
                                                                                       how: str) -> None:
    """No fight with the framework: the server's rail and three re-renders get the recommendations, the fourth
    and after are left as the page made them, and the tag says so in a debug log; still one decision."""
    requests = Requests(page.context)
    said: list[str] = []
    page.on("console", lambda m: said.append(m.text) if m.type == "debug" else None)
    goto(page, stack.url("late", "/late/recs?renders=6&every=100&settled=1" + ("&inplace=1" if how == "in-place" else "")))
    page.wait_for_function("window.hydrated === 1")
    assert page.evaluate("window.hadRecs") == [True, True, True, True, False, False]
    assert page.locator(".sw-recs").count() == 0
    assert said == ["slotwise: slot recs re-rendered more than 3 times: left to the page"]
    flush(page)
    visitor = visitor_id(page.context)
    assert len(wait_for(lambda: logged(stack, visitor, "recs"), what="the decision logged")) == 1
    assert len(applied_tokens(requests)) == 1


def test_the_window_ends_on_time_while_a_slot_waits(stack: Stack, new_context: Any) -> None:
    """A 300 ms window, swatches built 300 ms after load: the page is shown when the window ends, not when the
    swatches come, and the size is still chosen on them."""
    context = new_context()
    context.add_init_script(OPACITY_PROBE)
    page = context.new_page()
    goto(page, stack.url("late", "/late/p/tee"))  # the catalog learns the product: /decide needs no second ask
    flush(page)
    page.goto(stack.url("late-short", "/late/p/tee"))
    page.wait_for_selector(".swatch-option[aria-checked=true]")
    assert page.evaluate(PICKED) == ["M"]
    page.wait_for_function("window.__vis && window.__vis.firstShown !== null")
    seen = page.evaluate("({...window.__vis, deadline: window.slotwise_w})")
    assert seen["firstHidden"] is not None, "the snippet hid the page while it waited"
    past = hidden_past(seen, seen["deadline"])
    assert past <= SLACK_MS, f"hidden {past:.0f} ms past the window (stalls apart): {brief(seen)}"


def test_a_widget_that_never_comes_shows_as_absent_in_the_slot_health(stack: Stack, page: Any) -> None:
    """The tag reports a decision whose element did not come within its ``wait`` (``absent``): nothing is
    logged, and the slot's health (the admin page's line, from the store) counts the page, by its path; the
    size preset, applied, counts as found."""
    goto(page, stack.url("late", "/late/p/tee?utm_source=mail"))
    size_chosen_before_paint(page, "M")
    page.wait_for_timeout(600 + SLACK_MS)  # the reviews widget's wait
    flush(page)
    visitor = visitor_id(page.context)
    health = wait_for(lambda: (h := sync(stack.store.slot_presence())).get("reviews") and h.get("size-preset") and h,
                      what="the tag's word in the store", timeout=20)
    reviews, size = health["reviews"], health["size-preset"]
    assert reviews.absent >= 1 and reviews.paths[-1] == "/late/p/tee" and reviews.selector == ".reviews-widget"
    assert size.last_found_at is not None and size.pages > size.absent
    assert logged(stack, visitor, "reviews") == []
