"""Parsing what rules read from pages: fields, item lists, groups, and the ``catalog`` section.

Structure and types only, every problem recorded with its place; selectors
and regexes are checked when the loader compiles them (``compile_fields``).
"""

from __future__ import annotations

import re
from typing import Callable, Collection

from slotwise.rules import schema as s
from slotwise.rules.checker import Checker, Entry, Text
from slotwise.rules.cookies import cookie_name_problem
from slotwise.rules.extract import split_attribute
from slotwise.rules.feed_mapping import parse_feed_mapping
from slotwise.rules.script_data import path_problem
from slotwise.rules.page_types import KINDS as PAGE_TYPE_KINDS
from slotwise.rules.size_vocabulary import OWN, parse_not_sizes, parse_size_names
from slotwise.rules.yaml_marks import MappingNode, Node, ScalarNode, kind_of

_COOKIE_TEXT = re.compile(r"^cookie\s*[:.]\s*(?=\S)")  # "cookie:cart_currency": meant as {cookie: cart_currency}

PagesParser = Callable[[Checker, Node], "list[s.PageRuleSpec] | None"]


def parse_field(check: Checker, node: Node, what: str, *, form_ok: bool = False) -> s.FieldSpec | None:
    """``"css"``, ``"css @attr"``, ``"@attr"``, ``"text"``, ``form.NAME`` (submit triggers) or a mapping
    (``{css, attr, match}``, ``{value}``, ``{cookie, match}``, ``{script, match}``, ``{css, json, match}``)."""
    if isinstance(node, MappingNode):
        entries = check.mapping(node, s.FIELD_KEYS, what)
        if entries is None:
            return None
        spec = s.FieldSpec(node, check.source)
        if "value" in entries:
            value = check.scalar(entries["value"].node)
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                check.error(entries["value"].node, f"{what}: 'value' must be text or a number, got {kind_of(entries['value'].node)}")
                return None
            if len(entries) > 1:
                check.error(node, f"{what}: a constant 'value' takes no 'css', 'attr', 'match', 'cookie', 'script' "
                                  "or 'json'")
                return None
            spec.const = str(value)
            return spec
        if "cookie" in entries:
            return _cookie_field(check, node, entries, spec, what)
        if "script" in entries:
            return _script_field(check, node, entries, spec, what)
        if "json" in entries:
            if "attr" in entries:
                check.error(node, f"{what}: 'json' reads the element's text as JSON: no 'attr'")
                return None
            spec.json = _key_path(check, entries["json"], f"{what}: 'json'", script=False)
            if spec.json is None:
                return None
        if "css" in entries:
            spec.css = check.text(entries["css"].node, f"{what}: 'css'")
            if spec.css is None:
                return None
        if "attr" in entries:
            attr = check.text(entries["attr"].node, f"{what}: 'attr'")
            if attr is None:
                return None
            spec.attr = attr.value.strip()
        return _with_match(check, entries, spec, what)
    text = check.text(node, what)
    if text is None:
        return None
    value = text.value.strip()
    if value.startswith("form.") and form_ok:
        return s.FieldSpec(node, check.source, form=value[len("form."):])
    if _COOKIE_TEXT.match(value):
        check.error(node, f"{what}: {value!r} is read as a CSS selector; a cookie is read with "
                          f"{{cookie: {_COOKIE_TEXT.sub('', value)}}}")
        return None
    if value == "text":
        return s.FieldSpec(node, check.source)
    css, attr = split_attribute(value)
    if attr is not None:
        return s.FieldSpec(node, check.source, css=Text(css, node, check.source) if css else None, attr=attr)
    return s.FieldSpec(node, check.source, css=text)


def _cookie_field(check: Checker, node: Node, entries: dict[str, Entry], spec: s.FieldSpec,
                  what: str) -> s.FieldSpec | None:
    """``{cookie: NAME, match: REGEX}``: the page's cookie NAME (a last ``*``: a name prefix), URL-decoded."""
    others = [key for key in entries if key not in ("cookie", "match")]
    if others:
        check.error(node, f"{what}: a 'cookie' field reads the page's cookie, not an element: no "
                          f"{', '.join(repr(k) for k in others)} (a 'match' may pick part of its value)")
        return None
    name = check.text(entries["cookie"].node, f"{what}: 'cookie'")
    if name is None:
        return None
    problem = cookie_name_problem(name.value.strip())
    if problem is not None:
        check.error(entries["cookie"].node, f"{what}: 'cookie': {problem}")
        return None
    spec.cookie = name.value.strip()
    return _with_match(check, entries, spec, what)


def _script_field(check: Checker, node: Node, entries: dict[str, Entry], spec: s.FieldSpec,
                  what: str) -> s.FieldSpec | None:
    """``{script: PATH, match: REGEX}``: a global a script of the page assigns, then a key path in it
    (``script_data``)."""
    others = [key for key in entries if key not in ("script", "match")]
    if others:
        check.error(node, f"{what}: a 'script' field reads a global of the page's scripts, not an element: no "
                          f"{', '.join(repr(k) for k in others)} (a 'match' may pick part of its value)")
        return None
    spec.script = _key_path(check, entries["script"], f"{what}: 'script'", script=True)
    return _with_match(check, entries, spec, what) if spec.script is not None else None


def _key_path(check: Checker, entry: Entry, what: str, *, script: bool) -> tuple[str, ...] | None:
    """A script or JSON field's key path, as its steps; None when it is none (the error said where)."""
    text = check.text(entry.node, what)
    if text is None:
        return None
    steps = tuple(step.strip() for step in text.value.strip().split("."))
    problem = path_problem(steps, script=script)
    if problem is not None:
        check.error(entry.node, f"{what}: {text.value!r}: {problem}")
        return None
    return steps


def _with_match(check: Checker, entries: dict[str, Entry], spec: s.FieldSpec, what: str) -> s.FieldSpec | None:
    """``spec`` with its ``match`` (a regex picking part of the value) when the field gives one; None when
    that is no text (the error said where)."""
    if "match" in entries:
        spec.match = check.text(entries["match"].node, f"{what}: 'match'")
        if spec.match is None:
            return None
    return spec


PERSON_FIELDS = frozenset({"id", "email", "customer_id", "signature"})
"""Fields that name a person (``capture.customer``'s, a login's, a sign-up's): never a cookie's."""


def refuse_person_cookies(check: Checker, fields: dict[str, s.FieldSpec], what: str) -> None:
    """Drops (with an error) each field naming a person that reads a cookie: what the proxy reads of the store's
    page is trusted to say who is logged in, and a cookie is whatever the browser sends — a forged login cookie
    would take over another customer's profile."""
    for name in [n for n, spec in fields.items() if n in PERSON_FIELDS and spec.cookie is not None]:
        check.error(fields.pop(name).node, f"{what} field {name!r}: a cookie cannot say who someone is (the browser "
                                           "sends any value it likes: a forged login cookie would name another "
                                           "customer); read it from the page the store renders for them")


def parse_fields(check: Checker, node: Node, allowed: Collection[str], what: str, *, form_ok: bool = False,
                 skip: Collection[str] = ()) -> dict[str, s.FieldSpec] | None:
    entries = check.mapping(node, allowed, what)
    if entries is None:
        return None
    out: dict[str, s.FieldSpec] = {}
    for name, entry in entries.items():
        if name in skip:
            continue
        spec = parse_field(check, entry.node, f"{what} field {name!r}", form_ok=form_ok)
        if spec is not None:
            out[name] = spec
    return out


def parse_items(check: Checker, node: Node, allowed: Collection[str], what: str, *,
                 required: Collection[str] = ()) -> s.ItemsSpec | None:
    """``{items: CSS, field: spec, ...}``: the same fields read from every match — or, with
    ``items: {json: FIELD, key: PATH}``, from every element of the JSON list FIELD reads, each field a key path."""
    entries = check.mapping(node, ("items", *allowed), what)
    if entries is None:
        return None
    if "items" not in entries:
        check.error(node, f"{what} is missing required key 'items' (the CSS selector of one item)")
        return None
    items_node = entries["items"].node
    source = key = css = None
    if isinstance(items_node, MappingNode):
        source, key, ok = _json_items(check, items_node, what)
        if not ok:
            return None
    else:
        css = check.text(items_node, f"{what}: 'items'")
    fields: dict[str, s.FieldSpec] = {}
    for name, entry in entries.items():
        if name == "items":
            continue
        label = f"{what} field {name!r}"
        spec = _json_field(check, entry.node, label) if source is not None else parse_field(check, entry.node, label)
        if spec is not None and spec.cookie is not None:
            check.error(entry.node, f"{label}: a 'cookie' is the page's, one value: no field of an item reads one")
        elif spec is not None and spec.script is not None:
            check.error(entry.node, f"{label}: a 'script' global is the page's, one value: no field of an item "
                                    "reads one ({css, json} reads an element of each item)")
        elif spec is not None:
            fields[name] = spec
    for name in required:
        if name not in entries:
            check.error(node, f"{what} is missing required field {name!r}")
    if css is None and source is None:
        return None
    return s.ItemsSpec(node, check.source, css, fields, json=source, key=key)


def _json_items(check: Checker, node: MappingNode, what: str) -> tuple[s.FieldSpec | None, Text | None, bool]:
    """``items: {json: FIELD, key: PATH}``: the field whose text is a JSON list (or holds one at PATH)."""
    if not any(isinstance(k, ScalarNode) and k.value == "json" for k, _ in node.value):
        check.error(node, f"{what}: 'items' is a CSS selector, or {{json: FIELD}} for the elements of a JSON "
                          "list a field reads (e.g. json: \"form.variations_form @data-product_variations\")")
        return None, None, False
    entries = check.mapping(node, s.JSON_ITEMS_KEYS, f"{what}: 'items'")
    if entries is None or "json" not in entries:
        return None, None, False
    source = parse_field(check, entries["json"].node, f"{what}: 'items' json")
    if source is not None and (source.match is not None or source.const is not None or source.cookie is not None
                               or source.script is not None or source.json is not None):
        check.error(entries["json"].node, f"{what}: 'items' json reads a JSON text of the page as it is: no 'match', "
                                          "'value', 'cookie', 'script' or 'json' (its 'key' is the path to the list)")
        return None, None, False
    key = check.text(entries["key"].node, f"{what}: 'items' key") if "key" in entries else None
    return source, key, source is not None and ("key" not in entries or key is not None)


def _json_field(check: Checker, node: Node, what: str) -> s.FieldSpec | None:
    """A field of a JSON item: a key path (``attributes.size``), or ``{key, match}``, or ``{value}``."""
    if isinstance(node, MappingNode):
        entries = check.mapping(node, s.JSON_FIELD_KEYS, what)
        if entries is None:
            return None
        if "value" in entries:
            return parse_field(check, node, what)  # {value} alone, as anywhere
        spec = s.FieldSpec(node, check.source)
        if "key" not in entries:
            check.error(node, f"{what}: a field of a JSON item needs 'key' (the key path, e.g. attributes.size)")
            return None
        spec.key = check.text(entries["key"].node, f"{what}: 'key'")
        if "match" in entries:
            spec.match = check.text(entries["match"].node, f"{what}: 'match'")
        return spec if spec.key is not None else None
    text = check.text(node, what)
    return s.FieldSpec(node, check.source, key=text) if text is not None else None


def words(check: Checker, entry: Entry, what: str) -> tuple[str, ...] | None:
    texts = check.texts(entry.node, what)
    return tuple(t.value.strip() for t in texts) if texts is not None else None


def parse_catalog(check: Checker, node: Node) -> s.CatalogSpec:
    spec = s.CatalogSpec()
    entries = check.mapping(node, s.CATALOG_KEYS, "'catalog'")
    if entries is None:
        return spec
    for name in ("product_pages", "category_pages", "home_pages"):
        if name in entries:
            setattr(spec, name, check.texts(entries[name].node, f"'catalog.{name}'") or [])
    if "feed" in entries and isinstance(entries["feed"].node, MappingNode):  # the store's own shape
        spec.feed, spec.feed_mapping = parse_feed_mapping(check, entries["feed"].node)
    elif "feed" in entries:
        spec.feed = check.text(entries["feed"].node, "'catalog.feed'")
    if "customer" in entries:
        spec.customer = parse_field(check, entries["customer"].node, "'catalog.customer'")
        if spec.customer is not None and spec.customer.cookie is not None:
            refuse_person_cookies(check, {"id": spec.customer}, "'catalog.customer'")
            spec.customer = None
    if "selectors" in entries:
        spec.selectors = parse_fields(check, entries["selectors"].node, s.FACT_SELECTOR_KEYS, "'catalog.selectors'") or {}
    if "currency" in entries:
        spec.currency = parse_currency_code(check, entries["currency"].node, "'catalog.currency'")
    if "page_currency" in entries:
        spec.page_currency = parse_field(check, entries["page_currency"].node, "'catalog.page_currency'")
    if "availability" in entries:
        avail = check.mapping(entries["availability"].node, s.AVAILABILITY_KEYS, "'catalog.availability'") or {}
        if "in_stock" in avail:
            spec.in_stock_words = words(check, avail["in_stock"], "'catalog.availability.in_stock'")
        if "out_of_stock" in avail:
            spec.out_of_stock_words = words(check, avail["out_of_stock"], "'catalog.availability.out_of_stock'")
    if "sizes" in entries:
        spec.sizes = parse_items(check, entries["sizes"].node, s.SIZES_KEYS[1:], "'catalog.sizes'", required=("id", "size"))
    if "not_sizes" in entries:
        spec.not_sizes = parse_not_sizes(check, entries["not_sizes"].node, OWN)
    if "size_names" in entries:
        spec.size_names = parse_size_names(check, entries["size_names"].node)
    if "variant_id" in entries:
        spec.variant_id = _node_key(check, entries["variant_id"].node, "variant_id", "each variant")
    if "product_id" in entries:
        spec.product_id = _node_key(check, entries["product_id"].node, "product_id", "the page's product")
    if "page_types" in entries:
        spec.page_types = parse_page_types(check, entries["page_types"].node)
    return spec


def parse_page_types(check: Checker, node: Node) -> dict[str, Text]:
    """``catalog.page_types``: ``{product: "body.catalog-product-view", category: ...}``, a CSS selector per
    page type (home, category, product) that says a page is one where its URL cannot tell (``rules.page_types``)."""
    entries = check.mapping(node, PAGE_TYPE_KINDS, "'catalog.page_types'")
    if entries is None:
        return {}
    if not entries:
        check.error(node, "'catalog.page_types' names no page type: a CSS selector for home, category or product")
    out = {}
    for kind, entry in entries.items():
        text = check.text(entry.node, f"'catalog.page_types.{kind}' (a CSS selector)")
        if text is not None:
            out[kind] = text
    return out


def _node_key(check: Checker, node: Node, name: str, read_from: str) -> s.FieldSpec | None:
    """``catalog.variant_id`` / ``catalog.product_id``: where in a JSON-LD node (each variant; the page's
    product, a ProductGroup on a variant's page) its key is, as the store's catalog names it (a key path,
    ``sku``, ``productGroupID``; or ``{key, match}``, ``{key: "@id", match: "variant=(\\d+)"}``)."""
    what = f"'catalog.{name}'"
    if isinstance(node, MappingNode) and any(check.scalar(key) == "value" for key, _ in node.value):
        check.error(node, f"{what} is read from {read_from}: a key path (sku) or {{key, match}}, not a 'value'")
        return None
    return _json_field(check, node, what)


def parse_group(check: Checker, node: Node, allowed: Collection[str], what: str, pages: PagesParser, *,
                line_fields: Collection[str] = s.LINE_FIELDS, settings: Collection[str] = ()) -> s.GroupSpec | None:
    """A group: optional ``pages`` and ``within``, fields, and ``lines`` (items); ``settings``: keys that are
    no field (the caller reads them)."""
    entries = check.mapping(node, allowed, what)
    if entries is None:
        return None
    group = s.GroupSpec(node, check.source)
    if "pages" in entries:
        group.pages = pages(check, entries["pages"].node)
    if "within" in entries:
        group.within = check.text(entries["within"].node, f"{what}: 'within'")
    if "lines" in entries:
        group.lines = parse_items(check, entries["lines"].node, line_fields, f"{what}: 'lines'", required=("product",))
    for name, entry in entries.items():
        if name in ("pages", "within", "lines") or name in settings:
            continue
        spec = parse_field(check, entry.node, f"{what} field {name!r}")
        if spec is not None:
            group.fields[name] = spec
    return group


def is_scalar(node: Node) -> bool:
    return isinstance(node, ScalarNode)


def parse_currency_code(check: Checker, node: Node, what: str) -> str | None:
    """A three-letter currency code (``eur`` is ``EUR``): how the rules name a currency wherever they do."""
    text = check.text(node, what)
    if text is None:
        return None
    code = text.value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        check.error(node, f"{what} must be a three-letter code like EUR, got {text.value!r}")
        return None
    return code
