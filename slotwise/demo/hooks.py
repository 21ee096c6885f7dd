"""``POST /hooks/slotwise``: Slotwise's sign-up webhook, as a store receives it.

Slotwise (``--webhook-url``) posts each person's first sign-up through its
popup: ``{"id", "type": "signup", "email", "coupon", "offer", ...}``, signed
``X-Slotwise-Signature: sha256=<HMAC-SHA256 of the body>`` and retried until
it gets a 2xx (so a repeat must change nothing). The store subscribes the
address and keeps the code with the offer's discount for checkout.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import coupons, newsletter
from .pages import demo_of

MAX_BODY = 16 * 1024
WEBHOOK_KEY_ENV = "DEMO_WEBHOOK_KEY"
"""The environment variable that gives ``python -m slotwise.demo`` the webhook's key."""


def _keep(conn: sqlite3.Connection, code: str, email: str, offer: str | None) -> bool:
    newsletter.subscribe(conn, email, None)
    return coupons.add(conn, code, email, offer)


async def slotwise_signup(request: Request) -> Response:
    demo = demo_of(request)
    body = await request.body()
    if demo.webhook_key is None or len(body) > MAX_BODY:
        return JSONResponse({"error": "not accepted here"}, status_code=403)
    if not coupons.signature_ok(body, request.headers.get("x-slotwise-signature"), demo.webhook_key):
        return JSONResponse({"error": "bad signature"}, status_code=401)
    try:
        message: Any = json.loads(body)
    except ValueError:
        return JSONResponse({"error": "not JSON"}, status_code=400)
    if not isinstance(message, dict) or message.get("type") != "signup":
        return JSONResponse({"ignored": True})  # another kind of message: nothing to do, and no retry
    code, email, offer = message.get("coupon"), message.get("email"), message.get("offer")
    if not isinstance(code, str) or not code.strip() or not isinstance(email, str):
        return JSONResponse({"error": "a sign-up needs 'coupon' and 'email'"}, status_code=400)
    new = await demo.db.write(_keep, code, email.strip().lower(), offer if isinstance(offer, str) else None)
    return JSONResponse({"coupon": coupons.normalize(code), "new": new})
