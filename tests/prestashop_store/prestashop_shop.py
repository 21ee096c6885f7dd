"""A PrestaShop 8 storefront with the ``classic`` theme, served by Starlette: the fixture for rules written for
PrestaShop.

A real PrestaShop needs PHP and MySQL; this app prints what PrestaShop 8.1 with classic 2.1 prints — each
template's own ids, classes, form fields, ``data-*`` attributes, the Product JSON-LD and the ``prestashop``
object in ``<head>`` (each template says which PrestaShop template it stands for) — and answers as
PrestaShop's controllers do: the product page's combination refresh (``ProductController::displayAjaxRefresh``:
JSON whose HTML replaces the variants, prices and add-to-cart blocks), the AJAX add to cart
(``CartController::displayAjaxUpdate``: JSON, ``success`` or ``hasError``, sent as ``text/html`` since
``Controller::ajaxRender`` sets no type), the cart preview's refresh (``ps_shoppingcart``'s ajax
controller), the wire payment's validation and the order confirmation. What core.js and ps_shoppingcart.js
do in the browser a small script does here the same way. Nothing in it is made for Slotwise. README.md
beside it is the contract. State lives in memory per app, so every ``PrestaShopShop()`` starts clean.
"""

from __future__ import annotations

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
SITE = "PrestaShop Fixture"
SESSION = "PrestaShop-a30a9934ef476d11b6cc3c983616e364"  # PrestaShop's cookie: "PrestaShop-" + md5 of the shop's
SIZE_GROUP = 1  # the "Size" attribute group's id (id_attribute_group): a store fact
SIZES = {"S": 1, "M": 2, "L": 3, "XL": 4}  # its attributes' ids (id_attribute), as the demo data has them
WIRE_MODULE = 31  # ps_wirepayment's id_module, in the confirmation's URL
NOT_ENOUGH = "The product is no longer available in this quantity."


# ---------------------------------------------------------------- catalog (fixed)


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    rewrite: str  # link_rewrite

    @property
    def url(self) -> str:  # the default category_rule: {id}-{rewrite}
        return f"/{self.id}-{self.rewrite}"


@dataclass(frozen=True)
class Combination:
    """One size of a product: its ``id_product_attribute`` and stock."""

    id: int
    size: str
    stock: int

    @property
    def anchor(self) -> str:  # Product::getAnchor: "#/<id_attribute>-<group>-<value>"
        return f"#/{SIZES[self.size]}-size-{self.size.lower()}"


@dataclass(frozen=True)
class Product:
    id: int  # id_product: the URL's {id}, every form's id_product
    rewrite: str
    name: str
    category: Category  # id_category_default: the URL's {category}
    price: int  # cents, tax included, every combination the same
    reference: str
    stock: int = 0  # a product without combinations
    combinations: tuple[Combination, ...] = ()

    def url(self, combination: Combination | None = None) -> str:
        """The default product_rule, ``{category:/}{id}{-:id_product_attribute}-{rewrite}.html``, and for a
        combination its anchor (the fragment the browser keeps, never sent)."""
        if combination is None:
            return f"/{self.category.rewrite}/{self.id}-{self.rewrite}.html"
        return f"/{self.category.rewrite}/{self.id}-{combination.id}-{self.rewrite}.html{combination.anchor}"

    @property
    def image(self) -> str:  # /<id_image>-<type>/<rewrite>.jpg, the image id here the product's
        return f"/{self.id}-home_default/{self.rewrite}.jpg"

    def default(self) -> Combination | None:
        """The default combination: the first in stock (``Product::getDefaultAttribute``)."""
        return next((c for c in self.combinations if c.stock), self.combinations[0] if self.combinations else None)

    def combination(self, ipa: int | None) -> Combination | None:
        return next((c for c in self.combinations if c.id == ipa), None)

    def in_stock(self, combination: Combination | None) -> bool:
        return (combination.stock if combination else self.stock) > 0


def _sizes(first: int, stocks: tuple[int, ...]) -> tuple[Combination, ...]:
    return tuple(Combination(first + i, size, n) for i, (size, n) in enumerate(zip(SIZES, stocks)))


MEN, WOMEN, ACCESSORIES, ART = (Category(4, "Men", "men"), Category(5, "Women", "women"),
                                Category(6, "Accessories", "accessories"), Category(9, "Art", "art"))
CATEGORIES = (MEN, WOMEN, ACCESSORIES, ART)  # the top menu's (ps_mainmenu), in its order
PRODUCTS = {p.id: p for p in (
    Product(1, "hummingbird-printed-t-shirt", "Hummingbird printed t-shirt", MEN, 2390, "demo_1",
            combinations=_sizes(1, (5, 5, 5, 0))),
    Product(2, "hummingbird-printed-sweater", "Hummingbird printed sweater", MEN, 3590, "demo_3",
            combinations=_sizes(5, (3, 4, 0, 2))),
    Product(3, "brown-bear-printed-sweater", "Brown bear printed sweater", WOMEN, 3590, "demo_5",
            combinations=_sizes(9, (2, 2, 2, 2))),
    Product(4, "the-best-is-yet-to-come-framed-poster", "The best is yet to come' Framed poster", ART, 2900,
            "demo_6", stock=10),
    Product(5, "mug-the-adventure-begins", "Mug The adventure begins", ACCESSORIES, 1190, "demo_12", stock=20),
    Product(6, "mountain-fox-cushion", "Mountain fox cushion", ACCESSORIES, 1890, "demo_15", stock=0),
)}


# ---------------------------------------------------------------- state (in memory)


@dataclass
class Session:
    sid: str
    token: str = field(default_factory=lambda: secrets.token_hex(16))  # static_token (Tools::getToken(false))
    cart: dict[tuple[int, int], int] = field(default_factory=dict)  # (id_product, id_product_attribute) -> qty
    id_cart: int = 0
    customer: str | None = None  # the logged-in customer's e-mail


@dataclass(frozen=True)
class Customer:
    email: str
    firstname: str
    lastname: str
    password: str


@dataclass
class Order:
    id: int
    reference: str
    id_cart: int
    key: str  # the customer's secure_key: the confirmation's URL carries it
    lines: tuple[tuple[Product, Combination | None, int], ...]


class Shop:
    """Everything that changes: sessions, orders; what came in, for the tests."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.orders: dict[int, Order] = {}
        self.carts = 0
        self.customers = {"pub@prestashop.com": Customer("pub@prestashop.com", "John", "DOE", "123456789")}  # the demo's
        self.refreshes: list[dict[str, str]] = []  # each product refresh's query (the form, serialized)


def base_of(request: Request) -> str:
    """The shop's URL as PrestaShop prints it: its configured domain (Shop Parameters > Traffic), the public one;
    behind a proxy the host it says the visitor asked for (``X-Forwarded-Host``)."""
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    return f"{scheme}://{request.headers.get('x-forwarded-host') or request.url.netloc}"


def money(cents: int) -> str:
    """The classic theme's price in en-US with EUR: ``€23.90``."""
    return f"€{cents / 100:.2f}"


def lines_of(session: Session | None) -> list[tuple[Product, Combination | None, int]]:
    return [(PRODUCTS[pid], PRODUCTS[pid].combination(ipa), qty) for (pid, ipa), qty in (session.cart.items() if session else ())]


def presented_product(base: str, product: Product, combination: Combination | None, qty: int) -> dict[str, Any]:
    """One product of ``CartPresenter::present``, as the front-end object's product filter keeps it: the ids
    are the database's strings, ``attributes`` the combination's groups by name."""
    return {
        "id_product": str(product.id), "id_product_attribute": str(combination.id if combination else 0),
        "id_customization": None, "name": product.name, "reference": product.reference,
        "category": product.category.rewrite, "url": base + product.url(combination),
        "quantity": qty, "cart_quantity": str(qty), "price": money(product.price),
        "price_amount": product.price / 100, "price_wt": product.price / 100, "total": money(product.price * qty),
        "attributes": {"Size": combination.size} if combination else [],
        "attributes_small": combination.size if combination else "",
    }


def presented_cart(request: Request, session: Session | None) -> dict[str, Any]:
    """``CartPresenter::present``: what the ``prestashop`` object's ``cart`` and the add's answer hold."""
    base = base_of(request)
    lines = lines_of(session)
    count = sum(qty for _, _, qty in lines)
    total = sum(p.price * qty for p, _, qty in lines)
    return {
        "products": [presented_product(base, p, c, qty) for p, c, qty in lines],
        "totals": {"total": {"type": "total", "label": "Total", "amount": total / 100, "value": money(total)}},
        "subtotals": {"products": {"type": "products", "label": "Subtotal", "amount": total / 100, "value": money(total)}},
        "products_count": count, "summary_string": f"{count} item{'s' if count != 1 else ''}",
    }


# ---------------------------------------------------------------- pages

ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.globals.update(money=money, categories=CATEGORIES, SIZE_GROUP=SIZE_GROUP, SIZES=SIZES)


def current(request: Request) -> Session | None:
    return session_of(request, SESSION)  # type: ignore[no-any-return]


def ensure(request: Request) -> Session:
    return ensure_session(request, SESSION, Session)  # type: ignore[no-any-return]


def finish(request: Request, response: Response) -> Response:
    """PrestaShop's cookie (the session's id here; PrestaShop's holds the encrypted context)."""
    session: Session | None = getattr(request.state, "session", None)
    if session is not None:
        response.set_cookie(SESSION, session.sid, httponly=True, samesite="lax", path="/")
    return response


def js_object(request: Request, session: Session, page_name: str) -> Markup:
    """``var prestashop = {...};``: ``FrontController::buildFrontEndObject`` (a part of it), printed by
    ``_partials/javascript.tpl`` as ``var {$var_name} = {$var_value|json_encode nofilter};``."""
    base = base_of(request)
    customer = shop_of(request).customers.get(session.customer or "")
    obj = {
        "cart": presented_cart(request, session),
        "currency": {"id": 1, "name": "Euro", "iso_code": "EUR", "sign": "€"},
        "customer": {"lastname": customer.lastname if customer else None,
                     "firstname": customer.firstname if customer else None,
                     "email": customer.email if customer else None, "birthday": "0000-00-00", "newsletter": False,
                     "is_logged": customer is not None, "gender": {"type": None, "name": None}, "addresses": []},
        "page": {"page_name": page_name},
        "shop": {"name": SITE},
        "urls": {"base_url": base + "/", "pages": {"cart": base + "/cart", "order": base + "/order",
                                                    "product": base + "/index.php?controller=product"}},
        "static_token": session.token, "token": session.token,
    }
    text = json.dumps(obj, separators=(",", ":")).replace("/", "\\/")  # PHP's json_encode escapes slashes
    return Markup(f"var prestashop = {text};\n    var prestashopFacebookAjaxController = \"{base}\\/module\\/ps_facebook\\/Ajax\";")


def render(request: Request, template: str, page_name: str, status: int = 200, **context: Any) -> Response:
    session = ensure(request)
    html = ENV.get_template(template).render(request=request, base=base_of(request), page_name=page_name, token=session.token,
                                             cart=presented_cart(request, session),
                                             customer=shop_of(request).customers.get(session.customer or ""),
                                             prestashop=js_object(request, session, page_name), **context)
    return finish(request, HTMLResponse(html, status))


def ajax_render(request: Request, value: Any) -> Response:
    """``Controller::ajaxRender``: the JSON text echoed with no ``Content-Type`` of its own, so PHP's default,
    ``text/html; charset=utf-8`` (and ``Cache-Control: no-store``)."""
    return finish(request, Response(json.dumps(value, separators=(",", ":")), 200, media_type="text/html",
                                    headers={"cache-control": "no-store, no-cache, must-revalidate, post-check=0, pre-check=0"}))


async def home(request: Request) -> Response:
    return render(request, "index.html", "index", featured=list(PRODUCTS.values())[:4])


async def category(request: Request) -> Response:
    cat = next((c for c in CATEGORIES if c.id == as_int(request.path_params["id"])), None)
    if cat is None or request.path_params["rewrite"] != cat.rewrite:
        return render(request, "404.html", "pagenotfound", 404)
    return render(request, "category.html", "category", category=cat,
                  products=[p for p in PRODUCTS.values() if p.category == cat])


def product_context(product: Product, combination: Combination | None) -> dict[str, Any]:
    """What the product page's blocks print for ``combination`` (the refresh prints the same blocks)."""
    return {"product": product, "combination": combination, "in_stock": product.in_stock(combination)}


async def product_page(request: Request) -> Response:
    """``/{category}/{id}-{rewrite}.html`` or ``/{category}/{id}-{ipa}-{rewrite}.html``: the combination the URL
    names (``ProductController``), else the default one; a wrong category or rewrite 301s to the right URL."""
    product = PRODUCTS.get(as_int(request.path_params["id"]) or 0)
    rest = request.path_params["rest"]
    if product is None:
        return render(request, "404.html", "pagenotfound", 404)
    ipa_text, _, rewrite = rest.partition("-") if rest.split("-", 1)[0].isdigit() else ("", "", rest)
    combination = product.combination(as_int(ipa_text)) if ipa_text else product.default()
    if rewrite != product.rewrite or request.path_params["category"] != product.category.rewrite or (ipa_text and not combination):
        return RedirectResponse(product.url(), 301)
    others = [p for p in PRODUCTS.values() if p.category == product.category and p != product]
    return render(request, "product.html", "product", others=others, **product_context(product, combination))


async def product_controller(request: Request) -> Response:
    """``index.php?controller=product&<the form>`` posted with ``ajax=1&action=refresh`` (core.js's
    ``updateProduct``): the combination the form's ``group[]`` names, its blocks as HTML in JSON
    (``ProductController::displayAjaxRefresh`` sets ``application/json`` itself)."""
    if request.query_params.get("controller") == "order-confirmation":
        return await confirmation(request)
    form = await request.form()
    if request.method != "POST" or form.get("action") != "refresh":
        return render(request, "404.html", "pagenotfound", 404)
    ensure(request)
    shop_of(request).refreshes.append(dict(request.query_params))
    product = PRODUCTS.get(as_int(request.query_params.get("id_product")) or 0)
    if product is None:
        return finish(request, JSONResponse({"hasError": True, "errors": ["Product not found"]}))
    wanted = as_int(request.query_params.get(f"group[{SIZE_GROUP}]"))
    combination = next((c for c in product.combinations if SIZES[c.size] == wanted), product.default())
    blocks = {name: ENV.get_template(f"_{name}.html").render(**product_context(product, combination))
              for name in ("product_prices", "product_variants", "product_add_to_cart")}
    base = base_of(request)
    return finish(request, JSONResponse({
        **blocks, "product_cover_thumbnails": "", "product_customization": "", "product_details": "",
        "product_discounts": "", "product_additional_info": "", "product_images_modal": "", "product_flags": "",
        "product_url": base + product.url(combination), "product_minimal_quantity": 1,
        "product_has_combinations": bool(product.combinations),
        "id_product_attribute": combination.id if combination else 0, "product_title": product.name,
        "is_quick_view": False,
    }))


def change_cart(session: Session, form: Any) -> str | None:
    """``CartController::processChangeProductInCart`` (``add``/``update``, ``op=down``) and
    ``processDeleteProductInCart``: the error, or None."""
    product = PRODUCTS.get(as_int(form.get("id_product")) or 0)
    if product is None:
        return "Product not found"
    group = as_int(form.get(f"group[{SIZE_GROUP}]"))
    if group is not None:  # the product page's form: the combination from its attributes
        combination = next((c for c in product.combinations if SIZES[c.size] == group), None)
    else:
        combination = product.combination(as_int(form.get("id_product_attribute")))
    if combination is None and product.combinations:
        combination = product.default()
    key = (product.id, combination.id if combination else 0)
    if "delete" in form:
        session.cart.pop(key, None)
        return None
    qty = as_int(form.get("qty", "1")) or 0
    if qty <= 0:
        return "Null quantity."
    now = session.cart.get(key, 0)
    wanted = now - qty if form.get("op") == "down" else now + qty
    if "add" in form and wanted > (combination.stock if combination else product.stock):
        return NOT_ENOUGH
    if wanted <= 0:
        session.cart.pop(key, None)
    else:
        session.cart[key] = wanted
    return None


async def cart(request: Request) -> Response:
    """``/cart``: GET ``?action=show``, the cart page; POST ``add=1&action=update`` (cart.js) and the cart page's
    ``update``/``delete`` with ``ajax=1``: ``displayAjaxUpdate``'s JSON (``ajaxRender``: as text/html). Without
    a token that matches, nothing changes (``isTokenValid``)."""
    session = ensure(request)
    if request.method == "GET":
        lines = lines_of(session)
        return render(request, "cart.html" if lines else "cart-empty.html", "cart", lines=lines)
    form = {**dict(request.query_params), **dict(await request.form())}
    if form.get("token") != session.token:
        return ajax_render(request, {"hasError": True, "errors": ["Invalid token"], "quantity": 0})
    error = change_cart(session, form)
    if error is not None:
        return ajax_render(request, {"hasError": True, "errors": [error], "quantity": 0})
    if not session.id_cart:
        shop_of(request).carts += 1
        session.id_cart = shop_of(request).carts
    product = PRODUCTS[as_int(form.get("id_product")) or 0]
    key = next((k for k in reversed(session.cart) if k[0] == product.id), (product.id, 0))
    return ajax_render(request, {"success": True, "id_product": product.id, "id_product_attribute": key[1],
                                 "id_customization": 0, "quantity": session.cart.get(key, 0),
                                 "cart": presented_cart(request, session), "errors": ""})


async def shoppingcart_ajax(request: Request) -> Response:
    """ps_shoppingcart's ``ajax`` front controller (the cart preview's ``data-refresh-url``): the preview's HTML
    and the added product's modal, in JSON (``ajaxRender``: text/html)."""
    session = ensure(request)
    form = await request.form()
    preview = ENV.get_template("_blockcart.html").render(cart=presented_cart(request, session))
    product = PRODUCTS.get(as_int(form.get("id_product")) or 0)
    modal = ENV.get_template("_blockcart_modal.html").render(product=product, cart=presented_cart(request, session)) if product else ""
    return ajax_render(request, {"preview": preview, "modal": modal})


async def checkout(request: Request) -> Response:
    if not lines_of(current(request)):
        return finish(request, RedirectResponse("/cart?action=show", 302))
    return render(request, "checkout.html", "checkout", lines=lines_of(current(request)))


async def wire_validation(request: Request) -> Response:
    """ps_wirepayment's ``validation`` controller: the order made (``validateOrder``), then 302 to
    ``index.php?controller=order-confirmation&id_cart=&id_module=&id_order=&key=``."""
    session = current(request)
    lines = lines_of(session)
    if session is None or not lines:
        return RedirectResponse("/order", 302)
    shop = shop_of(request)
    number = len(shop.orders) + 1
    order = Order(number, "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(9)), session.id_cart,
                  secrets.token_hex(16), tuple(lines))
    shop.orders[number] = order
    session.cart.clear()
    session.id_cart = 0
    query = urlencode({"controller": "order-confirmation", "id_cart": order.id_cart, "id_module": WIRE_MODULE,
                       "id_order": order.id, "key": order.key})
    return finish(request, RedirectResponse(f"/index.php?{query}", 302))


async def confirmation(request: Request) -> Response:
    """``OrderConfirmationController``: the order whose id, cart and key the URL names, else the home page."""
    order = shop_of(request).orders.get(as_int(request.query_params.get("id_order")) or 0)
    if order is None or request.query_params.get("key") != order.key or as_int(request.query_params.get("id_cart")) != order.id_cart:
        return RedirectResponse("/", 302)
    return render(request, "order-confirmation.html", "order-confirmation", order=order)


async def login(request: Request) -> Response:
    """``AuthController`` (``/login``): GET the form; a POST with ``submitLogin`` 302s to ``back`` (default
    ``my-account``) when the e-mail and password match, else shows the form again, 200, with the error."""
    session = ensure(request)
    if request.method == "GET":
        return render(request, "login.html", "authentication", error=None)
    form = await request.form()
    customer = shop_of(request).customers.get(str(form.get("email", "")).strip().lower())
    if customer is None or not secrets.compare_digest(customer.password, str(form.get("password", ""))):
        return render(request, "login.html", "authentication", error="Authentication failed.")
    session.customer = customer.email
    return finish(request, RedirectResponse("/" + (request.query_params.get("back") or "my-account"), 302))


async def account(request: Request) -> Response:
    """``/my-account`` and ``/identity`` (the personal information form, its e-mail field filled): a guest is sent
    to the login page."""
    session = ensure(request)
    if session.customer is None:
        return finish(request, RedirectResponse(f"/login?back={request.url.path.strip('/')}", 302))
    identity = request.url.path == "/identity"
    return render(request, "identity.html" if identity else "my-account.html", "identity" if identity else "my-account")


async def image(request: Request) -> Response:
    name = request.path_params["name"]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="250" height="250"><rect width="250" height="250" '
           f'fill="#24b9d7"/><text x="10" y="125" fill="#fff">{name}</text></svg>')
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "max-age=31536000"})


def create_app() -> Starlette:
    app = Starlette(routes=[
        Route("/", home),
        Route("/index.php", product_controller, methods=["GET", "POST"]),
        Route("/cart", cart, methods=["GET", "POST"]),
        Route("/order", checkout),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/my-account", account),
        Route("/identity", account),
        Route("/order-confirmation", confirmation),  # the friendly URL (canonical redirection on)
        Route("/module/ps_shoppingcart/ajax", shoppingcart_ajax, methods=["POST"]),
        Route("/module/ps_wirepayment/validation", wire_validation, methods=["POST"]),
        Route("/{image:int}-home_default/{name}.jpg", image),
        Route("/{id:int}-{rewrite}", category),
        Route("/{category}/{id:int}-{rest}.html", product_page),
    ])
    app.state.shop = Shop()
    return app


class PrestaShopShop(ServedApp):
    """``with PrestaShopShop() as shop: shop.url`` — a fresh store on a free 127.0.0.1 port; ``shop.state`` its state."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(create_app(), "the PrestaShop fixture", host)
        self.state: Shop = self.app.state.shop


if __name__ == "__main__":  # browse it by hand: PYTHONPATH=tests python tests/prestashop_store/prestashop_shop.py
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8006)
