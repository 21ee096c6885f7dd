"""Browsing and buying: home, category, product, cart, checkout, order confirmation."""

from __future__ import annotations

import json
from dataclasses import dataclass

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from . import cart as cart_store, coupons, orders
from .auth import valid_email, normalize_email
from .cart import CartError, parse_qty, validate_item
from .catalog import CURRENCY, Category, Product
from .pages import base_url, demo_of, header_state, render, wants_json
from .feeds import online_stock
from .session import get_session

SCHEMA_IN_STOCK = "https://schema.org/InStock"
SCHEMA_OUT_OF_STOCK = "https://schema.org/OutOfStock"


@dataclass(frozen=True)
class Tile:
    category: Category
    image_id: str


async def home(request: Request) -> Response:
    catalog = demo_of(request).catalog
    tiles = [Tile(c, catalog.in_category(c.slug)[0].id) for c in catalog.categories]
    return await render(request, "home.html", "home", tiles=tiles, featured=catalog.featured())


async def category(request: Request) -> Response:
    catalog = demo_of(request).catalog
    found = catalog.category(request.path_params["slug"])
    if found is None:
        raise HTTPException(404)
    return await render(request, "category.html", "category", category=found, products=catalog.in_category(found.slug))


def product_json_ld(product: Product, base: str) -> Markup:
    """schema.org Product for the page, safe to embed in <script> (no '<', '>', '&')."""
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "sku": product.id,
        "productID": product.id,
        "name": product.name,
        "description": product.description,
        "brand": {"@type": "Brand", "name": product.brand},
        "category": product.category.name,
        "color": product.color,
        "image": base + product.image_path,
        "url": base + product.path,
        "offers": {
            "@type": "Offer",
            "price": product.price_str,
            "priceCurrency": CURRENCY,
            "availability": SCHEMA_IN_STOCK if product.in_stock else SCHEMA_OUT_OF_STOCK,
            "inventoryLevel": {"@type": "QuantitativeValue", "value": online_stock(product)},
            "url": base + product.path,
        },
    }
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


async def _product_page(request: Request, product: Product, *, errors: list[str] | None = None,
                        selected_size: str = "", status_code: int = 200) -> Response:
    catalog = demo_of(request).catalog
    return await render(
        request, "product.html", "product", status_code=status_code,
        product=product, related=catalog.related(product), json_ld=product_json_ld(product, base_url(request)),
        errors_list=errors or [], selected_size=selected_size,
    )


async def product(request: Request) -> Response:
    found = demo_of(request).catalog.product(request.path_params["product_id"])
    if found is None:
        raise HTTPException(404)
    return await _product_page(request, found)


async def cart_page(request: Request) -> Response:
    return await render(request, "cart.html", "cart")


async def _cart_json(request: Request, status_code: int = 200) -> JSONResponse:
    state = await header_state(request)
    return JSONResponse(state.cart.to_json(), status_code=status_code, headers={"Cache-Control": "no-cache"})


async def api_cart(request: Request) -> Response:
    return await _cart_json(request)


async def cart_add(request: Request) -> Response:
    demo = demo_of(request)
    form = await request.form()
    product_id, size = str(form.get("product_id", "")), str(form.get("size", ""))
    try:
        found = validate_item(demo.catalog, product_id, size)
        qty = parse_qty(form.get("qty", "1"))
    except CartError as exc:
        if wants_json(request):
            return JSONResponse({"error": str(exc)}, status_code=400)
        known = demo.catalog.product(product_id)
        if known is None:
            raise HTTPException(404) from exc
        return await _product_page(request, known, errors=[str(exc)], selected_size=size, status_code=400)
    await demo.db.write(cart_store.add, get_session(request).id, found.id, size, qty)
    if wants_json(request):
        return await _cart_json(request)
    return RedirectResponse("/cart", status_code=303)


async def _cart_change(request: Request, *, remove: bool) -> Response:
    demo = demo_of(request)
    session_id = get_session(request).existing_id
    form = await request.form()
    product_id, size = str(form.get("product_id", "")), str(form.get("size", ""))
    if session_id:
        if remove:
            await demo.db.write(cart_store.remove, session_id, product_id, size)
        else:
            try:
                qty = parse_qty(form.get("qty", ""), allow_zero=True)
            except CartError as exc:
                return await render(request, "cart.html", "cart", status_code=400, errors_list=[str(exc)])
            await demo.db.write(cart_store.set_qty, session_id, product_id, size, qty)
    if wants_json(request):
        return await _cart_json(request)
    return RedirectResponse("/cart", status_code=303)


async def cart_update(request: Request) -> Response:
    return await _cart_change(request, remove=False)


async def cart_remove(request: Request) -> Response:
    return await _cart_change(request, remove=True)


async def checkout(request: Request) -> Response:
    state = await header_state(request)
    if not state.cart.lines:
        return RedirectResponse("/cart", status_code=303)
    if request.method == "GET":
        customer = state.customer
        form = {"name": customer.name if customer else "", "email": customer.email if customer else "", "coupon": ""}
        return await render(request, "checkout.html", "checkout", state=state, form=form)

    data = await request.form()
    form = {"name": str(data.get("name", "")).strip(), "email": normalize_email(str(data.get("email", ""))),
            "coupon": str(data.get("coupon", "")).strip()[:64]}
    errors = []
    if not form["name"]:
        errors.append("Please tell us your name.")
    if not valid_email(form["email"]):
        errors.append("Please enter a valid email address.")
    if errors:
        return await render(request, "checkout.html", "checkout", status_code=400, state=state, form=form,
                            errors_list=errors)
    demo = demo_of(request)
    customer_id = state.customer.id if state.customer else None
    try:
        order_id = await demo.db.write(
            orders.place, demo.catalog, get_session(request).id, customer_id, form["name"], form["email"],
            form["coupon"],
        )
    except orders.EmptyCart:
        return RedirectResponse("/cart", status_code=303)
    except coupons.CouponError as exc:  # nothing was written: the cart is as it was
        return await render(request, "checkout.html", "checkout", status_code=400, state=state, form=form,
                            errors_list=[str(exc)])
    return RedirectResponse(f"/order/{order_id}", status_code=303)


async def order(request: Request) -> Response:
    """The confirmation page; only the session that ordered (or its customer) may see it."""
    demo = demo_of(request)
    state = await header_state(request)
    found = await demo.db.read(orders.get, request.path_params["order_id"])
    session_id = get_session(request).existing_id
    own = found is not None and (
        found.session_id == session_id or (state.customer is not None and found.customer_id == state.customer.id)
    )
    if not own:
        raise HTTPException(404)
    return await render(request, "order.html", "order", state=state, order=found)
