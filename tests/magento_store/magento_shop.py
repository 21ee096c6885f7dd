"""A Magento 2.4 storefront with the Luma theme, served by Starlette: the fixture for rules written for Magento.

A real Magento needs PHP, MySQL and OpenSearch; this app prints what Luma
prints — each template's own class names, ids, form fields, ``data-*``
attributes, microdata and ``text/x-magento-init`` configs (each template
says which Magento template it stands for) — and answers as Magento's
controllers do: the add to cart (``Checkout\\Controller\\Cart\\Add``: an AJAX
post answers 200 JSON, ``[]`` or ``{"backUrl": ...}``), the customer-data
sections (``/customer/section/load/``), the guest checkout's REST call, the
success page (``Checkout\\Controller\\Onepage\\Success``), the login post, and
the public GraphQL ``products`` query. What Luma renders in the browser
(size swatches, the mini cart's count) a small script renders here the same
way, after load. Nothing in it is made for Slotwise. README.md beside it is
the contract. State lives in memory per app, so every ``MagentoShop()``
starts clean.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from served_app import ServedApp  # tests/served_app.py
from shop_sessions import as_int, ensure_session, session_of, shop_of  # tests/shop_sessions.py

HERE = Path(__file__).parent
SITE = "Luma Fixture"
SESSION = "PHPSESSID"
SIZE_ATTRIBUTE = 144  # the "size" attribute's id (eav_attribute.attribute_id): a store fact
SIZE_OPTIONS = {"S": 167, "M": 168, "L": 169, "XL": 170}  # eav_attribute_option ids


# ---------------------------------------------------------------- catalog (fixed)


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    url_key: str
    parent: tuple[str, str]  # (url_key, name) of the level-2 category above it

    @property
    def url(self) -> str:  # "Use Categories Path" URLs: /<parent>/<url_key>.html
        return f"/{self.parent[0]}/{self.url_key}.html"


@dataclass(frozen=True)
class Child:
    """A simple product of a configurable one: one size, with its own entity id and SKU."""

    id: int
    sku: str
    size: str
    stock: int


@dataclass(frozen=True)
class Product:
    id: int  # entity_id: what the add-to-cart form posts (``product``)
    sku: str
    url_key: str
    name: str
    category: Category
    price: int  # cents, every child the same
    stock: int = 0  # simple products
    children: tuple[Child, ...] = ()

    @property
    def url(self) -> str:
        return f"/{self.url_key}.html"

    @property
    def image(self) -> str:
        return f"/media/catalog/product/{self.url_key}.svg"

    @property
    def configurable(self) -> bool:
        return bool(self.children)

    @property
    def in_stock(self) -> bool:
        return any(c.stock for c in self.children) if self.configurable else self.stock > 0


def _sizes(first_id: int, sku: str, stocks: tuple[int, ...]) -> tuple[Child, ...]:
    return tuple(Child(first_id + i, f"{sku}-{size}", size, n) for i, (size, n) in enumerate(zip(SIZE_OPTIONS, stocks)))


MEN, WOMEN, BAGS = (Category(14, "Tops", "tops-men", ("men", "Men")), Category(21, "Tops", "tops-women", ("women", "Women")),
                    Category(4, "Bags", "bags", ("gear", "Gear")))
CATEGORIES = (WOMEN, MEN, BAGS)  # the home page's first promo tiles, in the order the CMS page has them


@dataclass(frozen=True)
class TopCategory:
    """A level-2 category (Women, Men, Gear): an anchor listing its children's products, at ``/<url_key>.html``,
    the URL shape of a product page (only its body class, ``catalog-category-view``, says it is a category)."""

    id: int
    name: str
    url_key: str
    parent: None = None

    @property
    def url(self) -> str:
        return f"/{self.url_key}.html"


TOPS = tuple(TopCategory(c.id - 1, c.parent[1], c.parent[0]) for c in CATEGORIES)  # the nav's, and the last tiles
PRODUCTS = {p.id: p for p in (
    Product(1, "MH07", "hero-hoodie", "Hero Hoodie", MEN, 5400, children=_sizes(101, "MH07", (3, 5, 4, 0))),
    Product(2, "MJ10", "mars-heattech-pullover", "Mars HeatTech&trade; Pullover", MEN, 6600,
            children=_sizes(105, "MJ10", (2, 4, 0, 3))),
    Product(3, "WH02", "hera-pullover-hoodie", "Hera Pullover Hoodie", WOMEN, 4800,
            children=_sizes(109, "WH02", (5, 5, 5, 5))),
    Product(4, "WJ06", "juno-jacket", "Juno Jacket", WOMEN, 7700, children=_sizes(113, "WJ06", (1, 2, 2, 1))),
    Product(5, "24-MB01", "joust-duffle-bag", "Joust Duffle Bag", BAGS, 3400, stock=10),
    Product(6, "24-MB02", "fusion-backpack", "Fusion Backpack", BAGS, 5900, stock=4),
    Product(7, "24-MB05", "wayfarer-messenger-bag", "Wayfarer Messenger Bag", BAGS, 4500, stock=0),
)}
CHILDREN = {c.id: (p, c) for p in PRODUCTS.values() for c in p.children}
BY_KEY = {p.url_key: p for p in PRODUCTS.values()}


def related(product: Product) -> list[Product]:
    """``catalog_product_link`` (Related Products): here the same category first, four at most."""
    others = [p for p in PRODUCTS.values() if p != product]
    return sorted(others, key=lambda p: p.category != product.category)[:4]


# ---------------------------------------------------------------- state (in memory)


@dataclass(frozen=True)
class Item:
    """A quote or order item: the product, the child (configurable), the quantity."""

    product: Product
    child: Child | None
    qty: int

    @property
    def sku(self) -> str:  # a configurable item's SKU is its child's (Quote\Item::getSku)
        return self.child.sku if self.child else self.product.sku

    @property
    def total(self) -> int:
        return self.product.price * self.qty


@dataclass
class Order:
    entity_id: int
    increment_id: str
    email: str
    items: tuple[Item, ...]

    @property
    def total(self) -> int:
        return sum(i.total for i in self.items)


@dataclass
class Session:
    sid: str
    form_key: str = field(default_factory=lambda: secrets.token_urlsafe(12)[:16])
    cart: dict[tuple[int, int | None], int] = field(default_factory=dict)  # (product, child) -> qty, in order added
    messages: list[dict[str, str]] = field(default_factory=list)  # the messages section's, until it is loaded
    customer: str | None = None  # the logged-in customer's e-mail
    last_order: int | None = None  # checkout/onepage/success shows it once


@dataclass(frozen=True)
class Customer:
    email: str
    firstname: str
    lastname: str
    password: str


class Shop:
    """Everything that changes: sessions, orders; what came in, for the tests."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.orders: dict[int, Order] = {}
        self.customers = {"jane@example.com": Customer("jane@example.com", "Jane", "Doe", "luma-pass-1")}
        self.section_loads: list[str] = []  # each /customer/section/load/ query
        self.graphql: list[str] = []  # each GraphQL query


def items_of(session: Session | None) -> list[Item]:
    out = []
    for (pid, cid), qty in (session.cart.items() if session else ()):
        out.append(Item(PRODUCTS[pid], CHILDREN[cid][1] if cid else None, qty))
    return out


def add_to_cart(session: Session, form: Any) -> Item | str:
    """``AddProductToCart``: the item added, or Magento's message why not."""
    product = PRODUCTS.get(as_int(form.get("product")) or 0)
    if product is None:
        return "The product that was requested doesn't exist. Verify the product and try again."
    qty = as_int(form.get("qty", "1"))
    if not qty or qty < 1:
        return "The quantity is not valid."
    child = None
    if product.configurable:  # super_attribute[144]=168: the option; selected_configurable_option the child
        option = as_int(form.get(f"super_attribute[{SIZE_ATTRIBUTE}]"))
        child = next((c for c in product.children if SIZE_OPTIONS[c.size] == option), None)
        if child is None:
            return "You need to choose options for your item."
    stock = child.stock if child else product.stock
    if stock == 0:
        return "Product that you are trying to add is not available."
    key = (product.id, child.id if child else None)
    if session.cart.get(key, 0) + qty > stock:
        return "The requested qty is not available"
    session.cart[key] = session.cart.get(key, 0) + qty
    return Item(product, child, qty)


# ---------------------------------------------------------------- formatting


def price_html(cents: int) -> Markup:
    """``Pricing\\Render``'s amount: ``<span class="price">$54.00</span>`` (the store in USD)."""
    return Markup('<span class="price">${:,}.{:02d}</span>').format(cents // 100, cents % 100)


def amount(cents: int) -> str:
    """``data-price-amount``: the number as PHP prints a float (``54``, ``54.5``)."""
    return f"{cents / 100:g}"


def json_config(product: Product) -> str:
    """``ConfigurableProduct\\Block\\Product\\View\\Type\\Configurable::getJsonConfig`` (trimmed: no images or
    tier prices): the size attribute's options, each with the children that have it; ``index`` child → option."""
    options = [{"id": str(SIZE_OPTIONS[c.size]), "label": c.size, "products": [str(c.id)] if c.stock else []}
               for c in product.children]
    price = {"amount": product.price / 100}
    return json.dumps({
        "attributes": {str(SIZE_ATTRIBUTE): {"id": str(SIZE_ATTRIBUTE), "code": "size", "label": "Size",
                                             "options": options, "position": "0"}},
        "template": "$<%- data.price %>", "currencyFormat": "$%s",
        "optionPrices": {str(c.id): {"finalPrice": price} for c in product.children if c.stock},
        "prices": {"oldPrice": price, "basePrice": price, "finalPrice": price},
        "productId": str(product.id), "chooseText": "Choose an Option...", "images": [],
        "index": {str(c.id): {str(SIZE_ATTRIBUTE): str(SIZE_OPTIONS[c.size])} for c in product.children if c.stock},
        "salable": [], "canDisplayShowOutOfStockStatus": False,
    }, separators=(",", ":"))


def uenc(url: str) -> str:
    """``Url\\EncoderInterface::encode``: url-safe base64 with ``,`` for ``=``."""
    return base64.urlsafe_b64encode(url.encode()).decode().replace("=", ",")


def cart_section(request: Request, session: Session | None) -> dict[str, Any]:
    """``Checkout\\CustomerData\\Cart::getSectionData`` (trimmed): what Luma's mini cart renders. Its items are
    ``getRecentItems``' (newest first: ``array_reverse``), each ``DefaultItem::doGetItemData``'s: ``product_id``
    the parent's entity id, ``product_sku`` the child's SKU (``Configurable::getSku``), ``product_url`` the
    parent's page, ``qty`` a number, ``product_price_value`` the unit price (``getCalculationPrice``)."""
    base = f"{request.url.scheme}://{request.url.netloc}"
    items = items_of(session)
    return {
        "summary_count": sum(i.qty for i in items),
        "subtotalAmount": f"{sum(i.total for i in items) / 100:.4f}",
        "subtotal": str(price_html(sum(i.total for i in items))),
        "items": [{
            "product_type": "configurable" if i.child else "simple",
            "options": [{"label": "Size", "value": i.child.size, "option_id": SIZE_ATTRIBUTE,
                         "option_value": str(SIZE_OPTIONS[i.child.size])}] if i.child else [],
            "qty": i.qty, "item_id": str(n + 1), "product_id": str(i.product.id), "product_name": i.product.name,
            "product_sku": i.sku, "product_url": base + i.product.url, "product_has_url": True,
            "product_price": f'<span class="price-excluding-tax" data-label="Excl. Tax">\n'
                             f'<span class="minicart-price">\n{price_html(i.product.price)}</span>\n</span>',
            "product_price_value": i.product.price / 100,
        } for n, i in reversed(list(enumerate(items)))],
        "extra_actions": "", "isGuestCheckoutAllowed": True, "website_id": "1", "storeId": "1",
    }


def ga4_data(order: Order | None) -> str:
    """``GoogleGtag\\Block\\Ga::getAnalyticsData`` (GA4 on): on the success page, the order's tracking data."""
    tracking: dict[str, Any] = {}
    if order is not None:
        tracking = {
            "products": [{"item_id": i.sku, "item_name": i.product.name, "price": f"{i.product.price / 100:.2f}",
                          "quantity": i.qty} for i in order.items],
            "orders": [{"transaction_id": order.increment_id, "affiliation": "Main Website Store",
                        "value": f"{order.total / 100:.2f}", "tax": "0.00", "shipping": "0.00"}],
            "currency": "USD",
        }
    data = {"isCookieRestrictionModeEnabled": False, "currentWebsite": 1, "cookieName": "user_allowed_save_cookie",
            "pageTrackingData": {"optPageUrl": "", "measurementId": "G-FIXTURE01"},
            "ordersTrackingData": tracking, "googleAnalyticsAvailable": True}
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/")  # Magento's Json serializer


# ---------------------------------------------------------------- requests


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.globals.update(price_html=price_html, amount=amount, categories=CATEGORIES, tops=TOPS, SIZE_ATTRIBUTE=SIZE_ATTRIBUTE)


def current(request: Request) -> Session | None:
    return session_of(request, SESSION)  # type: ignore[no-any-return]


def ensure(request: Request) -> Session:
    return ensure_session(request, SESSION, Session, 13)  # type: ignore[no-any-return]


def finish(request: Request, response: Response) -> Response:
    """The session cookie, ``private_content_version`` (which tells customer-data.js to reload sections) and, for a
    logged-in customer, ``X-Magento-Vary`` (the page cache's key for pages that differ by customer group)."""
    session: Session | None = getattr(request.state, "session", None)
    if session is not None:
        response.set_cookie(SESSION, session.sid, httponly=True, samesite="lax", path="/")
        response.set_cookie("private_content_version", secrets.token_hex(16), path="/", samesite="lax")
        if session.customer:  # Http\Context's vary string: a logged-in customer's group (Magento's page cache)
            response.set_cookie("X-Magento-Vary", "9bf9a599123e6402b85cde67144717a08b817412", path="/", httponly=True)
        else:
            response.delete_cookie("X-Magento-Vary", path="/")
    return response


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    session = ensure(request)
    customer = shop_of(request).customers.get(session.customer or "")
    html = ENV.get_template(template).render(request=request, path=request.url.path, form_key=session.form_key,
                                             snippet=Markup(request.app.state.snippet),
                                             customer=customer, here=uenc(str(request.url)), **context)
    return finish(request, HTMLResponse(html, status, headers={"cache-control": "no-store, no-cache, must-revalidate"}))


async def home(request: Request) -> Response:
    return render(request, "home.html", body_class="cms-home cms-index-index page-layout-1column")


async def category(request: Request) -> Response:
    cat = next((c for c in CATEGORIES if c.url == request.url.path), None)
    if cat is None:
        return await page_or_product(request)
    return render(request, "category.html", category=cat, products=[p for p in PRODUCTS.values() if p.category == cat],
                  body_class=f"page-products categorypath-{cat.parent[0]}-{cat.url_key} category-{cat.url_key} "
                             "catalog-category-view page-layout-2columns-left")


async def page_or_product(request: Request) -> Response:
    """``/<url_key>.html``: a top-level category (``catalog/category/view``), a product page
    (``catalog/product/view``), else Magento's 404 CMS page."""
    key = request.path_params.get("key", "")
    top = next((t for t in TOPS if t.url_key == key), None)
    if top is not None:  # an anchor category: its children's products
        return render(request, "category.html", category=top,
                      products=[p for p in PRODUCTS.values() if p.category.parent[0] == top.url_key],
                      body_class=f"page-products categorypath-{top.url_key} category-{top.url_key} "
                                 "catalog-category-view page-layout-2columns-left")
    product = BY_KEY.get(key)
    if product is None:
        return render(request, "404.html", 404, body_class="cms-no-route cms-noroute-index page-layout-2columns-right")
    return render(request, "product.html", product=product, related=related(product), json_config=Markup(json_config(product)),
                  body_class=f"catalog-product-view product-{product.url_key} page-layout-1column")


async def cart_add(request: Request) -> Response:
    """``Checkout\\Controller\\Cart\\Add``: an AJAX post (``X-Requested-With``) answers JSON — ``[]`` when added,
    ``{"backUrl": ...}`` when refused; a plain post redirects (the cart, or back). Messages wait in the session."""
    session = ensure(request)
    form = await request.form()
    ajax = request.headers.get("x-requested-with") == "XMLHttpRequest"
    if form.get("form_key") != session.form_key:
        session.messages.append({"type": "error", "text": "Your session has expired"})
        return finish(request, RedirectResponse("/checkout/cart/", 302))
    result = add_to_cart(session, form)
    product = PRODUCTS.get(as_int(form.get("product")) or 0)
    if isinstance(result, Item):
        session.messages.append({"type": "success", "text": f"You added {result.product.name} to your "
                                                            '<a href="/checkout/cart/">shopping cart</a>.'})
        return finish(request, JSONResponse([]) if ajax else RedirectResponse(request.headers.get("referer", "/"), 302))
    session.messages.append({"type": "error", "text": result})
    back = str(request.base_url).rstrip("/") + (product.url if product else "/checkout/cart/")
    return finish(request, JSONResponse({"backUrl": back}) if ajax else RedirectResponse(back, 302))


async def section_load(request: Request) -> Response:
    """``Customer\\Controller\\Section\\Load``: ``?sections=cart,messages`` (none: every section) as JSON."""
    session = ensure(request)
    shop_of(request).section_loads.append(str(request.url.query))
    wanted = [s for s in request.query_params.get("sections", "").split(",") if s] or ["cart", "customer", "messages"]
    customer = shop_of(request).customers.get(session.customer or "")
    out: dict[str, Any] = {}
    for name in wanted:
        if name == "cart":
            out["cart"] = cart_section(request, session)
        elif name == "customer":
            out["customer"] = {"fullname": f"{customer.firstname} {customer.lastname}", "firstname": customer.firstname,
                               "websiteId": "1"} if customer else {}
        elif name == "messages":
            out["messages"], session.messages[:] = {"messages": list(session.messages)}, []
    return finish(request, JSONResponse(out))


async def cart_page(request: Request) -> Response:
    session = ensure(request)
    items = items_of(session)
    return render(request, "cart.html", items=items, subtotal=sum(i.total for i in items),
                  body_class="checkout-cart-index page-layout-1column")


async def checkout(request: Request) -> Response:
    if not items_of(current(request)):
        return finish(request, RedirectResponse("/checkout/cart/", 302))
    return render(request, "checkout.html", body_class="checkout-index-index page-layout-checkout")


async def payment_information(request: Request) -> Response:
    """``POST /rest/default/V1/guest-carts/:cartId/payment-information`` (the guest checkout's place order):
    the order's entity id as a JSON string; the session's last order for the success page."""
    session = ensure(request)
    body = await request.json()
    items = items_of(session)
    email = str(body.get("email") or "").strip()
    if not items or not email:
        return JSONResponse({"message": "The shipping address is missing. Set the address and try again."}, 400)
    shop = shop_of(request)
    entity = len(shop.orders) + 1
    shop.orders[entity] = Order(entity, f"{entity:09d}", email, tuple(items))
    session.cart.clear()
    session.last_order = entity
    return finish(request, JSONResponse(str(entity)))


async def success(request: Request) -> Response:
    """``Checkout\\Controller\\Onepage\\Success``: the last order once; without one (a reload), the cart."""
    session = current(request)
    order = shop_of(request).orders.get(session.last_order or 0) if session else None
    if session is None or order is None:
        return RedirectResponse("/checkout/cart/", 302)
    session.last_order = None
    return render(request, "success.html", order=order, ga4=Markup(ga4_data(order)),
                  body_class="checkout-onepage-success page-layout-1column")


async def login(request: Request) -> Response:
    return render(request, "login.html", body_class="customer-account-login page-layout-1column")


async def login_post(request: Request) -> Response:
    """``Customer\\Controller\\Account\\LoginPost``: 302 to the account page, or back to the login page."""
    session = ensure(request)
    form = await request.form()
    customer = shop_of(request).customers.get(str(form.get("login[username]", "")).strip().lower())
    if customer is None or not secrets.compare_digest(customer.password, str(form.get("login[password]", ""))):
        session.messages.append({"type": "error", "text": "The account sign-in was incorrect or your account is "
                                                          "disabled temporarily. Please wait and try again later."})
        return finish(request, RedirectResponse("/customer/account/login/", 302))
    session.customer = customer.email
    return finish(request, RedirectResponse("/customer/account/", 302))


async def account(request: Request) -> Response:
    session = ensure(request)
    if session.customer is None:
        return finish(request, RedirectResponse("/customer/account/login/", 302))
    edit = request.url.path.endswith("/edit/")
    return render(request, "account_edit.html" if edit else "account.html",
                  body_class=f"account customer-account-{'edit' if edit else 'index'} page-layout-2columns-left")


def graphql_product(base: str, product: Product) -> dict[str, Any]:
    """One ``ProductInterface`` as Magento's GraphQL answers the fields the rules' feed query asks for."""
    money = {"value": product.price / 100, "currency": "USD"}
    out: dict[str, Any] = {
        "__typename": "ConfigurableProduct" if product.configurable else "SimpleProduct",
        "id": product.id, "sku": product.sku, "name": product.name.replace("&trade;", "™"),
        "url_key": product.url_key, "url_suffix": ".html",
        "stock_status": "IN_STOCK" if product.in_stock else "OUT_OF_STOCK",
        "small_image": {"url": base + product.image},
        "price_range": {"minimum_price": {"final_price": money}},
        "categories": [{"uid": base64.b64encode(str(i).encode()).decode(), "name": name, "url_key": key, "level": level}
                       for i, name, key, level in ((product.category.id - 1, product.category.parent[1],
                                                    product.category.parent[0], 2),
                                                   (product.category.id, product.category.name,
                                                    product.category.url_key, 3))],
    }
    if product.configurable:
        out["variants"] = [{"product": {"id": c.id, "sku": c.sku,
                                        "stock_status": "IN_STOCK" if c.stock else "OUT_OF_STOCK"},
                            "attributes": [{"code": "size", "label": c.size, "value_index": SIZE_OPTIONS[c.size]}]}
                           for c in product.children]
    return out


PAGE_ARGUMENT = re.compile(r"\b(pageSize|currentPage)\s*:\s*(\d+)")


async def graphql(request: Request) -> Response:
    """``GET /graphql?query=...``: Magento answers queries by GET too (cacheable). This fixture knows one: the
    ``products`` listing in entity order (``filter`` any), paged by the query's ``pageSize`` (default 20, at
    most 300) and ``currentPage`` (default 1), with ``page_info``; a page past the last is the resolver's
    ``GraphQlInputException``: HTTP 200, ``errors`` and ``data.products`` null."""
    query = request.query_params.get("query", "")
    shop_of(request).graphql.append(query)
    if "products(" not in query:
        return JSONResponse({"errors": [{"message": "Syntax Error: Unexpected <EOF>", "extensions": {"category": "graphql"}}]})
    args = {name: int(value) for name, value in PAGE_ARGUMENT.findall(query)}
    size, current = min(args.get("pageSize", 20), 300), args.get("currentPage", 1)
    if size < 1 or current < 1:
        which = "pageSize" if size < 1 else "currentPage"
        return JSONResponse({"errors": [{"message": f"{which} value must be greater than 0.",
                                         "extensions": {"category": "graphql-input"}}], "data": {"products": None}})
    base = f"{request.url.scheme}://{request.url.netloc}"
    every = sorted(PRODUCTS.values(), key=lambda p: p.id)
    pages = -(-len(every) // size)
    if current > pages:
        message = f"currentPage value {current} specified is greater than the {pages} page(s) available."
        return JSONResponse({"errors": [{"message": message, "extensions": {"category": "graphql-input"},
                                         "locations": [{"line": 1, "column": 2}], "path": ["products"]}],
                             "data": {"products": None}})
    items = [graphql_product(base, p) for p in every[(current - 1) * size:current * size]]
    return JSONResponse({"data": {"products": {"total_count": len(every), "items": items,
                                               "page_info": {"current_page": current, "page_size": size,
                                                             "total_pages": pages}}}})


async def image(request: Request) -> Response:
    name = request.path_params["name"]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="300"><rect width="240" height="300" '
           f'fill="#1979c3"/><text x="20" y="150" fill="#fff">{name}</text></svg>')
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "max-age=31536000"})


def create_app(snippet: str = "") -> Starlette:
    """The store; ``snippet`` goes first in every page's ``<head>`` (a tag-only store's: docs/tag.md)."""
    app = Starlette(routes=[
        Route("/", home),
        Route("/checkout/cart/", cart_page),
        Route("/checkout/cart/add/uenc/{uenc}/product/{product}/", cart_add, methods=["POST"]),
        Route("/checkout/", checkout),
        Route("/checkout/onepage/success/", success),
        Route("/rest/default/V1/guest-carts/{cart}/payment-information", payment_information, methods=["POST"]),
        Route("/customer/section/load/", section_load),
        Route("/customer/account/login/", login),
        Route("/customer/account/loginPost/", login_post, methods=["POST"]),
        Route("/customer/account/", account),
        Route("/customer/account/edit/", account),
        Route("/graphql", graphql),
        Route("/media/catalog/product/{name}.svg", image),
        Route("/{key}.html", page_or_product),
        Route("/{parent}/{key}.html", category),
    ])
    app.state.shop = Shop()
    app.state.snippet = snippet
    return app


class MagentoShop(ServedApp):
    """``with MagentoShop() as shop: shop.url`` — a fresh store on a free 127.0.0.1 port; ``shop.state`` its state."""

    def __init__(self, host: str = "127.0.0.1", snippet: str = "") -> None:
        super().__init__(create_app(snippet), "the Magento fixture", host)
        self.state: Shop = self.app.state.shop


if __name__ == "__main__":  # browse it by hand: PYTHONPATH=tests python tests/magento_store/magento_shop.py
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8005)
