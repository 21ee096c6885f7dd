"""Which pages a slot applies to: path globs, regexes, query and header conditions.

Everything is compiled to regexes once per rules load; matching a request is
a few ``re.fullmatch`` calls. Path patterns read like URLs: ``*`` is one path
segment's worth of characters, ``**`` anything, ``?`` one character and
``{name}`` one named segment (``/p/{product}``), captured as a page param.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Sequence
from urllib.parse import parse_qsl

from slotwise.rules.js_regex import JsRegex, js_regex
from slotwise.rules.schema import Condition

Query = Mapping[str, str] | Sequence[tuple[str, str]] | str | None
"""A raw query string, a mapping, or (name, value) pairs as ``parse_qsl`` gives them."""
Headers = Mapping[str, str] | Sequence[tuple[str, str]] | None
"""Any mapping (case-insensitive or not) or (name, value) pairs as ASGI gives them."""

_TOKEN_RE = re.compile(r"\*\*/|\*\*|\*|\?|\{([^{}]*)\}|[{}]|[^*?{}]+")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM_TYPES = {"": "[^/]+", "int": "[0-9]+", "path": ".+"}
_REGEX_SPECIAL = frozenset("\\.^$*+?()[]{}|/-")


def _escape(literal: str) -> str:
    """A literal for both Python's and JavaScript's regex syntax."""
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in literal)


def translate_path_pattern(pattern: str) -> tuple[str, str]:
    """``(python_regex, javascript_regex)`` of a path pattern; raises ValueError naming what is wrong
    (``_path_regex``). The JavaScript is ``js_regex``'s, the one translation every regex the tag runs
    goes through (request sources', a slot key's ``match``)."""
    python = _path_regex(pattern)
    js = js_regex(python)
    if not isinstance(js, JsRegex):  # a path pattern writes nothing JavaScript lacks: never, unless that changes
        raise ValueError(f"path pattern {pattern!r}: the tag cannot match it: {js.what} {js.construct}")
    return python, js.source


def _path_regex(pattern: str) -> str:
    """The Python regex of a path pattern; raises ValueError naming what is wrong.

    ``{name}`` is one whole segment's worth (``[^/]+``), ``{name:int}`` digits,
    ``{name:path}`` one or more segments. A parameter must be separated from a
    wildcard or another parameter by a literal character, or it would capture
    only part of what the author meant (``**{category}`` would take the last
    character): such patterns are refused with the reason.
    """
    if not pattern.startswith("/") and not pattern.startswith("*"):
        raise ValueError(f"path pattern {pattern!r} must start with '/'")
    py: list[str] = []
    names: set[str] = set()
    previous = ""  # the kind of the token before: "wild", "param" or "literal"
    for match in _TOKEN_RE.finditer(pattern):
        token = match.group(0)
        if token == "**/":
            py.append("(?:.*/)?")
            previous = "literal"  # ends with a separator
        elif token in ("**", "*", "?"):
            if previous == "param":
                raise ValueError(f"path pattern {pattern!r}: {token!r} right after a {{parameter}} makes the parameter's end ambiguous; put a literal character between them")
            part = {"**": ".*", "*": "[^/]*", "?": "[^/]"}[token]
            py.append(part)
            previous = "wild"
        elif token in ("{", "}"):
            raise ValueError(f"path pattern {pattern!r} has an unbalanced {token!r}")
        elif token.startswith("{"):
            name, _, kind = match.group(1).partition(":")
            if not _NAME_RE.match(name):
                raise ValueError(f"path pattern {pattern!r}: {{{match.group(1)}}} is not a parameter name")
            if kind not in _PARAM_TYPES:
                raise ValueError(f"path pattern {pattern!r}: {{{match.group(1)}}}: type {kind!r} is not one of int, path")
            if name in names:
                raise ValueError(f"path pattern {pattern!r} names {{{name}}} twice")
            if previous in ("wild", "param"):
                what = "a wildcard" if previous == "wild" else "another parameter"
                raise ValueError(
                    f"path pattern {pattern!r}: {{{name}}} right after {what} would capture only part of a segment; "
                    f"separate them with '/' or a literal character"
                )
            names.add(name)
            py.append(f"(?P<{name}>{_PARAM_TYPES[kind]})")
            previous = "param"
        else:
            py.append(_escape(token))
            previous = "literal"
    return "".join(py)


def compile_path_pattern(pattern: str) -> re.Pattern[str]:
    """A path pattern as an anchored regex (use ``fullmatch``); raises ValueError naming what is wrong."""
    return re.compile(_path_regex(pattern), re.DOTALL)


def normalize_query(query: Query) -> Mapping[str, str]:
    """A query string or mapping as a mapping (the first value of a repeated name wins)."""
    if query is None:
        return {}
    if isinstance(query, dict) or isinstance(query, Mapping):  # a dict first: an ABC check costs ~10x more
        return query
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True) if isinstance(query, str) else query
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name, value)
    return out


def header(headers: Headers, name: str) -> str | None:
    """A header value by case-insensitive name, from any mapping (plain dicts included)."""
    if not headers:
        return None
    lname = name.lower()
    if isinstance(headers, list) or not isinstance(headers, Mapping):  # a request's list of pairs first
        return next((v for k, v in headers if k.lower() == lname), None)
    value = headers.get(lname)
    if value is None:
        value = headers.get(name.title())
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == lname), None)
    return value


@dataclass(frozen=True)
class CompiledCondition:
    name: str
    present: bool
    patterns: tuple[re.Pattern[str], ...]
    globs: tuple[str, ...] = ()  # as written: what an example page's query says (``preview_pages``)

    def holds(self, value: str | None) -> bool:
        if not self.present:
            return value is None
        if value is None:
            return False
        return not self.patterns or any(p.fullmatch(value) for p in self.patterns)


def compile_condition(cond: Condition, *, ignore_case: bool = False) -> CompiledCondition:
    flags = re.IGNORECASE if ignore_case else 0
    return CompiledCondition(cond.name, cond.present, tuple(re.compile(fnmatch.translate(g), flags) for g in cond.globs),
                             tuple(cond.globs))


@dataclass(frozen=True)
class PageRule:
    """One ``pages`` entry, compiled: a path regex (full or searched) and conditions."""

    path: re.Pattern[str] | None
    search: bool
    query: tuple[CompiledCondition, ...] = ()
    headers: tuple[CompiledCondition, ...] = ()
    pattern: str | None = None  # the path pattern as written (None: a regex, or none)

    def matches(self, path: str, query: Mapping[str, Any], headers: Headers) -> bool:
        return self.matches_url(path, query) and all(c.holds(header(headers, c.name)) for c in self.headers)

    def matches_url(self, path: str, query: Mapping[str, Any]) -> bool:
        """Its path and query conditions alone: what a link can say (``preview_pages``: the headers are the
        browser's that opens it)."""
        if self.path is not None:
            found = self.path.search(path) if self.search else self.path.fullmatch(path)
            if not found:
                return False
        return all(c.holds(_str(query.get(c.name))) for c in self.query)

    def describe(self) -> str:
        """The entry as a person wrote it, near enough: its path pattern or regex (``preview_pages``)."""
        if self.pattern is not None:
            return self.pattern
        return f"regex {self.path.pattern}" if self.path is not None else "any path"


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class PageMatcher:
    """A slot's ``pages``: it applies when any entry matches."""

    rules: tuple[PageRule, ...]

    def matches(self, path: str, query: Query = None, headers: Headers = None) -> bool:
        q = normalize_query(query)
        return any(rule.matches(path, q, headers) for rule in self.rules)

    @property
    def query_names(self) -> tuple[str, ...]:
        """The query parameters its entries read, each once: a change of one may make another page."""
        return tuple(dict.fromkeys(c.name for rule in self.rules for c in rule.query))


@dataclass(frozen=True)
class CatalogPatterns:
    """URL patterns that say a page is home, a category or a product, and capture params."""

    home: tuple[re.Pattern[str], ...]
    category: tuple[re.Pattern[str], ...]
    product: tuple[re.Pattern[str], ...]
    js: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # category/product patterns for the tag
    written: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # each type's patterns as written

    def classify(self, path: str) -> tuple[str, dict[str, str]]:
        """(page type, URL params) of a path: the first pattern that matches wins."""
        for kind, patterns in (("home", self.home), ("product", self.product), ("category", self.category)):
            for pattern in patterns:
                found = pattern.fullmatch(path)
                if found:
                    return kind, {k: v for k, v in found.groupdict().items() if v is not None}
        return "other", {}

    def matching(self, path: str) -> dict[str, dict[str, str]]:
        """Every type whose patterns match the path (home, product, category), each with its first matching
        pattern's params: where ``catalog.page_types`` lets the markup choose (``rules.page_types``)."""
        out: dict[str, dict[str, str]] = {}
        for kind, patterns in (("home", self.home), ("product", self.product), ("category", self.category)):
            for pattern in patterns:
                found = pattern.fullmatch(path)
                if found:
                    out[kind] = {k: v for k, v in found.groupdict().items() if v is not None}
                    break
        return out

    @functools.cached_property
    def localized(self) -> bool:
        """Whether a product pattern names a ``{locale}`` (``rules.locale_links``): worked out once per rules."""
        return any("locale" in pattern.groupindex for pattern in self.product)


DEFAULT_CATALOG = CatalogPatterns(home=(re.compile("/"),), category=(), product=())
