"""Turn one file's YAML node graph into specs, recording every schema issue.

Only structure and types are checked here; selectors, expressions, templates
and policies are checked by the compile step (``loader``), which needs them
all parsed first.
"""

from __future__ import annotations

import re
from typing import Any

from slotwise.rules import schema as s
from slotwise.rules.cache import parse_cache
from slotwise.rules.checker import AnyKey, Checker, Entry, Text
from slotwise.rules.errors import Issue
from slotwise.rules.journey_settings import JOURNEY_KEYS, parse_journeys
from slotwise.rules.parse_capture import parse_capture
from slotwise.rules.parse_fields import parse_catalog, parse_field
from slotwise.rules.parse_signals import parse_signals
from slotwise.rules.revenue import parse_revenue
from slotwise.rules.schedule import parse_active, parse_timezone
from slotwise.rules.yaml_marks import MappingNode, Node, ScalarNode, construct, kind_of

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ATTRIBUTE_RE = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")
VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TRIGGER_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
DURATION_RE = re.compile(r"^(\d+)\s*([smhd])$")
PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
WAIT_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_document(check: Checker, root: Node | None, *, main: bool) -> s.DocumentSpec:
    """A whole file: the main one (global settings allowed) or an included one."""
    doc = s.DocumentSpec(source=check.source)
    if root is None:  # nothing but comments, or a file saved empty (its slots' learning would go with them)
        check.issues.append(Issue(check.source.display, 1, 1, "the rules file is empty" if main else
                                  "the included file is empty: write 'slots: []' for a file with no slots"))
        return doc
    if not main and not isinstance(root, MappingNode):
        items = check.sequence(root, "an included file (a list of slots or a mapping with 'slots')")
        doc.slots = _slots(check, items) if items is not None else []
        return doc
    entries = check.mapping(root, _TopKeys(s.TOP_KEYS), "the rules file" if main else "an included file")
    if entries is None:
        return doc
    if not main:
        for name in [k for k in entries if k not in s.INCLUDED_KEYS and not k.startswith("x-")]:
            check.error(entries[name].key_node, f"{name!r} is a global setting: only the main rules file may set it")
            del entries[name]
    if "include" in entries:
        doc.includes = check.texts(entries["include"].node, "'include'") or []
    if "slots" in entries:
        items = check.sequence(entries["slots"].node, "'slots'")
        doc.slots = _slots(check, items) if items is not None else []
    if "holdout" in entries:
        doc.holdout = _fraction(check, entries["holdout"].node, "'holdout'", upper_open=True) or 0.0
    if "consent" in entries:
        doc.consent = check.choice(entries["consent"].node, s.CONSENT, "'consent'") or doc.consent
    if "attribution_window" in entries:
        window = _window(check, entries["attribution_window"].node)
        if window is not None:
            doc.attribution_window, doc.attribution_seconds = window
    if "timezone" in entries:
        doc.timezone = parse_timezone(check, entries["timezone"].node) or doc.timezone
    if "revenue" in entries:
        doc.revenue = parse_revenue(check, entries["revenue"].node)
    if "catalog" in entries:
        doc.catalog = parse_catalog(check, entries["catalog"].node)
    if "capture" in entries:
        doc.capture = parse_capture(check, entries["capture"].node, _pages, _page_mapping)
    if any(name in entries for name in JOURNEY_KEYS):  # a journey's file may carry its own settings
        doc.journeys = parse_journeys(check, entries)
    doc.signals = parse_signals(check, entries)
    if "cache" in entries:
        doc.cache = parse_cache(check, entries["cache"].node)
    return doc


# -- globals -----------------------------------------------------------------


def _fraction(check: Checker, node: Node, what: str, *, upper_open: bool = False) -> float | None:
    """A share of 0..1, also written as a percentage string like ``'10%'``."""
    value = check.scalar(node)
    if isinstance(value, str) and (m := PERCENT_RE.match(value)):
        value = float(m.group(1)) / 100
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
    if ok and upper_open and value >= 1:
        ok = False
    if not ok:
        bound = "below 1" if upper_open else "at most 1"
        check.error(node, f"{what} must be a share from 0 to {bound} (like 0.1 or '10%'), got {kind_of(node)}")
        return None
    return float(value)  # type: ignore[arg-type]


def _window(check: Checker, node: Node) -> tuple[str, int | None] | None:
    value = check.scalar(node)
    if value == "session":
        return "session", None
    if isinstance(value, str) and (m := DURATION_RE.match(value.strip())):
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
        if seconds > 0:
            return value.strip(), seconds
    check.error(node, f"'attribution_window' must be 'session' or a duration like '30m', '2h', '1d', got {kind_of(node)}")
    return None


# -- slots ---------------------------------------------------------------------


def _wait(check: Checker, node: Node) -> int | None:
    """A slot's ``wait`` in milliseconds: ``'5s'``, ``'1.5s'``, ``'800ms'`` (``5``: seconds), above 0 and at
    most ``MAX_WAIT_MS``: the tag watches the page that long, so a typo like ``5m`` is an error, not five minutes."""
    value = check.scalar(node)
    ms: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ms = value * 1000
    elif isinstance(value, str) and (m := WAIT_RE.match(value.strip())):
        ms = float(m.group(1)) * (1 if m.group(2) == "ms" else 1000)
    if ms is None or not 0 < ms <= s.MAX_WAIT_MS:
        check.error(node, f"'wait' must be a time above 0 and up to {s.MAX_WAIT_MS // 1000}s, like '3s' or '800ms', "
                          f"got {kind_of(node)}")
        return None
    return max(1, round(ms))


def _slots(check: Checker, items: list[Node]) -> list[s.SlotSpec]:
    out = []
    for item in items:
        slot = _slot(check, item)
        if slot is not None:
            out.append(slot)
    return out


def _ident(check: Checker, node: Node, what: str) -> str | None:
    text = check.text(node, what)
    if text is None:
        return None
    if not ID_RE.match(text.value):
        check.error(node, f"{what} {text.value!r} must be letters, digits, '-', '_' or '.' (at most 64, starting with a letter or digit)")
        return None
    return text.value


def _slot(check: Checker, node: Node) -> s.SlotSpec | None:
    entries = check.mapping(node, s.SLOT_KEYS, "a slot", s.NOT_SLOT_KEYS)
    if entries is None:
        return None
    slot_id = _ident(check, entries["id"].node, "slot 'id'") if "id" in entries else None
    name = f"slot {slot_id!r}" if slot_id else "a slot"
    for required in ("id", "pages", "action"):
        if required not in entries:
            check.error(node, f"{name} is missing required key {required!r}")
    action = check.choice(entries["action"].node, s.ACTIONS, "'action'") if "action" in entries else None
    pages = _pages(check, entries["pages"].node) if "pages" in entries else None

    selector: Text | None = None
    if "selector" in entries:
        selector = check.text(entries["selector"].node, "'selector'")
    elif action is not None and action != "popup":
        check.error(node, f"{name} is missing required key 'selector'")

    when: Text | None = None
    if "when" in entries:
        raw = check.scalar(entries["when"].node)
        if isinstance(raw, bool):  # `when: true` / `when: false` are constant conditions
            when = Text("true" if raw else "false", entries["when"].node, check.source)
        else:
            when = check.text(entries["when"].node, "'when'")

    goal = check.choice(entries["goal"].node, s.GOALS, "'goal'") if "goal" in entries else "click"
    policy = _policy(check, entries["policy"].node) if "policy" in entries else s.PolicySpec()
    enabled = check.boolean(entries["enabled"].node, "'enabled'") if "enabled" in entries else True

    key: str | s.FieldSpec | None = s.DEFAULT_REORDER_KEY if action in (None, "reorder") else None
    if "key" in entries:
        if action not in (None, "reorder", "select-option"):
            check.error(entries["key"].key_node, f"'key' only applies to actions 'reorder' and 'select-option', not {action!r}")
        raw = check.scalar(entries["key"].node)
        if isinstance(raw, str) and ATTRIBUTE_RE.match(raw.strip()) and raw.strip() != "text" and "@" not in raw:
            key = raw.strip()  # a bare attribute name: the item's (or its first descendant's) attribute
        else:
            key = parse_field(check, entries["key"].node, "'key'")
    choices: Text | None = None
    if "items" in entries:
        if action not in (None, "select-option"):
            check.error(entries["items"].key_node, f"'items' only applies to action 'select-option', not {action!r}")
        choices = check.text(entries["items"].node, "'items'")
    trigger = s.DEFAULT_TRIGGER
    if "trigger" in entries:
        if action not in (None, "popup"):
            check.error(entries["trigger"].key_node, f"'trigger' only applies to action 'popup', not {action!r}")
        text = check.text(entries["trigger"].node, "'trigger'")
        if text is not None and not TRIGGER_RE.match(text.value):
            check.error(entries["trigger"].node, f"'trigger' must be a lower-case name like 'exit-intent', got {text.value!r}")
        elif text is not None:
            trigger = text.value
    limit = check.integer(entries["limit"].node, "'limit'", minimum=1, maximum=1000) if "limit" in entries else None
    wait_ms = None
    if "wait" in entries:
        if action == "popup":
            check.error(entries["wait"].key_node, "'wait' does not apply to action 'popup' (it has no selector to wait for)")
        wait_ms = _wait(check, entries["wait"].node)
    click = False
    if "click" in entries:
        if action not in (None, "select-option"):
            check.error(entries["click"].key_node, f"'click' only applies to action 'select-option', not {action!r}")
        click = bool(check.boolean(entries["click"].node, "'click'"))
    description = check.scalar(entries["description"].node) if "description" in entries else ""
    active = parse_active(check, entries["active"].node, name) if "active" in entries else None

    defaults = _content(check, entries, action, what=name)
    variants: list[s.VariantSpec] = []
    if "variants" in entries:
        items = check.sequence(entries["variants"].node, "'variants'")
        if items is not None and not items:
            check.error(entries["variants"].node, "'variants' must list at least one variant")
        for index, item in enumerate(items or []):
            variant = _variant(check, item, index, action, defaults, slot_name=name)
            if variant is not None:
                variants.append(variant)
        _unique_variant_ids(check, variants, name)
    elif action is not None:
        variant = s.VariantSpec(id="default", node=node, source=check.source)
        _inherit(variant, defaults)
        _needs(check, variant, action, f"{name}")
        variants.append(variant)

    # Returned even when invalid, so the compile step still reports selector,
    # expression and template errors of this slot (the RuleSet is rejected anyway).
    return s.SlotSpec(
        id=slot_id, id_node=entries["id"].node if "id" in entries else node, node=node, source=check.source,
        action=action, pages=pages, selector=selector, when=when, variants=variants, goal=goal or "click",
        policy=policy, enabled=bool(enabled), key=key, items=choices, trigger=trigger, limit=limit,
        wait_ms=wait_ms, click=click, description=description if isinstance(description, str) else "",
        active=active,
    )


def _unique_variant_ids(check: Checker, variants: list[s.VariantSpec], slot_name: str) -> None:
    seen: dict[str, s.VariantSpec] = {}
    for variant in variants:
        if variant.id in seen:
            first = check.source.loc(seen[variant.id].node)
            check.error(variant.node, f"duplicate variant id {variant.id!r} in {slot_name} (first defined at "
                                      f"{first.file}:{first.line}:{first.column}): give each variant its own id, "
                                      "what the policy learns belongs to it")
        seen.setdefault(variant.id, variant)


# -- variants and their content ---------------------------------------------------


def _content(check: Checker, entries: dict[str, Entry], action: str | None, *, what: str) -> dict[str, Any]:
    """Content keys (html, order, ...) of a slot or variant, checked against the action."""
    out: dict[str, Any] = {}
    allowed = s.ACTION_CONTENT.get(action or "", s.CONTENT_KEYS)
    for name in s.CONTENT_KEYS:
        if name not in entries:
            continue
        entry = entries[name]
        if action is not None and name not in allowed:
            uses = ", ".join(k for k in allowed if k != "coupon_cost") or "no content"
            check.error(entry.key_node, f"{name!r} has no effect with action {action!r} (it uses: {uses})")
            continue
        value = _content_value(check, name, entry)
        if value is not None:
            out[name] = value
    if "html" in out and "template" in out:
        check.error(entries["template"].key_node, f"{what} has both 'html' and 'template'; keep one")
        del out["template"]
    return out


def _content_value(check: Checker, name: str, entry: Entry) -> Any:
    node = entry.node
    if name in ("html", "template", "order", "value"):
        return check.text(node, f"{name!r}")
    if name == "vars":
        fields = check.mapping(node, AnyKey(), "'vars'")
        if fields is None:
            return None
        bad = [k for k in fields if not VAR_RE.match(k)]
        for k in bad:
            check.error(fields[k].key_node, f"'vars' names must be identifiers, got {k!r}")
        return None if bad else {k: construct(e.node) for k, e in fields.items()}
    if name == "attributes":
        fields = check.mapping(node, AnyKey(), "'attributes'")
        if fields is None:
            return None
        attrs: dict[str, tuple[Text | None, Node]] = {}
        for attr, e in fields.items():
            if not ATTRIBUTE_RE.match(attr):
                check.error(e.key_node, f"{attr!r} is not an attribute name")
            elif attr.lower().startswith("on"):
                check.error(e.key_node, f"event handler attributes like {attr!r} cannot be set from rules")
            elif check.scalar(e.node) is None:
                attrs[attr] = (None, e.node)  # null: remove the attribute
            else:
                raw = check.scalar(e.node)
                if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                    attrs[attr] = (Text(str(raw), e.node, check.source), e.node)
                else:
                    text = check.text(e.node, f"attribute {attr!r}", empty_ok=True)
                    if text is not None:
                        attrs[attr] = (text, e.node)
        return attrs
    if name == "recommend":
        fields = check.mapping(node, s.RECOMMEND_KEYS, "'recommend'")
        if fields is None:
            return None
        if "strategy" not in fields:
            check.error(node, "'recommend' is missing required key 'strategy'")
            return None
        strategy = check.choice(fields["strategy"].node, s.STRATEGIES, "'recommend.strategy'")
        limit = check.integer(fields["limit"].node, "'recommend.limit'", minimum=1, maximum=24) if "limit" in fields else 4
        return s.RecommendSpec(strategy, limit) if strategy and limit else None
    if name == "coupon_cost":
        return _coupon_cost(check, node)
    raise AssertionError(name)  # pragma: no cover


def _coupon_cost(check: Checker, node: Node) -> s.CouponCost | None:
    """``0.1`` or ``'10%'``: a fraction of the order; ``4.95`` (above 1): an amount."""
    value = check.scalar(node)
    if isinstance(value, str) and (m := PERCENT_RE.match(value)) and float(m.group(1)) <= 100:
        return s.CouponCost("fraction", float(m.group(1)) / 100)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return s.CouponCost("fraction" if value <= 1 else "amount", float(value))
    check.error(node, f"'coupon_cost' must be a fraction (0.1 or '10%') or an amount above 1, got {kind_of(node)}")
    return None


class _TopKeys(tuple):  # type: ignore[type-arg]
    """Top-level keys: the schema's, plus ``x-…`` keys that hold YAML anchors for ``<<:`` merges."""

    def __contains__(self, key: object) -> bool:
        return tuple.__contains__(self, key) or (isinstance(key, str) and key.startswith("x-"))


def _variant(check: Checker, node: Node, index: int, action: str | None, defaults: dict[str, Any], *, slot_name: str) -> s.VariantSpec | None:
    entries = check.mapping(node, s.VARIANT_KEYS, "a variant")
    if entries is None:
        return None
    control = check.boolean(entries["control"].node, "'control'") if "control" in entries else False
    if "id" in entries:
        variant_id = _ident(check, entries["id"].node, "variant 'id'") or f"v{index + 1}"
    else:
        variant_id = "control" if control else f"v{index + 1}"
    variant = s.VariantSpec(id=variant_id, node=node, source=check.source, control=bool(control))
    if "active" in entries:
        variant.active = parse_active(check, entries["active"].node, f"variant {variant_id!r} of {slot_name}")
    own = _content(check, entries, action, what=f"variant {variant_id!r}")
    if control:
        for name in own:
            check.error(entries[name].key_node, f"control variant {variant_id!r} changes nothing; {name!r} has no effect")
        return variant
    _inherit(variant, {**defaults, **own})
    if action is not None:
        _needs(check, variant, action, f"variant {variant_id!r} of {slot_name}")
    description = check.scalar(entries["description"].node) if "description" in entries else ""
    variant.description = description if isinstance(description, str) else ""
    return variant


def _inherit(variant: s.VariantSpec, content: dict[str, Any]) -> None:
    for name, value in content.items():
        if name == "attributes":
            variant.attributes = {k: t for k, (t, _) in value.items()}
            variant.attribute_nodes = {k: n for k, (_, n) in value.items()}
        else:
            setattr(variant, name, value)


def _needs(check: Checker, variant: s.VariantSpec, action: str, what: str) -> None:
    need = s.ACTION_NEEDS.get(action)
    if need is None or variant.control:
        return
    has = {
        "'html' or 'template'": variant.html is not None or variant.template is not None,
        "'attributes'": bool(variant.attributes),
        "'order'": variant.order is not None,
        "'value'": variant.value is not None,
    }[need]
    if not has:
        check.error(variant.node, f"{what} needs {need} for action {action!r}")


# -- pages and policy ---------------------------------------------------------------


def _pages(check: Checker, node: Node) -> list[s.PageRuleSpec] | None:
    items = check.sequence(node, "'pages'", single_ok=True) if not isinstance(node, MappingNode) else [node]
    if items is None:
        return None
    if not items:
        check.error(node, "'pages' must not be an empty list")
        return None
    rules: list[s.PageRuleSpec] = []
    for item in items:  # keep going past a bad entry: every entry's errors are reported
        if isinstance(item, MappingNode):
            rule = _page_mapping(check, item)
        else:
            text = check.text(item, "a 'pages' pattern")
            rule = s.PageRuleSpec(item, check.source, path=text) if text else None
        if rule is not None:
            rules.append(rule)
    return rules


def _page_mapping(check: Checker, node: Node) -> s.PageRuleSpec | None:
    entries = check.mapping(node, s.PAGE_KEYS, "a 'pages' entry")
    if entries is None:
        return None
    if not entries:
        check.error(node, "a 'pages' entry needs 'path', 'regex', 'query' or 'headers'")
        return None
    if "path" in entries and "regex" in entries:
        check.error(entries["regex"].key_node, "a 'pages' entry has either 'path' or 'regex', not both")
        return None
    path = check.text(entries["path"].node, "'path'") if "path" in entries else None
    regex = check.text(entries["regex"].node, "'regex'") if "regex" in entries else None
    query = _conditions(check, entries["query"].node, "'query'") if "query" in entries else ()
    headers = _conditions(check, entries["headers"].node, "'headers'", lower=True) if "headers" in entries else ()
    if ("path" in entries and path is None) or ("regex" in entries and regex is None) or query is None or headers is None:
        return None
    return s.PageRuleSpec(node, check.source, path=path, regex=regex, query=query, headers=headers)


def _conditions(check: Checker, node: Node, what: str, *, lower: bool = False) -> tuple[s.Condition, ...] | None:
    """``name: glob``, ``name: [glob, ...]``, ``name: true`` (present) or ``false`` (absent)."""
    fields = check.mapping(node, AnyKey(), what)
    if fields is None:
        return None
    out: list[s.Condition] = []
    ok = True
    for name, entry in fields.items():
        key = name.lower() if lower else name
        value = check.scalar(entry.node)
        if isinstance(value, bool):
            out.append(s.Condition(key, value))
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(s.Condition(key, True, (str(value),)))
            continue
        texts = check.texts(entry.node, f"{what} condition {name!r}")
        if texts is None:
            ok = False
            continue
        out.append(s.Condition(key, True, tuple(t.value for t in texts)))
    return tuple(out) if ok else None


def _policy(check: Checker, node: Node) -> s.PolicySpec:
    """``policy: ucb`` or ``policy: {name: ucb, c: 2, sticky: visitor}``."""
    if isinstance(node, ScalarNode):
        text = check.text(node, "'policy'")
        return s.PolicySpec(name=text.value if text else s.DEFAULT_POLICY, param_nodes={"name": node}, node=node)
    fields = check.mapping(node, AnyKey(), "'policy'")
    if fields is None:
        return s.PolicySpec(node=node)
    name = s.DEFAULT_POLICY
    if "name" in fields:
        text = check.text(fields["name"].node, "'policy.name'")
        name = text.value if text else name
    sticky = check.choice(fields["sticky"].node, s.STICKY, "'policy.sticky'") if "sticky" in fields else None
    # Parameters may sit next to `name` or under `params:`; both end up in one mapping.
    params = {k: construct(e.node) for k, e in fields.items() if k not in ("name", "sticky", "params")}
    nodes = {k: e.key_node for k, e in fields.items() if k not in ("name", "sticky", "params")}
    if "params" in fields:
        nested = check.mapping(fields["params"].node, AnyKey(), "'policy.params'") or {}
        for k, e in nested.items():
            if k in params:
                check.error(e.key_node, f"policy parameter {k!r} is given twice (flat and under 'params')")
                continue
            params[k] = construct(e.node)
            nodes[k] = e.key_node
    nodes["name"] = fields["name"].node if "name" in fields else node
    return s.PolicySpec(name=name, sticky=sticky or s.DEFAULT_STICKY, params=params, param_nodes=nodes, node=node)
