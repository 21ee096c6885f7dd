"""``slotwise demo`` as a newcomer runs it, driven by Chromium and the CLI.

One real ``slotwise demo`` process (proxy and store) for the module:
the product page's one block of cards, what a headless browser gets (a bot's
page, and ``Server-Timing`` saying so), and the loop the example rules close:
popup → sign-up → coupon → checkout with the coupon → the reward in
``slotwise report``.
"""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from browser_fixtures import DESKTOP_UA, browser_fixture, new_context_fixture, new_page_fixture  # noqa: F401
from polling import wait_for
from selectolax.lexbor import LexborHTMLParser

from demo_cli import DemoProcess, slotwise_command, slotwise_env

pytestmark = pytest.mark.browser

DIALOG = "[role=dialog][aria-modal=true]"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoProcess]:
    with DemoProcess(tmp_path_factory.mktemp("demo") / "data") as running:
        yield running


def slotwise(*args: str) -> str:
    done = subprocess.run(slotwise_command(*args), env=slotwise_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def goto(page: Any, url: str) -> None:
    """Navigates and waits for the tag the proxy injects (``defer``)."""
    page.goto(url)
    page.wait_for_function("window.slotwise && window.slotwise.v === 1")


def add_to_cart(page: Any, base: str, product: str, size: str) -> None:
    goto(page, f"{base}/p/{product}")
    page.select_option("form.add-to-cart select#size", size)
    with page.expect_navigation():
        page.click("form.add-to-cart button[type=submit]")


def leave_through_top(page: Any) -> None:
    page.mouse.move(600, 300)
    page.mouse.move(600, 5)
    page.mouse.move(600, -20)


# -- 1. the product page: one block of cards ----------------------------------------------


def test_the_cards_take_the_place_of_the_stores_own_block(demo: DemoProcess) -> None:
    link = slotwise("preview", f"{demo.url}/p/103", "--force", "product-recommendations=same-category",
                    "--data", str(demo.data)).strip()
    with httpx.Client(headers={"user-agent": DESKTOP_UA}, timeout=20) as browser:
        for product in ("101", "102", "104", "201"):  # pages passing through teach the catalog
            browser.get(f"{demo.url}/p/{product}")
        page = wait_for(lambda: (r := browser.get(link)).status_code == 200 and "sw-recommendations" in r.text and r,
                        timeout=15, what="the forced recommendations on the product page")
        store_page = browser.get(f"{demo.store_url}/p/103")
    tree, store_tree = LexborHTMLParser(page.text), LexborHTMLParser(store_page.text)
    assert store_tree.css_first("section.related h2").text() == "You may also like"  # the store's own block
    blocks = tree.css("section.sw-recommendations")
    assert len(blocks) == 1 and blocks[0].css_first("h2").text() == "Popular in this category"
    assert tree.css_first("section.related") is None and "You may also like" not in page.text
    assert blocks[0].css("article.product-card"), "cards"

    control = slotwise("preview", f"{demo.url}/p/103", "--force", "product-recommendations=control",
                       "--data", str(demo.data)).strip()
    with httpx.Client(headers={"user-agent": DESKTOP_UA}, timeout=20) as browser:
        shown = LexborHTMLParser(browser.get(control).text)
    assert shown.css_first("section.related h2").text() == "You may also like"  # the control: the store's block
    assert shown.css_first("section.sw-recommendations") is None


def test_the_script_the_proxy_injects_is_the_one_docs_tag_md_shows(demo: DemoProcess) -> None:
    with httpx.Client(headers={"user-agent": DESKTOP_UA}, timeout=20) as visitor:
        page = LexborHTMLParser(visitor.get(demo.url + "/").text)
    injected = [s for s in page.css("script") if (s.attributes.get("src") or "").startswith("/_sw/tag.")]
    doc = (Path(__file__).resolve().parents[2] / "docs" / "tag.md").read_text()
    shown = LexborHTMLParser(re.search(r'<script src="/_sw/tag\.[0-9a-f]+\.js"[^>]*></script>', doc).group(0))
    assert len(injected) == 1
    without_src = {k: v for k, v in injected[0].attributes.items() if k != "src"}
    assert without_src == {k: v for k, v in shown.css_first("script").attributes.items() if k != "src"}
    assert without_src["data-pageview"] == "off"


# -- 2. a headless browser is a bot, and the response says so -----------------------------


def test_headless_chromium_gets_the_stores_page_and_server_timing_says_bot(demo: DemoProcess, browser: Any) -> None:
    context = browser.new_context()  # Chromium's own User-Agent: "HeadlessChrome"
    try:
        page = context.new_page()
        response = page.goto(demo.url + "/")
        assert "HeadlessChrome" in page.evaluate("navigator.userAgent")
        assert response.headers.get("server-timing") == 'sw;desc="bot"'
        timing = page.evaluate("performance.getEntriesByType('navigation')[0].serverTiming"
                               ".map(t => ({name: t.name, description: t.description}))")
        assert timing == [{"name": "sw", "description": "bot"}]  # what DevTools shows a tester
        assert page.evaluate("typeof window.slotwise") == "undefined"  # no tag
        assert not [c for c in context.cookies() if c["name"].startswith("sw_")]  # no cookie
    finally:
        context.close()
    with httpx.Client(headers={"user-agent": DESKTOP_UA}) as visitor:
        timing = visitor.get(demo.url + "/").headers.get("server-timing", "")
    assert timing.startswith("sw;dur=") and "bot" not in timing  # a desktop browser is a visitor


def test_crawlers_and_scripts_get_server_timing_bot_too(demo: DemoProcess) -> None:
    for agent in ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/8.5.0"):
        with httpx.Client(headers={"user-agent": agent}, timeout=20) as bot:
            page = bot.get(demo.url + "/c/jeans")
            store = bot.get(demo.store_url + "/c/jeans")
        assert page.headers["server-timing"] == 'sw;desc="bot"' and "server-timing" not in store.headers
        assert page.content == store.content and "set-cookie" not in page.headers  # the store's page, untouched


# -- 3. the loop: popup → sign-up → coupon → checkout → reward in the report --------------


def popup_page(demo: DemoProcess, new_context: Callable[..., Any], tries: int = 12) -> Any:
    """A new visitor with a cart whose exit-coupon decision is an offer (not the control, not the holdout)."""
    for _ in range(tries):
        page = new_context().new_page()
        add_to_cart(page, demo.url, "302", "M")
        goto(page, demo.url + "/cart")
        if page.locator("template[data-sw-popup]").count() == 1:
            return page
        page.context.close()
    raise AssertionError(f"no popup offer in {tries} new visitors")


def test_popup_signup_coupon_checkout_and_the_reward_in_the_report(demo: DemoProcess,
                                                                    new_context: Callable[..., Any]) -> None:
    page = popup_page(demo, new_context)
    offer = page.evaluate("document.querySelector('template[data-sw-popup]').content"
                          ".querySelector('form[data-sw-signup]').dataset.swOffer")
    assert offer in ("pct10", "pct15", "eur5")

    leave_through_top(page)
    dialog = page.locator(DIALOG)
    dialog.wait_for(state="visible")
    assert dialog.locator("[data-sw-coupon]").is_hidden()  # nothing to use yet
    dialog.locator("input[type=email]").fill("newcomer@example.com")
    dialog.locator("button[type=submit]").click()
    code = dialog.locator("[data-sw-coupon] .sw-code").text_content(timeout=15_000) or ""
    assert re.fullmatch(r"SW-[A-Z2-7]{10}-[A-Z2-7]{6}", code), code
    shown = " ".join((dialog.locator("[data-sw-coupon]").text_content() or "").split())
    assert "Enter this code in the Coupon code field at checkout" in shown  # a label and what to do
    assert shown.endswith(f"Your coupon code: {code}")
    page.keyboard.press("Escape")

    def checkout_with_the_code() -> Any:
        goto(page, demo.url + "/checkout")
        page.fill("#name", "New Comer")
        page.fill("#email", "newcomer@example.com")
        page.fill("#coupon", code)
        with page.expect_navigation():
            page.click("form.checkout button[type=submit]")
        # the store learns the code from Slotwise's sign-up webhook: delivered at once, at least once
        return "/order/" in page.url and page.locator("section.order-confirmation")

    section = wait_for(checkout_with_the_code, timeout=15, what="the store to take the coupon")
    subtotal = Decimal(section.get_attribute("data-order-subtotal") or "")
    discount = Decimal(section.get_attribute("data-discount") or "")
    assert section.get_attribute("data-coupon") == code
    expected = {"pct10": subtotal * Decimal("0.10"), "pct15": subtotal * Decimal("0.15"), "eur5": Decimal("5")}[offer]
    assert discount == min(subtotal, expected.quantize(Decimal("0.01")))
    assert Decimal(section.get_attribute("data-order-total") or "") == subtotal - discount
    assert code in (page.locator("p.discount").text_content() or "")

    margin = f"{subtotal - discount:.2f}"

    def reported() -> str | None:
        text = slotwise("report", "--data", str(demo.data), "--slot", "exit-coupon")
        row = next((line for line in text.splitlines() if line.split()[:1] == [offer]), "")
        return text if margin in row else None

    text = wait_for(reported, timeout=30, what=f"the {offer} row with a reward of {margin} in `slotwise report`")
    assert "goal: margin" in text
    print(text)
