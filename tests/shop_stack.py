"""A test store behind the real proxy, in-process: the stack, what Slotwise stored, the CLI over its data.

``open_stack(shop, data, rules, runner)`` puts the proxy (``create_app``, the
app ``slotwise serve`` runs) in front of a fixture store already serving on
127.0.0.1 (``tests/fixture_store``, ``tests/woo_store``) and yields a
``ShopStack`` that reads back the log, profiles, the ``slotwise report`` JSON
and runs ``slotwise import`` from a worker thread; ``shopper(stack)`` is a visitor's HTTP client in
front of it (``page``, ``vid``). Usable without pytest.
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

import httpx
from agents import DESKTOP_UA  # tests/agents.py
from polling import wait_for  # noqa: F401 (tests/polling.py; re-exported for the tests)
from selectolax.lexbor import LexborHTMLParser

from slotwise.cli import main
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.proxy.operations.reporting import build_decision_log, read_all
from slotwise.store.base import LogRecord
from slotwise.tag.testing import sync

T = TypeVar("T")


def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Runs a CLI entry point in a thread: it starts its own event loop, and Playwright's runs in this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


@dataclass
class ShopStack:
    """A fixture store, the proxy in front of it, and the personalizer's store."""

    shop: Any
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
def open_stack(shop: Any, data: Path, rules: Path, runner: Any, **options: Any) -> Iterator[ShopStack]:
    """The proxy in front of ``shop`` (serving already: its ``url``), with ``rules``, its data under ``data``;
    ``options``: more settings (``order_secret``)."""
    # a generous budget: past it the proxy fails open, and a loaded machine must not make that a flaky test
    settings = Settings(upstream=shop.url, rules=str(rules), data=str(data / "edge"), personalize_budget_ms=5000,
                        **options)
    personalizer = SlotwisePersonalizer(settings)
    with runner(create_app(settings, personalizer)) as proxy:
        yield ShopStack(shop, proxy, personalizer, data)




@contextlib.contextmanager
def shopper(stack: ShopStack) -> Iterator[httpx.Client]:
    """A visitor as the stores' HTTP tests play one: a desktop browser's user agent (bots are not personalized),
    its cookies kept, redirects not followed (what the store answered is asserted)."""
    with httpx.Client(base_url=stack.url, headers={"user-agent": DESKTOP_UA}, follow_redirects=False, timeout=10) as c:
        yield c


def vid(client: httpx.Client) -> str:
    """The visitor id the proxy gave ``client`` (its signed cookie's id part)."""
    return str(client.cookies["sw_vid"]).split(".")[0]


def page(client: httpx.Client, path: str) -> LexborHTMLParser:
    """``path`` as ``client`` gets it through the proxy: it must answer 200; parsed."""
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return LexborHTMLParser(r.text)
