"""The admin page and ``slotwise report`` say the same thing, and what happened: a popup shown through the
proxy and converted through the tag's API counts as shown 1, seen 1, measured 1, in both.

The real proxy (uvicorn thread, SQLite) in front of a tiny origin; the visitor's page, the tag's
``popup_shown`` event and the sign-up go over HTTP as the tag sends them; the CLI reads the same store.
"""

from __future__ import annotations

import html
from contextlib import closing
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sw_servers import BROWSER

from slotwise.cli import main
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

TOKEN = "tok-report-admin-1"
UA = BROWSER
RULES = """
holdout: 0
slots:
  - id: exit-coupon
    pages: "/"
    action: popup
    goal: signup
    policy: uniform
    html: "<div class=pop><form data-sw-signup><input name=email></form></div>"
    variants:
      - id: pct10
      - id: pct15
      - id: free-shipping
      - id: no-popup
        control: true
"""


@pytest.fixture
def server(asgi_server: Any, tmp_path: Path) -> Any:
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse("<html><body><h1>Shop</h1></body></html>"))]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path / "data"), admin_token=TOKEN,
                        personalize_budget_ms=5000.0)  # a loaded CI machine must not fail the popup open
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    proxy.data, proxy.rules = tmp_path / "data", rules
    return proxy


def shown_popup(server: Any) -> tuple[httpx.Client, str]:
    """A new visitor whose page carries the popup (not the no-popup control), and its decision id."""
    for _ in range(40):
        client = httpx.Client(base_url=server.url, headers=UA, timeout=20)
        page = client.get("/")
        found = re.search(r'<template[^>]* data-sw-popup[^>]*data-sw-decision="([0-9a-f]+)"', page.text) or \
            re.search(r'<template[^>]*data-sw-decision="([0-9a-f]+)"[^>]* data-sw-popup', page.text)
        if found:
            return client, found.group(1)
        client.close()
    raise AssertionError("no popup in 40 visits")


def cli_rows(text: str) -> dict[str, list[str]]:
    section = text.split("Slot exit-coupon - ")[1].split("\n\n")[0]
    rows = {}
    for line in section.splitlines()[2:]:
        cells = line.split()
        if cells and cells[0] in ("pct10", "pct15", "free-shipping", "no-popup"):
            rows[cells[0]] = cells[1:]
    return rows


def page_rows(page: str) -> dict[str, list[str]]:
    table = page.split("<table class=report>")[1].split("</table>")[0]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table)[1:]:
        cells = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", tr)]
        rows[cells[0]] = cells[1:]
    return rows


def test_a_shown_and_converted_popup_reads_the_same_in_the_cli_and_the_admin_page(
        server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    visitor, decision_id = shown_popup(server)
    with closing(visitor):
        shown = visitor.post("/_sw/events", json={"events": [{
            "event_id": uuid.uuid4().hex, "type": "popup_shown",
            "props": {"slot": "exit-coupon", "decision_id": decision_id, "how": "exit-intent"}}]})
        assert shown.status_code == 200, shown.text
        signup = visitor.post("/_sw/signup", json={"email": "jane@example.com", "decision_id": decision_id})
        assert signup.status_code == 200, signup.text

    assert main(["report", "--data", str(server.data)]) == 0
    text = capsys.readouterr().out
    with httpx.Client(base_url=server.url, timeout=20) as admin:
        page = admin.get("/_sw/admin", params={"token": TOKEN}, follow_redirects=True).text
        api = {a["arm"]: a for a in admin.get("/_sw/admin/api/report",
                                              headers={"authorization": f"Bearer {TOKEN}"}).json()[0]["arms"]}

    cli, web = cli_rows(text), page_rows(page)
    assert set(cli) == set(web) == {"pct10", "pct15", "free-shipping", "no-popup"}  # unshown variants too
    arm = next(a for a in api if api[a]["decisions"] and a != "no-popup")
    # what happened: shown once, seen (the popup opened), measured (the sign-up), a 100% rate so far
    assert web[arm][:4] == ["1", "1", "1", "100.00%"]
    assert cli[arm][:4] == ["1", "1", "1", "100.00%"]
    assert web[arm][4] == "20.65% to 100.00%" and " ".join(cli[arm][4:7]) == "20.65% to 100.00%"
    # no 'chance best' from one decision: '-' in both, with the reason in both
    assert web[arm][5] == "-" and cli[arm][-1] == "-"
    note = "Chance best appears once every variant has 5 measured decisions"
    assert note in text and note in page
    for other in {"pct10", "pct15", "free-shipping", "no-popup"} - {arm}:
        if api[other]["decisions"] == 0:
            assert web[other] == ["0", "0", "0", "-", "-", "-"]
            assert cli[other] == ["0", "0", "0", "-", "-", "-"]
    # every row is the same text in both
    for name, cells in web.items():
        assert " ".join(cells) == " ".join(cli[name]), name
    # with the server's rules file the CLI reads the same variants from it (logs that predate ``arms``)
    assert main(["report", "--data", str(server.data), "--rules", str(server.rules)]) == 0
    assert cli_rows(capsys.readouterr().out) == cli


LIFT_RULES = """
holdout: 50%
attribution_window: 1s
slots:
  - id: hero
    pages: "/"
    selector: "h1"
    action: replace
    policy: uniform
    variants:
      - {id: loud, html: "<h1>SHOP NOW</h1>"}
  - id: typo
    pages: "/"
    selector: "h2.sale"
    action: replace
    variants:
      - {id: red, html: "<h2>SALE</h2>"}
      - {id: plain, control: true}
"""
NOT_SHOWN = ("Not shown to anyone yet: no page it applies to has been visited, its 'when' held for no visitor, or its "
             "selector matched nothing on its pages (`slotwise rules check RULES --url URL` shows which; on the admin "
             "page, the slot's element line says on how many of its pages it was not found).")


def test_a_lift_not_clear_yet_and_a_slot_not_shown_yet_say_so_in_both(
        asgi_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A marketer reads '+50% relative' as a win unless told: with a dozen visitors the interval spans 0,
    and the admin page and ``slotwise report`` say so in the same words; a slot nobody was shown (its
    selector has a typo) says why that can be, not "measured so far: 0"."""
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse("<html><body><h1>Shop</h1></body></html>"))]))
    (tmp_path / "rules.yaml").write_text(LIFT_RULES)
    settings = Settings(upstream=origin.url, rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "data"),
                        admin_token=TOKEN, personalize_budget_ms=5000.0)
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    seen = {True: 0, False: 0}  # per group: every other one clicks, so both rates are about half
    for _ in range(16):
        with httpx.Client(base_url=proxy.url, headers=UA, timeout=20) as visitor:
            page = visitor.get("/").text
            decision = re.search(r'data-sw-decision="([0-9a-f]+)"', page).group(1)
            events = [{"type": "exposure", "props": {"decision_id": decision, "slot": "hero"}}]
            seen["SHOP NOW" in page] += 1
            if seen["SHOP NOW" in page] % 2:
                events.append({"type": "click", "props": {"decision_id": decision, "slot": "hero", "href": "/"}})
            sent = visitor.post("/_sw/events", json={"events": [{"event_id": uuid.uuid4().hex, **e} for e in events]})
            assert sent.status_code == 200
    time.sleep(1.5)  # every attribution window closed: all measured
    assert main(["report", "--data", str(tmp_path / "data"), "--rules", str(tmp_path / "rules.yaml")]) == 0
    text = capsys.readouterr().out
    cli = next(line.strip() for line in text.splitlines() if line.strip().startswith("Personalized "))
    with httpx.Client(base_url=proxy.url, timeout=20) as admin:
        page = admin.get("/_sw/admin", params={"token": TOKEN}, follow_redirects=True).text
    web = html.unescape(re.search(r"<p>(Personalized [^<]*)</p>", page).group(1))
    assert web == cli
    assert cli.endswith(" Not clear yet: the interval still includes no difference; it narrows as decisions "
                        "are measured."), cli
    # a slot whose selector finds nothing on its page: no decision, and both say why there could be none
    typo_cli = " ".join(text.split("Slot typo - ")[1].split("\n\n")[0].split())
    typo_web = html.unescape(page.split('id="slot-typo"')[1].split("</section>")[0])
    assert NOT_SHOWN in typo_cli and NOT_SHOWN in typo_web
    assert "Chance best appears" not in typo_cli + typo_web  # not "measured so far: red 0, plain 0"
    assert NOT_SHOWN not in text.split("Slot typo - ")[0]  # the slot that was shown has its own notes
