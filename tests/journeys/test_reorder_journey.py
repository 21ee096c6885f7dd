"""Replenishment end to end: in-store history imported with ``slotwise import purchases``, the
demo customer logs in through the proxy, "time to reorder" shows the consumables whose rhythm says
they run out, and one click puts one back into the store's own cart (the goal)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from e2e_helpers import login
from selectolax.lexbor import LexborHTMLParser

from slotwise.cli import main

RULES = Path(__file__).parent / "cart_journeys.yaml"  # the demo's three journey files, no holdout

DAY = 86_400.0


def iso(days_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - days_ago * DAY))


def pos_export(path: Path) -> Path:
    """The demo customer bought socks 64 and 32 days ago (due today) and one dog toy 15 days ago;
    three other customers buy dog toys every 10 days (the category's typical interval)."""
    rows = ["order_id,customer_id,ts,product,category,size,qty,price,channel,store",
            f"S1,c000001,{iso(64)},801,Socks,39–42,1,19.95,store,Amsterdam Centraal",
            f"S2,c000001,{iso(32)},801,Socks,39–42,1,19.95,store,Amsterdam Centraal",
            f"S3,c000001,{iso(15)},901,Dog Toys,M,1,12.95,store,Amsterdam Centraal"]
    for n in range(3):
        rows += [f"B{n}a,buyer{n},{iso(25)},903,Dog Toys,S,1,11.95,store,",
                 f"B{n}b,buyer{n},{iso(15)},903,Dog Toys,S,1,11.95,store,"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def reorder_items(html: str) -> list[dict[str, Any]]:
    section = LexborHTMLParser(html).css_first("section.sw-reorder")
    if section is None:
        return []
    out = []
    for li in section.css("li.sw-reorder-item"):
        form = li.css_first("form.sw-readd")
        fields = {i.attributes["name"]: i.attributes["value"] for i in form.css("input")} if form else None
        out.append({"product": li.attributes["data-product-id"], "days_left": int(li.attributes["data-days-left"] or 0),
                    "text": li.text(separator=" ", strip=True),
                    "form": (form.attributes.get("method"), form.attributes.get("action"), fields) if form else None})
    return out


def test_time_to_reorder_from_in_store_history_and_one_click_back_into_the_cart(edge: Any, tmp_path: Path) -> None:
    e = edge(RULES)
    e.wait_for_catalog("801", "901")
    assert main(["import", "purchases", str(pos_export(tmp_path / "pos.csv")), "--data", str(e.data), "--quiet"]) == 0
    with e.client() as client:
        assert "sw-reorder" not in client.get("/").text  # a visitor nothing is known about
        login(client)
        client.get("/account")  # the store's page names the customer: the golden record links the POS history
        page = e.preview(client, "/", reorder="one-click")
        items = reorder_items(page.text)
        # the dog toy: bought once, due by the category's typical 10 days (5 overdue); socks: every 32 days
        assert [i["product"] for i in items] == ["901", "801"]
        assert items[0]["days_left"] == -5 and items[1]["days_left"] == 0
        assert "Rope Tug Toy" in items[0]["text"] and "€12.95" in items[0]["text"]
        method, action, fields = items[1]["form"]
        assert (method, action) == ("post", "/cart/add")  # the store's own form, from the rules' capture
        assert fields == {"product_id": "801", "size": "39–42", "qty": "1"}
        added = client.post(action, data=fields)  # the one click, through the proxy
        assert added.status_code == 303
        assert [line["product"] for line in e.profile(client).cart] == ["801"]
        again = reorder_items(e.preview(client, "/", reorder="one-click").text)
        assert [i["product"] for i in again] == ["901"]  # in the cart now: no longer a reminder
        link_only = reorder_items(e.preview(client, "/", reorder="product-link").text)
        assert link_only and link_only[0]["form"] is None  # the other variant links to the product instead


def test_not_due_and_not_consumable_show_nothing(edge: Any, tmp_path: Path) -> None:
    e = edge(RULES)
    rows = ["order_id,customer_id,ts,product,category,size,qty,price",
            f"J1,c000001,{iso(200)},501,Jeans,W32,1,89,", f"J2,c000001,{iso(100)},501,Jeans,W32,1,89",  # not consumable
            f"S1,c000001,{iso(40)},801,Socks,39–42,2,19.95", f"S2,c000001,{iso(20)},801,Socks,39–42,1,19.95"]
    (tmp_path / "pos.csv").write_text("\n".join(r.rstrip(",") if r.count(",") > 7 else r for r in rows) + "\n")
    assert main(["import", "purchases", str(tmp_path / "pos.csv"), "--data", str(e.data), "--quiet"]) == 0
    with e.client() as client:
        login(client)
        client.get("/account")
        page = e.preview(client, "/", reorder="one-click")
    assert "sw-reorder" not in page.text  # socks: 10 days per unit, the last one bought 20 days ago lasts 10 more
    assert "reorder=" not in page.headers["server-timing"]  # its `when` does not hold: no decision at all
