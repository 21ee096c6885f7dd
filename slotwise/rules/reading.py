"""What one page says, read once: its product markup and the rules' field groups.

The proxy reads the page's bytes (``read_html``); in tag-only mode the tag
reads the live page and sends a *page extract* — its JSON-LD, meta tags and
microdata elements (Product, BreadcrumbList) verbatim, and the raw values of the same field groups —
which ``read_extract`` turns into the very same ``PageReading``. Page facts
(``facts.page_facts``) and captured events (``capture``) are computed from a
reading, so both modes see the same facts for the same page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from slotwise.rules.catalog import CatalogSettings
from slotwise.rules.extract import Group, Values, read_groups
from slotwise.rules.jsonld import Crumb
from slotwise.rules.product_facts import structured_reading

MAX_DOC_BYTES = 48 * 1024


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
