"""The vocabulary of a rules file: its keys, allowed values, and the parsed (uncompiled) specs.

The specs keep each value's YAML node, so the compile step (selectors,
expressions, templates, policies) can still point at ``file:line:column``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slotwise.rules.checker import Text
from slotwise.rules.yaml_marks import Node, Source

GOALS = ("click", "add_to_cart", "purchase", "signup", "revenue", "margin")
POLICIES = ("thompson", "ucb", "epsilon-greedy", "exp3", "linucb")
DEFAULT_POLICY = "thompson"
STICKY = ("session", "visitor", "none")
DEFAULT_STICKY = "session"
CONSENT = ("implied", "required")
STRATEGIES = ("viewed_together", "recently_viewed", "popular_in_category", "mixed")

INSERT_ACTIONS = ("replace", "append", "prepend", "before", "after")
ACTIONS = INSERT_ACTIONS + ("set-attribute", "remove", "reorder", "select-option", "set-value", "popup")

TOP_KEYS = ("include", "holdout", "consent", "attribution_window", "catalog", "slots")
INCLUDED_KEYS = ("include", "slots")
CATALOG_KEYS = ("product_pages", "category_pages", "home_pages", "feed", "selectors", "customer")
FACT_SELECTOR_KEYS = ("id", "name", "price", "currency", "category", "image", "in_stock")
PAGE_KEYS = ("path", "regex", "query", "headers")
RECOMMEND_KEYS = ("strategy", "limit")

CONTENT_KEYS = ("html", "template", "vars", "order", "value", "attributes", "recommend", "coupon_cost")
SLOT_KEYS = (
    "id", "pages", "selector", "action", "when", "variants", "goal", "policy", "enabled",
    "key", "trigger", "limit", "description",
) + CONTENT_KEYS
VARIANT_KEYS = ("id", "control", "description") + CONTENT_KEYS

_TEMPLATE_CONTENT = ("html", "template", "vars", "recommend", "coupon_cost")
ACTION_CONTENT: dict[str, tuple[str, ...]] = {
    **{a: _TEMPLATE_CONTENT for a in INSERT_ACTIONS},
    "popup": _TEMPLATE_CONTENT,
    "set-attribute": ("attributes", "vars", "coupon_cost"),
    "remove": ("coupon_cost",),
    "reorder": ("order", "coupon_cost"),
    "select-option": ("value", "coupon_cost"),
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
    key: str = DEFAULT_REORDER_KEY
    trigger: str = DEFAULT_TRIGGER
    limit: int | None = None
    description: str = ""


@dataclass
class CatalogSpec:
    product_pages: list[Text] = field(default_factory=list)
    category_pages: list[Text] = field(default_factory=list)
    home_pages: list[Text] = field(default_factory=list)
    feed: Text | None = None
    customer: Text | None = None  # where the store's pages name the logged-in customer
    selectors: dict[str, Text] = field(default_factory=dict)


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
    catalog: CatalogSpec = field(default_factory=CatalogSpec)
