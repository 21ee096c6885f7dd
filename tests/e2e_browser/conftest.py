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
from browser_fixtures import browser_fixture, new_context_fixture, page_fixture  # noqa: F401 (the fixtures browser, new_context, page)
from e2e_browser_helpers import RULES, Stack, open_stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    """The demo store behind the proxy with ``tests/e2e_browser/rules.yaml`` (consent implied)."""
    with open_stack(tmp_path_factory.mktemp("e2e-browser"), RULES, uvicorn_runner) as s:
        yield s
