"""The facts rules may name, as a tree: ``visitor.recent_categories``, ``page.product.price``.

Built from the fact classes themselves so the checker and the runtime cannot
drift apart. ``None`` marks a mapping with free keys (``visitor.preferred_size[...]``).
"""

from __future__ import annotations

from typing import Any

from slotwise.rules.capture import RESPONSE_FIELDS
from slotwise.rules.facts import PAGE_FIELDS, PAGE_TYPES, REQUEST_FIELDS, UTM_KEYS
from slotwise.rules.jsonld import PRODUCT_KEYS
from slotwise.rules.schedule import TIME_FACTS, WEEKDAYS
from slotwise.rules.stage import NO_STAGE, STAGES
from slotwise.rules.visitor import VISITOR_FIELDS

Tree = dict[str, Any]

_PRODUCT: Tree = {k: None for k in PRODUCT_KEYS}

FACTS: Tree = {
    "visitor": {name: None for name in VISITOR_FIELDS},
    "page": {**{name: None for name in PAGE_FIELDS}, "product": _PRODUCT},
    "request": {**{name: None for name in REQUEST_FIELDS}, "utm": {k: None for k in UTM_KEYS}},
    "response": {name: None for name in RESPONSE_FIELDS},  # a capture request source's answer
    "time": {name: None for name in TIME_FACTS},  # now, in the rules' timezone (``rules.schedule``)
}

VALUES: dict[str, tuple[str, ...]] = {
    "request.device": ("mobile", "tablet", "desktop"),
    "page.type": PAGE_TYPES,
    "visitor.consent": ("granted", "denied", "unknown"),
    "visitor.stage[]": (*STAGES, NO_STAGE),
    "time.weekday": WEEKDAYS,
}
"""Facts that only ever hold one of a few words: comparing one with another word is a typo."""

JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "true", "false", "none"})
MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})

CONDITION_NAMES = frozenset({"visitor", "page", "request", "time"})
"""Names a ``when`` condition sees."""

VISITOR_NAMES = frozenset({"visitor", "request"})
"""Names whose facts differ from one visit to the next (the visitor's history, their device, referrer,
UTM): a ``when`` that reads neither is the page's alone, the same for every visitor."""

TIME_NAMES = frozenset({"time"})
"""Names whose facts change with the clock (``time.hour``): a ``when`` that reads them holds on a page
only at some times."""

SIZE_FACTS = frozenset({"visitor.preferred_size", "page.product.sizes", "page.product.variants"})
"""Facts that are sizes: a slot whose expressions read one has nothing to do on a product without sizes."""

VARIANT_NAMES = CONDITION_NAMES | {"vars", "slot", "variant"}
"""Names ``order``, ``value`` and attribute templates see."""

TEMPLATE_NAMES = VARIANT_NAMES | {"recommendations", "cart_form"}
"""Names an HTML template sees (``cart_form``: the store's add-to-cart form, ``rules.journey_settings``)."""
