"""A slot whose selector finds no element on the pages it applies to, seen where the marketer looks: each
slot's line beside its report, a warning at the top of the admin page, the status API and a metric.

Two real proxy apps (two workers) in front of a real store page server on 127.0.0.1, one SQLite file or one
real redis-server between them; the admin page and API over HTTP.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import closing
from html import unescape
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from polling import wait_for
from sw_servers import BROWSER

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.store import open_store

TOKEN = "tok-admin-absent-slots"
RULES = """
slots:
  - id: jacket
    pages: "/p/*"
    selector: ".buy-box"
    action: append
    html: "<p>FREE RETURNS</p>"
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    html: "<div class=hero>HERO</div>"
"""
OLD_THEME = b"<html><body><div class=buy-box>Buy</div></body></html>"
NEW_THEME = b"<html><body><div class=product-form>Buy</div></body></html>"
HOME = b"<html><body><div class=hero>store's hero</div></body></html>"


@pytest.fixture
def proxy(asgi_server: Any, page_server: Any, tmp_path: Path) -> Callable[..., Any]:
    store = page_server({"/": HOME, "/p/old-coat": OLD_THEME, "/p/fell-jacket?email=a%40b.c": NEW_THEME,
                         "/p/rain-hat": NEW_THEME})
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)

    def start(**options: Any) -> Any:
        settings = Settings(upstream=store.url, rules=str(rules), data=str(tmp_path), admin_token=TOKEN,
                            personalize_budget_ms=5000.0, slot_health_flush=0.1,  # the default's 5 s, not waited out
                            **options)
        personalizer = SlotwisePersonalizer(settings)
        server = asgi_server(create_app(settings, personalizer))
        server.personalizer = personalizer
        return server

    return start


def _absent_metric(server: Any, slot: str) -> float:
    text = httpx.get(server.url + "/_sw/metrics", timeout=20).text
    found = re.search(rf'^slotwise_slot_absent_total{{slot="{slot}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_slot_missing_on_its_pages_shows_on_every_workers_admin_page(
        proxy: Callable[..., Any], kind: str, request: pytest.FixtureRequest) -> None:
    options = {"store": request.getfixturevalue("redis_url")} if kind == "redis" else {}
    worker_a, worker_b = proxy(**options), proxy(**options)
    before = _absent_metric(worker_a, "jacket")
    with httpx.Client(headers=BROWSER, timeout=20) as browser:
        assert "FREE RETURNS" in browser.get(worker_a.url + "/p/old-coat").text  # the old theme: found
        for path in ("/p/fell-jacket?email=a%40b.c", "/p/rain-hat"):  # the new theme: on another worker
            page = browser.get(worker_b.url + path)
            assert page.status_code == 200 and "FREE RETURNS" not in page.text
        assert "HERO" in browser.get(worker_b.url + "/").text
    assert _absent_metric(worker_a, "jacket") == before + 2  # the metric: every worker of this process

    with closing(httpx.Client(base_url=worker_a.url, headers=BROWSER, timeout=20)) as http:
        assert http.post("/_sw/admin/login", data={"token": TOKEN}).status_code == 303
        health = wait_for(lambda: (h := http.get("/_sw/admin/api/status").json()["slot_health"]).get("jacket", {})
                          .get("pages") == 3 and h.get("hero") and h, what="both workers' counts in the store")
        jacket = health["jacket"]
        assert (jacket["absent"], jacket["selector"], jacket["mostly_absent"]) == (2, ".buy-box", True)
        assert jacket["paths"] == ["/p/fell-jacket", "/p/rain-hat"]  # paths only: the query may hold an e-mail
        assert jacket["last_found_at"] <= jacket["last_absent_at"]
        assert re.fullmatch(r"element not found on 2 of 3 pages since \d{4}-\d\d-\d\d \d\d:\d\d UTC, e\.g\. "
                            r"/p/rain-hat, /p/fell-jacket; last found \d{4}-\d\d-\d\d \d\d:\d\d UTC", jacket["line"])
        assert health["hero"]["line"].startswith("element found on all 1 pages since ")
        assert not health["hero"]["mostly_absent"]

        page = http.get("/_sw/admin").text
        warning = re.search(r"<div class=alert id=slot-health role=alert>(.*?)</div>", page, re.S)
        assert warning is not None and page.index("id=slot-health") < page.index("id=switches")  # at the top
        assert "jacket" in warning.group(1) and "hero" not in warning.group(1)
        assert "<code>.buy-box</code>" in warning.group(1)
        report = page.split('<section id="slot-jacket">')[1].split("</section>")[0]
        line = re.search(r'<p class=warn data-slot-health="jacket">([^<]*)</p>', report)
        assert line is not None and unescape(line.group(1)) == jacket["line"]
        assert 'data-slot-health="hero"' in page and "class=note data-slot-health=\"hero\"" in page


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_slot_taken_out_of_the_rules_is_no_longer_shown_nor_kept(
        proxy: Callable[..., Any], kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A slot removed from the rules kept its record in the store for ever, and its line beside its report
    (its decisions still have one) on the admin page: the rules' load drops both."""
    options = {"store": request.getfixturevalue("redis_url")} if kind == "redis" else {}
    worker = proxy(**options)

    async def stored() -> set[str]:  # as another instance, or ``slotwise report``, reads the store
        store = open_store(options.get("store", ""), tmp_path)
        try:
            return set(await store.slot_presence())
        finally:
            await store.close()

    with httpx.Client(headers=BROWSER, timeout=20) as browser:
        browser.get(worker.url + "/p/rain-hat")
        browser.get(worker.url + "/")
    with closing(httpx.Client(base_url=worker.url, headers=BROWSER, timeout=20)) as http:
        assert http.post("/_sw/admin/login", data={"token": TOKEN}).status_code == 303
        wait_for(lambda: {"jacket", "hero"} <= set(http.get("/_sw/admin/api/status").json()["slot_health"]),
                 what="both slots counted")
        (tmp_path / "rules.yaml").write_text(RULES.split("  - id: hero")[0])  # the jacket alone
        assert worker.personalizer.rules.reload()
        status = http.get("/_sw/admin/api/status").json()
        assert set(status["slot_health"]) == {"jacket"}
        page = http.get("/_sw/admin").text
        assert '<section id="slot-hero">' in page  # its decisions are still reported
        assert 'data-slot-health="hero"' not in page and 'data-slot-health="jacket"' in page
        # the store drops it at the next flush, for ``slotwise report`` and every instance
        wait_for(lambda: asyncio.run(stored()) == {"jacket"}, what="the hero's record dropped")


@pytest.mark.parametrize("given", ["0", "-1", "nan", "inf"])
def test_the_flush_interval_is_a_positive_number_of_seconds(given: str, tmp_path: Path) -> None:
    """``--slot-health-flush`` (how old the health lines may be; 5 s by default) refuses what would flush
    without pause or never, naming the setting."""
    from slotwise.proxy.config import ConfigError

    with pytest.raises(ConfigError, match=r"SLOTWISE_SLOT_HEALTH_FLUSH / --slot-health-flush: .* e\.g\. 5"):
        Settings.from_mapping({"upstream": "http://127.0.0.1:9", "data": str(tmp_path), "slot_health_flush": given})
    assert Settings().slot_health_flush == 5.0
