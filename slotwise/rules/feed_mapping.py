"""``catalog.feed`` in the store's own shape: where the products are, and a key path per catalog fact.

A platform publishes its catalog as it likes (WooCommerce's Store API,
Shopify's ``products.json``); a mapping reads it as it is, so no store has to
build a feed in Slotwise's shape. Key paths are ``Field.key``'s (the JSON
items of ``extract.py``: ``prices.price``, ``images.0.src``), one definition.
Mapped items become the fixed-shape feed entries ``normalize_feed_item``
already reads, so both forms give the catalog the same products.

Parsed and compiled in one pass (nothing here needs Lexbor): every problem
lands on its ``file:line:column``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qsl

from slotwise.keys import product_key
from slotwise.rules.checker import Checker, Entry, Text
from slotwise.rules.extract import MAX_ITEMS, Field, bad_key_path, key_path
from slotwise.rules.size_vocabulary import FEED, PLAIN_SIZES, SizeVocabulary, parse_not_sizes
from slotwise.rules.yaml_marks import MappingNode, Node, kind_of

FEED_KEYS = ("url", "items", "page", "fields", "sizes")
FACTS = ("id", "other_id", "name", "url", "image", "price", "currency", "category", "category_name", "brand",
         "in_stock", "stock")
VALUE_KEYS = ("key", "divide", "minor_units", "format", "any", "where", "value", "none", "empty", "fill")
TRANSFORMS = ("divide", "minor_units", "format", "any", "where")  # ``value`` goes with ``where``
FILL_PLACES = ("'catalog.feed.sizes", "'capture.orders.lines", "'capture.cart.lines")
"""Values read inside an element of a list, where ``fill`` reads the item the list is in."""
MAX_NONE = 20
PAGE_KEYS = ("param", "size_param", "size", "first", "max_pages", "next", "total_pages_header", "total_pages",
             "end_status")
PAGE_MARK, SIZE_MARK = "{page}", "{size}"  # in the value of ``param`` in the feed's URL: the number goes there
NEXT = ("count", "link")  # page numbers counted up, or each answer's Link rel="next" followed
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP field name (RFC 9110 token)
SIZES_KEYS = ("items", "id", "size", "not_sizes")
SIZES_NEEDED = SIZES_KEYS[:3]
MAX_PAGES = 1000
MAX_SIZES = MAX_ITEMS
MAX_TEXT = 2000


@dataclass(frozen=True)
class FeedValue:
    """One fact's key path and its transform (at most one: ``divide``, ``minor_units``, ``format``, ``any``,
    ``where`` with its ``value``)."""

    key: Field
    divide: float | None = None  # a number in cents: divide: 100
    minor_units: Field | None = None  # a number in minor units, their count at this key path (10 ** n)
    format: str | None = None  # "/products/{}": the value put in place of {}
    any: Field | None = None  # the key names a list: true when any element's ``any`` is true
    where: Conditions = ()  # the key names a list: its first element with these values...
    value: Field | None = None  # ...and this key path in it (WooCommerce's meta_data: key pa_size, its value)
    none: frozenset[str] = frozenset()  # values that name nothing (WooCommerce's customer_id 0 for a guest)
    empty: str | float | None = None  # the value when a list on the key path is there and empty
    fill: FeedValue | None = None  # the ``{}`` in ``key``: this value read in the item around the list

    def read(self, item: Any, outer: Any = None) -> Any:
        """The fact's value in one feed item: text, a number, a boolean, or None (missing or unusable).

        ``outer``: the item whose list ``item`` is an element of (the product of a variant), for ``fill``."""
        key = self._key(outer)
        if key is None:
            return None
        value = key.pick_raw(item)
        if self.value is not None:
            value = self._selected(value)
        if value is None and self.empty is not None and _empty_list_on(key, item):
            return self.empty
        if self.none and as_text(value) in self.none:
            return None
        if self.any is not None:
            flags = [self.any.pick_raw(e) for e in value[:MAX_SIZES]] if isinstance(value, list) else []
            return any(f is True for f in flags) if any(isinstance(f, bool) for f in flags) else None
        if isinstance(value, (dict, list)) or value is None:
            return None
        if self.divide is not None or self.minor_units is not None:
            return self._number(value, item)
        if self.format is not None:
            return None if isinstance(value, bool) else self.format.replace("{}", str(value)[:MAX_TEXT])
        return value

    def _key(self, outer: Any) -> Field | None:
        """``key``, its ``{}`` filled with ``fill``'s value in ``outer`` (one key step: no dot in it)."""
        if self.fill is None:
            return self.key
        got = as_text(self.fill.read(outer)) if outer is not None else None
        if not got or "." in got:
            return None
        return Field(key=tuple(step.replace("{}", got) for step in self.key.key or ()))

    def _selected(self, elements: Any) -> Any:
        """``value`` in the first element of the list ``elements`` whose ``where`` key paths hold their texts."""
        assert self.value is not None
        for element in elements[:MAX_SIZES] if isinstance(elements, list) else ():
            if holds(element, self.where):
                return self.value.pick_raw(element)
        return None

    def _number(self, value: Any, item: Any) -> float | None:
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if self.minor_units is not None:
            units = self.minor_units.pick_raw(item)
            if isinstance(units, str) and units.strip().isdigit():
                units = int(units)
            if isinstance(units, bool) or not isinstance(units, int) or not 0 <= units <= 8:
                return None  # unknown units: no price rather than one a hundred times off
            number /= 10 ** units
        else:
            assert self.divide is not None
            number /= self.divide
        return number if math.isfinite(number) else None

    def describe(self) -> str:
        said = self._transform()
        if self.fill is not None:
            said += f" ({{}}: {self.fill.describe()} in the item the list is in)"
        if self.empty is not None:
            said += f", {self.empty!r} when the list is empty"
        if self.none:
            said += f", none if {' or '.join(repr(n) for n in sorted(self.none))}"
        return said

    def _transform(self) -> str:
        path = ".".join(self.key.key or ())
        if self.divide is not None:
            return f"{path} / {self.divide:g}"
        if self.minor_units is not None:
            return f"{path} in minor units ({'.'.join(self.minor_units.key or ())})"
        if self.format is not None:
            return f"{self.format!r} with {path}"
        if self.any is not None:
            return f"any {path}[].{'.'.join(self.any.key or ())}"
        if self.value is not None:
            return f"{path}[{describe_conditions(self.where)}].{'.'.join(self.value.key or ())}"
        return path


Conditions = tuple[tuple[Field, str], ...]
"""``{KEY_PATH: VALUE, ...}`` as read: each key path and the text its value must be."""


def as_text(value: Any) -> str | None:
    """A value as conditions compare it: text, a number's digits, ``true``/``false``; None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return scalar_text(value)


def holds(element: Any, conditions: Conditions) -> bool:
    """Whether every key path of ``conditions`` holds its value in ``element``."""
    return all(as_text(path.pick_raw(element)) == want for path, want in conditions)


def describe_conditions(conditions: Conditions) -> str:
    return ", ".join(f"{'.'.join(f.key or ())}={want}" for f, want in conditions)


def _empty_list_on(key: Field, item: Any) -> bool:
    """Whether a step of ``key`` in ``item`` is an empty list (``discount_codes`` in ``discount_codes.0.code``)."""
    value = item
    for step in key.key or ():
        if isinstance(value, list) and not value:
            return True
        if isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return False
    return isinstance(value, list) and not value


@dataclass(frozen=True)
class FeedSizes:
    """Sizes as child products: every element of the list at ``items``, its own ``id`` and ``size``.

    ``vocabulary``: values that name no size (``not_sizes``: Shopify's ``Default Title``, the one variant of
    a product without options): such a variant stays its product's child, an alias; and a size's other names
    (read as its key). The loader sets it to the catalog's (``CatalogSettings.size_vocabulary``:
    ``catalog.not_sizes`` with this older spelling, and ``catalog.size_names``).
    """

    items: Field
    id: FeedValue
    size: FeedValue
    vocabulary: SizeVocabulary = PLAIN_SIZES

    def read(self, item: Any) -> tuple[dict[str, str], list[str], list[tuple[str, str]]]:
        """``{size key: child product key}`` of one feed item (the first child of a size; an id counts once),
        the children without a size (aliases: a line naming one is the product): none read (a product whose
        options name no size) or one of ``not_sizes``; and the other children of a size (Red / M after
        Blue / M), each with its size."""
        elements = self.items.pick_raw(item)
        out: dict[str, str] = {}
        aliases: list[str] = []
        more: list[tuple[str, str]] = []
        seen: set[str] = set()
        for element in elements[:MAX_SIZES] if isinstance(elements, list) else ():
            child = product_key(scalar_text(self.id.read(element, item)))
            size = self.vocabulary.size_of(scalar_text(self.size.read(element, item)))
            if not child or child in seen:
                continue
            seen.add(child)
            if not size:
                aliases.append(child)
            elif size in out:
                more.append((child, size))
            else:
                out[size] = child
        return out, aliases, more


@dataclass(frozen=True)
class FeedPaging:
    """``page``: each page a request with ``param=N`` (and ``size_param=size``) — or, ``next: link``, the
    URL the last answer's ``Link rel="next"`` names (cursor paging) — until the list says it ended.

    ``template``: the value ``param`` has in the feed's URL holds ``{page}`` (and maybe ``{size}``), where the
    numbers go, as for a GraphQL query that pages inside its text (Magento's ``products(currentPage: {page})``).

    It ends at an empty or short page, an answer whose ``Link`` pages the list and has no ``next``, the
    count of pages ``total_pages_header`` (or the answer's ``total_pages`` key path) gives, or (past a full
    page) a status in ``end_status``: opt-in, since a 404 in the middle of a catalog must fail the read, not
    truncate the catalog."""

    param: str | None
    size_param: str | None = None
    size: int | None = None
    first: int = 1
    max_pages: int = 50
    next: str = "count"
    total_pages_header: str | None = None
    end_status: tuple[int, ...] = ()
    template: bool = False
    total_pages: Field | None = None

    def describe(self) -> str:
        """One line: the requests and what ends them."""
        size = f", {self.size_param}={self.size}" if self.size_param else ""
        if self.next == "link":
            first = f" ({self.param}={self.first}{size})" if self.param else (f" ({size[2:]})" if size else "")
            how = f"the feed's URL{first}, then each answer's Link rel=\"next\""
        elif self.template:
            size += f", {SIZE_MARK}={self.size}" if self.size and not self.size_param else ""
            how = f"{PAGE_MARK}={self.first}, {self.first + 1}, ... in {self.param}'s value{size}"
        else:
            how = f"{self.param}={self.first}, {self.first + 1}, ...{size}"
        ends = ["an empty page"] + (["a short one"] if self.size else []) + ["a Link without rel=\"next\""]
        ends += [f"{self.total_pages_header} pages"] if self.total_pages_header else []
        ends += [f"{'.'.join(self.total_pages.key or ())} pages"] if self.total_pages is not None else []
        ends += [f"HTTP {'/'.join(map(str, self.end_status))} past a full page"] if self.end_status else []
        return f"pages: {how} (at most {self.max_pages}); the last: {', '.join(ends)}"


@dataclass(frozen=True)
class FeedMapping:
    """A feed in the store's own shape."""

    facts: Mapping[str, FeedValue]
    items: Field | None = None  # None: the document is the list
    page: FeedPaging | None = None
    sizes: FeedSizes | None = None

    def items_of(self, document: Any) -> list[Any]:
        """The document's list of products; ``ValueError`` saying where when there is none."""
        found = self.items.pick_raw(document) if self.items is not None else document
        if not isinstance(found, list):
            where = f"at {'.'.join(self.items.key or ())!r}" if self.items is not None else "(the document)"
            raise ValueError(f"no list of products {where}")
        return found

    def entry(self, item: Any) -> dict[str, Any] | None:
        """One item as the fixed feed entry ``normalize_feed_item`` reads, with ``other_id``, ``variants``,
        ``aliases`` (children that are no size) and ``more_sizes`` (other children of a size)."""
        if not isinstance(item, Mapping):
            return None
        out: dict[str, Any] = {}
        # a category alone is its key and its name (as in a fixed feed); with category_name, only its key
        fixed = {"category": "category_slug"} if "category_name" in self.facts else {}
        for fact, value in self.facts.items():
            got = value.read(item)
            if fact == "in_stock" and isinstance(got, str):
                out["availability"] = got  # words: read as the fixed feed's availability
            elif fact in ("price", "stock", "in_stock"):
                out[fact] = got
            else:
                out[fixed.get(fact, fact)] = scalar_text(got)
        if self.sizes is not None:
            out["variants"], out["aliases"], out["more_sizes"] = self.sizes.read(item)
        return out

    def describe(self) -> list[str]:
        """What ``rules check`` prints: the list, the pages, each fact's source."""
        where = ".".join(self.items.key or ()) if self.items is not None else "the document"
        lines = [f"products: {where}"]
        if self.page is not None:
            lines.append(self.page.describe())
        lines += [f"{fact} <- {value.describe()}" for fact, value in self.facts.items()]
        if self.sizes is not None:
            s = self.sizes
            lines.append(f"sizes <- {'.'.join(s.items.key or ())}[]: id {s.id.describe()}, size {s.size.describe()}"
                         + (f", not sizes: {', '.join(sorted(s.vocabulary.keys))}" if s.vocabulary.keys else ""))
        return lines


def scalar_text(value: Any) -> str | None:
    """Text facts as text: a number as its digits (an id), a boolean or nothing else as None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)[:MAX_TEXT] if isinstance(value, (str, int, float)) else None


# -- parsing (one pass: nothing to check later) ------------------------------------


def parse_feed_mapping(check: Checker, node: MappingNode) -> tuple[Text | None, FeedMapping | None]:
    """``catalog.feed: {url, items, page, fields, sizes}``: the feed's place and its mapping."""
    entries = check.mapping(node, FEED_KEYS, "'catalog.feed'")
    if entries is None:
        return None, None
    ok = True
    if "url" not in entries:
        check.error(node, "'catalog.feed' needs 'url': a file, a path on the storefront (/products.json) or a URL")
        ok = False
    if "fields" not in entries:
        check.error(node, "'catalog.feed' needs 'fields': a key path per catalog fact (id: slug, name: title, ...)")
        ok = False
    url = check.text(entries["url"].node, "'catalog.feed.url'") if "url" in entries else None
    items = parse_path(check, entries["items"].node, "'catalog.feed.items'") if "items" in entries else None
    ok = ok and url is not None and ("items" not in entries or items is not None)
    page = _page(check, entries["page"].node) if "page" in entries else None
    if page is not None:
        page = _in_value(check, entries["page"].node, url.value if url is not None else "", page)
    elif url is not None and PAGE_MARK in url.value and "page" not in entries:
        check.error(url.node, f"'catalog.feed.url' holds {PAGE_MARK}: say which parameter's value it is in with "
                              "'catalog.feed.page.param' (page: {param: query, size: 100})")
        ok = False
    ok = ok and ("page" not in entries or page is not None)
    facts = _facts(check, entries["fields"].node) if "fields" in entries else None
    sizes = _sizes(check, entries["sizes"].node) if "sizes" in entries else None
    ok = ok and facts is not None and ("sizes" not in entries or sizes is not None)
    if not ok or facts is None:
        return url, None
    return url, FeedMapping(facts=facts, items=items, page=page, sizes=sizes)


def parse_path(check: Checker, node: Node, what: str) -> Field | None:
    text = check.text(node, what)
    if text is None:
        return None
    key = key_path(text.value)
    if key is None:
        check.error(node, f"{what}: {bad_key_path(text.value)}")
        return None
    return Field(key=key)


def _facts(check: Checker, node: Node) -> dict[str, FeedValue] | None:
    entries = check.mapping(node, FACTS, "'catalog.feed.fields'")
    if entries is None:
        return None
    if "id" not in entries:
        check.error(node, "'catalog.feed.fields' needs 'id': the key path of the id products are keyed by")
        return None
    return parse_values(check, entries, "'catalog.feed.fields'")


def parse_values(check: Checker, entries: Mapping[str, Entry], what: str,
                 items: bool = False) -> dict[str, FeedValue] | None:
    """Each entry of the mapping ``what`` a ``FeedValue`` (``items``: its ``items`` a bare key path, the
    list the others are read in); every bad one said, None if any."""
    out: dict[str, FeedValue] = {}
    ok = True
    for name, entry in entries.items():
        if items and name == "items":  # the list: a key path, no transform
            path = parse_path(check, entry.node, f"{what[:-1]}.items'")
            value = FeedValue(path) if path is not None else None
        else:
            value = parse_value(check, entry.node, f"{what[:-1]}.{name}'")
        if value is None:
            ok = False
        else:
            out[name] = value
    return out if ok else None


def parse_value(check: Checker, node: Node, what: str) -> FeedValue | None:
    """A key path, or ``{key: PATH, <one transform>}``, with ``none``, ``empty`` or ``fill`` (each at most once)."""
    if not isinstance(node, MappingNode):
        key = parse_path(check, node, what)
        return FeedValue(key) if key is not None else None
    entries = check.mapping(node, VALUE_KEYS, what)
    if entries is None:
        return None
    value = _transformed(check, node, entries, what)
    if value is None:
        return None
    none, empty, fill = frozenset[str](), None, None
    if "none" in entries:
        items = check.sequence(entries["none"].node, f"{what}: 'none'", single_ok=True)
        if items is None:
            return None
        texts = [_condition_value(check, item, f"{what}: 'none'") for item in items[:MAX_NONE + 1]]
        if None in texts:
            return None
        if not texts or len(texts) > MAX_NONE:
            check.error(entries["none"].node, f"{what}: 'none' lists 1 to {MAX_NONE} values that name nothing "
                                              "([0, \"\"])")
            return None
        none = frozenset(t for t in texts if t is not None)
    if "empty" in entries:
        said = check.scalar(entries["empty"].node)
        if isinstance(said, bool) or not isinstance(said, (str, int, float)):
            check.error(entries["empty"].node, f"{what}: 'empty' must be a text or a number (\"\": none), "
                                               f"got {kind_of(entries['empty'].node)}")
            return None
        empty = said
    if "fill" in entries:
        if not what.startswith(FILL_PLACES):
            check.error(entries["fill"].key_node, f"{what}: 'fill' reads the item around a list: only in "
                                                  "catalog.feed.sizes, capture.orders.lines and capture.cart.lines")
            return None
        if sum(step.count("{}") for step in value.key.key or ()) != 1:
            check.error(entries["key"].node, f"{what}: with 'fill', 'key' must hold one {{}} (where the value "
                                             "goes: \"option{}\")")
            return None
        fill = parse_value(check, entries["fill"].node, f"{what}: 'fill'")
        if fill is None:
            return None
    return dataclasses.replace(value, none=none, empty=empty, fill=fill)


def _transformed(check: Checker, node: Node, entries: Mapping[str, Entry], what: str) -> FeedValue | None:
    """``{key: PATH, <one transform>}``."""
    if "key" not in entries:
        check.error(node, f"{what} needs 'key': the key path of the value (prices.price)")
        return None
    transforms = [name for name in TRANSFORMS if name in entries]
    if ("where" in entries) != ("value" in entries):
        there = entries["where"] if "where" in entries else entries["value"]
        check.error(there.key_node, f"{what}: 'where' and 'value' go together (key: meta_data, where: {{key: pa_size}}, "
                                    "value: value)")
        return None
    if len(transforms) > 1:
        check.error(entries[transforms[1]].key_node, f"{what}: one transform at a time, got {', '.join(transforms)}")
        return None
    key = parse_path(check, entries["key"].node, f"{what}: 'key'")
    if key is None:
        return None
    if "divide" in entries:
        divide = check.scalar(entries["divide"].node)
        if isinstance(divide, bool) or not isinstance(divide, (int, float)) or not math.isfinite(divide) or divide <= 0:
            check.error(entries["divide"].node, f"{what}: 'divide' must be a positive number (100: cents), "
                                                f"got {divide!r}")
            return None
        return FeedValue(key, divide=float(divide))
    if "minor_units" in entries:
        units = parse_path(check, entries["minor_units"].node, f"{what}: 'minor_units'")
        return FeedValue(key, minor_units=units) if units is not None else None
    if "format" in entries:
        text = check.text(entries["format"].node, f"{what}: 'format'")
        if text is None:
            return None
        if text.value.count("{}") != 1:
            check.error(entries["format"].node, f"{what}: 'format' {text.value!r} must hold one {{}} "
                                                "(where the value goes: \"/products/{}\")")
            return None
        return FeedValue(key, format=text.value)
    if "any" in entries:
        flag = parse_path(check, entries["any"].node, f"{what}: 'any'")
        return FeedValue(key, any=flag) if flag is not None else None
    if "where" in entries:
        where = parse_conditions(check, entries["where"].node, f"{what}: 'where'")
        value = parse_path(check, entries["value"].node, f"{what}: 'value'")
        return FeedValue(key, where=where, value=value) if where is not None and value is not None else None
    return FeedValue(key)


def parse_conditions(check: Checker, node: Node, what: str, example: str = "{key: pa_size}") -> Conditions | None:
    """``{KEY_PATH: VALUE, ...}``: what an element must hold (at least one key path); a value is a text, a
    whole number or a boolean."""
    if not isinstance(node, MappingNode) or not node.value:
        check.error(node, f"{what} must map key paths to the values an element holds ({example})")
        return None
    out: list[tuple[Field, str]] = []
    for key_node, value_node in node.value:
        path = parse_path(check, key_node, f"{what} key")
        want = _condition_value(check, value_node, what)
        if path is None or want is None:
            return None
        out.append((path, want))
    return tuple(out)


def _condition_value(check: Checker, node: Node, what: str) -> str | None:
    """A value a condition compares with, as ``as_text`` gives it: a text, a whole number or a boolean."""
    want = check.scalar(node)
    if not isinstance(want, (str, int)):  # bool is an int
        check.error(node, f"{what}: a value must be a text, a whole number or true/false, got {kind_of(node)}")
        return None
    return as_text(want)


def _page(check: Checker, node: Node) -> FeedPaging | None:
    entries = check.mapping(node, PAGE_KEYS, "'catalog.feed.page'")
    if entries is None:
        return None
    follow = check.choice(entries["next"].node, NEXT, "'catalog.feed.page.next'") if "next" in entries else "count"
    if "param" not in entries and follow != "link":
        check.error(node, "'catalog.feed.page' needs 'param': the query parameter that numbers pages (page), "
                          "or 'next: link' (each answer's Link header names the next page)")
        return None
    param = check.text(entries["param"].node, "'catalog.feed.page.param'") if "param" in entries else None
    size_param = check.text(entries["size_param"].node, "'catalog.feed.page.size_param'") \
        if "size_param" in entries else None
    size = check.integer(entries["size"].node, "'catalog.feed.page.size'", minimum=1, maximum=10_000) \
        if "size" in entries else None
    first = check.integer(entries["first"].node, "'catalog.feed.page.first'", minimum=0, maximum=1) \
        if "first" in entries else 1
    most = check.integer(entries["max_pages"].node, "'catalog.feed.page.max_pages'", minimum=1, maximum=MAX_PAGES) \
        if "max_pages" in entries else 50
    total = _header_name(check, entries["total_pages_header"].node) if "total_pages_header" in entries else None
    pages = parse_path(check, entries["total_pages"].node, "'catalog.feed.page.total_pages'") \
        if "total_pages" in entries else None
    ends = _end_status(check, entries["end_status"].node) if "end_status" in entries else ()
    if "size_param" in entries and "size" not in entries:
        check.error(node, "'catalog.feed.page': 'size_param' and 'size' go together (per_page: 100)")
        return None
    if (follow is None or ("param" in entries and param is None) or first is None or most is None
            or ("size" in entries and size is None) or ("size_param" in entries and size_param is None)
            or ("total_pages_header" in entries and total is None) or ("total_pages" in entries and pages is None)
            or ends is None):
        return None
    return FeedPaging(param.value.strip() if param else None, size_param.value.strip() if size_param else None,
                      size, first, most, follow, total, ends, total_pages=pages)


def _in_value(check: Checker, node: Node, url: str, paging: FeedPaging) -> FeedPaging | None:
    """``paging`` with ``template`` when the value ``param`` has in the feed's URL holds ``{page}``; an error
    for a ``{page}`` elsewhere or twice, beside ``next: link``, or a ``size`` that goes nowhere."""
    _, _, written = url.partition("#")[0].partition("?")
    values = [v for k, v in parse_qsl(written, keep_blank_values=True) if k == paging.param]
    held, everywhere = sum(v.count(PAGE_MARK) for v in values), url.count(PAGE_MARK)
    value = f"the value of {paging.param!r} in 'catalog.feed.url'" if paging.param else "no parameter"
    if everywhere and (held != 1 or everywhere != 1):
        check.error(node, f"'catalog.feed.page': the feed's URL holds {PAGE_MARK} {everywhere} time(s), {value} "
                          f"{held}: write it once, in the value of the parameter 'param' names "
                          "(param: query, url: /graphql?query={products(currentPage: {page}) {...}})")
        return None
    sized = held and SIZE_MARK in values[0]
    if not held:
        if paging.size is not None and paging.size_param is None:
            check.error(node, "'catalog.feed.page': 'size_param' and 'size' go together (per_page: 100)")
            return None
        return paging
    if paging.next == "link":
        check.error(node, f"'catalog.feed.page': {PAGE_MARK} numbers pages and 'next: link' follows the answers' "
                          "links: one or the other")
        return None
    if sized and paging.size is None:
        check.error(node, f"'catalog.feed.page': {value} holds {SIZE_MARK}: 'size' says what goes there (size: 100)")
        return None
    if paging.size is not None and paging.size_param is None and not sized:
        check.error(node, f"'catalog.feed.page': 'size' goes in 'size_param', or in {SIZE_MARK} in {value} "
                          "(pageSize: {size})")
        return None
    return dataclasses.replace(paging, template=True)


def _header_name(check: Checker, node: Node) -> str | None:
    """``total_pages_header``: an HTTP header's name (``X-WP-TotalPages``)."""
    text = check.text(node, "'catalog.feed.page.total_pages_header'")
    if text is None:
        return None
    if not HEADER_NAME.fullmatch(text.value.strip()):
        check.error(node, f"'catalog.feed.page.total_pages_header' must be a header's name (X-WP-TotalPages), "
                          f"got {text.value!r}")
        return None
    return text.value.strip()


def _end_status(check: Checker, node: Node) -> tuple[int, ...] | None:
    """``end_status``: the HTTP statuses (400–499) a page past the last answers: ``[400]``, ``404``."""
    items = check.sequence(node, "'catalog.feed.page.end_status'", single_ok=True)
    if items is None:
        return None
    if not items:
        check.error(node, "'catalog.feed.page.end_status' must list at least one status (400, 404)")
        return None
    statuses = [check.integer(item, "'catalog.feed.page.end_status' item", minimum=400, maximum=499)
                for item in items]
    return tuple(dict.fromkeys(s for s in statuses if s is not None)) if None not in statuses else None


def _sizes(check: Checker, node: Node) -> FeedSizes | None:
    entries = check.mapping(node, SIZES_KEYS, "'catalog.feed.sizes'")
    if entries is None:
        return None
    missing = [k for k in SIZES_NEEDED if k not in entries]
    if missing:
        check.error(node, f"'catalog.feed.sizes' needs {' and '.join(repr(k) for k in missing)} "
                          "(items: variants, id: id, size: option1)")
        return None
    items = parse_path(check, entries["items"].node, "'catalog.feed.sizes.items'")
    child = parse_value(check, entries["id"].node, "'catalog.feed.sizes.id'")
    size = parse_value(check, entries["size"].node, "'catalog.feed.sizes.size'")
    not_sizes = parse_not_sizes(check, entries["not_sizes"].node, FEED) if "not_sizes" in entries else PLAIN_SIZES
    if items is None or child is None or size is None or not_sizes is None:
        return None
    return FeedSizes(items, child, size, not_sizes)

