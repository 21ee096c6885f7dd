"""The Chromium fixtures every browser suite uses: import them into a conftest (or test module).

They are named ``browser``, ``new_context``, ``page`` and ``new_page``; the functions carry a
``_fixture`` suffix so that importing them does not shadow the test arguments of those names.
``leave_through_top(page)`` is a desktop exit intent.

The browser is module-scoped on purpose: Playwright's sync API cannot run
twice at once in one thread, and a module fixture is torn down before the
next module starts. Per test, fresh contexts: new cookies, new storage, a new
visitor. Without Chromium the tests skip, or fail when ``CI`` is set
(``real_parts``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from real_parts import missing

from slotwise.tag.testing import chromium

# Headless Chromium says "HeadlessChrome", which the proxy rightly leaves alone as a bot:
# the browser presents itself as the desktop Chrome it is.
from agents import DESKTOP_UA  # noqa: E402  (re-exported for the browser tests)


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Any]:
    try:
        with chromium() as b:
            yield b
    except FileNotFoundError as exc:
        missing(str(exc))


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
