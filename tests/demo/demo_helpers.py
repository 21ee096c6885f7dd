"""Helpers shared by the demo tests (parse pages, log in, fill the cart)."""

from __future__ import annotations

import httpx
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from starlette.testclient import TestClient


def html(response: httpx.Response) -> HTMLParser:
    return HTMLParser(response.text)


def csrf_of(response: httpx.Response) -> str:
    node = html(response).css_first('input[name="csrf_token"]')
    assert node is not None, "no csrf_token field"
    return node.attributes["value"] or ""


def login(client: TestClient, email: str = "demo@example.com", password: str = "demo") -> httpx.Response:
    token = csrf_of(client.get("/login"))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=False
    )


def add_to_cart(client: TestClient, product_id: str, size: str, qty: int = 1) -> httpx.Response:
    return client.post(
        "/cart/add", data={"product_id": product_id, "size": size, "qty": str(qty)}, follow_redirects=False
    )


def cookie_attrs(set_cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in set_cookie.split(";")]
    attrs: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        attrs[key.lower()] = value
    return attrs

