"""A read-only, lazily computed view of a visitor's profile for conditions and templates.

Facts are derived from the profile only when a rule reads them (most slots
read one or two), then cached for the request. Values are frozen — tuples
and read-only mappings — so a template cannot change the profile.
"""

from __future__ import annotations

from types import MappingProxyType
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from slotwise.profile import Profile
from slotwise.rules.interests import Affinities, interests
from slotwise.rules.journey_facts import JOURNEY_FACTS, JourneyData
from slotwise.rules.revenue import cart_value
from slotwise.rules.signals import Signals
from slotwise.rules.stage import NO_STAGE, stages


SCALARS = (str, int, float, bool, type(None))
_EXACT_SCALARS = frozenset(SCALARS)  # a set lookup of the type: no call of freeze for a card's str/float fields


def freeze(value: Any) -> Any:
    """A deep read-only copy: lists become tuples, dicts read-only mappings."""
    kind = value.__class__
    if kind in _EXACT_SCALARS:  # most values, then the exact containers: no isinstance against an ABC
        return value
    if kind is dict:
        return _frozen_mapping(value)
    if kind is list or kind is tuple:
        return _frozen_items(value)
    if isinstance(value, SCALARS) or isinstance(value, Affinities):  # a str enum, a Markup; read-only already
        return value
    if isinstance(value, (dict, Mapping)):
        return _frozen_mapping(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return _frozen_items(sorted(value) if isinstance(value, (set, frozenset)) else value)
    return value


def _frozen_mapping(value: Mapping[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType({k: v if v.__class__ in _EXACT_SCALARS else freeze(v) for k, v in value.items()})


def _frozen_items(items: Iterable[Any]) -> tuple[Any, ...]:
    return tuple([v if v.__class__ in _EXACT_SCALARS else freeze(v) for v in items])


def _cart_count(p: Profile) -> int:
    return sum(int(line.get("qty") or 1) for line in p.cart) or p.cart_hint


_FACTS: dict[str, Callable[[Profile], Any]] = {
    "id": lambda p: p.id,
    "known": lambda p: bool(p.customer_id or p.email_hash),
    "logged_in": lambda p: p.customer_id is not None,
    "customer_id": lambda p: p.customer_id,
    "visits": lambda p: p.visits,
    "is_new": lambda p: p.visits <= 1,
    "is_returning": lambda p: p.visits > 1,
    "recent_categories": lambda p: p.recent_categories,
    "top_categories": lambda p: p.top_categories,
    "last_category": lambda p: next(iter(p.recent_categories), None),
    "viewed_products": lambda p: p.recent_products,
    "cart": lambda p: p.cart,
    "cart_count": _cart_count,
    "has_cart": lambda p: bool(p.cart) or p.cart_hint > 0,
    "cart_products": lambda p: list(dict.fromkeys(str(line["product"]) for line in p.cart)),
    "cart_categories": lambda p: list(dict.fromkeys(line["category"] for line in p.cart if line.get("category"))),
    "purchases": lambda p: p.purchases,
    "purchases_online": lambda p: [x for x in p.purchases if x.get("channel") == "online"],
    "purchases_in_store": lambda p: [x for x in p.purchases if x.get("channel") == "store"],
    "purchase_count": lambda p: len({(x.get("channel"), x.get("order_id")) for x in p.purchases}),
    "purchased_products": lambda p: sorted(p.purchased_products),
    "subscribed": lambda p: p.subscribed,
    "consent": lambda p: p.consent or "unknown",
    "has_coupon": lambda p: p.coupon is not None,
}

_TUNED: dict[str, Callable[[Profile, Signals], Any]] = {
    # thresholds and weights from the rules file (``stages:``, ``interests:``); see rules/stage.py, interests.py
    "stage": lambda p, s: Affinities(stages(p, s.stages), NO_STAGE),
    "interest": lambda p, s: Affinities(interests(p, s.interests), 0.0),
    "interests": lambda p, s: list(interests(p, s.interests)),
    "preferred_size": lambda p, s: p.preferred_sizes_read(s.size_vocabulary.size_of),  # not_sizes, size_names
    "cart_value": lambda p, s: round(p.cart_value if s.revenue is None else cart_value(p.cart, s.revenue), 2),
}

VISITOR_FIELDS = tuple(_FACTS) + tuple(_TUNED) + tuple(JOURNEY_FACTS)
"""The names ``visitor.X`` may use (checked by ``rules check``)."""


_DEFAULT_SIGNALS = Signals()


class VisitorView(Mapping[str, Any]):
    """``visitor`` in rules: a mapping of facts computed on first read."""

    __slots__ = ("_profile", "_cache", "_signals", "_journeys")

    def __init__(self, profile: Profile | None, visitor_id: str | None = None, signals: Signals | None = None,
                 journeys: JourneyData | None = None) -> None:
        self._profile = profile if profile is not None else Profile(id=visitor_id or "")
        self._cache: dict[str, Any] = {}
        self._signals = signals or _DEFAULT_SIGNALS
        self._journeys = journeys

    def __getitem__(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            pass
        tuned = _TUNED.get(name)
        if tuned is not None:
            value = freeze(tuned(self._profile, self._signals))
        elif name in JOURNEY_FACTS:  # facts that read the catalog, stores' stock, all visitors' intervals
            journeys = self._journeys or JourneyData(now=self._profile.last_seen, sizes=self._signals.size_vocabulary)
            value = freeze(JOURNEY_FACTS[name](self._profile, journeys))
        else:
            compute = _FACTS[name]  # KeyError for unknown names: the sandbox turns it into Undefined
            value = freeze(compute(self._profile))
        self._cache[name] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(VISITOR_FIELDS)

    def __len__(self) -> int:
        return len(VISITOR_FIELDS)

    def __repr__(self) -> str:
        return f"VisitorView({self._profile.id!r})"
