"""The demo storefront as an ASGI app: ``create_app(data_dir)``.

Everything a proxy test needs from a real shop lives behind these routes:
HTML pages following docs/conventions-demo-markup.md, a session cookie,
redirects (one with an absolute Location), static files with validators and
ranges, JSON, and a large streamed download.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import account_views, data_views, hooks, shop_views, stores
from .catalog import load_catalog
from .db import Database
from .images import write_images
from .pages import Demo, error_page, make_templates
from .session import SessionMiddleware

STATIC = Path(__file__).parent / "static"
DB_FILE = "demo.db"
IMAGES_DIR = "demo-img"

_TITLES = {404: "Page not found", 405: "Method not allowed"}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in _TITLES:
        title = _TITLES[exc.status_code]
        message = "We could not find that page." if exc.status_code == 404 else "That does not work here."
        response = await error_page(request, exc.status_code, title, message)
    else:
        response = await error_page(request, exc.status_code, "Something went wrong", str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def routes(images: Path) -> list[Route | Mount]:
    return [
        Route("/", shop_views.home, name="home"),
        Route("/c/{slug}", shop_views.category, name="category"),
        Route("/p/{product_id}", shop_views.product, name="product"),
        Route("/cart", shop_views.cart_page, name="cart"),
        Route("/cart/add", shop_views.cart_add, methods=["POST"], name="cart_add"),
        Route("/cart/update", shop_views.cart_update, methods=["POST"], name="cart_update"),
        Route("/cart/remove", shop_views.cart_remove, methods=["POST"], name="cart_remove"),
        Route("/checkout", shop_views.checkout, methods=["GET", "POST"], name="checkout"),
        Route("/order/{order_id}", shop_views.order, name="order"),
        Route("/login", account_views.login, methods=["GET", "POST"], name="login"),
        Route("/signup", account_views.signup, methods=["GET", "POST"], name="signup"),
        Route("/logout", account_views.logout, methods=["POST"], name="logout"),
        Route("/account", account_views.account, name="account"),
        Route("/newsletter", account_views.subscribe, methods=["POST"], name="newsletter"),
        Route("/api/cart", shop_views.api_cart, name="api_cart"),
        Route("/feed.json", data_views.feed_json, name="feed"),
        Route("/download/catalog.csv", data_views.catalog_csv, name="catalog_csv"),
        Route("/healthz", data_views.healthz, name="healthz"),
        Route("/hooks/slotwise", hooks.slotwise_signup, methods=["POST"], name="slotwise_hook"),
        Route("/stores", stores.stores_page, name="stores"),
        Route("/stores/choose", stores.choose_store, methods=["POST"], name="choose_store"),
        Mount("/static/img", StaticFiles(directory=images), name="images"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(
    data_dir: str | Path, *, cookie_domain: str | None = None, images_dir: str | Path | None = None,
    webhook_key: bytes | None = None,
) -> Starlette:
    """Build the demo store on ``data_dir`` (created if missing; DATA/demo.db, DATA/demo-img/).

    ``images_dir`` lets many short-lived stores (tests) share one set of
    generated product images instead of writing 54 files each. ``webhook_key``
    is the key Slotwise signs its sign-up webhook with (``/hooks/slotwise``,
    the newsletter coupons); without it that endpoint refuses everything.
    """
    data = Path(data_dir)
    db = Database(data / DB_FILE)
    db.initialize()
    catalog = load_catalog()
    images = Path(images_dir) if images_dir is not None else data / IMAGES_DIR
    write_images(catalog, images)
    secret = db.secret()
    app = Starlette(
        routes=routes(images),
        middleware=[Middleware(SessionMiddleware, secret=secret, cookie_domain=cookie_domain)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.demo = Demo(db=db, catalog=catalog, secret=secret, templates=make_templates(), webhook_key=webhook_key)
    return app
