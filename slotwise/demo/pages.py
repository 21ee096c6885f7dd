"""What every HTML page shares: the app's services, the header state, rendering.

All handlers render through :func:`render`, so every page gets the category
nav, the cart count, the logged-in customer (``data-customer-id``), the
right content type and ``Cache-Control: no-cache`` (the header is
per-session, so no page may be served from a shared cache as-is).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from . import auth, cart as cart_store
from .auth import Customer
from .cart import Cart
from .catalog import Catalog
from .db import Database
from .session import get_session

STORE_NAME = "Fennel & Fox"
TEMPLATES = Path(__file__).parent / "templates"
HTML_CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class Demo:
    """The services one demo app instance works with (``app.state.demo``)."""

    db: Database
    catalog: Catalog
    secret: str
    templates: jinja2.Environment
    webhook_key: bytes | None = None  # Slotwise's sign-up webhook is accepted only when signed with it


def make_templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
    )


def demo_of(request: Request) -> Demo:
    return request.app.state.demo  # type: ignore[no-any-return]


def base_url(request: Request) -> str:
    """'http://host:port' as the client addressed us (no trailing slash)."""
    return str(request.base_url).rstrip("/")


def wants_json(request: Request) -> bool:
    """True for fetch()-style clients (the tag) that ask for JSON, not a page."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@dataclass(frozen=True)
class HeaderState:
    customer: Customer | None
    cart: Cart


def _header_state(conn: sqlite3.Connection, catalog: Catalog, session_id: str | None) -> HeaderState:
    return HeaderState(auth.customer_for_session(conn, session_id), cart_store.load(conn, catalog, session_id))


async def header_state(request: Request) -> HeaderState:
    demo = demo_of(request)
    return await demo.db.read(_header_state, demo.catalog, get_session(request).existing_id)


async def render(
    request: Request,
    template: str,
    page: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    state: HeaderState | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` as a full page with ``<body data-page=page>``."""
    demo = demo_of(request)
    state = state or await header_state(request)
    session_id = get_session(request).existing_id
    values: dict[str, Any] = {
        "store_name": STORE_NAME,
        "page": page,
        "categories": demo.catalog.categories,
        "customer": state.customer,
        "cart": state.cart,
        "cart_count": state.cart.count,
        "csrf_token": auth.csrf_token(demo.secret, session_id) if session_id else "",
        "errors_list": [],
    }
    values.update(context)
    html = demo.templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": HTML_CACHE_CONTROL, **(headers or {})})


async def error_page(request: Request, status_code: int, title: str, message: str) -> HTMLResponse:
    return await render(
        request, "error.html", "error", status_code=status_code, title=title, message=message, status=status_code
    )
