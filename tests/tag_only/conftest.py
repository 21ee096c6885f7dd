"""Tag-only mode end to end: Chromium → a static store on nginx → `slotwise serve --tag-only`.

Per rules file and test worker: one stack (``stack``: Slotwise with those
rules, and one nginx serving the store as each of ``SITES[rules]`` says);
per test module: one Chromium (``browser``); per test: fresh browser
contexts (new cookies, new storage: a new visitor). Tests read
Slotwise's SQLite store from this process (``Stack.log``/``profile``) and
find their own records by the visitor id of their browser.

The browser is module-scoped on purpose (as in tests/e2e_browser):
Playwright's sync API cannot run twice at once in one thread.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

import pytest
from browser_fixtures import browser_fixture, new_context_fixture, page_fixture  # noqa: F401 (the fixtures browser, new_context, page)
from real_parts import missing
from tag_only_helpers import RULES, SITES, Stack, nginx_binary, open_stack


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path], Stack]]:
    """``stacks(rules)`` → nginx serving ``SITES[rules]`` and proxying ``/_sw/`` to Slotwise with ``rules``.

    Started on first use and kept for the session: starting Slotwise takes
    seconds, and tests keep to their own visitors (and sites).
    """
    if nginx_binary() is None:
        missing("nginx is not installed")
    opened: dict[Path, Stack] = {}
    with contextlib.ExitStack() as running:
        def get(rules: Path) -> Stack:
            if rules not in opened:
                tmp = tmp_path_factory.mktemp("tag-only")
                opened[rules] = running.enter_context(open_stack(tmp, rules, SITES[rules]))
            return opened[rules]

        yield get


@pytest.fixture
def stack(request: pytest.FixtureRequest, stacks: Callable[[Path], Stack]) -> Stack:
    """The stack for the test module's ``RULES`` (default: ``tag_only_helpers.RULES``)."""
    return stacks(getattr(request.module, "RULES", RULES))
