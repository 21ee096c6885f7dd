"""The cart that waits, end to end on the demo: a cart filled on the phone is shown on the laptop
after the customer logs in there (the golden record links the two), with the store's price and
stock now; "only N left" only from the store's own count (the demo's JSON-LD and feed)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from e2e_helpers import login
from selectolax.lexbor import LexborHTMLParser

RULES = Path(__file__).parent / "cart_journeys.yaml"  # the demo's three journey files, no holdout


def waiting(html: str) -> list[dict[str, Any]]:
    section = LexborHTMLParser(html).css_first("section.sw-cart-waits")
    if section is None:
        return []
    return [{"product": li.attributes["data-product-id"], "text": li.text(separator=" ", strip=True),
             "scarce": li.css_first(".sw-scarce") is not None, "readd": li.css_first("form.sw-readd") is not None}
            for li in section.css("li.sw-waiting-item")]


def test_a_cart_filled_on_the_phone_waits_on_the_laptop_with_price_and_real_scarcity(edge: Any) -> None:
    e = edge(RULES)
    e.wait_for_catalog("203", "101")
    with e.client() as phone:
        login(phone)
        phone.get("/account")  # the store names the customer: the phone is the customer's
        for product, size in (("203", "42"), ("101", "40")):
            assert phone.post("/cart/add", data={"product_id": product, "size": size, "qty": "1"}).status_code == 303
        assert waiting(e.preview(phone, "/", **{"cart-waits": "scarcity"}).text) == []  # filled this visit: not waiting
    time.sleep(0.01)
    with e.client() as laptop:
        assert waiting(laptop.get("/").text) == []  # an anonymous laptop: nothing known yet
        login(laptop)
        laptop.get("/account")  # now the golden record links the laptop to the phone's cart
        profile = e.profile(laptop)
        assert profile.cart == [] and [x["product"] for x in profile.saved_cart] == ["203", "101"]  # the laptop's basket is empty
        items = waiting(e.preview(laptop, "/", **{"cart-waits": "scarcity"}).text)
        assert [i["product"] for i in items] == ["203", "101"]
        assert "Retro Court 84" in items[0]["text"] and "€89.00" in items[0]["text"] and "42" in items[0]["text"]
        assert items[0]["scarce"] and "Only 1 left!" in items[0]["text"]  # the store's own count: 1 (JSON-LD, feed)
        assert not items[1]["scarce"] and "In stock" in items[1]["text"]  # 62 on hand: no scarcity, never invented
        assert all(i["readd"] for i in items)  # this device's basket lacks them: one click puts each back
        plain = waiting(e.preview(laptop, "/c/sneakers", **{"cart-waits": "items"}).text)
        assert [i["product"] for i in plain] == ["203", "101"] and not any(i["scarce"] for i in plain)
        # the laptop's own decision (not a preview) is rewarded by the purchase, whatever variant it drew
        page = laptop.get("/")
        assert "cart-waits=" in page.headers["server-timing"]
        laptop.post("/cart/add", data={"product_id": "203", "size": "42", "qty": "1"})
        ordered = laptop.post("/checkout", data={"name": "Demo", "email": "demo@example.com"})
        assert ordered.status_code == 303
        laptop.get(ordered.headers["location"])  # the confirmation page: the purchase, read by the proxy
        profile = e.profile(laptop)
        assert "203" in profile.purchased_products and profile.saved_cart == []  # bought: nothing waits any more
        assert waiting(e.preview(laptop, "/", **{"cart-waits": "items"}).text) == []


def test_a_cart_emptied_in_the_visit_that_filled_it_does_not_wait(edge: Any) -> None:
    e = edge(RULES)
    e.wait_for_catalog("801")
    with e.client() as client:
        client.post("/cart/add", data={"product_id": "801", "size": "39–42", "qty": "1"})
        client.post("/cart/remove", data={"product_id": "801", "size": "39–42"})
        assert e.profile(client).saved_cart == []
