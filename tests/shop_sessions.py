"""Session plumbing the WooCommerce and Magento fixture stores share: the shop on the app's state, a
visitor's session by its cookie, one made when a page needs it, and a form value read as an integer.
Each store keeps its own ``Session`` (what it holds differs) and cookie name (``finish`` sets it)."""

from __future__ import annotations

import secrets
from typing import Any, Callable

from starlette.requests import Request


def shop_of(request: Request) -> Any:
    return request.app.state.shop


def session_of(request: Request, cookie: str) -> Any | None:
    """The session the request's ``cookie`` names, if the shop has it (browsing alone makes none)."""
    return shop_of(request).sessions.get(request.cookies.get(cookie, ""))


def ensure_session(request: Request, cookie: str, new: Callable[[str], Any], id_bytes: int = 16) -> Any:
    """The request's session, made (``new(sid)``) when it has none; kept on ``request.state`` for ``finish``."""
    session = session_of(request, cookie)
    if session is None:
        session = new(secrets.token_hex(id_bytes))
        shop_of(request).sessions[session.sid] = session
    request.state.session = session
    return session


def as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
