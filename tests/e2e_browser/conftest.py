"""Issue 4 end to end in a browser: headless Chromium → the real proxy → the real demo store.

Per test module: one demo store, one proxy (``stack``) and one Chromium
(``browser``); per test: a fresh browser context (new cookies, new visitor).
The proxy runs in-process (``ThreadedUvicorn``, lifespan on, so the
personalizer, its learner and the feed loader start); the test reads the
store it writes (``Stack.profile``, ``Stack.log``) from a worker thread.

The browser is module-scoped on purpose: Playwright's sync API cannot run
twice at once in one thread, and a module fixture is torn down before the
next module (e.g. ``tests/tag``, whose browser is session-scoped) starts.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from real_parts import missing
from e2e_browser_helpers import DESKTOP_UA, RULES, Stack, open_stack

from slotwise.tag.testing import chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        with chromium() as b:
            yield b
    except FileNotFoundError as exc:
        missing(str(exc))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    """The demo store behind the proxy with ``tests/e2e_browser/rules.yaml`` (consent implied)."""
    with open_stack(tmp_path_factory.mktemp("e2e-browser"), RULES, uvicorn_runner) as s:
        yield s


@pytest.fixture
def new_context(browser: Any) -> Iterator[Any]:
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


@pytest.fixture
def page(new_context: Any) -> Any:
    return new_context().new_page()
