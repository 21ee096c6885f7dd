"""Helpers for the browser end-to-end tests: the stack, the store, waiting, the demo's pages."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import httpx
from browser_fixtures import DESKTOP_UA, leave_through_top  # noqa: F401 (re-exported for the tests)
from polling import wait_for  # noqa: F401 (tests/polling.py; re-exported for the tests)

from slotwise.demo.server import DemoServer
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import sync

HERE = Path(__file__).resolve().parent
RULES = HERE / "rules.yaml"
RULES_CONSENT = HERE / "rules-consent.yaml"
ADMIN_TOKEN = "e2e-browser-admin-token"




@dataclass
class Stack:
    """The demo store, the proxy in front of it and the personalizer's store."""

    demo: DemoServer
    proxy: Any
    personalizer: SlotwisePersonalizer

    @property
    def url(self) -> str:
        return self.proxy.url

    @property
    def store(self) -> Any:
        return self.personalizer.store

    def profile(self, visitor_id: str) -> Any:
        """The golden record behind a visitor id (merged profiles resolve to the known one)."""
        return sync(self.store.get_profile(visitor_id))

    def log(self) -> list[Any]:
        return sync(self.store.read_log(0, limit=100_000))

    def events(self, type_: str, visitor_id: str | None = None) -> list[Any]:
        return [r for r in self.log() if r.kind == "event" and r.data.get("type") == type_
                and (visitor_id is None or r.visitor == visitor_id)]

    def admin(self, visitor_id: str) -> httpx.Response:
        return httpx.get(f"{self.url}/_sw/admin/api/visitors/{visitor_id}",
                         headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)


@contextlib.contextmanager
def open_stack(data: Path, rules: Path, runner: Any) -> Iterator[Stack]:
    with DemoServer(data / "demo") as demo:
        # a generous time budget: past it the proxy fails open and serves the page without the
        # tag, and a loaded test machine must not turn that into a flaky behaviour test
        settings = Settings(upstream=demo.url, rules=str(rules), data=str(data / "edge"), admin_token=ADMIN_TOKEN,
                            personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with runner(create_app(settings, personalizer)) as proxy:
            stack = Stack(demo, proxy, personalizer)
            # recommendations need the catalog: wait for the feed loader's first round
            wait_for(lambda: sync(stack.store.list_products(limit=5)), 10, "the product feed in the store")
            yield stack


# -- the browser side -------------------------------------------------------------------

def cookie(context: Any, name: str) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == name), None)


def visitor_id(context: Any) -> str:
    value = cookie(context, "sw_vid")
    assert value, "no sw_vid cookie in this browser context"
    return value.split(".")[0]


def goto(page: Any, url: str) -> None:
    """Navigates and waits until the tag has loaded (the proxy injects it with ``defer``)."""
    page.goto(url)
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")


def flush(page: Any) -> None:
    """Sends the tag's queue now and waits until it is empty (events acknowledged)."""
    page.evaluate("slotwise.flush()")
    page.wait_for_function("!localStorage.getItem('sw_q')")


def add_to_cart(page: Any, base: str, product: str, size: str) -> None:
    """The demo's add-to-cart form on the product page (the tag captures the submit)."""
    goto(page, f"{base}/p/{product}")
    page.select_option("form.add-to-cart select#size", size)
    with page.expect_navigation():
        page.click("form.add-to-cart button[type=submit]")


def category_order(page: Any, selector: str = "nav.category-nav li") -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.category)")
