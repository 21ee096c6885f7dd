"""The marketer's path, in headless Chromium: sign in to the admin page, open a preview link, read the
preview bar, pick an element for a new slot, force another variant, flip the kill switch and see the
store's page as the store made it.

Headless Chromium → the real proxy (uvicorn thread, SQLite) → the bundled demo store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
import yaml
from selectolax.lexbor import LexborHTMLParser

from slotwise.demo.server import DemoServer
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.rules import load_rules

pytestmark = pytest.mark.browser

TOKEN = "marketer-token-1"
STORE_HEADLINE = "Made for moving."
RULES = """
holdout: 0
slots:
  - id: hero-headline
    pages: "/"
    selector: "section.hero h1"
    action: replace
    policy: uniform
    variants:
      - {id: store, control: true}
      - {id: summer, html: "<h1>Summer sale: 20% off runners.</h1>"}
      - {id: free-returns, html: "<h1>Free returns, always.</h1>"}
  - id: returning-banner
    pages: "/"
    selector: "section.hero p"
    action: replace
    when: "visitor.visits > 100"
    variants:
      - {id: plain, control: true}
      - {id: welcome-back, html: "<p>Welcome back!</p>"}
  - id: category-note
    pages: "/c/*"
    selector: "main.category h1"
    action: after
    variants:
      - {id: plain, control: true}
      - {id: returns, html: "<p class=sw-note>Free returns, always.</p>"}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("marketer")
    rules = data / "rules.yaml"
    rules.write_text(RULES)
    with DemoServer(data / "demo") as demo:
        settings = Settings(upstream=demo.url, rules=str(rules), data=str(data / "edge"), admin_token=TOKEN,
                            personalize_budget_ms=5000)
        with uvicorn_runner(create_app(settings, SlotwisePersonalizer(settings))) as proxy:
            proxy.demo = demo
            yield proxy


def headline(page: Any) -> str:
    return page.locator("section.hero h1").inner_text().strip()


def test_the_marketers_path(stack: Any, new_page: Callable[[], Any], tmp_path: Path) -> None:
    page = new_page()
    # 1. the admin URL the proxy prints: a sign-in form, then the admin page
    page.goto(stack.url + "/_sw/admin")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#switches")
    assert page.locator("h2", has_text="Kill switches").is_visible()

    # 2. a preview link from the admin page: the forced variant, and the bar saying why
    page.click('a[data-preview="hero-headline=summer"]')
    page.wait_for_url("**sw_preview=**")
    assert headline(page) == "Summer sale: 20% off runners."
    bar = page.locator("#sw-preview-bar")
    hero = bar.locator("tr[data-slot=hero-headline]")
    hero.wait_for()
    assert hero.locator(".shown").inner_text() == "summer"
    assert hero.locator(".why").inner_text() == "forced by this preview link"
    banner = bar.locator("tr[data-slot=returning-banner]")
    assert banner.get_attribute("data-reason") == "when"
    assert banner.locator(".why").inner_text() == "its 'when' (visitor.visits > 100) is false for you on this page"

    # 3. the selector picker: click an element of the page, get the YAML for a new slot
    bar.locator("[data-sw=pick]").click()
    target = page.locator(".category-tiles a.tile[data-category=jackets] .tile-name")
    target.click()  # picked, not followed: the page stays
    assert page.url.split("?")[0].endswith("/")
    snippet = bar.locator("textarea").input_value()
    slot = yaml.safe_load(snippet)["slots"][0]
    assert slot["action"] == "replace" and slot["pages"] == "/"
    assert slot["selector"] == "a.tile[data-category='jackets'] > span.tile-name"  # a data attribute, not a position
    matched = LexborHTMLParser(httpx.get(stack.demo.url + "/").text).css(slot["selector"])
    assert [n.text(strip=True) for n in matched] == ["Jackets"]  # the rewriter's selector engine finds it, once
    rules = tmp_path / "new-slot.yaml"
    rules.write_text(snippet)
    assert [s.id for s in load_rules(rules).slots] == ["new-slot"]  # a valid rules file as it stands

    # 4. force another variant from the bar
    bar.locator('a[data-slot=hero-headline][data-variant=free-returns]').click()
    page.wait_for_function("document.querySelector('section.hero h1').textContent.includes('Free returns')")
    assert bar.locator("tr[data-slot=hero-headline] .shown").inner_text() == "free-returns"

    # 4b. a variant of a slot for other visitors (returning ones), forced from the admin page: the store's
    # element stays, and the bar says that forcing does not lift the slot's `when`, and what would show it
    page.goto(stack.url + "/_sw/admin")
    page.click('a[data-preview="returning-banner=welcome-back"]')
    page.wait_for_url("**sw_preview=**")
    assert page.locator("section.hero p").inner_text() != "Welcome back!"
    banner = page.locator("#sw-preview-bar tr[data-slot=returning-banner]")
    banner.wait_for()
    assert banner.get_attribute("data-reason") == "when"
    assert banner.locator(".why").inner_text() == (
        "forced to welcome-back by this preview link, but its 'when' (visitor.visits > 100) is false for you on "
        "this page: a forced variant still shows only where its 'when' holds, so open this link as such a visitor "
        "would (on their device, after their visits)")

    # 4c. a variant of a slot for category pages, before any was served and without a catalog to find one in:
    # the admin page says so (no link to the home page, where it does not run) and its form opens a path given
    page.goto(stack.url + "/_sw/admin")
    assert page.locator('a[data-preview^="category-note="]').count() == 0
    assert "No page it applies to is known yet" in page.locator('[data-preview-none="category-note"]').inner_text()
    page.select_option('select[aria-label="variant of category-note"]', "category-note=returns")
    page.fill('input[aria-label="a path category-note applies to"]', "/c/jackets")
    page.click('button[aria-label="Open category-note with the bar"]')
    page.wait_for_url("**/c/jackets?sw_preview=**")
    assert page.locator("p.sw-note").inner_text() == "Free returns, always."
    note = page.locator("#sw-preview-bar tr[data-slot=category-note]")
    note.wait_for()
    assert note.get_attribute("data-reason") == "forced"
    page.goto(stack.url + "/")  # the preview goes on while clicking through; here the bar says why it is not shown
    note = page.locator("#sw-preview-bar tr[data-slot=category-note]")
    note.wait_for()
    assert note.get_attribute("data-reason") == "pages"
    assert note.locator(".why").inner_text() == (
        "forced to returns by this preview link, but its pages do not include this one: go to a page it applies "
        "to, the variant stays forced while you click through")

    # 5. the kill switch: the store's own headline for every visitor, and the bar says why
    page.goto(stack.url + "/_sw/admin")
    page.click('button[data-switch="hero-headline"]')
    page.wait_for_selector('button[data-switch="hero-headline"]:has-text("Switch back on")')
    page.wait_for_timeout(600)  # within a second on every instance (this one flipped it: at once)
    for _ in range(6):  # uniform over three variants: a visitor would see a change 2 times in 3
        visitor = new_page()
        visitor.goto(stack.url + "/")
        assert headline(visitor) == STORE_HEADLINE
        assert visitor.locator("#sw-preview-bar").count() == 0  # nothing of the bar for visitors
    page.goto(stack.url + "/_sw/admin/preview?path=/")
    assert headline(page) == STORE_HEADLINE
    assert page.locator("#sw-preview-bar tr[data-slot=hero-headline]").get_attribute("data-reason") == "killed"
