"""The ``capture`` section, compiled: where a store's own behaviour becomes Slotwise's events.

Pure: sources say whether they match a request or a page and turn what was
read (form fields, a page reading, a GA4 ``dataLayer`` push) into event
dicts ``{"type", "props"}`` that the tag API validates and stores like any
other event. The I/O around it — teeing a request body, reading the
response, writing the store — lives in ``slotwise.proxy.personalization.capture`` and
``slotwise.tag``. See docs/capture.md.
"""

from __future__ import annotations

import functools

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from slotwise.keys import store_key
from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.errors import Issue
from slotwise.rules.extract import Group, Values
from slotwise.rules.jsonld import _price
from slotwise.rules.order_mapping import OrderMapping
from slotwise.rules.pages import Headers, PageMatcher, PageRule, Query, normalize_query
from slotwise.rules.signed_identity import MAX_SIGNATURE, SignedIdentity
from slotwise.rules.product_facts import CURRENCY_CODES, currency_of

if TYPE_CHECKING:
    from slotwise.rules.answer_cart import AnswerCart

Expression = Callable[..., Any]

REQUEST_NAMES = frozenset({"form", "json", "query", "params", "headers", "response"})
"""Names a request source's ``fields`` and ``success`` expressions see."""

EVENT_TYPES = {"newsletter": "signup", "login": "identify"}
"""Capture event names that are stored as another event type (``logout`` is stored as nothing)."""

MAX_LINES = 200
_DIGITS = re.compile(r"-?\d+")


def stable_id(*parts: Any) -> str:
    """A short id that stays the same while the entry's definition does (tag triggers name it)."""
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Confirm:
    """On the visitor's next page, ``css`` must be present (or absent) for the event to count."""

    css: str
    present: bool = True

    def holds(self, tree: Any) -> bool:
        return (tree.css_first(self.css) is not None) == self.present

    def to_json(self) -> dict[str, Any]:
        return {"css": self.css, "present": self.present}


class Response:
    """``response`` in a request source's expressions."""

    __slots__ = ("status", "location", "headers", "json")

    def __init__(self, status: int, headers: Mapping[str, str], path: str = "/", json: Any = None) -> None:
        """``path``: the request's, against which a relative ``Location`` (``basket/``) resolves, as browsers do;
        ``json``: the answer's JSON body, when the proxy read it (a small JSON answer to a source that reads it)."""
        from urllib.parse import urljoin, urlsplit

        self.status = status
        self.json = _frozen(json) if isinstance(json, (dict, list)) else json  # None: not read
        self.headers = MappingProxyType({k.lower(): v for k, v in headers.items()})
        location = (self.headers.get("location") or "").strip()
        try:
            parts = urlsplit(urljoin(path, location)) if location else None
            self.location = parts.path + (f"?{parts.query}" if parts.query else "") if parts else ""
        except ValueError:
            self.location = ""

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def redirect(self) -> bool:
        return 300 <= self.status < 400


RESPONSE_FIELDS = (*Response.__slots__, "ok", "redirect")
"""What ``response`` offers, for the checker: ``response.statuss`` is a load error, not a success never met."""

READ_KEYS = ("form", "json", "query", "headers")
"""The parts of a request whose keys a source names; ``response`` names its headers' (``response.headers.x``)."""


@dataclass(frozen=True)
class RequestSeen:
    """What a request source's expressions read, however it was seen: the proxy builds it from the request
    it forwarded and the store's answer, the tag's observation (tag-only mode) from what the page sent and got."""

    form: Mapping[str, Any]
    json_body: Any
    query: Mapping[str, Any]
    params: Mapping[str, str]
    headers: Mapping[str, str]
    response: Response


@dataclass(frozen=True)
class RequestSource:
    """An event read from a request through the proxy, once the store answered with success."""

    id: str
    event: str
    methods: frozenset[str]
    rule: PageRule
    fields: Mapping[str, Expression]
    field_text: Mapping[str, str] = field(default_factory=dict)
    success: Expression | None = None
    success_text: str = "response.status < 400"
    confirm: Confirm | None = None
    file: str = ""
    line: int = 0
    path_js: str | None = None  # the path's regex in JavaScript's syntax, anchored: the tag matches the page's requests
    path_flags: str = ""  # its RegExp flags (a leading (?i) is the i flag)
    unobserved: Issue | None = None  # why the tag cannot observe it: anywhere (path_js None: a regex no RegExp
    # can be), or on Safari before 16.4 (a lookbehind: passed as it is, that Safari's RegExp throws and it is skipped)

    def reads(self) -> dict[str, list[str]]:
        """The keys of ``form``, ``json``, ``query``, ``headers`` and ``response`` (its headers) that the
        expressions and conditions name: all the tag sends of what it observes (never a password or token
        the rules do not read). A part read whole or by a computed key (``form[name]``) names no key."""
        out: dict[str, set[str]] = {name: set() for name in (*READ_KEYS, "response")}
        for expression in (*self.fields.values(), self.success):
            for parts in getattr(expression, "parts", ()):
                if len(parts) >= 2 and parts[0] in READ_KEYS:
                    out[parts[0]].add(parts[1].lower() if parts[0] == "headers" else parts[1])
                elif len(parts) >= 3 and parts[:2] == ("response", "headers"):
                    out["response"].add(parts[2].lower())
        out["query"].update(c.name for c in self.rule.query)
        out["headers"].update(c.name.lower() for c in self.rule.headers)
        return {name: sorted(keys) for name, keys in out.items() if keys}

    @functools.cached_property
    def reads_answer(self) -> bool:
        """Whether an expression reads the answer's body (``response.json``): the proxy then reads it first
        (worked out once per rules load, not per captured request)."""
        return any(tuple(parts[:2]) == ("response", "json")
                   for expression in (*self.fields.values(), self.success) for parts in getattr(expression, "parts", ()))

    def tag_json(self) -> dict[str, Any]:
        """What the tag needs to observe the page's own requests for this source (tag-only mode)."""
        out: dict[str, Any] = {"id": self.id, "methods": sorted(self.methods), "path": self.path_js or "",
                               "keys": self.reads()}
        if self.path_flags:
            out["flags"] = self.path_flags
        if self.confirm is not None:
            out["confirm"] = self.confirm.to_json()
        return out

    def match(self, method: str, path: str, query: Query = None, headers: Headers = None) -> dict[str, str] | None:
        """The path params when this source wants the request, else None."""
        if method.upper() not in self.methods:
            return None
        if not self.rule.matches(path, normalize_query(query), headers):
            return None
        found = None
        if self.rule.path is not None:  # a regex's named groups are params too
            found = self.rule.path.search(path) if self.rule.search else self.rule.path.fullmatch(path)
        return {k: v for k, v in (found.groupdict() if found else {}).items() if v is not None}

    def outcome(self, *, form: Mapping[str, Any], json_body: Any, query: Mapping[str, Any],
                params: Mapping[str, str], headers: Mapping[str, str], response: Response) -> tuple[bool, dict[str, Any]]:
        """(success, raw field values); an expression that fails raises ValueError naming it."""
        names = {
            "form": MappingProxyType(dict(form)), "json": _frozen(json_body), "query": MappingProxyType(dict(query)),
            "params": MappingProxyType(dict(params)), "headers": MappingProxyType(dict(headers)), "response": response,
        }
        try:
            ok = bool(self.success(**names)) if self.success is not None else response.ok
        except Exception as exc:
            raise ValueError(f"capture {self.id}: 'success' {self.success_text!r} failed: {type(exc).__name__}: {exc}") from exc
        if not ok:
            return False, {}
        out: dict[str, Any] = {}
        for name, expression in self.fields.items():
            try:
                value = expression(**names)
            except Exception as exc:
                raise ValueError(f"capture {self.id}: field {name!r} failed: {type(exc).__name__}: {exc}") from exc
            out[name] = _plain(value)
        return True, out

    def event_of(self, seen: RequestSeen, catalog: CatalogSettings) -> tuple[bool, dict[str, Any] | None]:
        """(success, the event) for a request seen by the proxy or the tag; the event is None for ``logout``.

        Raises ``CaptureError`` (a required value missing) or ``ValueError`` (an expression failed)."""
        ok, fields = self.outcome(form=seen.form, json_body=seen.json_body, query=seen.query, params=seen.params,
                                  headers=seen.headers, response=seen.response)
        return ok, build_event(self.event, fields, (), catalog) if ok else None

    def describe(self) -> str:
        where = self.rule.path.pattern if self.rule.path is not None else "?"
        return f"{self.id}: {self.event} on {'/'.join(sorted(self.methods))} {where}"


def _frozen(value: Any) -> Any:
    from slotwise.rules.visitor import freeze

    return freeze(value) if isinstance(value, (dict, list)) else MappingProxyType({})


def _plain(value: Any) -> Any:
    """An expression's value as plain data (Undefined and empty become None)."""
    if value is None or value.__class__.__name__.endswith("Undefined"):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, str)):
        return value
    return str(value)


@dataclass(frozen=True)
class PageSource:
    """An event read from a page (purchase from the order confirmation) by the proxy or the tag."""

    id: str
    event: str
    pages: PageMatcher | None
    group: Group
    file: str = ""
    line: int = 0
    cart_lines: bool = False  # ``lines: cart``: the order's lines are the visitor's cart (the page names none)

    def applies(self, path: str, query: Query = None, headers: Headers = None) -> bool:
        return self.pages is None or self.pages.matches(path, query, headers)


@dataclass(frozen=True)
class TagTrigger:
    """An event the tag reads when an element is clicked or a form submitted."""

    id: str
    event: str
    on: str  # click | submit
    selector: str
    group: Group
    confirm: Confirm | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "on": self.on, "selector": self.selector, "fields": self.group.to_json()["fields"]}
        if self.confirm is not None:
            out["confirm"] = self.confirm.to_json()
        return out


@dataclass(frozen=True)
class DataLayer:
    """GA4 ecommerce events on ``window.dataLayer`` (and Universal Analytics' older shapes)."""

    events: tuple[str, ...] = ("add_to_cart", "remove_from_cart", "purchase")
    product: str = "item_id"
    size: str = "item_variant"
    category: str = "item_category"


@dataclass(frozen=True)
class CaptureSettings:
    """Everything the ``capture`` section says, compiled."""

    customer: PageSource | None = None
    cart: PageSource | None = None
    requests: tuple[RequestSource, ...] = ()
    pages: tuple[PageSource, ...] = ()
    triggers: tuple[TagTrigger, ...] = ()
    datalayer: DataLayer | None = None
    orders: OrderMapping | None = None  # the order webhook in the store's own shape (None: the fixed one)
    identity: SignedIdentity | None = None  # the secrets a tag's signed customer id is checked with (tag-only)
    soft_navigations: bool = True  # the tag follows a single-page storefront's history navigations (docs/tag.md)
    answer_cart: "AnswerCart | None" = None  # capture.cart with ``request``: the cart from a JSON answer (proxy)

    @property
    def empty(self) -> bool:
        """Nothing to read from requests and pages (the order webhook reads neither)."""
        return not (self.customer or self.cart or self.requests or self.pages or self.triggers or self.datalayer
                    or self.answer_cart)

    def request_sources(self, method: str, path: str, query: Query = None,
                        headers: Headers = None) -> list[tuple[RequestSource, dict[str, str]]]:
        out = []
        for source in self.requests:
            params = source.match(method, path, query, headers)
            if params is not None:
                out.append((source, params))
        return out

    def page_groups(self, path: str | None, query: Query = None, headers: Headers = None) -> dict[str, Group]:
        """The groups to read on this page (``path`` None: every group, for the tag)."""
        groups: dict[str, Group] = {}
        for name, source in (("customer", self.customer), ("cart", self.cart)):
            if source is not None and (path is None or source.applies(path, query, headers)):
                groups[name] = source.group
        for source in self.pages:
            if path is None or source.applies(path, query, headers):
                groups[f"ev:{source.id}"] = source.group
        return groups

    def page_source(self, group_name: str) -> PageSource | None:
        if group_name.startswith("ev:"):
            return next((s for s in self.pages if s.id == group_name[3:]), None)
        return None

    def trigger(self, trigger_id: str) -> TagTrigger | None:
        return next((t for t in self.triggers if t.id == trigger_id), None)

    def request_source(self, source_id: str) -> RequestSource | None:
        return next((s for s in self.requests if s.id == source_id), None)

    def observed_requests(self) -> list[RequestSource]:
        """The sources the tag observes the page's own requests for in tag-only mode: all but ``logout``
        (a browser stays one visitor whoever uses it)."""
        return [s for s in self.requests if s.event != "logout" and s.path_js is not None]


# -- building events from what was read ----------------------------------------------


class CaptureError(ValueError):
    """What was read does not make the event (a required field is missing or malformed)."""


def _qty(value: Any) -> int:
    if value is None or value == "":
        return 1
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return max(1, int(value)) if math.isfinite(value) else 1
    found = _DIGITS.search(str(value))
    return max(1, int(found.group(0))) if found else 1


def _money(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) and value >= 0 else None
    price = _price(str(value))
    return price if price is not None and math.isfinite(price) and price >= 0 else None


def _text(value: Any, limit: int = 256) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())[:limit]
    return text or None


def _price_currency(value: Any) -> str | None:
    """The currency a price text names (``£85.00``, ``12,00 CHF``): a known code or symbol, never a word."""
    code = currency_of(value) if isinstance(value, str) else None
    return code if code in CURRENCY_CODES else None


def make_line(raw: Mapping[str, Any], catalog: CatalogSettings, currency: str | None = None) -> dict[str, Any] | None:
    """An order or basket line from raw values: product (an id or a link), size, qty, prices, and the prices'
    currency: the line's ``currency`` field, else its price text's (``£85.00``), else ``currency`` (the page's
    or the event's), else none (the catalog's, as before)."""
    product = catalog.product_of(raw.get("product")) if raw.get("product") not in (None, "") else None
    if product is None:
        return None
    qty = _qty(raw.get("qty"))
    price = _money(raw.get("price"))
    if price is None and raw.get("total") is not None:
        total = _money(raw.get("total"))
        price = round(total / qty, 2) if total is not None else None
    category = raw.get("category")
    line = {
        "product": product,
        "size": catalog.size_of(raw.get("size")),
        "qty": qty,
        "price": price,
        "category": catalog.category_of(category) if category else None,
        "name": _text(raw.get("name")),
        "currency": currency_of(_text(raw.get("currency"), 16)) or _price_currency(raw.get("price"))
        or _price_currency(raw.get("total")) or currency,
    }
    return {k: v for k, v in line.items() if v is not None}


def build_event(event: str, fields: Mapping[str, Any], lines: Sequence[Mapping[str, Any]],
                catalog: CatalogSettings, currency: str | None = None) -> dict[str, Any] | None:
    """``{"type", "props"}`` for one captured event, or None for ``logout`` (an action, not an event).

    ``currency``: the page's (or the push's), the currency of a price that names none.
    Raises ``CaptureError`` when a required value is missing.
    """
    if event == "logout":
        return None
    if event == "store_chosen":
        store = store_key(_text(fields.get("store"), 128))
        if not store:
            raise CaptureError("store_chosen: no store")
        return {"type": "store_chosen", "props": {"store": store}}
    if event in ("add_to_cart", "remove_from_cart"):
        line = make_line(fields, catalog, currency)
        if line is None:
            raise CaptureError(f"{event}: no product (read {fields.get('product')!r})")
        if event == "remove_from_cart":
            line = {k: line[k] for k in ("product", "size") if k in line}
        return {"type": event, "props": line}
    if event == "purchase":
        order_id = _text(fields.get("order_id"), 128)
        if not order_id:
            raise CaptureError("purchase: no order id")
        # the order's currency is its lines' (``PurchaseProps``): a line says none of its own
        out_lines = [{k: v for k, v in line.items() if k != "currency"}
                     for line in (make_line(raw, catalog) for raw in lines[:MAX_LINES]) if line is not None]
        if not out_lines:
            raise CaptureError(f"purchase {order_id}: no order line names a product")
        props: dict[str, Any] = {"order_id": order_id, "lines": out_lines}
        total = _money(fields.get("total"))
        if total is not None:
            props["total"] = total
        currency = (currency_of(_text(fields.get("currency"), 16)) or currency_of(_text(fields.get("total"), 64))
                    or currency or catalog.currency)
        if currency:
            props["currency"] = currency
        props.update(coupon_props(fields))
        return {"type": "purchase", "props": props}
    props = {}
    email = _text(fields.get("email"), 254)
    customer = _text(fields.get("customer_id"), 128)
    if email:
        props["email"] = email
    if customer:
        props["customer_id"] = customer
    if not props:
        raise CaptureError(f"{event}: no e-mail or customer id")
    if event == "newsletter" or (event == "signup" and email):
        if not email:
            raise CaptureError(f"{event}: no e-mail")
        return {"type": "signup", "props": {"email": email, "source": event}}
    return {"type": "identify", "props": props}  # a login, or an account sign-up that names only the customer id


def coupon_props(fields: Mapping[str, Any]) -> dict[str, Any]:
    """An order's coupon, when the store says: ``coupon`` (the code; ``""`` for an order the
    store says had none) and ``discount`` (what it took off). A source that reads no
    ``coupon`` field says nothing: the margin goal then assumes the offer was used."""
    if "coupon" not in fields:
        return {}
    props: dict[str, Any] = {"coupon": _text(fields.get("coupon"), 64) or ""}
    discount = _money(fields.get("discount")) if props["coupon"] else None
    if discount is not None:
        props["discount"] = discount
    return props


def page_event(source: PageSource, values: Values, catalog: CatalogSettings,
               currency: str | None = None, cart: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any] | None:
    """The event a page source reads from its group's reading (None when the group was not there);
    ``currency``: the page's (``facts.page_currency``); ``cart``: the visitor's cart lines, the order's
    lines of a source with ``lines: cart`` (an order confirmation that names its products by name alone)."""
    if not values.get("present"):
        return None
    fields = values.get("fields") or {}
    read = () if source.cart_lines else values.get("lines") or ()
    if source.group.fields and not any(v for v in fields.values()) and not read:
        return None  # the page has the scope but none of the fields: nothing to record
    return build_event(source.event, fields, cart if source.cart_lines else read, catalog, currency)


def cart_lines(values: Values, catalog: CatalogSettings, *, reads_lines: bool,
               currency: str | None = None) -> tuple[list[dict[str, Any]] | None, int | None]:
    """The mini basket's lines (None: it shows no lines) and item count (None: it shows none); a line's
    price in ``currency`` (the page's) when it names none of its own (``make_line``).

    ``reads_lines``: the rules read its lines (``capture.cart.lines``). Without them a reading's
    empty list of lines means nothing: a basket whose count is not found says nothing, and must
    not empty the lines an add to cart recorded."""
    if not values.get("present"):
        return None, None
    fields = values.get("fields") or {}
    count = None
    if fields.get("count") is not None:
        found = _DIGITS.search(str(fields["count"]))
        count = max(0, int(found.group(0))) if found else None
    raw_lines = values.get("lines") if reads_lines else None
    if raw_lines is None:
        return None, count
    lines = [line for line in (make_line(raw, catalog, currency) for raw in raw_lines) if line is not None]
    if not lines and count:
        return None, count  # lines that name no product we can key: trust the count only
    return lines, count


def customer_of(values: Values) -> tuple[str | None, str | None]:
    """(customer id, e-mail) a page names."""
    if not values.get("present"):
        return None, None
    fields = values.get("fields") or {}
    return _text(fields.get("id"), 128), _text(fields.get("email"), 254)


def signature_of(values: Values) -> str | None:
    """The signature the page prints for its customer id (``capture.customer.signature``), as read."""
    if not values.get("present"):
        return None
    return _text((values.get("fields") or {}).get("signature"), MAX_SIGNATURE)


# -- GA4 / Universal Analytics dataLayer -----------------------------------------------


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [i for i in value if isinstance(i, Mapping)][:MAX_LINES] if isinstance(value, list) else []


def ga4_value_and_coupon(ecommerce: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A GA4 purchase's ``total`` before its coupon, its ``coupon`` and ``discount``.

    GA4's ``value`` is after discounts and each item's ``discount`` is per unit;
    Slotwise's ``total`` is the order's value before the coupon (what the margin
    goal subtracts the coupon's cost from), so the items' discounts are added back.
    """
    fields: dict[str, Any] = {"total": ecommerce.get("value"), "coupon": ecommerce.get("coupon")}
    value = _money(ecommerce.get("value"))
    discount = 0.0
    for item in items:
        unit = _money(item.get("discount"))
        if unit:
            discount += unit * _qty(item.get("quantity"))
    if fields["coupon"] and discount and value is not None:
        fields["total"], fields["discount"] = round(value + discount, 2), round(discount, 2)
    return fields


def datalayer_events(push: Any, settings: DataLayer, catalog: CatalogSettings,
                     problems: list[str] | None = None, currency: str | None = None) -> list[dict[str, Any]]:
    """Slotwise events for one ``dataLayer.push({...})`` object (GA4, or UA enhanced ecommerce).

    An item that makes no event (no product id) is skipped, not the whole
    push; what was wrong is appended to ``problems`` for the caller to log.
    Prices are in the push's currency (GA4's ``currency``, UA's ``currencyCode``), else ``currency`` (the
    page's, as the tag read it).
    """
    problems = problems if problems is not None else []
    if not isinstance(push, Mapping):
        problems.append("a dataLayer push that is not an object")
        return []
    ecommerce = push.get("ecommerce") if isinstance(push.get("ecommerce"), Mapping) else {}
    name = push.get("event") if isinstance(push.get("event"), str) else None
    currency = currency_of(_text(ecommerce.get("currency") or ecommerce.get("currencyCode"), 16)) or currency

    def line(item: Mapping[str, Any], ua: bool = False) -> dict[str, Any]:
        return {
            "product": item.get("id") if ua else item.get(settings.product),
            "size": item.get("variant") if ua else item.get(settings.size),
            "qty": item.get("quantity"),
            "price": item.get("price"),
            "category": item.get("category") if ua else item.get(settings.category),
            "name": item.get("name") if ua else item.get("item_name"),
        }

    out: list[dict[str, Any]] = []

    def add(event: str, fields: Mapping[str, Any], lines: Sequence[Mapping[str, Any]] = ()) -> None:
        try:
            built = build_event(event, fields, lines, catalog, currency)
        except CaptureError as exc:
            problems.append(f"dataLayer {name or 'push'}: {exc}")
            return
        if built:
            out.append(built)

    def each(event: str, items: Any, ua: bool = False) -> None:
        found = _items(items)
        if not found:
            problems.append(f"dataLayer {name or event}: no items")
        for item in found:
            add(event, line(item, ua))

    if name in ("add_to_cart", "remove_from_cart") and name in settings.events:
        each(name, ecommerce.get("items"))
    elif name == "purchase" and "purchase" in settings.events:
        items = _items(ecommerce.get("items"))
        add("purchase", {"order_id": ecommerce.get("transaction_id"), "currency": ecommerce.get("currency"),
                         **ga4_value_and_coupon(ecommerce, items)}, [line(i) for i in items])
    elif isinstance(ecommerce.get("add"), Mapping) and "add_to_cart" in settings.events:
        each("add_to_cart", ecommerce["add"].get("products"), True)
    elif isinstance(ecommerce.get("remove"), Mapping) and "remove_from_cart" in settings.events:
        each("remove_from_cart", ecommerce["remove"].get("products"), True)
    elif isinstance(ecommerce.get("purchase"), Mapping) and "purchase" in settings.events:
        action = ecommerce["purchase"].get("actionField")
        action = action if isinstance(action, Mapping) else {}
        add("purchase", {"order_id": action.get("id"), "total": action.get("revenue"),
                         "currency": ecommerce.get("currencyCode"), "coupon": action.get("coupon")},
            [line(i, True) for i in _items(ecommerce["purchase"].get("products"))])
    return out

