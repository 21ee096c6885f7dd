"""``POST /_sw/orders``: the store's server tells Slotwise about an order (a webhook).

For stores that can send order webhooks (most platforms can): trusted like an
import, so it links and merges the person's identities, and it rewards the
decisions the person saw on any of their devices. Signed with a shared secret
(``--order-secret``): ``X-Slotwise-Signature: sha256=<hex HMAC-SHA256 of the
raw body>``. Idempotent by order id: a retried or duplicated webhook, or an
order the proxy already read from the confirmation page, is stored once.

With ``capture.orders`` in the rules (``rules/order_mapping.py``) the body is
the platform's own order (Shopify's, WooCommerce's), signed its way, read
through the mapping into the same ``Order``; a body without an order id is a
platform's ping: 200, nothing stored, so the platform keeps the webhook on; so
is an order its ``skip`` names (Shopify's test notification, ``test: true``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import datetime, timezone
from typing import Annotated, Any, Callable, Literal, Mapping
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from slotwise.profile import hash_email
from slotwise.rules.order_mapping import SLOTWISE_SIGNATURE, MappedOrder, OrderMapping
from slotwise.store.base import Store
from slotwise.store.outage import is_outage
from slotwise.tag import jsonbody
from slotwise.tag.events import Currency, Email, Line, Price, Text, parse_event
from slotwise.tag.jsonbody import BadJSON
from slotwise.tag.recorder import EventRecorder, Incoming

log = logging.getLogger("slotwise.tag")

MAX_BODY = 256 * 1024
MAX_VISITORS = 20  # devices of the person whose decisions an order may reward
MAX_PING = 1024
"""The longest unsigned body read for a ping (WooCommerce pings a new webhook unsigned: ``webhook_id=12``)."""


class Order(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    order_id: Text
    customer_id: Text | None = None
    email: Email | None = None
    lines: Annotated[list[Line], Field(min_length=1, max_length=500)]
    total: Price | None = None
    currency: Currency | None = None  # read as an event's (``events.read_currency``): ``£`` is GBP
    coupon: Annotated[str, Field(max_length=64)] | None = None  # the code redeemed ("": none; absent: not said)
    discount: Price | None = None  # what it took off (the margin goal's cost)
    ts: float | str | None = None
    channel: Literal["online", "store"] = "online"

    @model_validator(mode="after")
    def _someone(self) -> "Order":
        if not self.customer_id and not self.email:
            raise ValueError("an order needs customer_id or email (who bought it)")
        return self

    def time(self, now: float) -> float:
        if self.ts is None:
            return now
        if isinstance(self.ts, (int, float)):
            value = float(self.ts)
        else:
            try:
                parsed = datetime.fromisoformat(self.ts.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"ts {self.ts!r} is not an ISO 8601 date-time") from None
            value = (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
        if not math.isfinite(value) or value > now + 60:
            raise ValueError(f"ts {self.ts!r} is not a time up to now")
        return value


def _field(loc: Any, raw: Any) -> str:
    """The field a validation error is about; the order as a whole is about who bought it (or not an object)."""
    path = ".".join(str(p) for p in loc)
    if path:
        return path
    return "customer_id" if isinstance(raw, dict) else "body"


def _detail(error: Mapping[str, Any], raw: Any, mapped: MappedOrder | None) -> dict[str, str]:
    """One validation error: the order's field, and with a mapping the key path it was read from."""
    loc = tuple(error["loc"])
    if mapped is None:
        return {"field": _field(loc, raw), "reason": error["msg"]}
    out = {"field": mapped.field(loc) or _field(loc, raw), "reason": error["msg"]}
    path = mapped.source(loc)
    return {**out, "path": path} if path else out


def _unprocessable(detail: list[dict[str, str]]) -> JSONResponse:
    return JSONResponse({"error": "not an order", "detail": detail}, status_code=422)


def signature(secret: str, body: bytes) -> str:
    """The fixed shape's ``X-Slotwise-Signature`` of ``body``."""
    return SLOTWISE_SIGNATURE.of(secret, body)


def _document(body: bytes, mapping: OrderMapping | None) -> Any:
    """The body as JSON; with a mapping, a form-encoded body (a platform's ping) as its fields."""
    try:
        return jsonbody.loads(body)
    except BadJSON:
        if mapping is None:
            raise
        try:
            return dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise BadJSON("not JSON, nor a form") from None


def _ping(body: bytes, mapping: OrderMapping | None) -> str | None:
    """Why an unsigned body is answered 200: a short one that names no order (a ping stores nothing)."""
    if mapping is None or len(body) > MAX_PING:
        return None
    try:
        document = _document(body, mapping)
    except BadJSON:
        return None
    return mapping.no_order(document) if isinstance(document, Mapping) else None


def _stored_nothing(why: str) -> JSONResponse:
    return JSONResponse({"stored": False, "why": why})


class OrderWebhook:
    def __init__(self, store: Store, recorder: EventRecorder, secret: Callable[[], str],
                 now: Callable[[], float] = time.time,
                 mapping: Callable[[], OrderMapping | None] = lambda: None) -> None:
        """``mapping``: the current rules' ``capture.orders`` (None: the fixed shape)."""
        self.store = store
        self.recorder = recorder
        self.secret = secret
        self.now = now
        self.mapping = mapping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI: Starlette runs an object (unlike a function or a method) that a route names as an app."""
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """The answer to one webhook: 200 (stored or a duplicate), 401, 404, 413, 422 naming the field, 503."""
        secret = self.secret()
        if not secret:
            return JSONResponse({"error": "order webhooks are off (set --order-secret)"}, status_code=404)
        try:  # before the signature: anyone may send this endpoint a body
            body = await jsonbody.read_limited(request, MAX_BODY)
        except jsonbody.TooLarge:
            return JSONResponse({"error": f"the body is larger than {MAX_BODY} bytes"}, status_code=413)
        mapping = self.mapping()
        signed = mapping.signature if mapping is not None else SLOTWISE_SIGNATURE
        if not signed.holds(secret, body, request.headers.get(signed.header, "")):
            why = _ping(body, mapping)
            if why is not None:
                return _stored_nothing(why)
            return JSONResponse({"error": f"bad or missing {signed.header} ({signed.describe()})"}, status_code=401)
        now = self.now()
        try:
            raw = _document(body, mapping)
        except BadJSON as exc:
            return _unprocessable([{"field": "body", "reason": str(exc)}])
        mapped = None
        if mapping is not None and isinstance(raw, Mapping):
            why = mapping.no_order(raw) or mapping.skipped(raw)
            if why is not None:
                return _stored_nothing(why)
            mapped = mapping.read(raw)
            if mapped.problems:
                return _unprocessable(mapped.problems)
            raw = mapped.order
        try:
            order = Order.model_validate(raw)
        except ValidationError as exc:
            return _unprocessable([_detail(e, raw, mapped) for e in exc.errors(include_url=False)])
        try:
            ts = order.time(now)
        except (ValueError, OverflowError) as exc:
            return _unprocessable([_detail({"loc": ("ts",), "msg": str(exc)}, raw, mapped)])
        try:
            stored = await self.record(order, ts, now)
        except Exception as exc:
            if not is_outage(exc):  # an outage is logged once, by the store
                log.exception("storing order %s failed", order.order_id)
            return JSONResponse({"error": "the order could not be stored; retry"}, status_code=503,
                                headers={"retry-after": "5"})
        return JSONResponse({"order_id": order.order_id, "stored": stored, "duplicate": not stored})

    async def record(self, order: Order, ts: float, now: float) -> bool:
        aliases = [a for a in (f"customer:{order.customer_id}" if order.customer_id else None,
                               f"email:{hash_email(order.email)}" if order.email else None) if a]
        for alias in aliases:  # the store's own word: a trusted link (merges the person's profiles)
            await self.store.link_identity(aliases[0], alias, now, merge=True)
        profile = await self.store.get_profile(aliases[0])
        visitors = list(dict.fromkeys(profile.anonymous_ids if profile else []))[-MAX_VISITORS:]
        props: dict[str, Any] = {"order_id": order.order_id, "lines": [line.model_dump() for line in order.lines]}
        if order.total is not None:
            props["total"] = order.total
        if order.currency:
            props["currency"] = order.currency
        if order.coupon is not None:
            props["coupon"] = order.coupon
            if order.coupon and order.discount is not None:
                props["discount"] = order.discount
        event, errors = parse_event(0, {"type": "purchase", "event_id": hashlib.sha256(order.order_id.encode()).hexdigest()[:32],
                                        "ts": ts, "props": props})
        if event is None:  # validated above already; a model change would land here
            raise ValueError(f"order {order.order_id}: {errors}")
        added = await self.recorder.record(aliases[0], [Incoming(event, ts, f"order:{order.order_id}")], now,
                                           trusted=True, source="webhook", visitors=visitors,
                                           channel=order.channel)
        return bool(added and added[0])
