"""Fjell Outdoor: a small server-rendered shop for tests, deliberately unlike the demo store.

Slotwise has to be configurable for stores that give a proxy no help: no
``data-*`` attributes, no JSON-LD, ids only in URLs, option values and Open
Graph tags, prices as European text ("59,90 €"), sizes as child products with
ids of their own, a CSRF token in the forms, a multi-step checkout and GA4
``dataLayer`` pushes. README.md next to this file is the markup contract.
State lives in memory per app, so every ``OutdoorShop()`` starts clean.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import uvicorn
from itsdangerous import BadSignature, Signer
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from served_app import ServedApp  # tests/served_app.py

HERE = Path(__file__).parent
COOKIE = "fjell_sid"
CURRENCY = "EUR"
MAX_QTY = 10
EXPIRED = "Your session expired. Please try again."
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


# ---------------------------------------------------------------- catalog (fixed)


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    slug: str

    @property
    def url(self) -> str:
        return f"/shop/category/{self.slug}-{self.id}/"


@dataclass(frozen=True)
class Variant:
    """A size: a child product with its own id and stock (no page of its own)."""

    id: int
    label: str
    stock: int


@dataclass(frozen=True)
class Product:
    id: int
    slug: str
    name: str
    category: Category
    price: int  # cents
    own_stock: int = 0  # products without sizes only
    variants: tuple[Variant, ...] = ()

    @property
    def url(self) -> str:
        return f"/shop/product/{self.id}-{self.slug}/"

    @property
    def stock(self) -> int:
        return sum(v.stock for v in self.variants) if self.variants else self.own_stock


def _sizes(first_id: int, labels: str, stocks: tuple[int, ...]) -> tuple[Variant, ...]:
    pairs = zip(labels.split(), stocks, strict=True)
    return tuple(Variant(first_id + i, label, n) for i, (label, n) in enumerate(pairs))


CATEGORIES = (
    Category(1, "Jackets", "jackets"),
    Category(3, "Trail Shoes", "trail-shoes"),
    Category(4, "Base Layers", "base-layers"),
    Category(7, "Backpacks", "backpacks"),
    Category(9, "Socks", "socks"),
)
_CAT = {c.id: c for c in CATEGORIES}
# id, slug, name, category id, price in cents, stock (no sizes) or sizes
_ROWS: tuple[tuple[int, str, str, int, int, int | tuple[Variant, ...]], ...] = (
    (1001, "nordkapp-shell-jacket", "Nordkapp Shell Jacket", 1, 24900, _sizes(2001, "S M L XL", (3, 0, 5, 2))),
    (1002, "fonna-down-jacket", "Fonna Down Jacket", 1, 18990, _sizes(2005, "S M L XL", (0, 0, 0, 0))),
    (1003, "lyngen-rain-jacket", "Lyngen Rain Jacket", 1, 12990, _sizes(2020, "S M L XL", (4, 6, 6, 2))),
    (1004, "senja-fleece-jacket", "Senja Fleece Jacket", 1, 7990, _sizes(2024, "S M L XL", (2, 4, 4, 0))),
    (1005, "ridge-runner", "Ridge Runner", 3, 11900, _sizes(2010, "41 42 43 44", (2, 3, 0, 3))),
    (1006, "scree-grip", "Scree Grip", 3, 13900, _sizes(2028, "40 41 42 43 44 45", (1, 2, 2, 3, 1, 0))),
    (1007, "fjord-trail-lite", "Fjord Trail Lite", 3, 9900, _sizes(2034, "40 41 42 43 44", (3, 3, 4, 2, 2))),
    (1008, "tind-approach", "Tind Approach", 3, 14900, _sizes(2039, "40 41 42 43 44 45", (1, 1, 2, 2, 1, 1))),
    (1009, "merino-150-crew", "Merino 150 Crew", 4, 6990, _sizes(2045, "S M L XL", (5, 8, 8, 3))),
    (1010, "merino-250-zip", "Merino 250 Zip", 4, 8990, _sizes(2049, "S M L XL", (2, 0, 3, 1))),
    (1011, "merino-leggings", "Merino Leggings", 4, 5990, _sizes(2053, "S M L XL", (4, 4, 4, 4))),
    (1012, "synthetic-trail-tee", "Synthetic Trail Tee", 4, 3490, _sizes(2057, "S M L XL", (6, 6, 6, 6))),
    (1013, "hytte-daypack-22", "Hytte Daypack 22", 7, 7900, 12),
    (1014, "fjellsekk-38", "Fjellsekk 38", 7, 14900, 5),
    (1015, "turbo-running-vest-12", "Turbo Running Vest 12", 7, 10900, 0),
    (1016, "expedition-65", "Expedition 65", 7, 24900, 3),
    (1017, "hiking-sock", "Hiking Sock", 9, 1990, _sizes(2061, "36-38 39-42 43-46", (10, 12, 0))),
    (1018, "trail-running-sock", "Trail Running Sock", 9, 1490, _sizes(2064, "36-38 39-42 43-46", (6, 9, 7))),
    (1019, "liner-sock-2-pack", "Liner Sock 2-pack", 9, 1290, 20),
    (1020, "expedition-sock", "Expedition Sock", 9, 2490, 8),
)
PRODUCTS = {
    pid: Product(pid, slug, name, _CAT[cat], price, *((s, ()) if isinstance(s, int) else (0, s)))
    for pid, slug, name, cat, price, s in _ROWS
}
CHILDREN = {v.id: (p, v) for p in PRODUCTS.values() for v in p.variants}
SKUS: dict[int, tuple[Product, Variant | None]] = {**{pid: (p, None) for pid, p in PRODUCTS.items()}, **CHILDREN}
BESTSELLERS = (1005, 1001, 1013, 1009, 1017, 1003)
SHIPPING = {  # code: (label, cents)
    "standard": ("Standard delivery (2-4 working days)", 490),
    "express": ("Express delivery (next working day)", 1290),
    "pickup": ("Click & collect in our Innsbruck store", 0),
}


def in_category(category: Category) -> list[Product]:
    return [p for p in PRODUCTS.values() if p.category == category]


def also_bought(product: Product) -> list[Product]:
    """Four fixed neighbours: same category first, then the rest by id."""
    others = (p for p in PRODUCTS.values() if p != product)
    return sorted(others, key=lambda p: (p.category != product.category, p.id))[:4]


# ---------------------------------------------------------------- state (in memory)


@dataclass
class Customer:
    email: str
    name: str
    password_hash: bytes


@dataclass(frozen=True)
class Line:
    product: Product
    variant: Variant | None
    qty: int

    @property
    def sku(self) -> int:
        return self.variant.id if self.variant else self.product.id

    @property
    def href(self) -> str:
        return f"{self.product.url}?variant={self.variant.id}" if self.variant else self.product.url

    @property
    def total(self) -> int:
        return self.product.price * self.qty


@dataclass(frozen=True)
class Order:
    number: str
    name: str
    email: str
    customer: str | None
    lines: tuple[Line, ...]
    shipping: str

    @property
    def subtotal(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def shipping_cost(self) -> int:
        return SHIPPING[self.shipping][1]

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping_cost


@dataclass
class Session:
    sid: str
    basket: dict[int, int] = field(default_factory=dict)  # sku (child or product id) -> quantity, in order added
    flashes: list[tuple[str, str]] = field(default_factory=list)  # ("ok" | "error", text) for the next page
    events: list[dict[str, Any]] = field(default_factory=list)  # dataLayer pushes for the next page
    customer: str | None = None  # e-mail of the logged-in customer
    contact: dict[str, str] | None = None  # checkout step 1
    shipping: str | None = None  # checkout step 2
    last_order: str | None = None


class Shop:
    """Everything that changes: sessions, customers, orders, newsletter subscribers."""

    def __init__(self) -> None:
        self.signer = Signer(secrets.token_bytes(32), salt="fjell-form-token")
        self.sessions: dict[str, Session] = {}
        self.customers: dict[str, Customer] = {}
        self.orders: list[Order] = []
        self.subscribers: list[str] = []
        self.register("jane@example.com", "Jane Fjell", "fjell-pass-1")

    def register(self, email: str, name: str, password: str) -> Customer:
        customer = Customer(email, name, _hash(email, password))
        self.customers[email] = customer
        return customer

    def authenticate(self, email: str, password: str) -> Customer | None:
        customer = self.customers.get(email.strip().lower())
        ok = customer is not None and secrets.compare_digest(customer.password_hash, _hash(customer.email, password))
        return customer if ok else None


def _hash(email: str, password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), email.encode(), 1000)


def lines_of(session: Session | None) -> list[Line]:
    return [Line(*SKUS[sku], qty) for sku, qty in session.basket.items()] if session else []


def try_add(session: Session | None, sku: int | None, qty: int | None) -> Line | str:
    """The line to add, or the customer-facing reason it cannot be added."""
    found = SKUS.get(sku) if sku is not None else None
    if found is None:
        return "Sorry, we could not find that product."
    product, variant = found
    if product.variants and variant is None:
        return "Please choose your size."
    if qty is None or not 1 <= qty <= MAX_QTY:
        return f"Please enter a quantity from 1 to {MAX_QTY}."
    stock = variant.stock if variant else product.own_stock
    if stock == 0:
        return f"Size {variant.label} is sold out." if variant else f"Sorry, {product.name} is sold out."
    if (session.basket.get(sku, 0) if session else 0) + qty > stock:
        return f"Sorry, only {stock} left in stock."
    return Line(product, variant, qty)


# ---------------------------------------------------------------- formatting and analytics


def eur(cents: int) -> str:
    """European price text: 1.249,00 € (dot thousands, decimal comma, symbol after)."""
    whole, rest = divmod(cents, 100)
    return f"{whole:,}".replace(",", ".") + f",{rest:02d} €"


def amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def ga_item(line: Line) -> dict[str, Any]:
    item: dict[str, Any] = {"item_id": str(line.product.id), "item_name": line.product.name,
                            "item_category": line.product.category.name}
    if line.variant:
        item["item_variant"] = line.variant.label
    item.update(price=line.product.price / 100, quantity=line.qty)
    return item


def ga_event(event: str, lines: list[Line], **extra: Any) -> dict[str, Any]:
    value = extra.pop("value", sum(line.total for line in lines))
    ecommerce = {**extra, "currency": CURRENCY, "value": value / 100, "items": [ga_item(line) for line in lines]}
    return {"event": event, "ecommerce": ecommerce}


def view_item(product: Product) -> dict[str, Any]:
    item = {"item_id": str(product.id), "item_name": product.name, "item_category": product.category.name,
            "price": product.price / 100}
    return {"event": "view_item", "ecommerce": {"currency": CURRENCY, "value": product.price / 100, "items": [item]}}


def purchase(order: Order) -> dict[str, Any]:
    return ga_event("purchase", list(order.lines), transaction_id=order.number, value=order.total,
                    shipping=order.shipping_cost / 100)


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
ENV.filters.update(eur=eur, amount=amount)
ENV.policies["json.dumps_kwargs"] = {"sort_keys": False}


# ---------------------------------------------------------------- sessions, tokens, responses


def shop_of(request: Request) -> Shop:
    shop: Shop = request.app.state.shop
    return shop


def current(request: Request) -> Session | None:
    """The visitor's session if it exists; never creates one (browsing sets no cookie)."""
    if not hasattr(request.state, "session"):
        sid = request.cookies.get(COOKIE)
        request.state.session = shop_of(request).sessions.get(sid) if sid else None
    session: Session | None = request.state.session
    return session


def ensure(request: Request) -> Session:
    """The session, created (and its cookie set by ``finish``) when the basket or a form is used."""
    session = current(request)
    if session is None:
        session = Session(secrets.token_urlsafe(24))
        shop_of(request).sessions[session.sid] = session
        request.state.session = request.state.new_session = session
    return session


def finish(request: Request, response: Response) -> Response:
    new: Session | None = getattr(request.state, "new_session", None)
    if new is not None:
        response.set_cookie(COOKIE, new.sid, httponly=True, samesite="lax", path="/")
    return response


def token_for(request: Request) -> str:
    """Form token bound to the session (or to "no session yet"), so a token from another session fails."""
    session = current(request)
    return shop_of(request).signer.sign(session.sid if session else "-").decode()


def token_ok(request: Request, form: FormData) -> bool:
    """Check before ``ensure``: the token was issued to the session the request came with."""
    session = current(request)
    try:
        return shop_of(request).signer.unsign(str(form.get("token", ""))).decode() == (session.sid if session else "-")
    except BadSignature:
        return False


def redirect(request: Request, url: str, status: int = 303) -> Response:
    return finish(request, RedirectResponse(url, status_code=status))


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """An HTML page with the header state; takes the session's flashes and pending dataLayer pushes."""
    session = current(request)
    flashes, events = (session.flashes, session.events) if session else ([], [])
    pushes = [*events, *context.pop("pushes", [])]
    html = ENV.get_template(template).render(
        categories=CATEGORIES, logged_in=bool(session and session.customer), mini=minicart(session),
        token=token_for(request), flashes=list(flashes), pushes=pushes, path=request.url.path, **context)
    flashes.clear()
    events.clear()
    response = HTMLResponse(html, status)
    response.headers["cache-control"] = "private, no-cache"
    return finish(request, response)


def minicart(session: Session | None) -> dict[str, Any]:
    lines = lines_of(session)
    return {"lines": lines, "count": sum(line.qty for line in lines), "total": sum(line.total for line in lines)}


def absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdecimal() else None


def safe_back(value: str) -> str:
    """Only the path (and query) of where to go back to: never another host."""
    parts = urlsplit(value)
    return (parts.path + (f"?{parts.query}" if parts.query else "")) if parts.path.startswith("/") else "/"


# ---------------------------------------------------------------- browsing


async def home(request: Request) -> Response:
    return page(request, "home.html", bestsellers=[PRODUCTS[i] for i in BESTSELLERS])


async def category(request: Request) -> Response:
    match = re.fullmatch(r"(.*)-(\d+)", request.path_params["key"])
    found = _CAT.get(int(match.group(2))) if match else None
    if found is None:
        raise HTTPException(404)
    if request.url.path != found.url:
        return redirect(request, found.url, 301)
    return page(request, "category.html", category=found, products=in_category(found),
                canonical=absolute(request, found.url))


async def product(request: Request) -> Response:
    match = re.fullmatch(r"(\d+)(?:-.*)?", request.path_params["key"])
    pid = int(match.group(1)) if match else 0
    if pid in CHILDREN:
        return redirect(request, f"{CHILDREN[pid][0].url}?variant={pid}", 301)
    found = PRODUCTS.get(pid)
    if found is None:
        raise HTTPException(404)
    if request.url.path != found.url:
        return redirect(request, found.url + (f"?{request.url.query}" if request.url.query else ""), 301)
    wanted = as_int(request.query_params.get("variant", ""))
    selected = next((v.id for v in found.variants if v.id == wanted and v.stock), None)
    return page(request, "product.html", product=found, selected=selected, also=also_bought(found),
                canonical=absolute(request, found.url), image=absolute(request, f"/static/img/{found.id}.svg"),
                pushes=[view_item(found)])


# ---------------------------------------------------------------- basket


async def basket(request: Request) -> Response:
    return page(request, "basket.html")


async def basket_add(request: Request) -> Response:
    form = await request.form()
    valid = token_ok(request, form)
    session = ensure(request)
    pid, variant = as_int(form.get("product", "")), str(form.get("variant", "")).strip()
    parent = PRODUCTS.get(pid) if pid is not None else None
    sku = as_int(variant) if variant else pid
    found = SKUS.get(sku) if sku is not None else None
    if variant and parent and (found is None or found[0] != parent):
        sku = None  # a size of another product
    owner = parent or (found[0] if found else None)
    back = owner.url if owner else "/"
    result = try_add(session, sku, as_int(form.get("quantity", "1"))) if valid else EXPIRED
    if isinstance(result, str):
        session.flashes.append(("error", result))
        return redirect(request, back)
    session.basket[result.sku] = session.basket.get(result.sku, 0) + result.qty
    size = f" (Size: {result.variant.label})" if result.variant else ""
    session.flashes.append(("ok", f"{result.product.name}{size} was added to your basket."))
    session.events.append(ga_event("add_to_cart", [result]))
    return redirect(request, "/basket/")


async def api_add(request: Request) -> Response:
    """The quick-add button's fetch(): JSON in, JSON out; the session is created only on success."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse({"error": "Expected a JSON object."}, 422)
    result = try_add(current(request), as_int(body.get("product")), as_int(body.get("quantity", 1)))
    if isinstance(result, str):
        return JSONResponse({"error": result}, 422)
    session = ensure(request)
    session.basket[result.sku] = session.basket.get(result.sku, 0) + result.qty
    mini = minicart(session)
    return finish(request, JSONResponse({
        "count": mini["count"], "total": eur(mini["total"]),
        "line": {"product": result.product.id, "variant": result.variant.id if result.variant else None,
                 "size": result.variant.label if result.variant else None, "quantity": result.qty},
        "minicart": ENV.get_template("_minicart.html").render(mini=mini),
        "analytics": ga_event("add_to_cart", [result]),
    }, 201))


async def basket_remove(request: Request) -> Response:
    form = await request.form()
    valid = token_ok(request, form)
    session = ensure(request)
    sku = as_int(form.get("line", ""))
    if not valid or sku is None or sku not in session.basket:
        session.flashes.append(("error", "That line could not be removed. Please try again."))
    else:
        del session.basket[sku]
        session.flashes.append(("ok", f"{SKUS[sku][0].name} was removed from your basket."))
    return redirect(request, "/basket/")


# ---------------------------------------------------------------- checkout


def _checkout_gate(request: Request, step: int) -> Response | Session:
    """The session if the earlier steps are done, else a redirect to the first missing one."""
    session = current(request)
    if session is None or not session.basket:
        if session:
            session.flashes.append(("error", "Your basket is empty."))
        return redirect(request, "/basket/")
    if step >= 2 and session.contact is None:
        return redirect(request, "/checkout/")
    if step >= 3 and session.shipping is None:
        return redirect(request, "/checkout/delivery/")
    return session


async def checkout_contact(request: Request) -> Response:
    gate = _checkout_gate(request, 1)
    if not isinstance(gate, Session):
        return gate
    session, customer = gate, shop_of(request).customers.get(gate.customer or "")
    values = {"email": "", "name": customer.name if customer else "", **(session.contact or {})}
    if request.method == "GET":
        return page(request, "checkout_contact.html", values=values, guest=customer is None, error=None,
                    pushes=[ga_event("begin_checkout", lines_of(session))])
    form = await request.form()
    values = {"email": customer.email if customer else str(form.get("email", "")).strip().lower(),
              "name": str(form.get("name", "")).strip()}
    error = (EXPIRED if not token_ok(request, form)
             else "Please enter a valid e-mail address." if not EMAIL.fullmatch(values["email"])
             else "Please enter your name." if not values["name"] else None)
    if error:
        return page(request, "checkout_contact.html", values={**values, "email": "" if customer else values["email"]},
                    guest=customer is None, error=error)
    session.contact = values
    return redirect(request, "/checkout/delivery/")


async def checkout_delivery(request: Request) -> Response:
    gate = _checkout_gate(request, 2)
    if not isinstance(gate, Session):
        return gate
    session, error = gate, None
    if request.method == "POST":
        form = await request.form()
        choice = str(form.get("shipping", ""))
        error = EXPIRED if not token_ok(request, form) else None if choice in SHIPPING else "Please choose a delivery."
        if error is None:
            session.shipping = choice
            return redirect(request, "/checkout/review/")
    chosen = session.shipping or "standard"
    return page(request, "checkout_delivery.html", options=SHIPPING, chosen=chosen, error=error)


async def checkout_review(request: Request) -> Response:
    gate = _checkout_gate(request, 3)
    if not isinstance(gate, Session):
        return gate
    session, shop = gate, shop_of(request)
    assert session.contact is not None and session.shipping is not None
    draft = Order("", session.contact["name"], session.contact["email"], session.customer,
                  tuple(lines_of(session)), session.shipping)
    if request.method == "POST":
        form = await request.form()
        if not token_ok(request, form):
            return page(request, "checkout_review.html", order=draft, options=SHIPPING, error=EXPIRED)
        order = replace(draft, number=f"FJ-{10001 + len(shop.orders)}")
        shop.orders.append(order)
        session.basket.clear()
        session.contact = session.shipping = None
        session.last_order = order.number
        return redirect(request, "/checkout/thanks/")
    return page(request, "checkout_review.html", order=draft, options=SHIPPING, error=None)


async def checkout_thanks(request: Request) -> Response:
    """The session's last order, the same on every reload (with the purchase push every time)."""
    session = current(request)
    order = next((o for o in shop_of(request).orders if session and o.number == session.last_order), None)
    if order is None:
        return redirect(request, "/basket/")
    return page(request, "checkout_thanks.html", order=order, pushes=[purchase(order)])


# ---------------------------------------------------------------- accounts and newsletter


async def login(request: Request) -> Response:
    if request.method == "GET":
        return page(request, "login.html", username="", error=None)
    form = await request.form()
    valid = token_ok(request, form)
    session = ensure(request)
    username = str(form.get("username", "")).strip()
    customer = shop_of(request).authenticate(username, str(form.get("password", ""))) if valid else None
    if customer is None:
        error = "Wrong e-mail address or password." if valid else EXPIRED
        return page(request, "login.html", username=username, error=error)
    session.customer = customer.email
    session.flashes.append(("ok", f"Welcome back, {customer.name}."))
    return redirect(request, "/account/")


async def register(request: Request) -> Response:
    values = {"email": "", "name": ""}
    if request.method == "GET":
        return page(request, "register.html", values=values, error=None)
    form = await request.form()
    valid = token_ok(request, form)
    session, shop = ensure(request), shop_of(request)
    values = {"email": str(form.get("email", "")).strip().lower(), "name": str(form.get("name", "")).strip()}
    password = str(form.get("password", ""))
    error = (EXPIRED if not valid
             else "Please enter a valid e-mail address." if not EMAIL.fullmatch(values["email"])
             else "There is already an account for this e-mail address." if values["email"] in shop.customers
             else "Please enter your name." if not values["name"]
             else "Your password needs at least 8 characters." if len(password) < 8 else None)
    if error:
        return page(request, "register.html", values=values, error=error)
    session.customer = shop.register(values["email"], values["name"], password).email
    session.flashes.append(("ok", "Your account has been created."))
    return redirect(request, "/account/")


async def logout(request: Request) -> Response:
    form = await request.form()
    valid = token_ok(request, form)
    session = ensure(request)
    if not valid:
        session.flashes.append(("error", EXPIRED))
        return redirect(request, "/account/")
    session.customer = None
    session.flashes.append(("ok", "You have been signed out."))
    return redirect(request, "/")


async def account(request: Request) -> Response:
    session = current(request)
    customer = shop_of(request).customers.get(session.customer) if session and session.customer else None
    if customer is None:
        return redirect(request, "/account/login/", 302)
    orders = [o for o in shop_of(request).orders if o.customer == customer.email]
    return page(request, "account.html", customer=customer, orders=orders)


async def newsletter(request: Request) -> Response:
    form = await request.form()
    session = ensure(request)
    email = str(form.get("email", "")).strip().lower()
    if EMAIL.fullmatch(email):
        shop_of(request).subscribers.append(email)
        session.flashes.append(("ok", "Thanks! You are now subscribed to our newsletter."))
    else:
        session.flashes.append(("error", "Please enter a valid e-mail address."))
    return redirect(request, safe_back(str(form.get("next", "")) or request.headers.get("referer", "/")))


# ---------------------------------------------------------------- static, health, errors

_PALETTE = ("#2f5d50", "#8c3b2e", "#3b5b8c", "#a0772b", "#5b3b8c", "#2e7f8c")
_CSS = (HERE / "static" / "site.css").read_text()


async def image(request: Request) -> Response:
    """A tiny generated SVG per category or product id (so no image files are needed)."""
    match = re.fullmatch(r"(\d+)\.svg", request.path_params["name"])
    key = int(match.group(1)) if match else 0
    name = PRODUCTS[key].name if key in PRODUCTS else _CAT[key].name if key in _CAT else None
    if name is None:
        raise HTTPException(404)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240" viewBox="0 0 240 240">'
           f'<rect width="240" height="240" fill="{_PALETTE[key % len(_PALETTE)]}"/>'
           f'<text x="120" y="135" font-family="sans-serif" font-size="48" fill="#fff" text-anchor="middle">'
           f"{name[0]}</text></svg>")
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})


async def stylesheet(request: Request) -> Response:
    return Response(_CSS, media_type="text/css", headers={"cache-control": "public, max-age=86400"})


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    title = {404: "Page not found", 405: "Method not allowed"}.get(status, "Something went wrong")
    response = page(request, "error.html", status, title=title)
    response.headers.update(getattr(exc, "headers", None) or {})  # Allow on 405
    return response


def create_app() -> Starlette:
    """A fresh store: own sessions, customers (Jane seeded), orders."""
    routes = [
        Route("/", home),
        Route("/shop/category/{key}/", category),
        Route("/shop/product/{key}/", product),
        Route("/basket/", basket),
        Route("/basket/add/", basket_add, methods=["POST"]),
        Route("/basket/remove/", basket_remove, methods=["POST"]),
        Route("/api/basket/lines", api_add, methods=["POST"]),
        Route("/checkout/", checkout_contact, methods=["GET", "POST"]),
        Route("/checkout/delivery/", checkout_delivery, methods=["GET", "POST"]),
        Route("/checkout/review/", checkout_review, methods=["GET", "POST"]),
        Route("/checkout/thanks/", checkout_thanks),
        Route("/account/", account),
        Route("/account/login/", login, methods=["GET", "POST"]),
        Route("/account/register/", register, methods=["GET", "POST"]),
        Route("/account/logout/", logout, methods=["POST"]),
        Route("/newsletter/", newsletter, methods=["POST"]),
        Route("/static/img/{name}", image),
        Route("/static/site.css", stylesheet),
        Route("/healthz", healthz),
    ]
    app = Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})
    app.state.shop = Shop()
    return app


# ---------------------------------------------------------------- serving it in tests


class OutdoorShop(ServedApp):
    """A fresh store on a free 127.0.0.1 port in a background thread: ``with OutdoorShop() as shop: shop.url``.

    ``shop.state`` is the app's in-memory state (orders, sessions) for assertions.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(create_app(), "Fjell Outdoor", host)
        self.state: Shop = self.app.state.shop


if __name__ == "__main__":  # browse it by hand: PYTHONPATH=tests python tests/fixture_store/outdoor_shop.py
    uvicorn.run(create_app(), host="127.0.0.1", port=8002)
