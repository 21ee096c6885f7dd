"""A product page that names no category takes the one the catalog holds for its product.

Why: many stores' product pages (Shopify's Dawn, many headless themes) name
no category anywhere — URL, JSON-LD, meta, selectors, breadcrumb — while the
catalog knows it (a feed's ``category``, Shopify's ``product_type``, or an
earlier page). ``page_facts`` is pure, so the catalog is asked here, after
it: behind the proxy, in tag-only ``/decide`` and for the tag's page views
alike, so one page gets one category whichever way it is seen, for the
decisions and for the recorded view. A page that names a category keeps
its own (the page wins). A size that is a product of its own (its own page,
a child row: ``parent``, no category) takes its parent's category.

A product's row is kept per catalog stamp (``Store.catalog_stamp``, which the
page-view recorder reads on every product page anyway; ``tag.catalog_rows``,
the event recorder's rows too): a page costs no store round-trip while the
catalog is unchanged; a change (a feed's refresh, a page teaching a product)
is seen with the stamp.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from slotwise.keys import category_key
from slotwise.lru import LRUCache
from slotwise.rules.facts import PageFacts
from slotwise.store.base import Store
from slotwise.tag.catalog_rows import CatalogRows

PAGES = 1024
"""Page facts whose answer a worker keeps (as many as ``page_readings`` keeps page facts)."""


def with_category(page: PageFacts, category: str | None, name: str | None) -> PageFacts:
    """``page`` (a product page that names no category) with the catalog's ``category`` and, unless the
    page names one, its ``name``; ``page`` itself when the catalog has none. ``rules check --feed`` says
    the same of a live page from the feed it read."""
    if category is None or page.product is None:
        return page
    product = page.product
    named = {**product, "category": category, "category_name": product.get("category_name") or name}
    return replace(page, category=category, product=MappingProxyType(named))


class CatalogCategories:
    """``of(page)``: the page's facts, with the catalog's category when the page names none."""

    def __init__(self, store: Store, rows: CatalogRows | None = None) -> None:
        self.store = store
        self.rows = rows or CatalogRows(store)  # the product rows, kept per catalog stamp (the recorder's too)
        # id(page facts) -> (those facts, catalog stamp, the answer): the proxy keeps one facts object per
        # page (``page_readings``), so a page's views get one answer object, made once (~6 µs) per stamp
        self._pages: LRUCache[int, tuple[PageFacts, int, PageFacts]] = LRUCache(maxsize=PAGES)

    async def of(self, page: PageFacts) -> PageFacts:
        """``page`` itself when it names a category or shows no product; else with the catalog row's
        ``category`` (and ``category_name``, unless the page names one) — a size's own row its parent's —,
        or itself when the row has none."""
        product = page.product
        if page.category is not None or not product or not product.get("id"):
            return page
        stamp = await self.store.catalog_stamp()
        kept = self._pages.get(id(page))
        if kept is not None and kept[0] is page and kept[1] == stamp:
            return kept[2]
        answer = with_category(page, *await self._row_category(str(product["id"]), stamp))
        self._pages[id(page)] = (page, stamp, answer)  # the entry holds the page: its id is not reused meanwhile
        return answer

    async def _row_category(self, product_id: str, stamp: int, *, parent_ok: bool = True) -> tuple[str | None, str | None]:
        """The catalog row's (category key, category name), the row read once per catalog stamp (``CatalogRows``).
        A child row (a size that is a product of its own: ``parent``, no category) takes its parent's: one more
        read at most (a parent's own parent is not followed: the catalog's merge keeps one level)."""
        row = (await self.rows.get([product_id], stamp)).get(product_id) or {}
        category = category_key(row.get("category"))
        name = row.get("category_name")
        found = (category, name if category and isinstance(name, str) else None)
        if category is None and parent_ok and row.get("parent"):
            found = await self._row_category(str(row["parent"]), stamp, parent_ok=False)
        return found
