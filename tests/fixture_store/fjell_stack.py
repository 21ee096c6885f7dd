"""Fjell Outdoor behind the real proxy, for the browser tests: the stack, what it stored, and a shopper's steps.

One rules file and no store code: ``FjellStack`` runs the fixture store
(``outdoor_shop.py``) and Slotwise in front of it in-process, and reads back
what Slotwise stored (the log, profiles, the ``slotwise report`` JSON, the
``slotwise import`` CLI) from a worker thread. The shopper functions click
through the store's own pages in Chromium, as a visitor would.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from browser_fixtures import DESKTOP_UA  # noqa: F401 (re-exported for the tests)
from outdoor_shop import OutdoorShop

from slotwise.cli import main
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.proxy.operations.reporting import build_decision_log, read_all
from slotwise.store.base import LogRecord
from slotwise.tag.testing import sync

RULES_DIR = Path(__file__).resolve().parent / "rules"
FJELL = RULES_DIR / "fjell.yaml"
FJELL_DATALAYER = RULES_DIR / "fjell-datalayer.yaml"
JANE, JANE_PASSWORD = "jane@example.com", "fjell-pass-1"

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Polls ``probe`` until it returns something truthy; fails naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(0.05)


def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Runs a CLI entry point in a thread: it starts its own event loop, and Playwright's runs in this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@dataclass
class FjellStack:
    """The fixture store, the proxy in front of it, and the personalizer's store."""

    shop: OutdoorShop
    proxy: Any
    personalizer: SlotwisePersonalizer
    data: Path

    @property
    def url(self) -> str:
        return str(self.proxy.url)

    @property
    def store(self) -> Any:
        return self.personalizer.store

    def profile(self, visitor_id: str) -> Any:
        """The golden record behind a visitor id or alias (merged profiles resolve to the person)."""
        return sync(self.store.get_profile(visitor_id))

    def log(self) -> list[LogRecord]:
        return sync(read_all(self.store))

    def events(self, type_: str, visitor_id: str | None = None) -> list[LogRecord]:
        return [r for r in self.log() if r.kind == "event" and r.data.get("type") == type_
                and (visitor_id is None or r.visitor == visitor_id)]

    def rewards(self, visitor_id: str) -> dict[str, float | None]:
        """Slot → the reward of this visitor's (first) decision, as the report's replay of the log says."""
        rows = build_decision_log(self.log()).rows
        out: dict[str, float | None] = {}
        for row in sorted(rows, key=lambda r: r.ts):
            if row.visitor == visitor_id:
                out.setdefault(row.slot, row.reward)
        return out

    def report(self) -> dict[str, dict[str, Any]]:
        """``slotwise report --format json`` over the proxy's store: slot → report."""
        out = io.StringIO()

        def run() -> int:
            with contextlib.redirect_stdout(out):
                return main(["report", "--data", str(self.data / "edge"), "--format", "json"])

        assert in_thread(run) == 0
        return {r["slot"]: r for r in json.loads(out.getvalue())}

    def import_purchases(self, csv: str) -> dict[str, Any]:
        """``slotwise import purchases FILE`` into the running proxy's store (SQLite: a second writer is fine)."""
        path = self.data / f"pos-{time.monotonic_ns()}.csv"
        path.write_text(csv, encoding="utf-8")
        out = io.StringIO()

        def run() -> int:
            with contextlib.redirect_stdout(out):
                return main(["import", "purchases", str(path), "--data", str(self.data / "edge"), "--quiet"])

        assert in_thread(run) == 0, out.getvalue()
        return dict(json.loads(out.getvalue()))


@contextlib.contextmanager
def open_fjell(data: Path, rules: Path, runner: Any) -> Iterator[FjellStack]:
    with OutdoorShop() as shop:
        # a generous budget: past it the proxy fails open, and a loaded machine must not make that a flaky test
        settings = Settings(upstream=shop.url, rules=str(rules), data=str(data / "edge"), personalize_budget_ms=5000)
        personalizer = SlotwisePersonalizer(settings)
        with runner(create_app(settings, personalizer)) as proxy:
            yield FjellStack(shop, proxy, personalizer, data)


# -- the shopper --------------------------------------------------------------------------------------------


def goto(page: Any, url: str) -> Any:
    """Navigates and waits until the tag has loaded (the proxy injects it with ``defer``)."""
    response = page.goto(url)
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    return response


def visitor_id(context: Any) -> str:
    value = next((c["value"] for c in context.cookies() if c["name"] == "sw_vid"), None)
    assert value, "no sw_vid cookie in this browser context"
    return str(value).split(".")[0]


def flush(page: Any) -> None:
    """Sends the tag's queue now and waits until every event was acknowledged."""
    page.evaluate("slotwise.flush()")
    page.wait_for_function("!localStorage.getItem('sw_q')")


def add_to_basket(page: Any, base: str, product_path: str, size: str | None = None) -> None:
    """The product page's own form: choose the size by its label (unless preselected), then "Add to basket"."""
    goto(page, base + product_path)
    if size is not None:
        page.select_option("form.add-to-basket select#variant", label=size)
    with page.expect_navigation():
        page.click("form.add-to-basket button[type=submit]")
    assert page.url.endswith("/basket/"), page.url
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")


def checkout(page: Any, base: str, *, email: str | None, name: str = "Kari Nordmann") -> str:
    """The three steps and "Place order"; returns the order number on the confirmation page."""
    goto(page, base + "/checkout/")
    if email is not None:
        page.fill("form.checkout-contact #email", email)
    page.fill("form.checkout-contact #name", name)
    with page.expect_navigation():
        page.click("form.checkout-contact button[type=submit]")
    page.check("form.checkout-delivery input[value=standard]")
    with page.expect_navigation():
        page.click("form.checkout-delivery button[type=submit]")
    with page.expect_navigation():
        page.click("form.place-order button[type=submit]")
    assert page.url.endswith("/checkout/thanks/"), page.url
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")
    return str(page.text_content(".order-ref strong")).strip()


def login(page: Any, base: str, email: str, password: str) -> None:
    goto(page, base + "/account/login/")
    page.fill("form.login #username", email)
    page.fill("form.login #password", password)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.url.endswith("/account/"), page.url


def leave_through_top(page: Any) -> None:
    """A desktop exit intent: the pointer goes up and out of the viewport."""
    page.mouse.move(600, 300)
    page.mouse.move(600, 5)
    page.mouse.move(600, -20)


def links(page: Any, selector: str) -> list[str]:
    return list(page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))"))


def selected_size(page: Any) -> str:
    """The label of the size the product page's select shows ("" for "Choose your size")."""
    return str(page.eval_on_selector("select#variant", "s => s.value ? s.options[s.selectedIndex].text.trim() : ''"))


# -- fixtures (imported by the browser test modules: a conftest here would shadow tests/proxy's `conftest`) --


