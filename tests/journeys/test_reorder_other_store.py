"""Time to reorder on a store unlike the demo: purchases from the tag's events (no imports, no
categories), a product the rules call consumable, and the store's own GET add to cart as the re-add."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from e2e_helpers import post_events
from other_store import create_shop, make_shop
from selectolax.lexbor import LexborHTMLParser

RULES = Path(__file__).parent / "other_store.yaml"
DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_every_ten_days_a_mug_reminded_and_re_added_through_the_stores_own_link(edge: Any, asgi_server: Any) -> None:
    upstream = asgi_server(create_shop(make_shop()))
    clock = Clock()
    e = edge(rules=RULES, upstream=upstream.url, clock=clock)
    with e.client() as client:
        client.get("/shop/item-8.html")  # the catalog learns the mug from its page (Open Graph)
        for order in ("o1", "o2"):
            sent = post_events(client, {"type": "purchase", "props": {"order_id": order, "lines": [
                {"product": "8", "qty": 1, "price": 40.0}]}})
            assert sent.status_code == 200, sent.text
            clock.now += 10 * DAY  # ten days per mug
        page = e.preview(client, "/", restock="link")
        links = LexborHTMLParser(page.text).css("a.restock")
        assert [(a.attributes["data-id"], a.attributes["data-days"]) for a in links] == [("8", "0")]
        assert "Camp Mug again? £40.00" in links[0].text()
        assert client.get(links[0].attributes["href"]).status_code == 302  # the store's own add to cart
        assert [line["product"] for line in e.profile(client).cart] == ["8"]
        assert LexborHTMLParser(e.preview(client, "/", restock="link").text).css("a.restock") == []  # in the cart now
