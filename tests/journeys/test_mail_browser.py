"""The e-mail that follows the popup, in a real browser: headless Chromium → the proxy → the demo store;
tag.js shows the decision-stage popup on exit intent and posts the sign-up; the example receiver gets
the message with the popup's decision, the coupon and the picks."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from browser_fixtures import DESKTOP_UA, browser_fixture, new_context_fixture  # noqa: F401 (fixtures)
from journey_helpers import JOURNEYS
from mail_helpers import RunningReceiver, validate
from polling import wait_for

from slotwise.demo.server import DemoServer
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.tag.testing import SECRET, sync

pytestmark = pytest.mark.browser
DIALOG = "[role=dialog][aria-modal=true]"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[tuple[Any, RunningReceiver]]:
    data: Path = tmp_path_factory.mktemp("mail-browser")
    inbox = RunningReceiver(SECRET.encode())
    try:
        with DemoServer(data / "demo") as demo:
            settings = Settings(upstream=demo.url, rules=str(JOURNEYS), data=str(data / "edge"), secret=SECRET,
                                webhook_url=inbox.url, personalize_budget_ms=5000)
            personalizer = SlotwisePersonalizer(settings)
            with uvicorn_runner(create_app(settings, personalizer)) as proxy:
                # the picks need the catalog: wait for the feed loader's first round
                wait_for(lambda: sync(personalizer.store.list_products(limit=5)), timeout=10)
                yield proxy, inbox
    finally:
        inbox.close()


def goto(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")


def test_decision_popup_signup_in_the_browser_reaches_the_mail_service(stack: Any, new_context: Any) -> None:
    proxy, inbox = stack
    for _ in range(12):  # the popup competes with a no-popup control: fresh visitors until one gets it
        page = new_context(user_agent=DESKTOP_UA).new_page()
        for pid in ("101", "102", "103"):
            goto(page, f"{proxy.url}/p/{pid}")
        goto(page, f"{proxy.url}/p/104")
        if page.locator('template[data-sw-popup="decision-coupon"]').count() == 1:
            break
        page.context.close()
    else:
        raise AssertionError("12 visitors in a row got the no-popup control")
    decision = page.locator('template[data-sw-popup="decision-coupon"]').get_attribute("data-sw-decision")
    page.mouse.move(600, 300)
    page.mouse.move(600, 5)
    page.mouse.move(600, -20)  # exit intent
    page.locator(DIALOG).wait_for(state="visible")
    address = f"mail-{uuid.uuid4().hex[:8]}@example.com"
    page.locator(f"{DIALOG} input[type=email]").fill(address)
    page.keyboard.press("Enter")
    code = page.locator(f"{DIALOG} .sw-code")
    code.wait_for(state="visible")
    coupon = code.text_content()

    mail = wait_for(lambda: [m for m in inbox.of_type("signup") if m[2]["person"].get("email") == address], timeout=10)
    subject, html, message = mail[0]
    validate(message)
    assert message["coupon"] == coupon and message["decision_id"] == decision
    assert message["stage"]["running-shoes"] == "decision"
    assert message["picks"] and all(p["id"] not in ("106",) for p in message["picks"])  # never sold out
    assert coupon and coupon in html and subject == f"Your coupon {coupon} is waiting"
