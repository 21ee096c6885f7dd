"""What one page says, read once: its product markup and the rules' field groups.

The proxy reads the page's bytes (``read_html``); in tag-only mode the tag
reads the live page and sends a *page extract* — its JSON-LD, meta tags and
microdata elements (Product, BreadcrumbList) verbatim, and the raw values of the same field groups —
which ``read_extract`` turns into the very same ``PageReading``. Page facts
(``facts.page_facts``) and captured events (``capture``) are computed from a
reading, so both modes see the same facts for the same page.

Lexbor and the markup scans read bytes as UTF-8. A page in another charset
(windows-1252, Shift_JIS, UTF-16 ...) is read from ``bytes_to_read``: its
text in UTF-8, so "Café" is not read as "Caf\ufffd", nor ``küche`` keyed
``k-che``.
"""

from __future__ import annotations

import codecs
import functools
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.cookies import cookie_value
from slotwise.rules.extract import Group, Values, read_groups
from slotwise.rules.jsonld import Crumb
from slotwise.rules.product_facts import structured_reading

MAX_DOC_BYTES = 48 * 1024

_AS_THEY_ARE = frozenset({"utf-8", "ascii"})  # bytes a UTF-8 reader reads right
_AS_BROWSERS_READ = {  # labels the Encoding Standard (encoding.spec.whatwg.org) reads as a superset
    "iso8859-1": "cp1252", "iso8859-9": "cp1254", "iso8859-11": "cp874", "tis-620": "cp874",
    "shift_jis": "cp932", "euc_kr": "cp949", "gb2312": "gbk",
}


@functools.lru_cache(maxsize=64)
def reading_codec(charset: str) -> str | None:
    """The codec a page in ``charset`` is read with, as a browser shows it: ISO-8859-1's 0x80 is "€",
    Shift_JIS's 0x8160 is "～". None: the page's own bytes are read (UTF-8, ASCII, or a name Python
    does not know: read as UTF-8, as the proxy's charset sniffing assumes)."""
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return None
    return None if name in _AS_THEY_ARE else _AS_BROWSERS_READ.get(name, name)


def bytes_to_read(html: bytes, charset: str) -> bytes:
    """The page's bytes as the readers take them (UTF-8): the page itself when it is UTF-8 or ASCII (no
    copy: nearly every page), else its text decoded in ``charset`` (a bad byte becomes U+FFFD, as a
    browser shows it) and encoded in UTF-8. ``charset`` is the proxy's ``flow.charset``
    (``encoding.sniff_charset``: BOM, Content-Type, ``<meta charset>``)."""
    codec = None if charset == "utf-8" else reading_codec(charset)
    if codec is None:
        return html
    text = html.decode(codec, "replace")
    return (text[1:] if text.startswith("\ufeff") else text).encode("utf-8")  # a UTF-16 page's BOM


@dataclass(frozen=True)
class PageReading:
    structured: Mapping[str, Any] | None = None  # the product from JSON-LD / meta / microdata
    declared: bool = False  # JSON-LD, microdata or og:type said this page is a product
    groups: Mapping[str, Values] = field(default_factory=dict)  # cleaned readings, by group name
    crumbs: tuple[Crumb, ...] = ()  # the BreadcrumbList's (name, URL) steps (JSON-LD, else microdata), home first

    def group(self, name: str) -> Values:
        return self.groups.get(name) or {"present": False, "fields": {}, "lines": []}


def read_html(html: bytes, catalog: CatalogSettings, groups: Mapping[str, Group], *, structured: bool = True) -> PageReading:
    """The proxy's reading of a page: one byte scan for markup, one parse for the groups (if any)."""
    product, declared, crumbs = structured_reading(html, catalog) if structured else (None, False, ())
    return PageReading(product, declared, read_groups(html, groups) if groups else {}, crumbs)


def read_extract(extract: Any, catalog: CatalogSettings, groups: Mapping[str, Group]) -> PageReading:
    """The tag's page extract (``{"doc": str, "values": {group: raw}}``), validated and bounded."""
    if not isinstance(extract, Mapping):
        return PageReading()
    doc = extract.get("doc")
    product, declared, crumbs = None, False, ()
    if isinstance(doc, str) and doc:
        product, declared, crumbs = structured_reading(doc.encode("utf-8", "replace")[:MAX_DOC_BYTES], catalog)
    raw = extract.get("values") if isinstance(extract.get("values"), Mapping) else {}
    return PageReading(product, declared, {name: g.clean(raw.get(name)) for name, g in groups.items()}, crumbs)


CookieValues = tuple[tuple[str, str, "str | None"], ...]
"""What a page's cookie fields read: ``(group, field, raw value)`` in the groups' order."""


def reads_cookies(groups: Mapping[str, Group]) -> bool:
    """Whether any of ``groups`` has a cookie field (most rules have none: no cookie is looked at)."""
    return any(f.cookie is not None for g in groups.values() for f in g.fields.values())


def cookie_values(groups: Mapping[str, Group], jar: Mapping[str, str]) -> CookieValues:
    """The raw value of each cookie field of ``groups`` in the page's cookies (``cookies.page_cookies``)."""
    return tuple((name, key, cookie_value(f.cookie, jar)) for name, g in groups.items()
                 for key, f in g.fields.items() if f.cookie is not None)


def with_cookies(reading: PageReading, groups: Mapping[str, Group], values: CookieValues) -> PageReading:
    """The proxy's reading of a page with its cookie fields filled (the HTML reads none: a page's bytes are
    the same for every visitor, its cookies are not); a group the page does not have stays absent."""
    out = {name: dict(v, fields=dict(v.get("fields") or {})) for name, v in reading.groups.items()}
    for name, key, raw in values:
        if name in out and out[name].get("present"):
            out[name]["fields"][key] = groups[name].fields[key].clean(raw)
    return replace(reading, groups=out)
