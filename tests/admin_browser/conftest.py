"""The marketer's path in headless Chromium: the shared browser fixtures."""

from __future__ import annotations

from browser_fixtures import browser_fixture, new_context_fixture, new_page_fixture, page_fixture  # noqa: F401
