"""The vocabulary of a rules file: its keys, allowed values, and the parsed (uncompiled) specs.

The specs keep each value's YAML node, so the compile step (selectors,
expressions, templates, policies) can still point at ``file:line:column``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slotwise.bandits.goals import GOALS as GOALS  # the rules name the bandits' goals
from slotwise.bandits.spec import DEFAULT_POLICY, POLICY_NAMES
from slotwise.rules.cache import CacheSettings
from slotwise.rules.checker import Text
from slotwise.rules.yaml_marks import Node, Source

if TYPE_CHECKING:
    from slotwise.rules.signed_identity import SignedIdentity

POLICIES = POLICY_NAMES  # what a slot's `policy:` may name (the bandits' list: one list)
STICKY = ("session", "visitor", "none")
DEFAULT_STICKY = "session"
CONSENT = ("implied", "required")
STRATEGIES = ("viewed_together", "recently_viewed", "popular_in_category", "mixed")

INSERT_ACTIONS = ("replace", "append", "prepend", "before", "after")
ACTIONS = INSERT_ACTIONS + ("set-attribute", "remove", "reorder", "select-option", "set-value", "popup")

TOP_KEYS = ("include", "holdout", "consent", "attribution_window", "timezone", "revenue", "catalog", "capture", "cache",
            "slots",
            "stages", "interests", "mail",  # rules/parse_signals.py
            "replenish", "reminders", "stores")  # rules/journey_settings.py
INCLUDED_KEYS = ("include", "slots", "capture", "replenish", "reminders", "stores")
CATALOG_KEYS = (
    "product_pages", "category_pages", "home_pages", "feed", "selectors", "customer", "currency",
    "page_currency", "availability", "sizes", "not_sizes", "size_names", "variant_id", "product_id", "page_types",
)
FACT_SELECTOR_KEYS = ("id", "name", "price", "currency", "category", "image", "in_stock", "url", "brand", "other_id")
AVAILABILITY_KEYS = ("in_stock", "out_of_stock")
SIZES_KEYS = ("items", "id", "size", "in_stock")
FIELD_KEYS = ("css", "attr", "match", "value", "cookie", "script", "json")
JSON_FIELD_KEYS = ("key", "match", "value")  # a field of a JSON item
JSON_ITEMS_KEYS = ("json", "key")  # ``items: {json: FIELD, key: PATH}``
PAGE_KEYS = ("path", "regex", "query", "headers")
RECOMMEND_KEYS = ("strategy", "limit")

CONTENT_KEYS = ("html", "template", "vars", "order", "value", "attributes", "recommend", "coupon_cost")
SLOT_KEYS = (
    "id", "pages", "selector", "action", "when", "variants", "goal", "policy", "enabled",
    "key", "items", "click", "trigger", "limit", "wait", "description", "active",
) + CONTENT_KEYS
MAX_WAIT_MS = 10_000
"""A slot's ``wait`` (its element is rendered by the store's script): at most this long, in the browser."""
VARIANT_KEYS = ("id", "control", "description", "active") + CONTENT_KEYS
# keys written in a slot that belong elsewhere: where they go, in the words of a rules check message
NOT_SLOT_KEYS = {
    "sticky": "it goes in the slot's policy (policy: {name: thompson, sticky: visitor})",
    "control": "it goes in a variant (variants: [{id: store, control: true}, ...])",
    **{key: "a setting of the whole rules file: at the top of the main file, not in a slot"
       for key in ("holdout", "attribution_window", "consent", "timezone")},
}

_TEMPLATE_CONTENT = ("html", "template", "vars", "recommend", "coupon_cost")
ACTION_CONTENT: dict[str, tuple[str, ...]] = {
    **{a: _TEMPLATE_CONTENT for a in INSERT_ACTIONS},
    "popup": _TEMPLATE_CONTENT,
    "set-attribute": ("attributes", "vars", "coupon_cost"),
    "remove": ("coupon_cost",),
    "reorder": ("order", "coupon_cost"),
    "select-option": ("value", "attributes", "coupon_cost"),
    "set-value": ("value", "coupon_cost"),
}
"""Which content keys each action reads; any other content key is an error."""

ACTION_NEEDS: dict[str, str] = {
    **{a: "'html' or 'template'" for a in INSERT_ACTIONS + ("popup",)},
    "set-attribute": "'attributes'",
    "reorder": "'order'",
    "select-option": "'value'",
    "set-value": "'value'",
}
"""What a non-control variant of each action must have (after inheriting from its slot)."""

DEFAULT_REORDER_KEY = "data-category"
DEFAULT_TRIGGER = "exit-intent"
POPUP_SELECTOR = "body"


@dataclass(frozen=True)
class Condition:
    """A query or header condition: present, absent, or matching one of some globs."""

    name: str
    present: bool
    globs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PageRuleSpec:
    """One entry of ``pages``: a path glob or a regex, plus query/header conditions."""

    node: Node
    source: Source
    path: Text | None = None
    regex: Text | None = None
    query: tuple[Condition, ...] = ()
    headers: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class RecommendSpec:
    strategy: str
    limit: int = 4


@dataclass(frozen=True)
class CouponCost:
    """What a coupon costs: a ``fraction`` of the order value or a fixed ``amount``."""

    kind: str  # "fraction" | "amount"
    value: float


@dataclass
class VariantSpec:
    id: str
    node: Node
    source: Source
    control: bool = False
    html: Text | None = None
    template: Text | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    order: Text | None = None
    value: Text | None = None
    attributes: dict[str, Text | None] = field(default_factory=dict)
    attribute_nodes: dict[str, Node] = field(default_factory=dict)
    recommend: RecommendSpec | None = None
    coupon_cost: CouponCost | None = None
    description: str = ""
    active: Any = None  # rules.schedule.ActiveSpec: when it is offered (None: always)


@dataclass(frozen=True)
class PolicySpec:
    name: str = DEFAULT_POLICY
    sticky: str = DEFAULT_STICKY
    params: dict[str, Any] = field(default_factory=dict)
    param_nodes: dict[str, Node] = field(default_factory=dict)
    node: Node | None = None


@dataclass
class SlotSpec:
    """A parsed slot; ``id``, ``action`` or ``pages`` are None when invalid (errors already recorded)."""

    id: str | None
    id_node: Node
    node: Node
    source: Source
    action: str | None
    pages: list[PageRuleSpec] | None
    selector: Text | None
    when: Text | None
    variants: list[VariantSpec]
    goal: str = "click"
    policy: PolicySpec = field(default_factory=PolicySpec)
    enabled: bool = True
    key: "str | FieldSpec | None" = DEFAULT_REORDER_KEY  # a bare attribute name, or a field over each item
    items: Text | None = None  # select-option: the choices inside the element (default: its options)
    trigger: str = DEFAULT_TRIGGER
    limit: int | None = None
    wait_ms: int | None = None  # tag-only: how long the tag watches for the element the store's script renders
    click: bool = False  # select-option: the tag clicks the chosen item (the store's script then picks it)
    description: str = ""
    active: Any = None  # rules.schedule.ActiveSpec: when it runs (None: always)


@dataclass
class FieldSpec:
    """One field as written: ``"css @attr"`` or ``{css, attr, match, value, cookie, script, json}`` (compiled by
    the loader)."""

    node: Node
    source: Source
    css: Text | None = None
    attr: str | None = None
    match: Text | None = None
    const: str | None = None
    form: str | None = None  # ``form.NAME`` in a submit trigger: that form field's value
    key: Text | None = None  # in JSON items: the key path (``attributes.size``)
    cookie: str | None = None  # ``{cookie: NAME}``: the page's cookie (a last ``*``: a name prefix)
    script: tuple[str, ...] | None = None  # ``{script: PATH}``: a script's global, then a key path (checked)
    json: tuple[str, ...] | None = None  # ``{css, json: PATH}``: the element's JSON text, then a key path (checked)


@dataclass
class ItemsSpec:
    node: Node
    source: Source
    css: Text | None  # None: the items are a JSON list's (``json``)
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    json: FieldSpec | None = None  # ``items: {json: FIELD, key: PATH}``: the field whose text is the list
    key: Text | None = None


@dataclass
class CatalogSpec:
    product_pages: list[Text] = field(default_factory=list)
    category_pages: list[Text] = field(default_factory=list)
    home_pages: list[Text] = field(default_factory=list)
    feed: Text | None = None  # a file, a storefront path or a URL (a mapping's ``url``)
    feed_mapping: Any = None  # ``feed_mapping.FeedMapping``: the feed in the store's own shape
    customer: FieldSpec | None = None  # where the store's pages name the logged-in customer
    selectors: dict[str, FieldSpec] = field(default_factory=dict)
    currency: str | None = None
    page_currency: FieldSpec | None = None  # where a page says the currency it shows prices in
    in_stock_words: tuple[str, ...] | None = None
    out_of_stock_words: tuple[str, ...] | None = None
    sizes: ItemsSpec | None = None
    not_sizes: Any = None  # ``size_vocabulary.SizeVocabulary``: values that name no size (``Default Title``)
    size_names: Any = None  # ``size_vocabulary.SizeNames``: the other labels of a size (``M: [Medium, Med]``)
    variant_id: FieldSpec | None = None  # a JSON-LD variant's key as the catalog names it: a key path, {key, match}
    product_id: FieldSpec | None = None  # a JSON-LD product's (a group's) key as the catalog names it: the same shape
    page_types: dict[str, Text] = field(default_factory=dict)  # type -> the CSS selector that says a page is one


CAPTURE_KEYS = ("customer", "cart", "events", "datalayer", "orders", "soft_navigations")
CUSTOMER_KEYS = ("pages", "within", "id", "email", "signature", "secret_env")
CART_KEYS = ("pages", "within", "count", "lines")
LINE_FIELDS = ("product", "size", "qty", "price", "total", "category", "name")
EVENT_KEYS = (
    "id", "event", "description", "request", "page", "click", "submit", "within", "fields", "lines",
    "success", "confirm",
)
REQUEST_KEYS = ("method", "path", "regex", "query", "headers")
CONFIRM_KEYS = ("present", "absent")
DATALAYER_KEYS = ("events", "product", "size", "category")
CAPTURE_EVENTS: dict[str, tuple[str, ...]] = {
    "add_to_cart": ("product", "size", "qty", "price", "category", "name"),
    "remove_from_cart": ("product", "size", "qty"),
    "purchase": ("order_id", "total", "currency", "coupon", "discount"),
    "signup": ("email", "customer_id"),
    "newsletter": ("email",),
    "login": ("email", "customer_id"),
    "logout": (),
    "store_chosen": ("store",),
}
"""Events a capture source may produce, and the fields each reads."""
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "add_to_cart": ("product",),
    "remove_from_cart": ("product",),
    "purchase": ("order_id",),
    "store_chosen": ("store",),
}
GA4_EVENTS = ("add_to_cart", "remove_from_cart", "purchase")


@dataclass
class GroupSpec:
    """Fields (and repeated items) read inside ``within`` on the pages that match ``pages``."""

    node: Node
    source: Source
    pages: list["PageRuleSpec"] | None = None
    within: Text | None = None
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    lines: ItemsSpec | None = None


@dataclass
class ConfirmSpec:
    node: Node
    source: Source
    css: Text
    present: bool = True


@dataclass
class EventSpec:
    """One ``capture.events`` entry: an event and where it comes from (request, page, click, submit)."""

    node: Node
    source: Source
    event: str
    kind: str  # request | page | click | submit
    id: str | None = None
    request: "PageRuleSpec | None" = None
    methods: tuple[str, ...] = ("POST",)
    selector: Text | None = None  # click / submit
    group: GroupSpec | None = None  # page sources (and click/submit fields)
    expressions: dict[str, Text] = field(default_factory=dict)  # request sources
    success: Text | None = None
    confirm: ConfirmSpec | None = None
    description: str = ""
    cart_lines: bool = False  # a purchase whose page names its lines by name alone: ``lines: cart``


@dataclass
class DataLayerSpec:
    node: Node
    source: Source | None = None
    events: tuple[str, ...] = GA4_EVENTS
    product: str = "item_id"
    size: str = "item_variant"
    category: str = "item_category"


@dataclass
class OrdersSpec:
    """``capture.orders``: the order webhook in the store's own shape (parsed and compiled in one pass)."""

    node: Node
    source: Source
    mapping: Any  # ``order_mapping.OrderMapping``


@dataclass
class AnswerCartSpec:
    """``capture.cart`` with ``request``: the request whose JSON answer holds the cart, and where in it."""

    node: Node
    source: Source
    request: "PageRuleSpec"
    methods: tuple[str, ...]
    values: Any  # ``answer_cart.AnswerCartValues``: lines and count, parsed in one pass


@dataclass
class CaptureSpec:
    customer: GroupSpec | None = None
    identity: "SignedIdentity | None" = None  # capture.customer.secret_env: the secrets a signed customer id is checked with
    cart: GroupSpec | None = None
    cart_answer: "AnswerCartSpec | None" = None  # capture.cart with ``request``: the cart from a JSON answer
    events: list[EventSpec] = field(default_factory=list)
    datalayer: DataLayerSpec | None = None
    orders: OrdersSpec | None = None
    soft_navigations: bool = True  # a single-page storefront's history navigations are pages (the tag: docs/tag.md)


@dataclass
class DocumentSpec:
    """One parsed file; only the main file may carry the global settings."""

    source: Source
    includes: list[Text] = field(default_factory=list)
    slots: list[SlotSpec] = field(default_factory=list)
    holdout: float = 0.0
    consent: str = "implied"
    attribution_window: str = "session"
    attribution_seconds: int | None = None
    timezone: str = "UTC"  # the IANA zone the rules' dates and ``time`` facts are in
    catalog: CatalogSpec = field(default_factory=CatalogSpec)
    capture: CaptureSpec = field(default_factory=CaptureSpec)
    journeys: dict[str, Any] = field(default_factory=dict)  # rules.journey_settings.parse_journeys
    signals: Any = None  # rules.signals.Signals from ``stages``/``interests``/``mail`` (None: the defaults)
    cache: CacheSettings = field(default_factory=CacheSettings)  # compiled as parsed: it names nothing else
    revenue: Any = None  # rules.revenue.Revenue (None: orders counted as they come, as before)
