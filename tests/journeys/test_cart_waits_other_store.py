"""The cart that waits and "viewed earlier, now back in stock / cheaper" on a store unlike the demo:
Open Graph tags only, no stock counts (so never "only N left"), a GET add to cart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from other_store import create_shop, make_shop
from selectolax.lexbor import LexborHTMLParser

RULES = Path(__file__).parent / "other_store.yaml"


class Clock:
    """The proxy's clock: now, until the test moves it on (a later visit)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_reminders_read_the_stores_own_facts_now(edge: Any, asgi_server: Any) -> None:
    shop = make_shop()
    upstream = asgi_server(create_shop(shop))
    clock = Clock()
    e = edge(rules=RULES, upstream=upstream.url, clock=clock)
    assert e.p.ruleset().journeys.cart_form.as_dict() == {
        "action": "/", "method": "GET", "product": "add-to-cart", "size": None, "qty": "quantity"}
    with e.client() as client:
        client.get("/shop/item-7.html")  # out of stock at £50
        client.get("/shop/item-8.html")  # £40
        client.get("/shop/item-9.html")
        assert client.get("/?add-to-cart=9").status_code == 302  # captured: the store accepted it
        assert client.get("/?add-to-cart=7").status_code == 200  # refused (out of stock): nothing recorded
        assert [line["product"] for line in e.profile(client).cart] == ["9"]
        first = LexborHTMLParser(client.get("/").text)
        assert first.css_first("ul.waiting") is None and first.css_first("ul.news") is None  # same visit: nothing waits

        shop["7"]["in_stock"] = True
        shop["8"]["price"] = 30.0
        clock.now += 2 * 3600  # another day, another visit; another shopper's views refresh the catalog
        with e.client() as other:
            other.get("/shop/item-7.html")
            other.get("/shop/item-8.html")
        page = client.get("/")  # this visit's own decisions (any variant, the control too)
        assert "basket-waits=" in page.headers["server-timing"] and "news=" in page.headers["server-timing"]
        home = LexborHTMLParser(e.preview(client, "/", **{"basket-waits": "list", "news": "list"}).text)
    waiting = home.css("ul.waiting li")
    assert [li.attributes["data-id"] for li in waiting] == ["9"]
    text = waiting[0].text(separator=" ", strip=True)
    assert "Rain Poncho" in text and "£25.00" in text and "available" in text
    assert "left" not in text  # the store publishes no counts: no scarcity, ever
    assert waiting[0].css_first("a.again").attributes["href"] == "/?add-to-cart=9"  # the store's own GET
    assert [li.attributes["data-id"] for li in home.css("ul.news li.back")] == ["7"]
    drops = home.css("ul.news li.drop")
    assert [li.attributes["data-id"] for li in drops] == ["8"]
    assert "now £30.00, was £40.00" in drops[0].text(separator=" ", strip=True)
