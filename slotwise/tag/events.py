"""The events the tag sends: one pydantic model per type, discriminated by ``type``.

A batch is ``{"events": [EVENT, ...]}``; each event is
``{"type", "event_id", "ts", "props"}``. Events are validated one by one so a
bad event is reported (index, field, reason) without dropping its neighbours.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, AliasChoices, BeforeValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from slotwise.rules.product_facts import currency_of
from slotwise.rules.signed_identity import MAX_SIGNATURE, canonical_id
from slotwise.tag.golden import email_is_valid

MAX_EVENTS = 100
EVENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"

Text = Annotated[str, Field(max_length=256)]
LongText = Annotated[str, Field(max_length=2048)]
Qty = Annotated[int, Field(ge=1, le=10_000)]
Price = Annotated[float, Field(ge=0, le=10_000_000)]


def _email(value: str) -> str:
    if not email_is_valid(value):
        raise ValueError("not an e-mail address")
    return value


def read_currency(value: str) -> str | None:
    """A price's currency as the catalog keys prices (``rules.prices``): ``gbp`` and ``£`` are ``GBP``; none
    for nothing; ValueError saying what it takes for a text naming no currency. The one reading of a
    currency the store or the tag sends: a cart's and its lines', an order's (events, webhook, import)."""
    if not value:
        return None
    code = currency_of(value)
    if code is None:
        raise ValueError(f"not a currency: {value[:16]!r} (a three-letter code like EUR, or its symbol)")
    return code


def _page_currency(value: Any) -> str | None:
    """The currency a page's ``catalog.page_currency`` field read (the tag sends it as read): none when it
    names none, never a reason to lose the event it came with."""
    return currency_of(value) if isinstance(value, str) else None


Currency = Annotated[str, Field(max_length=16), AfterValidator(read_currency)]
"""A line's, a cart's or an order's prices' currency, as a code: one in a currency nobody can read is refused
(its price must not be counted or compared as another currency's, nor an order's value converted as one)."""
PageCurrency = Annotated[str | None, BeforeValidator(_page_currency)]

Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
EmailHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""An address already hashed on arrival (``tag.scrub``): a held capture keeps no address in clear."""


class _Props(BaseModel):
    # unknown props are ignored (the tag may send more than the server reads)
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Line(_Props):
    product: Text
    category: Text | None = None
    size: Text | None = None
    qty: Qty = Field(default=1, validation_alias=AliasChoices("qty", "quantity"))
    price: Price | None = None
    name: Text | None = None
    currency: Currency | None = None  # its price's (an order's or cart's lines: theirs)


class PageViewProps(_Props):
    url: LongText | None = None
    referrer: LongText | None = None
    title: Text | None = None
    page: Text | None = None  # the body's data-page
    category: Text | None = None
    product: Text | None = None
    extract: dict[str, Any] | None = None  # tag-only mode: what the page says (see rules/reading.py)


class DecisionProps(_Props):
    decision_id: Text
    slot: Text | None = None


class ClickProps(DecisionProps):
    href: LongText | None = None


class PurchaseProps(_Props):
    order_id: Text
    lines: Annotated[list[Line], Field(min_length=1, max_length=500)]
    total: Price | None = None
    currency: Currency | None = None  # its total's and its lines' prices'
    channel: Literal["online", "store"] | None = None  # trusted sources only (an order webhook); else online
    coupon: Annotated[str, Field(max_length=64)] | None = None  # the code redeemed; "": none (None: not said)
    discount: Price | None = None  # what the coupon took off the order


class CartProps(_Props):
    lines: Annotated[list[Line], Field(max_length=200)]
    currency: Currency | None = None  # the lines' prices'
    count: Annotated[int, Field(ge=0, le=100_000)] | None = None  # items the store's mini basket shows


class RemoveProps(_Props):
    product: Text
    size: Text | None = None


class SignupProps(_Props):
    email: Email | None = None
    email_hash: EmailHash | None = None
    source: Text | None = None


def _id_text(value: Any) -> Any:
    """A customer id sent as a JSON number is its digits (``7001``), as the store's template prints it."""
    return canonical_id(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class IdentifyProps(_Props):
    customer_id: Annotated[Text, BeforeValidator(_id_text)] | None = Field(
        default=None, validation_alias=AliasChoices("customer_id", "customerId"))
    email: Email | None = None
    email_hash: EmailHash | None = None
    # the store's HMAC of customer_id (docs/tag.md, "Signed identity"): checked, then dropped, never stored
    signature: Annotated[str, Field(max_length=MAX_SIGNATURE)] | None = None


class StoreChosenProps(_Props):
    """The physical store a visitor picked on the site (for in-store availability)."""

    store: Annotated[str, Field(min_length=1, max_length=128)]


class ExitIntentProps(_Props):
    trigger: Text | None = None  # mouse-top, scroll-up, visibility, back


class PopupProps(_Props):
    slot: Text
    decision_id: Text | None = None
    how: Text | None = None  # closed: escape, button, overlay


class ConsentProps(_Props):
    granted: bool


Key = Annotated[str, Field(max_length=256)]
Value = Annotated[str, Field(max_length=4096)]


class RequestSeenProps(BaseModel):
    """Tag-only mode: a request of the page's own to a ``request`` source, as the tag saw it: only the
    body, query and header keys the source's expressions name, and how the store answered."""

    model_config = ConfigDict(extra="ignore")
    method: Annotated[str, Field(pattern=r"^[A-Z]{1,16}$")]
    path: Annotated[str, Field(pattern=r"^/", max_length=2048)]
    query: dict[Key, Value] = Field(default_factory=dict, max_length=50)
    form: dict[Key, Value] = Field(default_factory=dict, max_length=50)
    json_body: dict[Key, Any] | None = Field(default=None, max_length=50, validation_alias="json")
    headers: dict[Key, Value] = Field(default_factory=dict, max_length=50)
    status: Annotated[int, Field(ge=100, le=599)]
    redirected: bool = False
    location: LongText | None = None  # where a followed redirect ended (path and query)
    response_headers: dict[Key, Value] = Field(default_factory=dict, max_length=50)


class CaptureProps(_Props):
    """What the tag read for a capture source of the rules (a click, a submit, a dataLayer push, a request)."""

    source: Text  # the capture's id in the rules, or "datalayer"
    values: dict[str, Any] | None = None  # the trigger's fields, as read (raw strings)
    push: dict[str, Any] | None = None  # a dataLayer push
    request: RequestSeenProps | None = None  # a request source, observed (tag-only mode)
    answer: dict[str, Any] | list[Any] | None = None  # capture.cart's JSON answer, what its key paths reach (tag-only)
    currency: PageCurrency = None  # the page's (tag-only: its ``catalog.page_currency``): a line's naming none


class AppliedProps(_Props):
    """The decisions (their signed tokens from /decide, or a page's late script) the tag put on the page
    (``applied``), or whose element it did not find, after the slot's ``wait`` if it has one (``absent``)."""

    tokens: Annotated[list[Annotated[str, Field(max_length=8192)]], Field(min_length=1, max_length=20)]


class CustomProps(_Props):
    model_config = ConfigDict(extra="allow")
    name: Text


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: Annotated[str, Field(pattern=EVENT_ID_PATTERN)]
    ts: Annotated[float, Field(ge=0)] | None = None  # client clock, seconds since the epoch
    url: LongText | None = None


def _event(name: str, props: type[BaseModel]) -> type[_Event]:
    model = type(
        "".join(part.title() for part in name.split("_")) + "Event",
        (_Event,),
        {"__annotations__": {"type": Literal[name], "props": props}, "__module__": __name__},
    )
    return model  # type: ignore[return-value]


PageView = _event("page_view", PageViewProps)
Exposure = _event("exposure", DecisionProps)
Click = _event("click", ClickProps)
AddToCart = _event("add_to_cart", Line)
RemoveFromCart = _event("remove_from_cart", RemoveProps)
Cart = _event("cart", CartProps)
Purchase = _event("purchase", PurchaseProps)
Signup = _event("signup", SignupProps)
Identify = _event("identify", IdentifyProps)
ExitIntent = _event("exit_intent", ExitIntentProps)
PopupShown = _event("popup_shown", PopupProps)
PopupClosed = _event("popup_closed", PopupProps)
PopupConverted = _event("popup_converted", PopupProps)
Consent = _event("consent", ConsentProps)
StoreChosen = _event("store_chosen", StoreChosenProps)
Capture = _event("capture", CaptureProps)
Applied = _event("applied", AppliedProps)
Absent = _event("absent", AppliedProps)
Custom = _event("custom", CustomProps)

EVENT_MODELS: tuple[type[_Event], ...] = (
    PageView, Exposure, Click, AddToCart, RemoveFromCart, Cart, Purchase, Signup, Identify,
    ExitIntent, PopupShown, PopupClosed, PopupConverted, Consent, Capture, Applied, Absent, Custom, StoreChosen,
)
EVENT_TYPES: tuple[str, ...] = tuple(m.model_fields["type"].annotation.__args__[0] for m in EVENT_MODELS)  # type: ignore[union-attr]

Event = Annotated[Union[EVENT_MODELS], Field(discriminator="type")]  # type: ignore[valid-type]
_adapter: TypeAdapter[Any] = TypeAdapter(Event)


class Rejection(BaseModel):
    """Why one event of a batch was refused."""

    index: int
    event_id: str | None = None
    field: str
    reason: str


def parse_event(index: int, raw: Any) -> tuple[_Event | None, list[Rejection]]:
    """One event, validated; or the reasons it is not one."""
    event_id = raw.get("event_id") if isinstance(raw, dict) and isinstance(raw.get("event_id"), str) else None
    if isinstance(raw, dict) and "type" in raw and raw["type"] not in EVENT_TYPES:
        return None, [Rejection(index=index, event_id=event_id, field="type",
                                reason=f"unknown event type {str(raw['type'])[:64]!r}")]
    try:
        return _adapter.validate_python(raw), []
    except ValidationError as exc:
        return None, [
            Rejection(
                index=index,
                event_id=event_id,
                field=".".join(str(p) for p in err["loc"][1:] if not isinstance(p, str) or p not in EVENT_TYPES) or "event",
                reason=err["msg"],
            )
            for err in exc.errors(include_url=False)
        ]


def parse_batch(raw: Any) -> tuple[list[tuple[int, Any]], list[Rejection]]:
    """Splits a batch into valid ``(index, event)`` pairs and rejections.

    Raises ``ValueError`` when the batch itself is unusable (not an object
    with an ``events`` list, or too many events).
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list):
        raise ValueError('the body must be a JSON object {"events": [...]}')
    events = raw["events"]
    if len(events) > MAX_EVENTS:
        raise OverflowError(f"a batch holds at most {MAX_EVENTS} events, got {len(events)}")
    good: list[tuple[int, Any]] = []
    bad: list[Rejection] = []
    seen: set[str] = set()
    for index, item in enumerate(events):
        event, errors = parse_event(index, item)
        if event is None:
            bad.extend(errors)
        elif event.event_id in seen:
            continue  # the same event twice in one batch: stored once
        else:
            seen.add(event.event_id)
            good.append((index, event))
    return good, bad
