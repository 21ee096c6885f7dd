"""Reading values out of a page with CSS: one small language, two readers.

Rules name what a store's pages say with *fields*: ``"h1"`` (the text of
the first match), ``"a @href"`` (an attribute), ``"@value"`` (an attribute
of the element in scope), ``"text"`` (the scope's own text), or a mapping
``{css, attr, match, value}`` where ``match`` is a regex whose first group
(or whole match) is kept and ``value`` a constant; ``{cookie: NAME, match}``
reads a cookie of the page instead (``rules.cookies``: the proxy's request,
the tag's ``document.cookie``); ``{script: PATH}`` a global a script assigns
and ``{css, json: PATH}`` an element's JSON text (``rules.script_data``: the
page's literal behind the proxy, the live global in the tag). *Items* repeat fields over
every element a selector matches (order lines, basket lines, sizes) — or over
the elements of a JSON list a field reads (``{json: FIELD}``: a store's
``data-product_variations`` attribute, a ``<script type="application/json">``),
whose fields then name keys (``attributes.size``); a *group* scopes fields
and items to a ``within`` element and says whether it was on the page at all
(an empty mini basket is not a page without one).

The proxy reads pages with selectolax (``read_groups``); the tag reads the
live DOM with the same specs, serialised by ``to_json`` (``tag.js``,
``extract``). Both return raw strings (a JSON list as its text); everything
after that — JSON, regexes, numbers, URL to key — happens in Python
(``Group.clean``, ``Field.clean``), once, for both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from slotwise.html.targets import matches_self
from slotwise.rules import script_data

MAX_VALUE = 1000
MAX_ITEMS = 200
MAX_JSON = 256 * 1024
"""The most of a JSON list that is parsed (characters): a longer one is not read, its items unknown (lines None)."""
_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"([#.])(-?[_a-zA-Z][-_a-zA-Z0-9]*)")
BOOLEAN_ATTRIBUTES = frozenset({"disabled", "checked", "selected", "hidden", "required", "readonly", "multiple",
                                "open", "inert"})

_ATTR_NAME = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")

Values = dict[str, Any]
"""A group's reading: ``{"present": bool, "fields": {name: str|None}, "lines": [{name: str|None}] | None}``
(``lines`` None: unknown, the tag left them out of its extract: too big to send)."""


def split_attribute(text: str) -> tuple[str | None, str | None]:
    """``"a @href"`` → ``("a", "href")``; ``"@value"`` → ``(None, "value")``; no attribute → ``(text, None)``.

    Only a last ``@`` followed by an attribute name counts: an ``@`` inside an
    attribute selector (``a[href$='@example.com']``) is part of the CSS, or the
    field would silently read an attribute named ``example.com']``.
    """
    css, sep, attr = text.strip().rpartition("@")
    if sep and _ATTR_NAME.fullmatch(attr.strip()):
        return css.strip() or None, attr.strip()
    return text.strip(), None


@dataclass(frozen=True)
class Field:
    """Where one value is: ``css`` inside the scope (None: the scope itself), ``attr`` (None: text)."""

    css: str | None = None
    attr: str | None = None
    match: re.Pattern[str] | None = None
    const: str | None = None
    form: str | None = None  # a submit trigger's form field (read by the tag only)
    key: tuple[str, ...] | None = None  # in a JSON item: the path of keys (a digit indexes a list)
    cookie: str | None = None  # the page's cookie of that name (a last ``*``: a prefix), not the HTML's (``cookies``)
    script: tuple[str, ...] | None = None  # a script's global, then a key path in its value (``script_data``)
    json: tuple[str, ...] | None = None  # the element's text as JSON, then this key path in it (``script_data``)

    @classmethod
    def parse(cls, text: str) -> "Field":
        """``"css"``, ``"css @attr"``, ``"@attr"`` or ``"text"`` (the scope's own text)."""
        text = text.strip()
        if text == "text":
            return cls()
        css, attr = split_attribute(text)
        return cls(css, attr) if attr is not None else cls(text)

    def clean(self, raw: str | None) -> str | None:
        """The raw reading after ``match`` (or the constant)."""
        if self.const is not None:
            return self.const
        if raw is None:
            return None
        raw = _WS.sub(" ", raw).strip()[:MAX_VALUE]
        if self.match is not None:
            found = self.match.search(raw)
            if found is None:
                return None
            raw = (found.group(1) if found.re.groups else found.group(0)).strip()
        return raw or None

    def to_json(self) -> dict[str, Any] | None:
        """What the tag needs to read it (None for a constant: nothing to read)."""
        if self.const is not None:
            return None
        if self.form is not None:
            return {"f": self.form}
        if self.cookie is not None:
            return {"k": self.cookie}
        if self.script is not None:
            return {"s": list(self.script)}
        if self.json is not None:
            return {"c": self.css, "j": list(self.json)}
        return {"c": self.css, "a": self.attr}

    @property
    def reads_script(self) -> bool:
        """Whether it reads a script's data (a global, or an element's JSON): the tag then carries its reader."""
        return self.script is not None or self.json is not None

    @property
    def selectors(self) -> list[str]:
        return [self.css] if self.css else []

    def pick_raw(self, element: Any) -> Any:
        """The value ``key`` names in a JSON value (None when a step is missing)."""
        return at_path(element, self.key or ())

    def pick(self, element: Any) -> str | None:
        """What ``key`` names in one JSON item, as text: strings and numbers as they are, ``true``/``false``;
        nothing for a missing key, ``null``, a list or an object."""
        value = self.pick_raw(element)
        if isinstance(value, bool):
            return "true" if value else "false"
        return _str(value)


def at_path(value: Any, steps: Sequence[str]) -> Any:
    """The value a key path names in a JSON value: each step a key of an object, or a number indexing a list
    (None when a step is missing). Every key path of the rules steps so, and the tag's as well."""
    for step in steps:
        if isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, list) and step.isascii() and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def key_path(text: str) -> tuple[str, ...] | None:
    """A JSON key path as written in the rules, ``"attributes.attribute_pa_size"``, as ``Field.key``'s steps;
    None for an empty step (``a..b``, ``.a``)."""
    steps = tuple(step.strip() for step in text.strip().split("."))
    return steps if all(steps) else None


def bad_key_path(text: str) -> str:
    """The rules' message for a key path ``key_path`` refuses."""
    return f"bad key path {text!r}: names separated by dots (attributes.attribute_pa_size; a number indexes a list)"


@dataclass(frozen=True)
class Items:
    """The same fields read from every element ``css`` matches (inside the scope) — or, with ``json``, from
    every element of the JSON list that field reads (at ``key`` inside it), each field then a ``Field.key``."""

    css: str
    fields: Mapping[str, Field]
    json: Field | None = None
    key: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        if self.json is not None:  # the tag sends the list's text; its items are read here
            return {"json": self.json.to_json(), "fields": {}}
        return {"items": self.css, "fields": _fields_json(self.fields)}

    @property
    def selectors(self) -> list[str]:
        if self.json is not None:
            return self.json.selectors
        return [self.css, *(s for f in self.fields.values() for s in f.selectors)]

    def elements(self, text: Any) -> list[Any]:
        """The JSON list's elements (at most ``MAX_ITEMS``); none when the text is no JSON list there."""
        if not isinstance(text, str) or len(text) > MAX_JSON:
            return []
        try:
            value = json.loads(text)
        except ValueError:
            return []
        found = Field(key=self.key).pick_raw(value) if self.key else value
        return list(found[:MAX_ITEMS]) if isinstance(found, list) else []


@dataclass(frozen=True)
class Group:
    """Fields and items read inside ``within`` (None: the whole page)."""

    within: str | None = None
    fields: Mapping[str, Field] = field(default_factory=dict)
    lines: Items | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"within": self.within, "fields": _fields_json(self.fields)}
        if self.lines is not None:
            out["lines"] = self.lines.to_json()
        return out

    def selectors(self) -> list[str]:
        out = [self.within] if self.within else []
        for f in self.fields.values():
            out += f.selectors
        if self.lines is not None:
            out += self.lines.selectors
        return out

    def clean(self, raw: Mapping[str, Any] | None) -> Values:
        """A reading (from the proxy or the tag) bounded and cleaned field by field."""
        if not isinstance(raw, Mapping) or not raw.get("present"):
            return {"present": False, "fields": {}, "lines": []}
        fields_raw = raw.get("fields") if isinstance(raw.get("fields"), Mapping) else {}
        out_fields = {name: f.clean(_str(fields_raw.get(name))) for name, f in self.fields.items()}
        lines: list[dict[str, str | None]] | None = []
        if self.lines is not None and (raw.get("lines_omitted") is True or _too_long(raw.get("lines_json"))):
            lines = None  # left out of the tag's extract (tag.js extract) or too long to parse: unknown, not none
        elif self.lines is not None and self.lines.json is not None:
            for element in self.lines.elements(raw.get("lines_json")):
                lines.append({name: f.clean(f.pick(element)) for name, f in self.lines.fields.items()})
        elif self.lines is not None and isinstance(raw.get("lines"), list):
            for item in raw["lines"][:MAX_ITEMS]:
                item = item if isinstance(item, Mapping) else {}
                lines.append({name: f.clean(_str(item.get(name))) for name, f in self.lines.fields.items()})
        return {"present": True, "fields": out_fields, "lines": lines}

    def quick_reject(self, html: bytes) -> bool:
        """True when the page cannot contain ``within`` (an id or a class it needs is absent): no parse needed.

        A selector list (``#minicart, .mini-basket``) is rejected only when every
        alternative is; one with parentheses, brackets or quotes is never judged
        (a comma inside ``:is(a, b)`` or ``[title="a, b"]`` separates nothing).
        """
        if not self.within:
            return False
        if "," in self.within and any(c in self.within for c in "()[]\"'"):
            return False
        return all(any(name.encode() not in html for _, name in _TOKEN.findall(part))
                   for part in self.within.split(","))


def _fields_json(fields: Mapping[str, Field]) -> dict[str, Any]:
    return {name: f.to_json() for name, f in fields.items() if f.to_json() is not None}


def _too_long(text: Any) -> bool:
    """A JSON list's text past ``MAX_JSON``: not parsed, so its items are unknown (an empty cart would be a claim)."""
    return isinstance(text, str) and len(text) > MAX_JSON


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)[:MAX_VALUE * 2]
    return None


# -- the proxy's reader (selectolax) ---------------------------------------------


def node_text(node: Any) -> str:
    """Like the DOM's ``textContent``: every descendant text, nothing added between them."""
    return node.text(deep=True, separator="", strip=False) or ""


class PageScripts:
    """A parsed page's inline scripts, found once for all its script fields (``script_data``)."""

    def __init__(self, tree: Any) -> None:
        self.tree = tree
        self._texts: list[str] | None = None

    def read(self, steps: tuple[str, ...]) -> str | None:
        """What ``{script: PATH}`` reads on this page, as the tag sends it (``script_data.scalar_text``)."""
        if self._texts is None:
            self._texts = script_data.inline_scripts(self.tree)
        value, rest = script_data.assigned(self._texts, steps)
        return None if value is script_data.MISSING else script_data.scalar_text(at_path(value, rest))


def read_field(scope: Any, f: Field, page: PageScripts | None = None) -> str | None:
    """One field's raw reading in ``scope``; ``page``: the page's scripts, for a script field (else it reads
    nothing)."""
    if f.const is not None:
        return f.const
    if f.form is not None or f.cookie is not None:  # a cookie is the request's: ``reading.with_cookies``
        return None
    if f.script is not None:  # the page's, wherever the scope is: the tag reads the global
        return page.read(f.script) if page is not None else None
    # the scope itself when it matches (a link item read with "a @href"), else its first match inside
    node = scope if not f.css or matches_self(scope, f.css) else scope.css_first(f.css)
    if node is None:
        return None
    if f.json is not None:
        value = script_data.json_value(node_text(node))
        return None if value is script_data.MISSING else script_data.scalar_text(at_path(value, f.json))
    if f.attr is None:
        return node_text(node)
    attrs = node.attributes
    if f.attr not in attrs:
        return None
    value = attrs[f.attr] or ""
    if not value and f.attr.lower() in BOOLEAN_ATTRIBUTES:
        return f.attr  # present without a value (disabled, checked): reads as its name
    return value


def read_group(tree: Any, group: Group, page: PageScripts | None = None) -> dict[str, Any]:
    """One group's raw reading from a parsed page (``LexborHTMLParser``); ``page``: its scripts, when several
    groups are read (else found here)."""
    scope = tree.css_first(group.within) if group.within else (tree.root or tree.body)
    if scope is None:
        return {"present": False}
    page = page or PageScripts(tree)
    out: dict[str, Any] = {"present": True, "fields": {n: read_field(scope, f, page) for n, f in group.fields.items()}}
    if group.lines is not None and group.lines.json is not None:
        out["lines_json"] = read_field(scope, group.lines.json)
    elif group.lines is not None:
        out["lines"] = [
            {n: read_field(item, f) for n, f in group.lines.fields.items()}
            for item in scope.css(group.lines.css)[:MAX_ITEMS]
        ]
    return out


def read_groups(html: bytes | Any, groups: Mapping[str, Group]) -> dict[str, Values]:
    """Cleaned readings of several groups from one page: one parse, none when no group can match."""
    wanted = {name: g for name, g in groups.items() if not (isinstance(html, bytes) and g.quick_reject(html))}
    out: dict[str, Values] = {name: {"present": False, "fields": {}, "lines": []} for name in groups}
    if not wanted:
        return out
    if isinstance(html, bytes):
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html)
    else:
        tree = html
    page = PageScripts(tree)
    for name, group in wanted.items():
        out[name] = group.clean(read_group(tree, group, page))
    return out


def all_selectors(groups: Sequence[Group]) -> list[str]:
    out: list[str] = []
    for g in groups:
        out += g.selectors()
    return out
