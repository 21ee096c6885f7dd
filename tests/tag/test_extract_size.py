"""A page extract too big for one request: the tag leaves out a group's lines, never the whole page view.

The page view and ``/decide``'s POST carry the page extract, and the server refuses a body over 64 KB
whole (413), so a cart whose JSON is 100 KB would lose the page view itself. The tag keeps the extract
within its bound: the group goes without its lines and says so (``lines_omitted``), and the server reads
those lines as unknown (None), not as an empty cart. In Chromium, with the real events API and the tag
config the rules make.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from polling import wait_for

from slotwise.rules.capture import cart_lines
from slotwise.rules.reading import read_extract
from slotwise.rules.tag_config import tag_config
from slotwise.rules.testing import rules_from_text
from slotwise.tag.assets import embed_snippet
from slotwise.tag.testing import PRODUCT_PAGE, sync

pytestmark = pytest.mark.browser

RULES = """
catalog:
  product_pages: "/p/{product}"
capture:
  cart:
    within: "#cart"
    count: ".count"
    lines: {items: {json: "script#cart-json", key: items}, product: id, qty: quantity}
slots: []
"""
LINES = {"small-cart": 2, "large-cart": 250}  # 250 lines: about 100 KB of JSON, 110 KB as sent


def cart_page(lines: int) -> str:
    items = [{"id": f"p{i}", "quantity": 1, "title": f"Product {i}", "description": "x" * 300} for i in range(lines)]
    cart = (f'<div id="cart"><span class="count">{lines}</span>'
            f'<script type="application/json" id="cart-json">{json.dumps({"items": items})}</script></div>')
    return (PRODUCT_PAGE.replace("<head>", "<head>" + embed_snippet(antiflicker_ms=5000))
            .replace("__POPUP__", cart))


@pytest.mark.parametrize("size", list(LINES))
def test_the_page_view_and_decide_arrive_whatever_the_size_of_a_groups_json(
        live_tag_server: Any, page: Any, store: Any, tmp_path: Path, size: str) -> None:
    rules = rules_from_text(tmp_path, RULES)
    groups = rules.capture.page_groups(None)
    posted: list[Any] = []

    async def decide(request: Any, visitor_id: str, url: str, extract: Any = None) -> dict[str, Any]:
        if extract is not None:
            posted.append(extract)
        return {"complete": extract is not None, "decisions": []}  # incomplete: the tag posts its extract

    lines = LINES[size]
    server, _ = live_tag_server(page=cart_page(lines), tag="", decide=decide,
                                tag_config=lambda: tag_config(rules, tag_only=True))
    page.goto(f"{server.url}/p/p1")
    (view,) = wait_for(lambda: [r for r in sync(store.read_log(0, limit=1000)) if r.data.get("type") == "page_view"])
    extract = view.data["props"]["extract"]
    assert wait_for(lambda: posted) == [extract]  # /decide took it too (the same extract, read once)
    assert wait_for(lambda: [r for r in sync(store.read_log(0, limit=1000)) if r.data.get("type") == "exposure"])
    raw = extract["values"]["cart"]
    reading = read_extract(extract, rules.catalog, groups).group("cart")
    if size == "large-cart":
        assert raw == {"present": True, "fields": {"count": str(lines)}, "lines_omitted": True}
        assert len(json.dumps({"events": [{"props": {"extract": extract}}]}).encode()) < 64 * 1024
        assert reading["lines"] is None  # unknown: not an empty cart
        assert cart_lines(reading, rules.catalog, reads_lines=True) == (None, lines)  # the count alone says
    else:
        assert "lines_omitted" not in raw and len(json.loads(raw["lines_json"])["items"]) == lines
        found, count = cart_lines(reading, rules.catalog, reads_lines=True)
        assert count == lines and [line["product"] for line in found or []] == ["p0", "p1"]
