"""Parsing the ``capture`` section: how the store's own behaviour becomes Slotwise's events.

See docs/capture.md. Sources: ``request`` (a request through the proxy and the
store's answer), ``page`` (a page through the proxy, or read by the tag in
tag-only mode), ``click`` / ``submit`` (the tag, in the browser), the mini
basket (``cart``), the logged-in customer (``customer``) and GA4's
``dataLayer``.
"""

from __future__ import annotations

from slotwise.rules import schema as s
from typing import Callable

from slotwise.rules.checker import Checker, Entry
from slotwise.rules.order_mapping import parse_order_mapping
from slotwise.rules.parse_fields import PagesParser, parse_fields, parse_group, parse_items, refuse_person_cookies
from slotwise.rules.signed_identity import SignedIdentity, parse_secret_env
from slotwise.rules.yaml_marks import MappingNode, Node, ScalarNode, construct

PageMappingParser = Callable[[Checker, Node], "s.PageRuleSpec | None"]

SOURCES = ("request", "page", "click", "submit")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def parse_capture(check: Checker, node: Node, pages: PagesParser, page_mapping: PageMappingParser) -> s.CaptureSpec:
    spec = s.CaptureSpec()
    entries = check.mapping(node, s.CAPTURE_KEYS, "'capture'")
    if entries is None:
        return spec
    if "customer" in entries:
        spec.customer, spec.identity = _customer(check, entries["customer"].node, pages)
    if "cart" in entries and _names_request(entries["cart"].node):
        spec.cart_answer = _answer_cart(check, entries["cart"].node, page_mapping)
    elif "cart" in entries:
        group = parse_group(check, entries["cart"].node, s.CART_KEYS, "'capture.cart'", pages)
        if group is not None:
            if "count" not in group.fields and group.lines is None:
                check.error(entries["cart"].node, "'capture.cart' needs 'count' or 'lines' (what the mini basket shows)")
            elif group.within is None and "count" not in group.fields:
                check.error(entries["cart"].node, "'capture.cart' needs 'within' (the mini basket's element) when it reads no 'count': "
                                                  "otherwise a page without the basket would look like an empty one")
        spec.cart = group
    if "events" in entries:
        items = check.sequence(entries["events"].node, "'capture.events'") or []
        for item in items:
            event = _event(check, item, pages, page_mapping)
            if event is not None:
                spec.events.append(event)
        seen: dict[str, s.EventSpec] = {}
        for event in spec.events:
            if event.id is not None and event.id in seen:
                check.error(event.node, f"duplicate capture id {event.id!r}")
            if event.id is not None:
                seen[event.id] = event
    if "datalayer" in entries:
        spec.datalayer = _datalayer(check, entries["datalayer"].node)
    if "soft_navigations" in entries:
        on = check.boolean(entries["soft_navigations"].node, "'capture.soft_navigations'")
        spec.soft_navigations = spec.soft_navigations if on is None else on
    if "orders" in entries:
        mapping = parse_order_mapping(check, entries["orders"].node)
        spec.orders = s.OrdersSpec(entries["orders"].node, check.source, mapping) if mapping is not None else None
    return spec


def _a(word: str) -> str:
    """The article for an event name in a message: "an add_to_cart", "a purchase"."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _datalayer(check: Checker, node: Node) -> s.DataLayerSpec | None:
    if isinstance(node, ScalarNode):
        on = check.boolean(node, "'capture.datalayer'")
        return s.DataLayerSpec(node, check.source) if on else None
    entries = check.mapping(node, s.DATALAYER_KEYS, "'capture.datalayer'")
    if entries is None:
        return None
    spec = s.DataLayerSpec(node, check.source)
    if "events" in entries:
        names = check.texts(entries["events"].node, "'capture.datalayer.events'") or []
        for name in names:
            if name.value not in s.GA4_EVENTS:
                check.error(name.node, f"'capture.datalayer.events': {name.value!r} is not one of {', '.join(s.GA4_EVENTS)}")
        spec.events = tuple(n.value for n in names if n.value in s.GA4_EVENTS)
    for key in ("product", "size", "category"):
        if key in entries:
            text = check.text(entries[key].node, f"'capture.datalayer.{key}'")
            if text is not None:
                setattr(spec, key, text.value.strip())
    return spec


def _customer(check: Checker, node: Node, pages: PagesParser) -> tuple[s.GroupSpec | None, SignedIdentity | None]:
    """``capture.customer``: where the page names who is logged in, and (tag-only) the signature that vouches
    for the id with the secret ``secret_env`` names (``rules.signed_identity``)."""
    group = parse_group(check, node, s.CUSTOMER_KEYS, "'capture.customer'", pages, settings=("secret_env",))
    if group is None:
        return None, None
    if not ({"id", "email"} & set(group.fields)):
        check.error(node, "'capture.customer' needs 'id' or 'email' (where the page names the customer)")
    refuse_person_cookies(check, group.fields, "'capture.customer'")
    entries = node.value if isinstance(node, MappingNode) else []
    secret = next((value for key, value in entries if isinstance(key, ScalarNode) and key.value == "secret_env"), None)
    identity = parse_secret_env(check, secret) if secret is not None else None
    if "signature" in group.fields and secret is None:
        check.error(node, "'capture.customer.signature' needs 'secret_env': the environment variable that holds the "
                          "secret the store signs customer ids with (SLOTWISE_IDENTITY_SECRET)")
    if ("signature" in group.fields or secret is not None) and "id" not in group.fields:
        check.error(node, "'capture.customer.signature' signs the customer id: the group needs 'id'")
    return group, identity


def _event(check: Checker, node: Node, pages: PagesParser, page_mapping: PageMappingParser) -> s.EventSpec | None:
    entries = check.mapping(node, s.EVENT_KEYS, "a capture event")
    if entries is None:
        return None
    if "event" not in entries:
        check.error(node, "a capture event is missing required key 'event'")
        return None
    event = check.choice(entries["event"].node, tuple(s.CAPTURE_EVENTS), "'event'")
    kinds = [k for k in SOURCES if k in entries]
    if len(kinds) != 1:
        check.error(node, f"a capture event needs exactly one source of {', '.join(SOURCES)}"
                          + (f", got {', '.join(kinds)}" if kinds else ""))
        return None
    if event is None:
        return None
    kind = kinds[0]
    spec = s.EventSpec(node, check.source, event=event, kind=kind)
    if "id" in entries:
        text = check.text(entries["id"].node, "capture 'id'")
        spec.id = text.value.strip() if text else None
    if "description" in entries:
        value = check.scalar(entries["description"].node)
        spec.description = value if isinstance(value, str) else ""
    allowed = s.CAPTURE_EVENTS[event]
    if kind == "request":
        _request(check, entries, spec, page_mapping)
    elif kind == "page":
        spec.group = s.GroupSpec(node, check.source, pages=pages(check, entries["page"].node))
        if "within" in entries:
            spec.group.within = check.text(entries["within"].node, "'within'")
    else:
        spec.selector = check.text(entries[kind].node, f"'{kind}'")
        spec.group = s.GroupSpec(node, check.source)
    for key in ("success",):
        if key in entries and kind != "request":
            check.error(entries[key].key_node, f"'{key}' only applies to request sources")
    if "within" in entries and kind != "page":
        check.error(entries["within"].key_node, "'within' only applies to page sources")
    if "confirm" in entries:
        if kind not in ("request", "submit"):
            check.error(entries["confirm"].key_node, "'confirm' only applies to request and submit sources")
        else:
            spec.confirm = _confirm(check, entries["confirm"].node)
    if event == "purchase" and kind != "page":
        # an order is its lines: only a page (the confirmation) shows them; a request, a click or a
        # form never could, so such a source would fail on every order at run time
        check.error(entries[kind].key_node, f"a purchase is read from the order confirmation page ('page'), not from "
                                            f"a {kind}: the GA4 dataLayer and the order webhook report orders too")
    elif event == "logout" and kind != "request":
        # a logout is the store's answer to its logout request, which only the proxy sees and answers with a
        # new visitor cookie; a click or a page would do nothing at run time, so a shared browser stays one visitor
        check.error(entries[kind].key_node, f"a logout is read from the logout request ('request', through the "
                                            f"proxy), not from a {kind}: only the store's answer to it can give the "
                                            "browser a new visitor id")
    elif event == "login" and kind == "request" and "success" not in entries and "confirm" not in entries:
        # a login through the proxy is trusted (it links the browser to the customer): "any answer below 400"
        # would count a wrong password, which most stores answer 200 with the form again
        check.error(entries[kind].key_node, "a login read from a request needs 'success' (what the store answers "
                                            "to a right password, like response.status == 303) or 'confirm': "
                                            "without one a wrong password would count, and anyone typing a "
                                            "customer's e-mail would get that customer's profile")
    elif "lines" in entries:
        if event != "purchase":
            check.error(entries["lines"].key_node, "'lines' only applies to purchase events read from a page")
        elif isinstance(entries["lines"].node, ScalarNode) and construct(entries["lines"].node) == "cart":
            spec.cart_lines = True  # the page names its lines by name alone: the order is the cart the profile holds
        elif isinstance(entries["lines"].node, ScalarNode):
            check.error(entries["lines"].node, "'lines' must be a mapping (items and product: the order's lines on "
                                               f"the page) or 'cart' (the visitor's cart), not {construct(entries['lines'].node)!r}")
        elif spec.group is not None:
            spec.group.lines = parse_items(check, entries["lines"].node, s.LINE_FIELDS, "'lines'", required=("product",))
    elif event == "purchase":
        check.error(node, "a purchase needs 'lines' (the order's lines: items and product)")
    if "fields" in entries:
        if kind == "request":
            fields = check.mapping(entries["fields"].node, allowed, f"'fields' of {_a(event)} event")
            for name, entry in (fields or {}).items():
                text = check.text(entry.node, f"field {name!r}")
                if text is not None:
                    spec.expressions[name] = text
        elif spec.group is not None:
            spec.group.fields = parse_fields(check, entries["fields"].node, allowed, f"'fields' of {_a(event)} event",
                                             form_ok=kind == "submit") or {}
    have = set(spec.expressions) | (set(spec.group.fields) if spec.group else set())
    for name in s.REQUIRED_FIELDS.get(event, ()):
        if name not in have:
            check.error(node, f"{_a(event)} event needs field {name!r}")
    if event in ("signup", "login") and not have & {"email", "customer_id"}:
        check.error(node, f"{_a(event)} event needs field 'email' or 'customer_id'")
    if event == "newsletter" and "email" not in have:
        check.error(node, "a newsletter event needs field 'email'")
    if spec.group is not None:  # after the checks above: a refused field is said once, not as missing too
        refuse_person_cookies(check, spec.group.fields, f"'fields' of {_a(event)} event")
    return spec


def _names_request(node: Node) -> bool:
    """Whether ``capture.cart`` reads a JSON answer (it has ``request``) rather than the page's basket."""
    return isinstance(node, MappingNode) and any(construct(k) == "request" for k, _ in node.value)


def _answer_cart(check: Checker, node: Node, page_mapping: PageMappingParser) -> s.AnswerCartSpec | None:
    """``capture.cart: {request, lines, count}``: the cart from the JSON answer to a request (GET by default)."""
    from slotwise.rules.answer_cart import KEYS, parse_answer_values

    entries = check.mapping(node, KEYS, "'capture.cart' with 'request'")
    if entries is None:
        return None
    request = _request_rule(check, entries["request"].node, page_mapping, ("GET",), "'capture.cart.request'")
    values = parse_answer_values(check, entries, node)
    if request is None or values is None:
        return None
    return s.AnswerCartSpec(node, check.source, request[1], request[0], values)


def _request_rule(check: Checker, node: Node, page_mapping: PageMappingParser, methods: tuple[str, ...],
                  what: str = "'request'") -> tuple[tuple[str, ...], s.PageRuleSpec] | None:
    """A request source's ``request``: its methods (``methods`` when it names none) and path rule."""
    if isinstance(node, ScalarNode):  # request: "/basket/add/"
        text = check.text(node, what)
        return (methods, s.PageRuleSpec(node, check.source, path=text)) if text is not None else None
    fields = check.mapping(node, s.REQUEST_KEYS, what)
    if fields is None:
        return None
    if "method" in fields:
        items = check.texts(fields["method"].node, f"{what[:-1]}.method'") or []
        said = []
        for item in items:
            method = item.value.strip().upper()
            if method not in METHODS:
                check.error(item.node, f"{what[:-1]}.method' must be one of {', '.join(METHODS)}, got {item.value!r}")
            said.append(method)
        methods = tuple(said) or methods
    rest = MappingNode(node.tag, [(k, v) for k, v in node.value if construct(k) != "method"],
                       node.start_mark, node.end_mark)
    if not rest.value:
        check.error(node, f"{what} needs 'path' or 'regex'")
        return None
    parsed = page_mapping(check, rest)
    if parsed is None:
        return None
    if parsed.path is None and parsed.regex is None:
        check.error(node, f"{what} needs 'path' or 'regex'")
    return methods, parsed


def _request(check: Checker, entries: dict[str, Entry], spec: s.EventSpec, page_mapping: PageMappingParser) -> None:
    found = _request_rule(check, entries["request"].node, page_mapping, spec.methods)
    if found is not None:
        spec.methods, spec.request = found
    if "success" in entries:
        raw = check.scalar(entries["success"].node)
        if isinstance(raw, bool):
            check.error(entries["success"].node, "'success' must be an expression over response (like response.status == 303)")
        else:
            spec.success = check.text(entries["success"].node, "'success'")


def _confirm(check: Checker, node: Node) -> s.ConfirmSpec | None:
    if isinstance(node, MappingNode):
        entries = check.mapping(node, s.CONFIRM_KEYS, "'confirm'")
        if entries is None:
            return None
        if len(entries) != 1:
            check.error(node, "'confirm' takes one of 'present' or 'absent' (a CSS selector on the next page)")
            return None
        (name, entry), = entries.items()
        css = check.text(entry.node, f"'confirm.{name}'")
        return s.ConfirmSpec(node, check.source, css, present=name == "present") if css else None
    css = check.text(node, "'confirm'")
    if css is None:
        return None
    return s.ConfirmSpec(node, check.source, css)

