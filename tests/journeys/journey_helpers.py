"""Reading the journeys' slots off pages served by the proxy, and shopping in the demo store through it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import httpx
from selectolax.lexbor import LexborHTMLParser

HERE = Path(__file__).parent
JOURNEYS = HERE / "journeys.yaml"
ROOT = HERE.parents[1]


def arm(page: httpx.Response, slot: str) -> str | None:
    """The variant this page got for ``slot`` (the proxy's ``Server-Timing`` says ``slot=variant``)."""
    match = re.search(rf"(?:^|[\s\",;]){re.escape(slot)}=([\w.-]+)", page.headers.get("server-timing", ""))
    return match.group(1) if match else None


def tree(page: httpx.Response) -> LexborHTMLParser:
    return LexborHTMLParser(page.text)


def rules_copy(tmp: Path, source: Path = JOURNEYS, **replace: str) -> Path:
    """``source`` written to ``tmp`` with its relative includes made absolute (and ``replace`` applied)."""
    text = source.read_text().replace("../../slotwise", str(ROOT / "slotwise"))
    for old, new in replace.items():
        text = text.replace(old, new)
    target = tmp / source.name
    target.write_text(text)
    return target


def until_treated(new_client: Callable[[], httpx.Client], visit: Callable[[httpx.Client], httpx.Response],
                  slot: str, control: str, tries: int = 12, *, silent_control: bool = False
                  ) -> tuple[httpx.Client, httpx.Response]:
    """Fresh visitors until one gets a variant other than ``control`` (the bandit draws; one in three
    is the control). Returns that visitor's client (open) and page. ``silent_control``: a popup's
    control changes nothing on the page, so Server-Timing does not name it."""
    for _ in range(tries):
        client = new_client()
        page = visit(client)
        got = arm(page, slot) or (control if silent_control else None)
        assert got is not None, f"{slot} made no decision: {page.headers.get('server-timing')}"
        if got != control:
            return client, page
        client.close()
    raise AssertionError(f"{tries} visitors in a row got {control!r} for {slot}")


def checkout(client: httpx.Client, product: str, size: str) -> str:
    """Adds to the cart and checks out in the demo store through the proxy; returns the order id
    (the proxy reads the order off the confirmation page, as it would on any store)."""
    response = client.post("/cart/add", data={"product_id": product, "size": size, "qty": "1"})
    assert response.status_code in (200, 303), response.text
    response = client.post("/checkout", data={"name": "Test Buyer", "email": "buyer@example.com"})
    assert response.status_code == 303, response.text
    confirmation = client.get(response.headers["location"])
    section = tree(confirmation).css_first(".order-confirmation")
    assert section is not None
    return str(section.attributes["data-order-id"])


def wait_profile(e: Any, client: httpx.Client, predicate: Callable[[Any], bool], timeout: float = 5.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while True:
        profile = e.profile(client)
        if profile is not None and predicate(profile):
            return profile
        if time.monotonic() > deadline:
            raise AssertionError(f"profile never got there: {profile}")
        time.sleep(0.05)


def login(client: httpx.Client, email: str = "demo@example.com", password: str = "demo") -> None:
    """Logs in to the demo store through the proxy (the proxy reads the store's yes: a trusted identify)."""
    form = tree(client.get("/login")).css_first('input[name="csrf_token"]')
    assert form is not None
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": form.attributes["value"] or ""})
    assert response.status_code == 303, response.text
    client.get(response.headers["location"])
