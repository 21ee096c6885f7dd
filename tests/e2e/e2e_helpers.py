"""Helpers for the end-to-end tests: read the demo's pages, buy through the proxy."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser
from agents import DESKTOP_UA  # noqa: E402

HERE = Path(__file__).parent
SLOTS = HERE / "slots.yaml"


def visitor_id(client: httpx.Client) -> str:
    return client.cookies["sw_vid"].split(".")[0]


def post_events(client: httpx.Client, *events: dict[str, Any]) -> httpx.Response:
    """Events exactly as the tag batches them."""
    batch = [{"event_id": uuid.uuid4().hex, **e} for e in events]
    return client.post("/_sw/events", json={"events": batch})


def categories_in(html: str, selector: str) -> list[str]:
    tree = LexborHTMLParser(html)
    return [node.attributes.get("data-category") or "" for node in tree.css(selector)]


def selected_size(html: str) -> str | None:
    select = LexborHTMLParser(html).css_first("select#size")
    assert select is not None
    chosen = [o.attributes.get("value") for o in select.css("option") if "selected" in o.attributes]
    return chosen[0] if chosen else None


def demo_checkout(client: httpx.Client, product: str, size: str) -> dict[str, Any]:
    """Adds to cart and checks out in the demo store; returns the purchase props the tag would send."""
    response = client.post("/cart/add", data={"product_id": product, "size": size, "qty": "1"})
    assert response.status_code in (200, 303), response.text
    response = client.post("/checkout", data={"name": "Test Buyer", "email": "buyer@example.com"})
    assert response.status_code == 303, response.text
    confirmation = client.get(response.headers["location"])
    section = LexborHTMLParser(confirmation.text).css_first(".order-confirmation")
    assert section is not None
    lines = [
        {
            "product": li.attributes["data-product-id"],
            "category": li.attributes["data-category"],
            "size": li.attributes["data-size"],
            "qty": int(li.attributes["data-qty"] or 1),
            "price": float(li.attributes["data-price"] or 0),
        }
        for li in section.css(".order-line")
    ]
    return {"order_id": section.attributes["data-order-id"], "lines": lines,
            "total": float(section.attributes["data-order-total"] or 0)}


def login(client: httpx.Client, email: str = "demo@example.com", password: str = "demo") -> httpx.Response:
    """Logs in to the demo store through the proxy (CSRF token from the form)."""
    form = LexborHTMLParser(client.get("/login").text).css_first('input[name="csrf_token"]')
    assert form is not None
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": form.attributes["value"] or ""})
    assert response.status_code == 303, response.text
    return response


class Edge:
    """A running proxy with its personalizer (for looking into its store)."""

    def __init__(self, server: Any, personalizer: Any, settings: Any) -> None:
        self.server, self.p, self.settings = server, personalizer, settings
        self.url = server.url
        self.data = Path(settings.data)  # the embedded store's directory, for the CLI (`--data`)

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"user-agent": DESKTOP_UA, **kwargs.pop("headers", {})}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, follow_redirects=False, **kwargs)

    def run(self, coro: Any) -> Any:
        """Runs a store coroutine here (the SQLite store is thread-safe and needs no loop of its own)."""
        return asyncio.run(coro)

    def profile(self, client: httpx.Client) -> Any:
        return self.run(self.p.store.get_profile(visitor_id(client)))
