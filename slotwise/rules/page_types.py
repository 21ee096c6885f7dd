"""A page's type from its markup where its URL cannot tell (``catalog.page_types``).

Why: many stores give categories and products one URL shape — Magento's
``/men.html`` category and ``/hero-hoodie.html`` product, PrestaShop's and
Shopware's friendly URLs — so the URL patterns alone either call a category a
product or leave a page unclaimed. The page's markup tells (Luma's body class
``catalog-category-view`` / ``catalog-product-view``). The rule, for a path:

- the URL decides when the patterns of one type match it, or when none of the
  types whose patterns match has a ``page_types`` selector (as without them:
  home, then product, then category);
- when patterns of two or more types match and one of them has a selector
  (the path is *open*), the markup decides among those: the first (home,
  product, category) whose selector matches the page; none matching, the first
  matching type without a selector; none left, ``other``;
- when no pattern matches, the markup may claim the page: the first type whose
  selector matches it, else ``other``.

A type the markup decides keeps the params of its own pattern that matches the
path (``/{category}.html`` beside ``/{product}.html``: ``{category}`` on a
category page); a page no pattern claims has none. The selectors are read as
groups of the page's one reading (``within``: present or not), so the proxy
reads no page twice and the tag's extract says which matched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Mapping

from slotwise.rules.extract import Group

if TYPE_CHECKING:
    from slotwise.rules.pages import CatalogPatterns

KINDS = ("home", "product", "category")
"""The types ``page_types`` may name, in the order they are tried (``CatalogPatterns.classify``'s)."""
GROUP_PREFIX = "page_type:"
"""A type's selector is read as the group ``page_type:<type>`` (the proxy's reading, the tag's extract)."""

_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class UrlType:
    """What a path's URL patterns say: ``kind`` and its ``params`` when the URL decides; with ``open``, the
    types the markup decides among (``kind`` is then what the page is when no selector matches)."""

    kind: str
    params: Mapping[str, str] = field(default_factory=lambda: _NO_PARAMS)
    open: tuple[str, ...] = ()  # the types whose selectors are asked, in KINDS order
    matched: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _NO_PARAMS)  # type -> its pattern's params

    @property
    def possible(self) -> tuple[str, ...]:
        """Every type the page may turn out to be (the URL's alone when it decides)."""
        return (*self.open, self.kind) if self.open else (self.kind,)

    @property
    def reads_product(self) -> bool:
        """Whether the page is read as a product page may be (its selectors, its JSON-LD): it may be one."""
        return self.kind in ("product", "other") or bool(self.open)


@dataclass(frozen=True)
class PageTypes:
    """``catalog.page_types`` compiled: a CSS selector per type, in ``KINDS`` order."""

    selectors: Mapping[str, str]

    def url_type(self, patterns: "CatalogPatterns", path: str) -> UrlType:
        """The path by the URL patterns, and whether its markup decides (module docstring)."""
        matched = patterns.matching(path)
        if len(matched) == 1 or (matched and not any(kind in self.selectors for kind in matched)):
            kind = next(iter(matched))
            return UrlType(kind, matched[kind])
        asked = tuple(kind for kind in KINDS if kind in self.selectors and (not matched or kind in matched))
        fallback = next((kind for kind in matched if kind not in self.selectors), "other")
        return UrlType(fallback, matched.get(fallback, _NO_PARAMS), asked, MappingProxyType(matched))

    def groups(self, url: UrlType) -> dict[str, Group]:
        """The groups that read the selectors of an open page's types (none when the URL decides)."""
        return {GROUP_PREFIX + kind: Group(within=self.selectors[kind]) for kind in url.open}

    def all_groups(self) -> dict[str, Group]:
        """Every type's group: what the tag reads for any page (tag-only ``POST /decide``'s extract)."""
        return {GROUP_PREFIX + kind: Group(within=css) for kind, css in self.selectors.items()}

    def describe(self) -> str:
        """What ``rules check`` prints of the setting."""
        said = ", ".join(f"{kind} {css!r}" for kind, css in self.selectors.items())
        return f"page types by markup where the URL patterns cannot tell (catalog.page_types): {said}"

    def decide(self, url: UrlType, reading: Any) -> tuple[str, Mapping[str, str], str]:
        """(type, params, why) of a page from its URL type and its reading (``PageReading``: the groups'
        ``present``); ``why`` says it for ``rules check`` (``describe``)."""
        if not url.open:
            return url.kind, url.params, "its URL"
        for kind in url.open:
            if reading.group(GROUP_PREFIX + kind).get("present"):
                return kind, url.matched.get(kind, _NO_PARAMS), f"{self.selectors[kind]!r} matches"
        said = " nor ".join(repr(self.selectors[kind]) for kind in url.open)
        return url.kind, url.params, f"neither {said} matches" if len(url.open) > 1 else f"{said} matches nothing"


def describe(url: UrlType, why: str) -> str:
    """How ``rules check --url`` says a page's type was told: by its URL, or by its markup among what."""
    claimed = (f"its URL matches {' and '.join(f'catalog.{kind}_pages' for kind in url.matched or (url.kind,))}"
               if url.matched or url.kind != "other" else "no URL pattern claims it")
    if not url.open:
        return claimed
    return f"{claimed}; its markup decides ({' or '.join(url.open)}: catalog.page_types): {why}"
