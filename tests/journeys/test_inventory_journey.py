"""Nearby store availability end to end on the demo: the store's own per-store stock CSV imported
with ``slotwise import inventory``, the visitor's store from in-store purchases, then from the store
picker on the site (a captured event), and "your size is in stock at <store>" on product pages."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx
from e2e_helpers import login, selected_size
from selectolax.lexbor import LexborHTMLParser

from slotwise.cli import main

RULES = Path(__file__).parent / "cart_journeys.yaml"  # the demo's three journey files, no holdout


def stock_csv(demo: Any, path: Path) -> dict[tuple[str, str, str], int]:
    """The demo's own stock export, saved as a file; returns (store, product, size) -> units."""
    text = httpx.get(demo.url + "/download/catalog.csv").text
    path.write_text(text, encoding="utf-8")
    return {(r["store"], r["product_id"], r["size"]): int(r["stock"]) for r in csv.DictReader(io.StringIO(text))}


def nearby(html: str) -> str | None:
    node = LexborHTMLParser(html).css_first("p.sw-nearby-store")
    return " ".join(node.text().split()) if node is not None else None


def test_your_size_in_stock_at_your_store(edge: Any, demo: Any, tmp_path: Path, capsys: Any) -> None:
    e = edge(RULES)
    e.wait_for_catalog("102")
    stock = stock_csv(demo, tmp_path / "stock.csv")
    assert main(["import", "inventory", str(tmp_path / "stock.csv"), "--data", str(e.data), "--quiet"]) == 0
    assert main(["import", "inventory", str(tmp_path / "stock.csv"), "--data", str(e.data), "--quiet"]) == 0
    assert '"added": 0, "changed": 0, "removed": 0' in capsys.readouterr().out.splitlines()[-1]  # idempotent
    when = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 40 * 86400))
    (tmp_path / "pos.csv").write_text(
        "order_id,customer_id,ts,product,category,size,qty,price,channel,store\n"
        f"B1,c000001,{when},103,Running Shoes,42,1,139.50,store,Berlin Mitte\n", encoding="utf-8")
    assert main(["import", "purchases", str(tmp_path / "pos.csv"), "--data", str(e.data), "--quiet"]) == 0

    product = next(p for p in ("102", "104", "105", "101") if stock[("Berlin Mitte", p, "42")] > 0
                   and stock[("Oslo Aker Brygge", p, "42")] > 0)
    with e.client() as client:
        assert nearby(e.preview(client, f"/p/{product}", **{"nearby-store": "your-store"}).text) is None  # unknown
        login(client)
        client.get("/account")
        page = e.preview(client, f"/p/{product}", **{"nearby-store": "your-store"})
        assert selected_size(page.text) == "42"  # the size slot's choice ...
        units = stock[("Berlin Mitte", product, "42")]
        low = " (only {} left)".format(units) if units <= 2 else ""
        assert nearby(page.text) == f"Your size 42 is in stock at Berlin Mitte{low}."  # ... at the store they shop in

        chosen = client.post("/stores/choose", data={"store": "Oslo Aker Brygge"})  # the site's store picker
        assert chosen.status_code == 303
        assert e.profile(client).chosen_store["id"] == "oslo-aker-brygge"
        text = nearby(e.preview(client, f"/p/{product}", **{"nearby-store": "and-elsewhere"}).text)
        assert text is not None and text.startswith("Your size 42 is in stock at Oslo Aker Brygge")
        others = sorted(((u, s) for (s, p, z), u in stock.items() if p == product and z == "42"
                         and s != "Oslo Aker Brygge" and u > 0), key=lambda us: (-us[0], us[1]))
        assert f"Also at {others[0][1]} and {others[1][1]}." in text  # the stores with the most units

        sold_out = next((s for (s, p, z), u in stock.items() if p == product and z == "42" and u == 0), None)
        if sold_out is not None:  # where the size is out: no claim at all
            client.post("/stores/choose", data={"store": sold_out})
            assert nearby(e.preview(client, f"/p/{product}", **{"nearby-store": "your-store"}).text) is None


def test_a_bad_store_choice_is_not_recorded(edge: Any) -> None:
    e = edge(RULES)
    with e.client() as client:
        client.get("/")
        assert client.post("/stores/choose", data={"store": "Atlantis"}).status_code == 422  # the store refused it
        assert e.profile(client).chosen_store is None
