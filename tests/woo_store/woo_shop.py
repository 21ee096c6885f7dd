"""A WooCommerce storefront's markup, served by Starlette: the fixture for rules written for WooCommerce.

A real WooCommerce needs PHP and MySQL; this app prints what WooCommerce 9.x
with the Storefront theme prints — the templates' own class names, ids, form
fields, ``data-*`` attributes and JSON-LD (``WC_Structured_Data``) — and
answers ``?wc-ajax=add_to_cart`` and ``?wc-ajax=checkout`` as ``WC_AJAX``
does. Nothing in it is made for Slotwise. README.md beside it is the contract.
State lives in memory per app, so every ``WooShop()`` starts clean.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from served_app import ServedApp  # tests/served_app.py
from shop_sessions import as_int, ensure_session, session_of, shop_of  # tests/shop_sessions.py

HERE = Path(__file__).parent
SITE = "Woo Fixture"
COOKIE_HASH = "5c1d0d3a"  # WordPress's COOKIEHASH: md5 of the site URL in a real store
SESSION = f"wp_woocommerce_session_{COOKIE_HASH}"
LOGGED_IN = f"wordpress_logged_in_{COOKIE_HASH}"


# ---------------------------------------------------------------- catalog (fixed)


@dataclass(frozen=True)
class Category:
    id: int  # the term id (li.cat-item-<id>)
    name: str
    slug: str

    @property
    def url(self) -> str:
        return f"/product-category/{self.slug}/"


@dataclass(frozen=True)
class Variation:
    """A size of a variable product: a post of its own (variation_id), attribute ``pa_size``."""

    id: int
    size: str  # the term slug: "m"
    stock: int

    @property
    def label(self) -> str:
        return self.size.upper()


@dataclass(frozen=True)
class Product:
    id: int
    slug: str
    name: str
    category: Category
    price: int  # cents, every variation the same
    stock: int = 0  # simple products
    variations: tuple[Variation, ...] = ()

    @property
    def url(self) -> str:
        return f"/product/{self.slug}/"

    @property
    def image(self) -> str:
        return f"/wp-content/uploads/{self.slug}.svg"

    @property
    def variable(self) -> bool:
        return bool(self.variations)

    @property
    def in_stock(self) -> bool:
        return any(v.stock for v in self.variations) if self.variable else self.stock > 0


def _sizes(first_id: int, stocks: tuple[int, ...]) -> tuple[Variation, ...]:
    return tuple(Variation(first_id + i, size, n) for i, (size, n) in enumerate(zip(("s", "m", "l", "xl"), stocks)))


HOODIES, TSHIRTS, ACCESSORIES = Category(15, "Hoodies", "hoodies"), Category(16, "Tshirts", "tshirts"), \
    Category(17, "Accessories", "accessories")
CATEGORIES = (ACCESSORIES, HOODIES, TSHIRTS)  # the widget lists them by name
PRODUCTS = {p.id: p for p in (
    Product(21, "hoodie-with-logo", "Hoodie with Logo", HOODIES, 5990, variations=_sizes(31, (3, 5, 4, 0))),
    Product(22, "hoodie-with-zipper", "Hoodie with Zipper", HOODIES, 6490, variations=_sizes(35, (2, 4, 0, 3))),
    Product(23, "hoodie-with-pocket", "Hoodie with Pocket", HOODIES, 4990, variations=_sizes(39, (5, 5, 5, 5))),
    Product(24, "v-neck-t-shirt", "V-Neck T-Shirt", TSHIRTS, 1990, variations=_sizes(43, (6, 6, 6, 6))),
    Product(25, "polo", "Polo", TSHIRTS, 2490, variations=_sizes(47, (2, 2, 2, 2))),
    Product(26, "beanie", "Beanie", ACCESSORIES, 1800, stock=10),
    Product(27, "belt", "Belt", ACCESSORIES, 5500, stock=4),
    Product(28, "cap", "Cap", ACCESSORIES, 1600, stock=0),
)}
VARIATIONS = {v.id: (p, v) for p in PRODUCTS.values() for v in p.variations}
BY_SLUG = {p.slug: p for p in PRODUCTS.values()}
FEATURED = (21, 24, 26, 22)


def related(product: Product) -> list[Product]:
    """``woocommerce_related_products``: the same category first (store order), four at most."""
    others = [p for p in PRODUCTS.values() if p != product]
    return sorted(others, key=lambda p: p.category != product.category)[:4]


# ---------------------------------------------------------------- state (in memory)


@dataclass(frozen=True)
class Item:
    """A cart or order line: the parent product, the variation (if any), the quantity."""

    product: Product
    variation: Variation | None
    qty: int

    @property
    def name(self) -> str:  # a variation's title carries its one attribute: "Hoodie with Logo - M"
        return f"{self.product.name} - {self.variation.label}" if self.variation else self.product.name

    @property
    def permalink(self) -> str:  # WC_Product_Variation::get_permalink: the parent's URL with the attributes
        return f"{self.product.url}?attribute_pa_size={self.variation.size}" if self.variation else self.product.url

    @property
    def total(self) -> int:
        return self.product.price * self.qty


@dataclass
class Order:
    id: int
    key: str
    email: str
    name: str
    items: tuple[Item, ...]
    payment: str = "Cash on delivery"

    @property
    def total(self) -> int:
        return sum(i.total for i in self.items)


@dataclass
class Session:
    sid: str
    cart: dict[int, int] = field(default_factory=dict)  # product or variation id -> quantity, in order added
    notices: list[tuple[str, str]] = field(default_factory=list)  # ("success" | "error", html) for the next page
    user: str | None = None  # the logged-in customer's username


@dataclass(frozen=True)
class Customer:
    username: str
    email: str
    name: str
    password: str


class Shop:
    """Everything that changes: sessions, orders."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.orders: dict[int, Order] = {}
        self.customers = {"jane": Customer("jane", "jane@example.com", "Jane Doe", "woo-pass-1")}
        self.store_api_requests: list[str] = []  # each Store API products request's query

    def customer(self, login: str) -> Customer | None:
        login = login.strip().lower()
        return self.customers.get(login) or next((c for c in self.customers.values() if c.email == login), None)


def items_of(session: Session | None) -> list[Item]:
    out = []
    for pid, qty in (session.cart.items() if session else ()):
        product, variation = VARIATIONS[pid] if pid in VARIATIONS else (PRODUCTS[pid], None)
        out.append(Item(product, variation, qty))
    return out


def add_to_cart(session: Session, product_id: int | None, qty: int | None) -> Item | str:
    """``WC()->cart->add_to_cart``: the line added, or WooCommerce's notice why not."""
    if product_id in VARIATIONS:
        product, variation = VARIATIONS[product_id]
    elif product_id in PRODUCTS:
        product, variation = PRODUCTS[product_id], None
    else:
        return "Sorry, this product cannot be purchased."
    if product.variable and variation is None:
        return f"Please choose product options by visiting <a href=\"{product.url}\">{product.name}</a>."
    if not qty or qty < 1:
        return "Please enter a quantity of 1 or more."
    stock = variation.stock if variation else product.stock
    item = Item(product, variation, qty)
    if stock == 0:
        return f"You cannot add &ldquo;{item.name}&rdquo; to the cart because the product is out of stock."
    assert product_id is not None
    if session.cart.get(product_id, 0) + qty > stock:
        return f"You cannot add that amount to the cart &mdash; we have {stock} in stock."
    session.cart[product_id] = session.cart.get(product_id, 0) + qty
    return item


# ---------------------------------------------------------------- formatting


def price_html(cents: int) -> Markup:
    """``wc_price()`` with the store set to EUR, decimal comma, symbol right with a space."""
    amount = f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02d}"
    return Markup('<span class="woocommerce-Price-amount amount"><bdi>{}&nbsp;<span '
                  'class="woocommerce-Price-currencySymbol">&euro;</span></bdi></span>').format(amount)


def decimal(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def variations_json(product: Product) -> str:
    """``$available_variations`` as ``variable.php`` prints it into ``data-product_variations`` (trimmed)."""
    out = []
    for v in product.variations:
        out.append({
            "attributes": {"attribute_pa_size": v.size},
            "availability_html": f'<p class="stock {"in-stock" if v.stock else "out-of-stock"}">'
                                 f'{f"{v.stock} in stock" if v.stock else "Out of stock"}</p>',
            "backorders_allowed": False, "display_price": product.price / 100,
            "display_regular_price": product.price / 100, "is_in_stock": v.stock > 0, "is_purchasable": True,
            "max_qty": v.stock or "", "min_qty": 1, "price_html": "", "sku": "", "variation_id": v.id,
            "variation_is_active": True, "variation_is_visible": True, "weight_html": "N/A",
            "dimensions_html": "N/A",
        })
    return json.dumps(out, separators=(",", ":"))


def structured_data(request: Request, product: Product | None, crumbs: list[tuple[str, str | None]]) -> str:
    """``WC_Structured_Data::output_structured_data``: the page's types in one ``@graph``."""
    base = f"{request.url.scheme}://{request.url.netloc}"
    here = str(request.url)
    graph: list[dict[str, Any]] = []
    if request.url.path == "/":
        graph.append({"@type": "WebSite", "name": SITE, "url": base, "potentialAction": {
            "@type": "SearchAction", "target": f"{base}/?s={{search_term_string}}&post_type=product",
            "query-input": "required name=search_term_string"}})
    if crumbs:
        graph.append({"@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": i + 1, "item": {"name": name, "@id": base + url if url else here}}
            for i, (name, url) in enumerate(crumbs)]})
    if product is not None:
        url = base + product.url
        graph.append({
            "@type": "Product", "@id": url + "#product", "name": product.name, "url": url,
            "description": f"{product.name}, from the {product.category.name} range.", "image": base + product.image,
            "sku": product.id,  # "Declare SKU or fallback to ID": these products have no SKU
            "offers": [{"@type": "Offer", "price": decimal(product.price), "priceValidUntil": "2027-12-31",
                        "priceSpecification": {"price": decimal(product.price), "priceCurrency": "EUR",
                                               "valueAddedTaxIncluded": "false"},
                        "priceCurrency": "EUR",
                        "availability": "http://schema.org/" + ("InStock" if product.in_stock else "OutOfStock"),
                        "url": url, "seller": {"@type": "Organization", "name": SITE, "url": base}}],
        })
    if not graph:
        return ""
    data = {"@context": "https://schema.org/", "@graph": [{"@context": "https://schema.org/", **g} for g in graph]}
    # wp_json_encode (slashes escaped), then wc_esc_json( $json, true ): &, <, > as HTML entities
    text = json.dumps(data, separators=(",", ":")).replace("/", "\\/")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- requests


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.globals.update(price_html=price_html, categories=CATEGORIES, PRODUCTS=PRODUCTS)


def current(request: Request) -> Session | None:
    return session_of(request, SESSION)  # type: ignore[no-any-return]


def ensure(request: Request) -> Session:
    return ensure_session(request, SESSION, Session, 16)  # type: ignore[no-any-return]


def cart_hash(session: Session | None) -> str:
    return hashlib.md5(json.dumps(session.cart if session else {}).encode()).hexdigest()


def finish(request: Request, response: Response) -> Response:
    """The cookies WooCommerce keeps: the session, and the two the cart fragments script reads."""
    session: Session | None = getattr(request.state, "session", None)
    if session is not None:
        response.set_cookie(SESSION, session.sid, httponly=True, samesite="lax", path="/")
        if session.cart:
            response.set_cookie("woocommerce_items_in_cart", "1", path="/")
            response.set_cookie("woocommerce_cart_hash", cart_hash(session), path="/")
        else:
            response.delete_cookie("woocommerce_items_in_cart", path="/")
            response.delete_cookie("woocommerce_cart_hash", path="/")
        if session.user:
            response.set_cookie(LOGGED_IN, f"{session.user}|{session.sid}", httponly=True, path="/")
        else:
            response.delete_cookie(LOGGED_IN, path="/")
    return response


def cart_parts(session: Session | None) -> dict[str, Any]:
    items = items_of(session)
    return {"items": items, "count": sum(i.qty for i in items), "subtotal": sum(i.total for i in items)}


def render(request: Request, template: str, status: int = 200, *, product: Product | None = None,
           crumbs: list[tuple[str, str | None]] | None = None, **context: Any) -> Response:
    session = current(request) or getattr(request.state, "session", None)
    notices, session_notices = [], session.notices if session else []
    if session_notices:
        notices, session_notices[:] = list(session_notices), []
    user = shop_of(request).customers.get(session.user) if session and session.user else None
    html = ENV.get_template(template).render(
        request=request, path=request.url.path, notices=notices, user=user, cart=cart_parts(session),
        product=product, crumbs=crumbs or [], jsonld=Markup(structured_data(request, product, crumbs or [])),
        **context)
    return finish(request, HTMLResponse(html, status, headers={"cache-control": "no-cache, must-revalidate, max-age=0"}))


def fragments(session: Session) -> dict[str, Any]:
    """``WC_AJAX::get_refreshed_fragments``: the mini-cart and Storefront's header cart link, re-rendered."""
    parts = cart_parts(session)
    return {
        "fragments": {
            "a.cart-contents": ENV.get_template("_cart_link.html").render(cart=parts),
            "div.widget_shopping_cart_content": ENV.get_template("_mini_cart.html").render(cart=parts),
        },
        "cart_hash": cart_hash(session),
    }


async def home(request: Request) -> Response:
    if request.method == "POST":
        return await wc_ajax(request)
    return render(request, "home.html", featured=[PRODUCTS[i] for i in FEATURED])


async def category(request: Request) -> Response:
    cat = next((c for c in CATEGORIES if c.slug == request.path_params["slug"]), None)
    if cat is None:
        return render(request, "404.html", 404)
    products = [p for p in PRODUCTS.values() if p.category == cat]
    return render(request, "archive.html", category=cat, products=products,
                  crumbs=[("Home", "/"), (cat.name, None)])


async def product_page(request: Request) -> Response:
    product = BY_SLUG.get(request.path_params["slug"])
    if product is None:
        return render(request, "404.html", 404)
    if request.method == "POST":  # WC_Form_Handler::add_to_cart_action, then back to the product (PRG)
        form = await request.form()
        session = ensure(request)
        pid = as_int(form.get("variation_id")) or as_int(form.get("add-to-cart"))
        if pid == product.id and product.variable:
            pid = None  # no variation chosen
        result = add_to_cart(session, pid if pid is not None else product.id, as_int(form.get("quantity", "1")))
        if isinstance(result, Item):
            session.notices.append(("success", f'<a href="/cart/" tabindex="1" class="button wc-forward">View '
                                               f'cart</a> &ldquo;{result.name}&rdquo; has been added to your cart.'))
        else:
            session.notices.append(("error", result))
        return finish(request, RedirectResponse(str(request.url), 302))
    chosen = request.query_params.get("attribute_pa_size", "")
    return render(request, "product.html", product=product, chosen=chosen, related=related(product),
                  variations=variations_json(product),
                  crumbs=[("Home", "/"), (product.category.name, product.category.url), (product.name, None)])


async def wc_ajax(request: Request) -> Response:
    """``/?wc-ajax=ENDPOINT``: WC_AJAX's endpoints, form-encoded in, JSON out."""
    endpoint = request.query_params.get("wc-ajax", "")
    form = await request.form()
    session = ensure(request)
    if endpoint == "add_to_cart":
        pid = as_int(form.get("product_id"))
        result = add_to_cart(session, pid, as_int(form.get("quantity", "1")))
        if isinstance(result, Item):
            return finish(request, JSONResponse(fragments(session)))
        # WooCommerce answers a refused add with 200 too; the notice waits for the product page
        session.notices.append(("error", result))
        url = PRODUCTS[pid].url if pid in PRODUCTS else (VARIATIONS[pid][0].url if pid in VARIATIONS else "/")
        return finish(request, JSONResponse({"error": True, "product_url": str(request.base_url).rstrip("/") + url}))
    if endpoint == "get_refreshed_fragments":
        return finish(request, JSONResponse(fragments(session)))
    if endpoint == "checkout":
        return finish(request, await checkout_post(request, session, form))
    return finish(request, Response("-1", 400))


async def checkout_post(request: Request, session: Session, form: Any) -> Response:
    """``WC_Checkout::process_checkout``: an order, then the order-received URL as JSON for checkout.js."""
    items = items_of(session)
    missing = [label for name, label in (("billing_first_name", "First name"), ("billing_email", "Email address"))
               if not str(form.get(name, "")).strip()]
    if not items or missing:
        why = ["Sorry, your session has expired."] if not items else [f"<strong>Billing {m}</strong> is a required "
                                                                       "field." for m in missing]
        messages = '<ul class="woocommerce-error" role="alert">' + "".join(f"<li>{w}</li>" for w in why) + "</ul>"
        return JSONResponse({"result": "failure", "messages": messages, "refresh": False, "reload": False})
    shop = shop_of(request)
    order = Order(100 + len(shop.orders) + 1, "wc_order_" + secrets.token_urlsafe(10).replace("-", "x")[:13],
                  str(form["billing_email"]).strip(),
                  f"{form.get('billing_first_name', '')} {form.get('billing_last_name', '')}".strip(), tuple(items))
    shop.orders[order.id] = order
    session.cart.clear()
    url = f"{str(request.base_url).rstrip('/')}/checkout/order-received/{order.id}/?key={order.key}"
    return JSONResponse({"result": "success", "order_id": order.id, "redirect": url})


async def cart_page(request: Request) -> Response:
    return render(request, "cart.html")


async def checkout(request: Request) -> Response:
    if not items_of(current(request)):
        return finish(request, RedirectResponse("/cart/", 302))
    return render(request, "checkout.html")


async def order_received(request: Request) -> Response:
    """A wrong or missing ``key`` shows the thank-you without the order, as WooCommerce does."""
    order = shop_of(request).orders.get(as_int(request.path_params["order_id"]) or 0)
    if order is not None and request.query_params.get("key") != order.key:
        order = None
    return render(request, "thankyou.html", order=order)


async def my_account(request: Request) -> Response:
    session = current(request)
    if request.method == "POST":  # WC_Form_Handler::process_login
        form = await request.form()
        session = ensure(request)
        customer = shop_of(request).customer(str(form.get("username", "")))
        if "login" in form and customer is not None and secrets.compare_digest(customer.password,
                                                                                 str(form.get("password", ""))):
            session.user = customer.username
            return finish(request, RedirectResponse("/my-account/", 302))
        error = ("<strong>Error:</strong> The password you entered for the username <strong>"
                 f"{form.get('username', '')}</strong> is incorrect. <a href=\"/my-account/lost-password/\">"
                 "Lost your password?</a>") if customer else "<strong>Error:</strong> Unknown username."
        return render(request, "my_account.html", error=Markup(error))
    if request.url.path.endswith("/customer-logout/"):
        if session is not None:
            request.state.session = session
            session.user = None
        return finish(request, RedirectResponse("/my-account/", 302))
    return render(request, "my_account.html", error=None, edit=request.url.path.endswith("/edit-account/"))


def store_api_product(base: str, product: Product) -> dict[str, Any]:
    """One product as ``StoreApi\\Schemas\\V1\\ProductSchema::get_item_response`` answers it (trimmed: no
    descriptions, reviews or add-to-cart texts); prices in minor units as strings, as the Store API sends them."""
    money = {"price": str(product.price), "regular_price": str(product.price), "sale_price": str(product.price),
             "price_range": None, "currency_code": "EUR", "currency_symbol": "€", "currency_minor_unit": 2,
             "currency_decimal_separator": ",", "currency_thousand_separator": ".", "currency_prefix": "",
             "currency_suffix": " €"}
    image = base + product.image
    return {
        "id": product.id, "name": product.name, "slug": product.slug, "parent": 0,
        "type": "variable" if product.variable else "simple", "variation": "", "permalink": base + product.url,
        "sku": "", "on_sale": False, "prices": money,
        "images": [{"id": 100 + product.id, "src": image, "thumbnail": image, "srcset": "", "sizes": "",
                    "name": f"{product.slug}.svg", "alt": ""}],
        "categories": [{"id": product.category.id, "name": product.category.name, "slug": product.category.slug,
                        "link": base + product.category.url}],
        "tags": [], "brands": [],
        "attributes": [{"id": 1, "name": "Size", "taxonomy": "pa_size", "has_variations": True,
                        "terms": [{"id": 40 + i, "name": v.label, "slug": v.size} for i, v in enumerate(product.variations)]}]
        if product.variable else [],
        "variations": [{"id": v.id, "attributes": [{"name": "Size", "value": v.size}]} for v in product.variations],
        "grouped_products": [], "has_options": product.variable, "is_purchasable": True,
        "is_in_stock": product.in_stock, "is_on_backorder": False, "low_stock_remaining": None,
        "stock_availability": {"text": "" if product.in_stock else "Out of stock",
                               "class": "in-stock" if product.in_stock else "out-of-stock"},
        "sold_individually": False, "extensions": {},
    }


async def store_api_products(request: Request) -> Response:
    """``GET /wp-json/wc/store/v1/products?per_page=N&page=N``: the catalog, paged as the Store API pages it
    (``per_page`` 1–100, default 10; a page past the last is an empty list; totals in ``X-WP-*`` headers and
    the neighbouring pages in ``Link``: ``store_api_links``)."""
    per_page, page = as_int(request.query_params.get("per_page", "10")), as_int(request.query_params.get("page", "1"))
    if per_page is None or not 1 <= per_page <= 100 or page is None or page < 1:
        return JSONResponse({"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page, page",
                             "data": {"status": 400}}, 400)
    shop_of(request).store_api_requests.append(str(request.url.query))
    base = f"{request.url.scheme}://{request.url.netloc}"
    listed = sorted(PRODUCTS.values(), key=lambda p: p.id)
    chunk = listed[(page - 1) * per_page:page * per_page]
    pages = -(-len(listed) // per_page)
    return JSONResponse([store_api_product(base, p) for p in chunk],
                        headers={"x-wp-total": str(len(listed)), "x-wp-totalpages": str(pages),
                                 "link": store_api_links(request, page, pages)})


def store_api_links(request: Request, page: int, pages: int) -> str:
    """``Link`` as the Store API sends it (``Pagination::add_headers``, src/StoreApi/Utilities/Pagination.php):
    ``rel="prev"`` past page 1 (at most the last page), ``rel="next"`` while pages are left, each the
    request's URL with its ``page`` set (``add_query_arg``); with neither, WordPress's own
    ``rel="https://api.w.org/"`` (the REST server sends it first, PHP's ``header()`` replaces it)."""
    def at(number: int) -> str:
        query = {**dict(request.query_params.multi_items()), "page": str(number)}  # in place, or last
        return str(request.url.replace(query=urlencode(query)))

    rels = ([f'<{at(min(page - 1, pages))}>; rel="prev"'] if page > 1 else []) + (
        [f'<{at(page + 1)}>; rel="next"'] if pages > page else [])
    return ", ".join(rels) or f'<{request.url.scheme}://{request.url.netloc}/wp-json/>; rel="https://api.w.org/"'


async def image(request: Request) -> Response:
    name = request.path_params["name"]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="324" height="324"><rect width="324" height="324" '
           f'fill="#96588a"/><text x="20" y="170" fill="#fff">{name}</text></svg>')
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "max-age=31536000"})


def create_app() -> Starlette:
    app = Starlette(routes=[
        Route("/", home, methods=["GET", "POST"]),
        Route("/product-category/{slug}/", category),
        Route("/product/{slug}/", product_page, methods=["GET", "POST"]),
        Route("/cart/", cart_page),
        Route("/checkout/", checkout),
        Route("/checkout/order-received/{order_id}/", order_received),
        Route("/my-account/", my_account, methods=["GET", "POST"]),
        Route("/my-account/edit-account/", my_account),
        Route("/my-account/customer-logout/", my_account),
        Route("/wp-content/uploads/{name}.svg", image),
        Route("/wp-json/wc/store/v1/products", store_api_products),
    ])
    app.state.shop = Shop()
    return app


class WooShop(ServedApp):
    """``with WooShop() as shop: shop.url`` — a fresh store on a free 127.0.0.1 port; ``shop.state`` its state."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(create_app(), "the WooCommerce fixture", host)
        self.state: Shop = self.app.state.shop


if __name__ == "__main__":  # browse it by hand: PYTHONPATH=tests python tests/woo_store/woo_shop.py
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8003)
