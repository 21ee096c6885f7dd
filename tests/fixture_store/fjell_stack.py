"""Fjell Outdoor behind the real proxy, for the browser tests: the stack, what it stored, and a shopper's steps.

One rules file and no store code: ``open_fjell`` runs the fixture store
(``outdoor_shop.py``) and Slotwise in front of it in-process (``FjellStack``
is ``tests/shop_stack.py``'s ``ShopStack``: it reads back what Slotwise
stored, the log, profiles, the ``slotwise report`` JSON, and runs the
``slotwise import`` CLI from a worker thread). The shopper functions click
through the store's own pages in Chromium, as a visitor would.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from browser_fixtures import DESKTOP_UA  # noqa: F401 (re-exported for the tests)
from outdoor_shop import OutdoorShop
from shop_stack import ShopStack, in_thread, open_stack, wait_for  # noqa: F401 (re-exported for the tests)

RULES_DIR = Path(__file__).resolve().parent / "rules"
FJELL = RULES_DIR / "fjell.yaml"
FJELL_DATALAYER = RULES_DIR / "fjell-datalayer.yaml"
JANE, JANE_PASSWORD = "jane@example.com", "fjell-pass-1"

FjellStack = ShopStack


@contextlib.contextmanager
def open_fjell(data: Path, rules: Path, runner: Any) -> Iterator[ShopStack]:
    with OutdoorShop() as shop, open_stack(shop, data, rules, runner) as stack:
        yield stack


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


