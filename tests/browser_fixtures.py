"""The Chromium fixtures every browser suite uses: import them into a conftest (or test module).

They are named ``browser``, ``new_context``, ``page`` and ``new_page``; the functions carry a
``_fixture`` suffix so that importing them does not shadow the test arguments of those names.
``leave_through_top(page)`` is a desktop exit intent.

One Chromium runs per test worker (``chromium_server``, a session fixture:
launching one per module cost ~1 s each); each module connects to it with a
Playwright driver of its own (``browser``, module-scoped on purpose:
Playwright's sync API cannot run twice at once in one thread, and keeps an
event loop running while it is started, so it must stop before the next
module, whose tests may call ``asyncio.run()``). Per test, fresh contexts:
new cookies, new storage, a new visitor. A module that needs Chromium
started with switches of its own launches its own (``slotwise.tag.testing.
chromium``). Without Chromium the tests skip, or fail when ``CI`` is set
(``real_parts``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from real_parts import missing

# Headless Chromium says "HeadlessChrome", which the proxy rightly leaves alone as a bot:
# the browser presents itself as the desktop Chrome it is.
from agents import DESKTOP_UA  # noqa: E402  (re-exported for the browser tests)


@pytest.fixture(scope="module", name="browser")
def browser_fixture(chromium_server: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    try:
        endpoint = chromium_server.endpoint()
    except FileNotFoundError as exc:
        missing(str(exc))
    with sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(endpoint)
        try:
            yield browser
        finally:
            browser.close()  # closes the contexts this module made, and disconnects: the browser runs on


@pytest.fixture(name="new_context")
def new_context_fixture(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_context(**options)`` → a fresh browser context (closed after the test)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1200, "height": 800})
        options.setdefault("user_agent", DESKTOP_UA)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)  # generous: waits end as soon as the condition holds
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(name="page")
def page_fixture(new_context: Callable[..., Any]) -> Any:
    return new_context().new_page()


@pytest.fixture(name="new_page")
def new_page_fixture(new_context: Callable[..., Any]) -> Callable[[], Any]:
    """``new_page()`` → a page in a fresh browser context: a new visitor."""
    return lambda: new_context().new_page()


def leave_through_top(page: Any) -> None:
    """A desktop exit intent: the pointer goes up and out of the viewport."""
    page.mouse.move(600, 300)
    page.mouse.move(600, 5)
    page.mouse.move(600, -20)
