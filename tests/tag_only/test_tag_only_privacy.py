"""Tag-only mode and privacy: nothing leaves the browser before consent, nothing at all under GPC.

The consent tests' store requires it (``consent: required`` in the rules,
and ``embed_snippet(consent="required")``); the GPC test's does not (consent
implied: without GPC everything would go). Every request the page makes is
recorded by Playwright; only ``tag.js`` itself may load (it holds
``slotwise.consent``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from tag_only_helpers import (
    OPACITY_PROBE,
    RULES,
    RULES_CONSENT,
    Requests,
    Stack,
    browse,
    category_order,
    cookie,
    goto,
    visitor_id,
    wait_for,
)

pytestmark = pytest.mark.browser

GPC = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true, configurable: true});"
QUIET_MS = 400  # past the tag's first scheduled send (300 ms after the DOM is ready)


def open_page(new_context: Any, **options: Any) -> tuple[Any, Requests]:
    context = new_context(**options)
    context.add_init_script(OPACITY_PROBE)
    return context.new_page(), Requests(context)


def never_hidden(page: Any) -> bool:
    return page.evaluate("window.__vis.firstHidden === null && getComputedStyle(document.body).opacity === '1'")


def test_nothing_is_sent_before_consent_and_everything_works_after(stacks: Callable[[Path], Stack],
                                                                  new_context: Any) -> None:
    stack = stacks(RULES_CONSENT)
    page, requests = open_page(new_context)
    goto(page, stack.url("consent", "/c/socks"))
    page.evaluate("slotwise.track('custom', {name: 'too-early'}); slotwise.flush()")
    goto(page, stack.url("consent", "/"))
    page.wait_for_timeout(QUIET_MS)
    assert [r.url for r in requests.seen] == []  # no /decide, no /events: not even the page's URL
    assert never_hidden(page)  # nothing to wait for: nothing can be personalized yet
    assert cookie(page.context) is None

    with page.expect_response(lambda r: "/_sw/events" in r.url):
        page.evaluate("slotwise.consent(true)")
    visitor = visitor_id(page.context)
    assert wait_for(lambda: (stack.profile(visitor) or None) and stack.profile(visitor).consent == "granted",
                    what="the consent in the profile")
    sent = [e["type"] for e in requests.events()]
    assert sent[0] == "consent" and "custom" not in sent  # what was refused before is not sent after

    browse(page, stack.url("consent", "/c/socks"))  # now the snippet asks /decide and hides the page
    assert requests.to("decide")
    browse(page, stack.url("consent", "/c/hats"))
    goto(page, stack.url("consent", "/"))
    page.wait_for_selector("ul.category-list[data-sw-decision]")
    assert category_order(page)[:2] == ["/c/hats", "/c/socks"]


def test_nothing_is_sent_under_global_privacy_control(stacks: Callable[[Path], Stack], new_context: Any) -> None:
    """GPC (the header and ``navigator.globalPrivacyControl``): not even the visitor's consent."""
    stack = stacks(RULES)  # consent implied: only GPC stops anything
    page, requests = open_page(new_context, extra_http_headers={"Sec-GPC": "1"})
    page.context.add_init_script(GPC)
    goto(page, stack.url("main", "/"))
    assert page.evaluate("navigator.globalPrivacyControl") is True
    page.evaluate("""slotwise.consent(true); slotwise.track('custom', {name: 'x'});
                     slotwise.identify({email: 'gpc@example.com'}); slotwise.flush()""")
    goto(page, stack.url("main", "/c/hats"))
    page.wait_for_timeout(QUIET_MS)
    assert [r.url for r in requests.seen] == []
    assert never_hidden(page)
    assert cookie(page.context) is None  # no identifier either
