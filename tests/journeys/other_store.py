"""A store unlike the demo, for the journeys: Open Graph product tags instead of JSON-LD, no stock
counts anywhere, WooCommerce-style add to cart (``GET /?add-to-cart=ID``), other URLs and markup.
Its prices and availability are the test's to change (``SHOP``)."""

from __future__ import annotations

import html
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route


def make_shop() -> dict[str, dict[str, Any]]:
    return {
        "7": {"name": "Trail Flask 500", "price": 50.0, "in_stock": False},
        "8": {"name": "Camp Mug", "price": 40.0, "in_stock": True},
        "9": {"name": "Rain Poncho", "price": 25.0, "in_stock": True},
    }


def page(title: str, body: str, head: str = "") -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{head}"
                        f"</head><body><div class='masthead'>Outfitters</div>{body}</body></html>")


def create_shop(shop: dict[str, dict[str, Any]]) -> Starlette:
    async def home(request: Request) -> Response:
        added = request.query_params.get("add-to-cart")
        if added is not None:
            if added not in shop or not shop[added]["in_stock"]:
                return page("Shop", "<p class='woocommerce-error'>Sorry, unavailable.</p>")
            return RedirectResponse("/basket/", status_code=302)
        return page("Shop", "<main id='front'><div class='promo-strip'></div><h2>Welcome</h2></main>")

    async def item(request: Request) -> Response:
        pid = request.path_params["pid"]
        if pid not in shop:
            return page("Not found", "<p>Not found</p>")
        p = shop[pid]
        head = (f"<meta property='og:type' content='product'><meta property='og:title' content='{html.escape(p['name'])}'>"
                f"<meta property='product:retailer_item_id' content='{pid}'>"
                f"<meta property='product:price:amount' content='{p['price']:.2f}'>"
                f"<meta property='product:price:currency' content='GBP'>"
                f"<meta property='product:availability' content='{'in stock' if p['in_stock'] else 'out of stock'}'>"
                f"<meta property='og:url' content='/shop/item-{pid}.html'>")
        return page(p["name"], f"<div class='summary'><h1>{html.escape(p['name'])}</h1>"
                               f"<a class='buy' href='/?add-to-cart={pid}'>Add to basket</a></div>", head)

    async def basket(request: Request) -> Response:
        return page("Basket", "<div class='basket'>Your basket</div>")

    return Starlette(routes=[Route("/", home), Route("/shop/item-{pid}.html", item), Route("/basket/", basket)])
