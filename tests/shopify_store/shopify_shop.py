"""A Shopify storefront with the Dawn theme, served by Starlette: the fixture for rules written for Shopify.

Shopify renders a store's pages itself (Liquid on Shopify's servers), so a
Shopify store runs Slotwise tag-only: a theme app embed puts the snippet in
``<head>``. This app prints what Dawn prints — its sections' and snippets'
class names, custom elements, form fields, ``structured_data`` JSON-LD and
``window.ShopifyAnalytics.meta`` — and answers the Ajax API (``/cart/add``,
``/cart.js``) and the storefront's ``/products.json`` as Shopify does.
Nothing in it is made for Slotwise. README.md beside it is the contract.
State lives in memory per app, so every ``ShopifyShop()`` starts clean.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import jinja2
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from served_app import ServedApp  # tests/served_app.py

HERE = Path(__file__).parent
SHOP = "Dawn Fixture"
CURRENCY = "EUR"
CART_COOKIE = "cart"  # Shopify's cart token cookie
SESSION_COOKIE = "_secure_session_id"  # a logged-in customer's session
IDENTITY_SECRET = "dawn-fixture-identity-secret"  # what the theme signs the logged-in customer's id with
IDENTITY_ENV = "SLOTWISE_IDENTITY_SECRET"  # where shopify.yaml's capture.customer.secret_env says Slotwise finds it


@contextlib.contextmanager
def identity_environment() -> Iterator[str]:
    """``IDENTITY_ENV`` set to ``IDENTITY_SECRET`` while it lasts: what a store running the shipped example sets
    where Slotwise runs (the Slotwise processes started meanwhile inherit it)."""
    before = os.environ.get(IDENTITY_ENV)
    os.environ[IDENTITY_ENV] = IDENTITY_SECRET
    try:
        yield IDENTITY_SECRET
    finally:
        if before is None:
            os.environ.pop(IDENTITY_ENV, None)
        else:
            os.environ[IDENTITY_ENV] = before


# ---------------------------------------------------------------- catalog (fixed)


@dataclass(frozen=True)
class Collection:
    id: int
    handle: str
    title: str

    @property
    def url(self) -> str:
        return f"/collections/{self.handle}"


@dataclass(frozen=True)
class Variant:
    id: int
    options: tuple[str, ...]  # its value of each of the product's options: ("M",), ("Blue", "M"), ("Default Title",)
    price: int  # cents
    available: bool
    sku: str

    @property
    def title(self) -> str:  # "M", "Blue / M", or "Default Title" for a product without options
        return " / ".join(self.options)

    def option(self, position: int) -> str | None:  # option1..option3: null past the product's options
        return self.options[position - 1] if position <= len(self.options) else None

    @property
    def public_title(self) -> str | None:  # ShopifyAnalytics.meta: null for the Default Title variant
        return None if self.title == "Default Title" else self.title


@dataclass(frozen=True)
class Product:
    id: int
    handle: str
    title: str
    product_type: str
    vendor: str
    collection: Collection
    variants: tuple[Variant, ...]
    description: str = ""
    options: tuple[str, ...] = ("Size",)  # the options' names, in order ("Title" for the Default Title variant)

    @property
    def url(self) -> str:
        return f"/products/{self.handle}"

    @property
    def image(self) -> str:
        return f"/cdn/shop/files/{self.handle}.svg"

    @property
    def has_only_default_variant(self) -> bool:
        return len(self.variants) == 1 and self.variants[0].title == "Default Title"

    @property
    def price(self) -> int:
        return min(v.price for v in self.variants)

    @property
    def available(self) -> bool:
        return any(v.available for v in self.variants)

    @property
    def selected_or_first_available_variant(self) -> Variant:
        return next((v for v in self.variants if v.available), self.variants[0])

    def values(self, position: int) -> list[str]:
        """One option's values, in the order its variants first name them (``options[].values``)."""
        return list(dict.fromkeys(v.options[position - 1] for v in self.variants))

    def pickers(self, selected: Variant) -> list[dict[str, Any]]:
        """Dawn's variant picker: a fieldset per option, a radio per value, checked as ``selected`` is; a value
        is unavailable when no available variant has it with ``selected``'s other values."""
        def available(position: int, value: str) -> bool:
            wanted = selected.options[:position - 1] + (value,) + selected.options[position:]
            return any(v.options == wanted and v.available for v in self.variants)
        return [{"name": name, "position": position,
                 "values": [{"value": value, "checked": selected.options[position - 1] == value,
                             "available": available(position, value),
                             "id": self.id * 100 + position * 10 + index} for index, value in
                            enumerate(self.values(position))]}
                for position, name in enumerate(self.options, 1)]


def _sized(first_id: int, handle: str, price: int, sold_out: tuple[str, ...] = ()) -> tuple[Variant, ...]:
    return tuple(Variant(first_id + i, (size,), price, size not in sold_out, f"{handle.upper()}-{size}")
                 for i, size in enumerate(("S", "M", "L")))


JACKETS = Collection(301, "jackets", "Jackets")
SHIRTS = Collection(302, "shirts", "Shirts")
ACCESSORIES = Collection(303, "accessories", "Accessories")
COLLECTIONS = {c.handle: c for c in (SHIRTS, ACCESSORIES, JACKETS)}  # the home's collection list, in this order
ALL = Collection(0, "all", "Products")  # Shopify's own /collections/all: every product
PRODUCTS = {p.handle: p for p in (
    Product(8001, "rain-jacket", "Rain Jacket", "Jackets", "Fjord", JACKETS, _sized(44001, "rj", 8990),
            "A light, waterproof shell."),
    Product(8002, "down-jacket", "Down Jacket", "Jackets", "Fjord", JACKETS, _sized(44011, "dj", 12900, ("L",)),
            "Warm down for cold days."),
    Product(8003, "fleece-jacket", "Fleece Jacket", "Jackets", "Fjord", JACKETS, _sized(44021, "fj", 5990),
            "A soft fleece layer."),
    Product(8004, "linen-shirt", "Linen Shirt", "Shirts", "Fjord", SHIRTS, _sized(44031, "ls", 3990),
            "A breathable linen shirt."),
    Product(8005, "jacket-wax", "Jacket Wax", "Jackets", "Fjord", JACKETS,
            (Variant(44041, ("Default Title",), 1490, True, "JW"),), "Wax that keeps a jacket dry.", ("Title",)),
    Product(8006, "wool-beanie", "Wool Beanie", "Accessories", "Fjord", ACCESSORIES,
            (Variant(44051, ("Default Title",), 1990, True, "WB"),), "A merino beanie.", ("Title",)),
    Product(8007, "trail-tee", "Trail Tee", "Shirts", "Fjord", SHIRTS,  # two options: the size is the second
            tuple(Variant(44061 + i, (colour, size), 2990, (colour, size) != ("Red", "S"), f"TT-{colour[0]}-{size}")
                  for i, (colour, size) in enumerate((c, s) for c in ("Blue", "Red") for s in ("S", "M"))),
            "A quick-drying tee.", ("Color", "Size")),
)}
VARIANTS = {v.id: (p, v) for p in PRODUCTS.values() for v in p.variants}
CUSTOMERS = {"jane@example.com": ("Jane", "dawn-pass-1", 7001)}  # e-mail -> first name, password, customer id


def in_collection(collection: Collection) -> list[Product]:
    return [p for p in PRODUCTS.values() if p.collection == collection]


# ---------------------------------------------------------------- state (in memory)


@dataclass
class Cart:
    token: str
    lines: dict[int, int] = field(default_factory=dict)  # variant id -> quantity, in order added


@dataclass
class Shop:
    """Everything that changes: carts by token, logged-in sessions, what the feed was asked."""

    carts: dict[str, Cart] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> e-mail
    feed_requests: list[str] = field(default_factory=list)  # each /products.json request's query
    cart_adds: list[dict[str, Any]] = field(default_factory=list)  # each /cart/add's fields (or JSON body), as sent
    sold_out: set[int] = field(default_factory=set)  # variants whose stock ran out since their page was shown


def money(cents: int) -> str:
    """Dawn's ``money`` for a EUR store with the default format: ``€59,90 EUR``."""
    return f"€{cents // 100},{cents % 100:02d} EUR"


def decimal(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def line_item(product: Product, variant: Variant, qty: int) -> dict[str, Any]:
    """A cart line as the Ajax API answers it (``/cart.js`` items, ``/cart/add.js``), trimmed."""
    return {
        "id": variant.id, "variant_id": variant.id, "product_id": product.id, "key": f"{variant.id}:0",
        "title": product.title if variant.public_title is None else f"{product.title} - {variant.title}",
        "product_title": product.title, "variant_title": variant.public_title, "handle": product.handle,
        "url": f"{product.url}?variant={variant.id}", "quantity": qty, "price": variant.price,
        "line_price": variant.price * qty, "final_price": variant.price, "sku": variant.sku,
        "vendor": product.vendor, "product_type": product.product_type, "image": product.image,
        "options_with_values": [] if variant.public_title is None else
        [{"name": name, "value": value} for name, value in zip(product.options, variant.options)],
        "product_has_only_default_variant": product.has_only_default_variant,
    }


def cart_json(cart: Cart | None) -> dict[str, Any]:
    items = [line_item(*VARIANTS[vid], qty) for vid, qty in (cart.lines.items() if cart else ())]
    return {"token": cart.token if cart else "", "note": None, "attributes": {},
            "total_price": sum(i["line_price"] for i in items), "item_count": sum(i["quantity"] for i in items),
            "items": items, "requires_shipping": bool(items), "currency": CURRENCY}


VARIES_BY = {"Size": "size", "Color": "color", "Material": "material", "Pattern": "pattern"}


def structured_data(base: str, product: Product) -> str:
    """Shopify's ``{{ product | structured_data }}``: a ``ProductGroup`` with ``hasVariant`` for a product
    with options, a ``Product`` with one ``Offer`` for a product with only the Default Title variant."""
    def offer(v: Variant) -> dict[str, Any]:
        url = f"{base}{product.url}?variant={v.id}"
        return {"@id": f"{url}#offer", "@type": "Offer",
                "availability": "http://schema.org/" + ("InStock" if v.available else "OutOfStock"),
                "price": decimal(v.price), "priceCurrency": CURRENCY, "url": url}

    image = f"{base}{product.image}?v=1&width=1920"
    brand = {"@type": "Brand", "name": product.vendor}
    if product.has_only_default_variant:
        v = product.variants[0]
        data: dict[str, Any] = {"@context": "http://schema.org/", "@id": f"{base}{product.url}#product",
                                "@type": "Product", "brand": brand, "description": product.description,
                                "image": image, "name": product.title, "offers": offer(v), "sku": v.sku,
                                "url": f"{base}{product.url}"}
    else:
        data = {"@context": "http://schema.org/", "@id": f"{base}{product.url}#product", "@type": "ProductGroup",
                "brand": brand, "description": product.description,
                "hasVariant": [dict(sorted({"@id": f"{base}{product.url}?variant={v.id}#variant", "@type": "Product",
                                            "image": image, "name": f"{product.title} - {v.title}", "offers": offer(v),
                                            "sku": v.sku, **variant_properties(product, v)}.items()))
                               for v in product.variants],
                "name": product.title, "productGroupID": str(product.id), "url": f"{base}{product.url}",
                "variesBy": [f"https://schema.org/{VARIES_BY[name]}" for name in product.options if name in VARIES_BY]}
    return json.dumps(data, separators=(",", ":")).replace("/", "\\/")


def variant_properties(product: Product, variant: Variant) -> dict[str, str]:
    """A variant's value of each option named for a schema.org property (``variesBy``): ``{"size": "M"}``,
    ``{"color": "Blue", "size": "M"}``, as ``structured_data`` writes them beside its ``sku``."""
    return {VARIES_BY[name]: value for name, value in zip(product.options, variant.options) if name in VARIES_BY}


def analytics_meta(product: Product | None, page_type: str, collection: Collection | None) -> str:
    """``window.ShopifyAnalytics.meta``, as Shopify's ``content_for_header`` writes it."""
    meta: dict[str, Any] = {"currency": CURRENCY, "page": {"pageType": page_type}}
    if product is not None:
        meta["product"] = {"id": product.id, "gid": f"gid://shopify/Product/{product.id}", "vendor": product.vendor,
                           "type": product.product_type,
                           "variants": [{"id": v.id, "price": v.price, "name": product.title if v.public_title is None
                                         else f"{product.title} - {v.title}", "public_title": v.public_title,
                                         "sku": v.sku} for v in product.variants]}
        meta["page"]["resourceType"], meta["page"]["resourceId"] = "product", product.id
    elif collection is not None:
        meta["page"]["resourceType"], meta["page"]["resourceId"] = "collection", collection.id
    return json.dumps(meta, separators=(",", ":"))


# ---------------------------------------------------------------- pages

ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.filters["money"] = money


def hmac_sha256(value: Any, secret: str) -> str:
    """Liquid's ``hmac_sha256`` filter: the lowercase hex HMAC-SHA256 of the value's text."""
    return hmac.new(secret.encode(), str(value).encode(), hashlib.sha256).hexdigest()


ENV.filters["hmac_sha256"] = hmac_sha256


def shop_of(request: Request) -> Shop:
    return request.app.state.shop


def cart_of(request: Request) -> Cart | None:
    return shop_of(request).carts.get(request.cookies.get(CART_COOKIE, ""))


def customer_of(request: Request) -> str | None:
    return shop_of(request).sessions.get(request.cookies.get(SESSION_COOKIE, ""))


def cart_lines(cart: Cart | None) -> list[tuple[Product, Variant, int]]:
    return [(*VARIANTS[vid], qty) for vid, qty in (cart.lines.items() if cart else ())]


def cart_context(cart: Cart | None) -> dict[str, Any]:
    lines = cart_lines(cart)
    return {"cart_lines": lines, "cart_count": sum(q for _, _, q in lines),
            "cart_total": sum(v.price * q for _, v, q in lines)}


def render(request: Request, template: str, status: int = 200, *, title: str, page_type: str,
           product: Product | None = None, collection: Collection | None = None, **context: Any) -> HTMLResponse:
    base = f"{request.url.scheme}://{request.url.netloc}"
    html = ENV.get_template(template).render(
        shop=SHOP, title=title, path=request.url.path, product=product, collection=collection,
        page_type=page_type, customer=customer_of(request), snippet=Markup(request.app.state.snippet),
        customer_id=CUSTOMERS[email][2] if (email := customer_of(request)) else None,
        identity_secret=request.app.state.identity_secret,
        json_ld=Markup(structured_data(base, product)) if product else None,
        meta=Markup(analytics_meta(product, page_type, collection)), **cart_context(cart_of(request)), **context)
    return HTMLResponse(html, status)


def not_found(request: Request) -> HTMLResponse:
    return render(request, "404.html", 404, title="404 Not Found", page_type="404")


async def home(request: Request) -> Response:
    return render(request, "index.html", title=SHOP, page_type="home", collections=list(COLLECTIONS.values()),
                  featured=[PRODUCTS[h] for h in ("rain-jacket", "linen-shirt", "wool-beanie", "down-jacket")])


async def collection_page(request: Request) -> Response:
    handle = request.path_params["handle"]
    collection = ALL if handle == ALL.handle else COLLECTIONS.get(handle)
    if collection is None:
        return not_found(request)
    listed = list(PRODUCTS.values()) if collection == ALL else in_collection(collection)
    return render(request, "collection.html", title=collection.title, page_type="collection",
                  collection=collection, products=listed)


async def product_page(request: Request) -> Response:
    product = PRODUCTS.get(request.path_params["handle"])
    if product is None:
        return not_found(request)
    wanted = request.query_params.get("variant", "")
    variant = next((v for v in product.variants if str(v.id) == wanted), product.selected_or_first_available_variant)
    recommended = [p for p in PRODUCTS.values() if p != product and p.collection == product.collection][:4]
    return render(request, "product.html", title=product.title, page_type="product", product=product,
                  variant=variant, recommended=recommended,
                  pickers=product.pickers(variant), selected_variant_json=Markup(json.dumps(variant_json(variant))),
                  variants_json=Markup(json.dumps([variant_json(v) for v in product.variants])))


def variant_json(v: Variant) -> dict[str, Any]:
    """A variant as the product page's JSON names it (Dawn's picker reads ``option1``..``option3``)."""
    return {"id": v.id, "title": v.title, **{f"option{n}": v.option(n) for n in (1, 2, 3)}, "available": v.available}


def _set_cart(response: Response, cart: Cart) -> Response:
    response.set_cookie(CART_COOKIE, cart.token, path="/", samesite="lax", max_age=14 * 86400)
    return response


async def cart_add(request: Request) -> Response:
    """``POST /cart/add`` (and ``/cart/add.js``): form-encoded or multipart ``id`` (a variant id) and
    ``quantity``, or a JSON body (``{"id", "quantity"}``, or ``{"items": [{"id", "quantity"}, ...]}``);
    a script's request (``Accept: application/javascript``, a JSON body or ``.js``) gets the line as JSON
    (``{"items": [...]}`` for ``items``), plus ``sections`` rendered when asked; a plain form post
    redirects to ``/cart``. A variant that is sold out adds nothing, as Shopify answers:
    ``422 {"status": 422, "message": "Cart Error", "description": "The product '...' is already sold out."}``."""
    shop = shop_of(request)
    is_json = "json" in request.headers.get("content-type", "")
    if is_json:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"status": "bad_request", "message": "Parameter Missing or Invalid",
                                 "description": "Required parameter missing or invalid: items"}, 400)
        fields: dict[str, Any] = body if isinstance(body, dict) else {}
    else:
        form = await request.form()
        fields = {k: str(v) for k, v in form.multi_items()}
    shop.cart_adds.append(fields)
    wants_json = is_json or request.url.path.endswith(".js") or "javascript" in request.headers.get("accept", "") \
        or "json" in request.headers.get("accept", "")
    asked = fields.get("items") if isinstance(fields.get("items"), list) else [fields]
    try:
        adds = [(*VARIANTS[int(item.get("id", ""))], max(1, int(item.get("quantity") or 1))) for item in asked]
    except (KeyError, ValueError, TypeError, AttributeError):
        return JSONResponse({"status": 404, "message": "Cart Error", "description": "Cannot find variant"}, 404)
    for product, variant, _ in adds:
        if not variant.available or variant.id in shop.sold_out:
            title = product.title if variant.public_title is None else f"{product.title} - {variant.title}"
            return JSONResponse({"status": 422, "message": "Cart Error",
                                 "description": f"The product '{title}' is already sold out."}, 422)
    cart = cart_of(request) or Cart(secrets.token_hex(16))
    shop.carts[cart.token] = cart
    for _, variant, qty in adds:
        cart.lines[variant.id] = cart.lines.get(variant.id, 0) + qty
    if not wants_json:
        return _set_cart(RedirectResponse("/cart", 302), cart)
    lines = [line_item(product, variant, cart.lines[variant.id]) for product, variant, _ in adds]
    body_out: dict[str, Any] = {"items": lines} if "items" in fields else lines[0]
    sections = fields.get("sections", "")
    wanted = [x for x in (sections.split(",") if isinstance(sections, str) else sections) if x]
    if wanted:
        parts = cart_context(cart)
        body_out["sections"] = {x: ENV.get_template(f"sections/{x}.html").render(**parts)
                                for x in wanted if x in ("cart-drawer", "cart-icon-bubble")}
    return _set_cart(JSONResponse(body_out), cart)


async def cart_js(request: Request) -> Response:
    return JSONResponse(cart_json(cart_of(request)))


async def cart_page(request: Request) -> Response:
    return render(request, "cart.html", title="Your cart", page_type="cart")


def feed_product(product: Product) -> dict[str, Any]:
    """One product of ``/products.json``, as Shopify lists it (trimmed: no body_html or tags)."""
    return {
        "id": product.id, "title": product.title, "handle": product.handle, "vendor": product.vendor,
        "product_type": product.product_type, "published_at": "2026-11-02T10:00:00+01:00",
        "variants": [{"id": v.id, "title": v.title, "option1": v.option(1), "option2": v.option(2),
                      "option3": v.option(3),
                      "sku": v.sku, "requires_shipping": True, "taxable": True, "available": v.available,
                      "price": decimal(v.price), "grams": 500, "compare_at_price": None, "position": i + 1,
                      "product_id": product.id} for i, v in enumerate(product.variants)],
        "options": [{"name": name, "position": position, "values": product.values(position)}
                    for position, name in enumerate(product.options, 1)],
        "images": [{"id": product.id * 10, "position": 1, "product_id": product.id,
                    "src": f"https://cdn.shopify.com/s/files/1/0001/files/{product.handle}.svg?v=1",
                    "width": 400, "height": 400}],
    }


async def products_json(request: Request) -> Response:
    """``/products.json?limit=N&page=N``: 30 a page by default, 250 at most, by id; past the last page
    ``{"products": []}``."""
    shop_of(request).feed_requests.append(request.url.query)
    try:
        limit = min(250, max(1, int(request.query_params.get("limit", "30"))))
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        limit, page = 30, 1
    listed = sorted(PRODUCTS.values(), key=lambda p: p.id)[(page - 1) * limit:page * limit]
    return JSONResponse({"products": [feed_product(p) for p in listed]})


async def login(request: Request) -> Response:
    """``/account/login``: Dawn's ``main-login`` form; a right e-mail and password: ``302 /account``, or to the
    form's ``return_url`` (``/account/login?return_url=/products/x``: Shopify's form carries it on) when a path."""
    back = request.query_params.get("return_url")
    if request.method == "POST":
        form = await request.form()
        email = str(form.get("customer[email]", "")).strip().lower()
        known = CUSTOMERS.get(email)
        if known and str(form.get("customer[password]", "")) == known[1]:
            sid = secrets.token_hex(16)
            shop_of(request).sessions[sid] = email
            back = str(form.get("return_url") or "")
            response = RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/account", 302)
            response.set_cookie(SESSION_COOKIE, sid, path="/", httponly=True, samesite="lax")
            return response
        return render(request, "login.html", title="Account", page_type="customers/login", error=True, return_url=back)
    return render(request, "login.html", title="Account", page_type="customers/login", error=False, return_url=back)


async def account(request: Request) -> Response:
    email = customer_of(request)
    if email is None:
        return RedirectResponse("/account/login", 302)
    return render(request, "account.html", title="Account", page_type="customers/account",
                  first_name=CUSTOMERS[email][0], email=email)


async def logout(request: Request) -> Response:
    shop_of(request).sessions.pop(request.cookies.get(SESSION_COOKIE, ""), None)
    response = RedirectResponse("/", 302)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def asset(request: Request) -> Response:
    path = HERE / "assets" / request.path_params["name"]
    return FileResponse(path) if path.is_file() else Response(status_code=404)


async def image(request: Request) -> Response:
    name = request.path_params["handle"]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" '
           f'fill="#e8e4dc"/><text x="200" y="205" text-anchor="middle" font-size="24">{name}</text></svg>')
    return Response(svg, media_type="image/svg+xml")


def create_app(snippet: str = "", identity_secret: str | None = IDENTITY_SECRET) -> Starlette:
    """The store; ``snippet`` goes first in every page's ``<head>`` (what a theme app embed adds), then, for a
    logged-in customer, their id signed with ``identity_secret`` (None: not printed)."""
    async def missing(request: Request, exc: Exception) -> Response:
        return not_found(request)

    app = Starlette(exception_handlers={404: missing}, routes=[
        Route("/", home),
        Route("/collections/{handle}", collection_page),
        Route("/collections/{collection}/products/{handle}", product_page),
        Route("/products/{handle}", product_page),
        Route("/products.json", products_json),
        Route("/cart/add", cart_add, methods=["POST"]),
        Route("/cart/add.js", cart_add, methods=["POST"]),
        Route("/cart.js", cart_js),
        Route("/cart", cart_page),
        Route("/account/login", login, methods=["GET", "POST"]),
        Route("/account", account),
        Route("/account/logout", logout),
        Route("/cdn/shop/t/1/assets/{name}", asset),
        Route("/cdn/shop/files/{handle}.svg", image),
    ])
    app.state.shop = Shop()
    app.state.snippet = snippet
    app.state.identity_secret = identity_secret
    return app


class ShopifyShop(ServedApp):
    """``with ShopifyShop() as shop: shop.url`` — a fresh store on a free 127.0.0.1 port, in a thread."""

    def __init__(self, snippet: str = "", host: str = "127.0.0.1", identity_secret: str | None = IDENTITY_SECRET) -> None:
        super().__init__(create_app(snippet, identity_secret), "the Shopify fixture", host)

    @property
    def state(self) -> Shop:
        return self.app.state.shop


if __name__ == "__main__":  # PYTHONPATH=tests python tests/shopify_store/shopify_shop.py
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8004)
