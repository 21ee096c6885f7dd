"""The catalog from a product feed, and product URLs made to point at the proxy.

Products learned from pages (JSON-LD) and from feeds often carry absolute
URLs naming the storefront's own host — the upstream behind the proxy. A
recommendation card must link through the proxy, so such URLs become
site-relative paths.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from slotwise import lenient_json
from slotwise.keys import category_key, product_key, size_key
from slotwise.proxy.forwarding.encoding import Decoder, streamable
from slotwise.proxy.forwarding.errors import DecodeError
from slotwise.proxy.operations.webhook_health import receiver
from slotwise.proxy.personalization.feed_children import children_of, listed_before, unlisted_rows
from slotwise.proxy.personalization.feed_lease import Holder, lease_name
from slotwise.proxy.personalization.link_header import PAGING, links
from slotwise.rules.actions import safe_link
from slotwise.rules.feed_mapping import PAGE_MARK, SIZE_MARK, FeedMapping, FeedPaging
from slotwise.rules.jsonld import MAX_VARIANTS, stock_count, usable_price
from slotwise.rules.product_facts import currency_code
from slotwise.store.base import FeedRead, Store
from slotwise.store.catalog_merge import FOLD
from slotwise.store.outage import is_outage

log = logging.getLogger("slotwise.catalog")

REFRESH_S = 600.0
MAX_FEED_BYTES = 50 * 1024 * 1024  # a paged feed: all its pages together
MAX_FEED_S = 120.0  # a feed read (a paged one: all its pages)
WRITE_MARGIN_S = 60.0  # past ``MAX_FEED_S``: the catalog written (10,000 products: well under a second)
RETRY_S = 30.0  # a failed read's first retry; each failure in a row doubles it, up to ``REFRESH_S``
RELEASE_S = 5.0  # a stopping loader waits this long at most for the store to take its lease back
LEASE_GROUP = "feed"  # the feeds' leases: the one current is the feed the rules last switched to
NO_FEED = "feed:none"  # the group's current when the rules name no feed (no digest is this name; no lease held)


def lease_s() -> float:
    """How long a refresh holds its feed's lease: its read and its write, bounded (read at call time)."""
    return MAX_FEED_S + WRITE_MARGIN_S


def retry_s(failures: int) -> float:
    """How long after ``failures`` failed reads in a row the feed is read again: ``RETRY_S`` doubling, at
    most ``REFRESH_S`` (read at call time). A blip of the store's API (a deploy, a 502) is over in a
    minute or two, and the catalog should not wait a whole period for it; a feed that stays down is
    then asked no more often than a loaded one."""
    return min(REFRESH_S, RETRY_S * 2 ** min(max(0, failures - 1), 16))


def relative_to_upstream(url: Any, upstream_netloc: str) -> Any:
    """``http://upstream/p/1?x`` → ``/p/1?x``; other URLs unchanged."""
    if not isinstance(url, str) or not upstream_netloc:
        return url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc.lower() == upstream_netloc.lower():
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return url


def localize(product: Mapping[str, Any], upstream_netloc: str) -> dict[str, Any]:
    """Links through the proxy, and only links a template may use (``actions.safe_link``)."""
    out = dict(product)
    for key in ("url", "image"):
        out[key] = safe_link(relative_to_upstream(out.get(key), upstream_netloc))
    return out


def _in_stock(item: Mapping[str, Any]) -> bool | None:
    if isinstance(item.get("in_stock"), bool):
        return item["in_stock"]
    availability = str(item.get("availability") or "").rsplit("/", 1)[-1].lower()
    if availability in ("instock", "in stock", "in_stock", "limitedavailability", "onlineonly"):
        return True
    if availability in ("outofstock", "out of stock", "out_of_stock", "soldout", "discontinued"):
        return False
    return None


def normalize_feed_item(item: Mapping[str, Any], upstream_netloc: str) -> dict[str, Any] | None:
    """One feed entry as a catalog product (the keys JSON-LD products have), or None."""
    pid = item.get("id") or item.get("sku") or item.get("product_id")
    if pid is None or str(pid).strip() == "":
        return None
    category_name = item.get("category_name") or item.get("category")
    category = category_key(item.get("category_slug") or category_name)
    price = item.get("price")
    try:
        price = usable_price(float(price)) if price is not None else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past float's range
        price = None
    extra: dict[str, Any] = {}
    stock = stock_count(next((item[k] for k in ("stock", "quantity", "inventory_quantity") if k in item), None))
    if stock is not None:  # the store's own count: what "only N left" may say
        extra["stock"] = stock
    by_size = stock_by_size(item.get("stock_by_size"))
    if by_size:  # the store's own count of each size: "only N left" of the size a cart line holds
        extra["stock_by_size"] = by_size
    if isinstance(item.get("consumable"), bool):  # replenishment: the feed marks what runs out
        extra["consumable"] = item["consumable"]
    return localize(
        {
            **extra,
            "id": product_key(pid),
            "name": item.get("name") or item.get("title"),
            "url": item.get("url") or item.get("link"),
            "image": item.get("image") or item.get("image_link"),
            "price": price,
            "currency": currency_code(item.get("currency") or item.get("priceCurrency")),
            "category": category,
            "category_name": category_name,
            "brand": item.get("brand"),
            "in_stock": _in_stock(item),
        },
        upstream_netloc,
    )


def stock_by_size(value: Any) -> dict[str, int] | None:
    """A feed item's ``stock_by_size`` (``{"M": 3, "L": 0}``): each size (as a size key: ``Size: m`` is ``M``,
    the first of two that key alike kept) with its count when that is one (``stock_count``: a whole number,
    not negative), of the first ``MAX_VARIANTS``; None when it gives none. The rules' size vocabulary is
    applied where it is read (``waiting_cart.stock_of``): a rules change takes effect without a feed read."""
    if not isinstance(value, Mapping):
        return None
    out: dict[str, int] = {}
    for size, count in list(value.items())[:MAX_VARIANTS]:
        key, units = size_key(size), stock_count(count)
        if key is not None and units is not None:
            out.setdefault(key, units)
    return out or None


def parse_feed(data: Any, upstream_netloc: str, mapping: FeedMapping | None = None) -> list[dict[str, Any]]:
    """A JSON feed: a list of products, or an object with a ``products`` (or ``items``) list — or, with a
    ``mapping`` (``catalog.feed`` in the store's own shape), the list and the facts where it says."""
    items: Iterable[Any]
    if mapping is not None:
        items = mapping.items_of(data)
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = data.get("products") or data.get("items") or []
    else:
        raise ValueError("a product feed is a JSON list, or an object with a 'products' list")
    products = []
    for item in items:
        entry = mapping.entry(item) if mapping is not None else item
        if isinstance(entry, Mapping):
            product = normalize_feed_item(entry, upstream_netloc)
            if product is not None and mapping is not None:  # the alias and the sizes only a mapping reads
                if product_key(entry.get("other_id")):
                    product["other_id"] = product_key(entry["other_id"])
                if entry.get("variants"):
                    product["variants"] = entry["variants"]
                if entry.get("aliases"):  # variants that are no size (sizes.not_sizes): children all the same
                    product["aliases"] = list(entry["aliases"])
                if entry.get("more_sizes"):  # Red / M after Blue / M: children of that size too
                    product["more_sizes"] = [list(pair) for pair in entry["more_sizes"]]
            if product is not None:
                products.append(product)
    return products


UNLISTED_IS_GONE = ("stock", "stock_by_size", "consumable")
"""Facts a feed product without them no longer has: a count the store stopped publishing must not stay
for "only N left" to quote, and ``consumable`` comes from feeds alone."""


def written_row(product: Mapping[str, Any]) -> dict[str, Any]:
    """A feed product as the catalog merges it (``slotwise.store.catalog_merge``): the facts it has (those
    it has not, such as the brand or sizes a page gave, stay), and ``UNLISTED_IS_GONE`` gone when it lacks them."""
    row = {k: v for k, v in product.items() if v is not None}
    for fact in UNLISTED_IS_GONE:
        row.setdefault(fact, None)
    return row


def catalog_rows(products: list[dict[str, Any]], stored: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows products write, a feed's or a product page's (``PageViewRecorder.learn``): each product, its
    ``other_id`` and ``aliases`` (variants that are no size) as aliases (children without a size) and each
    size (``variants``, and ``more_sizes``: Red / M after Blue / M) as a child.

    A variant that is a product of its own in the catalog (``stored`` without a parent: its row from when the
    store's feed listed each variant, or its page was read as its own product) is folded into its product
    (``catalog_merge.FOLD``: its facts kept, so the views and orders naming it still read), and the log says
    so once: a row of its own would be recommended beside its group. An alias a product page's selector read
    (``other_id``) never folds a product (a selector can read another product's id), nor does anything fold a
    product among ``products`` (the read lists it as a product too): each stays that product, and the log
    says so (the store's merge would keep it one too)."""
    own = {p["id"] for p in products}
    rows: list[dict[str, Any]] = []
    children: dict[str, dict[str, Any]] = {}
    for product in products:
        product = dict(product)
        other = product.pop("other_id", None)
        aliases = dict.fromkeys(a for a in product.pop("aliases", ()) if a and a != product["id"])
        variants = product.get("variants") or {}
        if not variants:
            product.pop("variants", None)
        rows.append(product)
        # (child, its size or None for an alias, whether the product lists it as its variant: one that may fold)
        wanted: list[tuple[str, str | None, bool]] = []
        wanted += [(other, None, other in aliases)] if other and other != product["id"] else []
        wanted += [(alias, None, True) for alias in aliases if alias != other]
        wanted += [(child, size, True) for size, child in variants.items()]
        wanted += [(child, size, True) for child, size in product.pop("more_sizes", ())]
        for child, size, variant in wanted:
            folds = bool(stored.get(child)) and not stored[child].get("parent")
            if child in own or folds and not variant:
                log.warning("catalog: %r of product %r is a product of its own: not made its %s",
                            child, product["id"], "size" if size else "alias (catalog.selectors.other_id?)")
                continue
            row = {"id": child, "parent": product["id"], **({"size": size} if size else {})}
            if folds and child not in children:
                log.info("catalog: %r, a product of its own before, is a variant of %r: folded into it as its %s",
                         child, product["id"], f"size {size}" if size else "alias")
                row[FOLD] = True
            children.setdefault(child, row)
    return rows + list(children.values())


async def _bounded_body(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read and inflated piece by piece: a gzip bomb stops at ``limit``, not in memory."""
    coding = response.headers.get("content-encoding")
    if not streamable(coding):
        raise ValueError(f"feed content-encoding {coding!r} not supported")
    decoder, out = Decoder(coding), bytearray()
    try:
        async for chunk in response.aiter_raw():
            for piece in decoder.pieces(chunk):
                out += piece
                if len(out) > limit:
                    raise ValueError(f"feed larger than {limit} bytes")
        decoder.finish()
    except DecodeError as exc:
        raise ValueError(f"feed does not decode: {exc}") from exc
    return bytes(out)


class FeedStatus(ValueError):
    """A feed's URL answered an HTTP error: its ``status`` too (a page past the last: ``end_status``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _error_code(response: httpx.Response) -> str:
    """`` (rest_post_invalid_page_number)``: the ``code`` of a small JSON error body (WordPress's), if any."""
    try:
        error = lenient_json.loads(await _bounded_body(response, 4096))
    except Exception:
        return ""
    code = error.get("code") if isinstance(error, dict) else None
    return f" ({code[:100]})" if isinstance(code, str) and code.strip() else ""


def _origin(url: str) -> tuple[str, str | None, int | None]:
    """Scheme, host and port (the scheme's default when none is written): never the ``user:password@``, so
    two URLs that differ only in credentials are one origin."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port that is no number: an origin nothing else has
        return scheme, parts.netloc.rpartition("@")[2].lower(), -1
    return scheme, parts.hostname, port


def shown(url: Path | str) -> str:
    """A feed's (or page's, or a link's) URL as a message or a log line says it: without its
    ``user:password@`` (a store API's credentials), the rest as written."""
    text = str(url)
    parts = urlsplit(text)
    if "@" not in parts.netloc:
        return text
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _credited(url: str, like: str) -> str:
    """``url`` with ``like``'s ``user:password@`` when it names none: a next page on the feed's origin is read
    as the feed is (a store's API does not echo the credentials in its links)."""
    userinfo, at, _ = urlsplit(like).netloc.rpartition("@")
    parts = urlsplit(url)
    if not at or "@" in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def page_url(url: str, paging: FeedPaging, number: int) -> str:
    """``url`` asking for page ``number`` (and the page size), its own query kept: only the query changes, the
    text before it is ``url``'s as written, so the page is where the feed is (``urlunsplit`` would make the
    storefront path ``////host/feed`` the URL ``//host/feed``, another host). With ``template``, the number
    (and the size) go in place of ``{page}`` (``{size}``) in ``param``'s own value."""
    head, hash_, fragment = url.partition("#")
    before, _, written = head.partition("?")
    if paging.template:
        query = [(k, _filled(v, paging, number) if k == paging.param else v)
                 for k, v in parse_qsl(written, keep_blank_values=True) if k != paging.size_param]
    else:
        query = [(k, v) for k, v in parse_qsl(written, keep_blank_values=True)
                 if k not in (paging.param, paging.size_param)]
        if paging.param:  # none: cursor paging's first page is the feed's URL
            query.append((paging.param, str(number)))
    if paging.size_param and paging.size:
        query.append((paging.size_param, str(paging.size)))
    return before + (f"?{urlencode(query)}" if query else "") + hash_ + fragment


def _filled(value: str, paging: FeedPaging, number: int) -> str:
    """A templated parameter's value with the page's number (and the page size) in place."""
    return value.replace(PAGE_MARK, str(number)).replace(SIZE_MARK, str(paging.size or ""))


class FeedLoader:
    """Loads the rules' ``catalog.feed`` now and every ``REFRESH_S`` seconds: one loader of all the
    workers and instances sharing the store, the holder of the feed's lease (``feed_lease``)."""

    def __init__(self, store: Store, upstream: str, clock: Any,
                 own_currency: Callable[[], str | None] = lambda: None) -> None:
        """``upstream``: the storefront's base URL (``Settings.storefront``), where a feed's path is read;
        ``own_currency``: the rules' ``catalog.currency``, a row's own price is in it (``catalog_merge``)."""
        self.store = store
        self.own_currency = own_currency
        self.upstream = upstream
        self.upstream_netloc = urlsplit(upstream).netloc
        self.clock = clock
        self.feed: Path | str | None = None
        self.mapping: FeedMapping | None = None
        self.loaded_at = 0.0
        self.count = 0
        self.error: str | None = None
        self.holder = Holder()
        self.asked: str | None = None  # the lease of the feed this process last asked about
        self.ended: str | None = None  # how the last paged read ended (``rules check --feed`` says it)

    def _absolute(self, feed: str) -> str:
        """A feed's (or page's) URL: a path is on the storefront (the upstream; tag-only, ``--public-url``)."""
        if not feed.startswith("/"):
            return feed
        if not self.upstream:
            raise ValueError(f"{feed} is a path on the storefront, and no storefront is known: with --tag-only, "
                             "give --public-url (the store's origin)")
        return urljoin(self.upstream, feed)

    async def _read(self, feed: Path | str, limit: int | None = None) -> bytes:
        """The feed's bytes (a fetched one at most ``limit``, default ``MAX_FEED_BYTES``, read at call time)."""
        if isinstance(feed, Path):
            return await asyncio.to_thread(feed.read_bytes)
        return (await self._fetch(feed, MAX_FEED_BYTES if limit is None else limit))[0]

    async def _fetch(self, feed: str, limit: int) -> tuple[bytes, httpx.Headers]:
        """A fetched feed's (or page's) bytes, at most ``limit``, and its headers; ``FeedStatus`` on an error."""
        async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=10.0) as client:
            async with client.stream("GET", self._absolute(feed), headers={"accept": "application/json"}) as response:
                if not response.is_success:  # one short line for the log, not httpx's paragraph
                    where = f" to {shown(response.headers.get('location') or '')}" if response.is_redirect else ""
                    raise FeedStatus(response.status_code,
                                     f"HTTP {response.status_code}{where}{await _error_code(response)}")
                return await _bounded_body(response, limit), response.headers

    async def products(self, feed: Path | str, mapping: FeedMapping | None = None) -> list[dict[str, Any]]:
        """Every product the feed lists, all its pages read (``ValueError`` naming the page that failed). A feed
        that is a path says on which storefront it failed (its origin only: a query or user part may hold a
        token): a wrong ``--public-url`` and a wrong path read alike otherwise."""
        try:
            return await self._products(feed, mapping)
        except Exception as exc:
            if isinstance(feed, str) and feed.startswith("/") and self.upstream:
                raise ValueError(f"{exc or type(exc).__name__} (on the storefront {receiver(self.upstream)})") from exc
            raise

    async def _products(self, feed: Path | str, mapping: FeedMapping | None) -> list[dict[str, Any]]:
        paging = mapping.page if mapping is not None else None
        self.ended = None
        try:
            async with asyncio.timeout(MAX_FEED_S):  # a refresh's lease (``lease_s``) outlasts it
                if paging is None or isinstance(feed, Path):
                    return parse_feed(lenient_json.loads(await self._read(feed)), self.upstream_netloc, mapping)
                assert mapping is not None
                return await self._pages(feed, mapping, paging)
        except TimeoutError:
            what = "not read" if paging is None or isinstance(feed, Path) else "all its pages not read"
            raise ValueError(f"{what} within {MAX_FEED_S:g} s") from None

    async def _pages(self, feed: str, mapping: FeedMapping, paging: FeedPaging) -> list[dict[str, Any]]:
        """Page after page until the list says it ended (``FeedPaging``) or ``max_pages``; ``MAX_FEED_BYTES``
        over them all. ``self.ended`` says how it ended."""
        products: list[dict[str, Any]] = []
        url = page_url(feed, paging, paging.first)
        left, seen, warned = MAX_FEED_BYTES, {url}, False
        said: str | None = None  # a count of pages past max_pages a page's total_pages_header gave
        for count in range(1, paging.max_pages + 1):
            number = paging.first + count - 1
            try:
                body, headers = await self._fetch(url, left)
                document = lenient_json.loads(body)
                items = mapping.items_of(document)
            except FeedStatus as exc:
                if count > 1 and exc.status in paging.end_status:  # past a full page: the rules say it is the end
                    self.ended = f"{_pages(count - 1)}, then HTTP {exc.status} (end_status)"
                    return products
                raise ValueError(f"page {number} ({shown(url)}): {exc}{_end_hint(exc.status, count)}") from exc
            except Exception as exc:
                raise ValueError(f"page {number} ({shown(url)}): {exc or type(exc).__name__}") from exc
            left -= len(body)
            products += parse_feed(items, self.upstream_netloc, _listed(mapping))
            related = links(headers.get_list("link"))
            count_of = _pages_said(headers, document, paging) or ("", None)
            total, warned = _total_pages(count_of, number, warned, shown(feed)) if items else (None, warned)
            if total is not None and total > paging.max_pages:
                said = _shown(count_of[1] or "")
            if not items:
                self.ended = f"{_pages(count)}, the last empty"
            elif paging.size is not None and len(items) < paging.size:
                self.ended = f"{_pages(count)}, the last short ({len(items)} of {paging.size})"
            elif total is not None and count >= total:
                self.ended = f"{_pages(count)}, as {count_of[0].removesuffix(' header')} says ({total})"
            elif "next" not in related and (paging.next == "link" or PAGING & related.keys()):
                self.ended = f"{_pages(count)}, the last one's Link without rel=\"next\""
            elif paging.next == "link":
                url = self._next(feed, url, related["next"], number, seen)
                continue
            else:
                url = page_url(feed, paging, number + 1)
                continue
            return products
        if said is None:
            log.warning("product feed %s: stopped at %d pages (catalog.feed.page.max_pages)", shown(feed),
                        paging.max_pages)
            self.ended = f"{_pages(paging.max_pages)}, stopped there (max_pages)"
        else:  # the store says there are more: a catalog cut short, and why
            name = _pages_named(paging)
            log.warning("product feed %s: stopped at %d pages (catalog.feed.page.max_pages), its %s says %s",
                        shown(feed), paging.max_pages, name, said)
            self.ended = (f"{_pages(paging.max_pages)}, stopped there "
                          f"(max_pages; {name.removesuffix(' header')} says {said})")
        return products

    def _next(self, feed: str, url: str, target: str, number: int, seen: set[str]) -> str:
        """The page ``Link rel="next"`` names (resolved against the page's URL): on the feed's own origin only
        (the feed's URL is the rules', a header is the answer's), and not one read already (a loop)."""
        absolute = urljoin(self._absolute(url), target)
        said = f"page {number} ({shown(url)}): its Link rel=\"next\" {shown(target)[:200]!r}"
        if _origin(absolute) != _origin(self._absolute(feed)):
            raise ValueError(f"{said} is not on the feed's origin {receiver(self._absolute(feed))}: not followed")
        absolute = _credited(absolute, self._absolute(feed))
        nxt = relative_to_upstream(absolute, self.upstream_netloc) if feed.startswith("/") else absolute
        if nxt in seen:
            raise ValueError(f"{said} was read already")
        seen.add(nxt)
        return nxt

    async def refresh(self, feed: Path | str | None, mapping: FeedMapping | None = None, *,
                      force: bool = False) -> int:
        """Merges the feed's products into the catalog (``written_row``); a failing feed keeps the catalog
        as it was.

        Only while holding the feed's lease (``force``: at once, whoever holds it), taken for the read
        and the write (``lease_s``; a loader that dies loses it by expiry) and held ``REFRESH_S`` once
        loaded: the others' rounds until then are one store call each. A failed read holds it
        ``retry_s`` (30 s doubling up to ``REFRESH_S``): one try (and one warning) at a time across all of
        them, soon after a blip, no more than once a period for a feed that stays down. A loader stopped
        mid-read (the worker shuts down), mid-write or while saving the outcome gives it back, so the next
        process reads at once, not minutes later. A feed this process has not asked about (at start, or
        its rules changed, even back to a feed read a moment ago, or after rules without a feed) is read
        at once by the first process to see it (``Store.switch_lease``): rules without a feed switch the
        group to ``NO_FEED``.
        The outcome is saved in the store (``FeedRead``) for every process to show.
        A store that cannot say raises (the caller's next round asks again): the rows would go to that
        same store, so a read now would cost the store's API a request for nothing."""
        if feed is None:
            self.feed = None
            if self.asked != NO_FEED:  # at start, or the rules dropped their feed: bringing it back is a switch
                await self.store.switch_lease(LEASE_GROUP, NO_FEED, str(self.holder), self.clock(), 0.0)
                self.asked = NO_FEED
            return 0
        lease = lease_name(feed, mapping)
        if not await self._take(lease, force):
            return 0  # another loader has it, or read it less than a period (or a retry's wait) ago
        self.feed, self.mapping = feed, mapping
        self.loaded_at = self.clock()
        try:
            return await self._refresh_held(lease, feed, mapping)
        except Exception:
            raise  # the store cannot say (saving the outcome): the lease expires by itself
        except BaseException:  # cancelled: the worker stops mid-read, mid-write or while saving the outcome
            await self._give_back(lease)
            raise

    async def _refresh_held(self, lease: str, feed: Path | str, mapping: FeedMapping | None) -> int:
        """``refresh``'s read, write and outcome, ``lease`` held."""
        try:
            products = await self.products(feed, mapping)
        except Exception as exc:  # unreachable, not JSON, wrong shape, too big or slow: keep what we have, say why
            await self._failed(lease, feed, str(exc) or type(exc).__name__)  # a timeout has no words of its own
            return 0
        try:
            await self._write(products, mapping)
        except Exception as exc:  # the store refused the rows: the read is to be done again, as a failed one
            await self._failed(lease, feed, f"catalog not written: {exc or type(exc).__name__}")
            return 0
        self.error, self.count = None, len(products)
        log.info("product feed %s: %d products", shown(feed), self.count)
        now, holder = self.clock(), str(self.holder)
        await self.store.save_feed_read(lease, FeedRead(feed=str(feed), at=now, products=self.count, loaded_at=now,
                                                        reader=holder))
        await self.store.release_lease(lease, holder, now, REFRESH_S)
        return self.count

    async def _take(self, lease: str, force: bool) -> bool:
        """Whether this loader now holds ``lease``: ``force``, a switch to it this process saw first, or free."""
        holder, now = str(self.holder), self.clock()
        if force:
            await self.store.hold_lease(lease, holder, now, lease_s())
            return True
        if lease != self.asked:  # at start, or the rules changed: due at once unless another saw it first
            switched = await self.store.switch_lease(LEASE_GROUP, lease, holder, now, lease_s())
            self.asked = lease
            if switched:
                return True
        return await self.store.take_lease(lease, holder, now, lease_s())

    async def _write(self, products: list[dict[str, Any]], mapping: FeedMapping | None) -> None:
        """The products as catalog rows (a mapping's aliases and sizes as children; the children it no longer
        lists kept, no longer offered: ``feed_children``)."""
        rows = [written_row(p) for p in products]
        if mapping is not None:
            sized = mapping.sizes is not None  # it says each product's sizes (maybe none), else nothing of them
            stored = await self._stored([child for p in products for child in children_of(p)]
                                        + [p["id"] for p in products if sized])
            if sized:
                stored.update(await self._stored([c for c in listed_before(products, stored) if c not in stored]))
            rows = catalog_rows(rows, stored) + (unlisted_rows(products, stored) if sized else [])
        await self.store.upsert_products(rows, self.clock(), self.own_currency())

    async def _stored(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The stored rows of ``ids``, a thousand a query (SQLite bounds a query's parameters)."""
        stored: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 1000):
            stored.update(await self.store.get_products(ids[start:start + 1000]))
        return stored

    async def _failed(self, lease: str, feed: Path | str, reason: str) -> None:
        """Says why, saves it (the last load's products and time kept) and gives the lease back for
        ``retry_s`` of the failures in a row; a store that cannot say leaves the lease to expire."""
        self.error = f"{shown(feed)}: {reason}"
        log.warning("product feed %s not loaded: %s", shown(feed), reason)
        holder, now = str(self.holder), self.clock()
        try:
            before = await self.store.feed_read(lease) or FeedRead(feed=str(feed), at=now)
            failures = before.failures + 1
            await self.store.save_feed_read(lease, replace(before, feed=str(feed), at=now, error=reason,
                                                           failures=failures, reader=holder))
            await self.store.release_lease(lease, holder, now, retry_s(failures))
        except Exception as exc:
            if not is_outage(exc):
                log.warning("product feed %s: its failed read not saved", shown(feed), exc_info=True)

    async def _give_back(self, lease: str) -> None:
        """The lease free at once for the next process (a stopping worker's), if the store answers soon."""
        try:
            async with asyncio.timeout(RELEASE_S):
                await self.store.release_lease(lease, str(self.holder), self.clock())
        except Exception as exc:  # it expires by itself (``lease_s``)
            if not is_outage(exc):
                log.warning("product feed: its lease not given back", exc_info=True)


def _pages(count: int, what: str = "page") -> str:
    return f"{count} {what}{'s' if count != 1 else ''}"


def _end_hint(status: int, count: int) -> str:
    """What to say of a 400 or 404 past a full page: maybe the store's way to say the list ended, which
    only the rules can say (the last catalog is kept meanwhile)."""
    if count == 1 or status not in (400, 404):
        return ""
    return (f" past {_pages(count - 1, 'full page')}: if that is how this store answers a page past its last, say "
            f"so with catalog.feed.page.end_status: [{status}] (or total_pages_header)")


PAST_ANY_COUNT = 10 ** 12
"""The count of pages a header of more than 12 digits is taken as: past any ``max_pages`` (at most
``feed_mapping.MAX_PAGES``), without ``int()`` of its digits (which raises past 4300 of them)."""


def _shown(value: str) -> str:
    """A header's value as a message shows it: its first 20 characters."""
    value = value.strip()
    return value if len(value) <= 20 else value[:20] + "…"


def _pages_named(paging: FeedPaging) -> str:
    """Where the count of pages is: ``X-WP-TotalPages header``, ``data.products.page_info.total_pages``."""
    if paging.total_pages is not None:
        return ".".join(paging.total_pages.key or ())
    return f"{paging.total_pages_header} header"


def _pages_said(headers: httpx.Headers, document: Any, paging: FeedPaging) -> tuple[str, str | None] | None:
    """(where, the count of pages as the answer writes it: None when missing) when the rules read one."""
    if paging.total_pages is not None:
        value = paging.total_pages.pick_raw(document)
        text = None if value is None or isinstance(value, bool) else str(value)
        return _pages_named(paging), text
    if paging.total_pages_header is not None:
        return _pages_named(paging), headers.get(paging.total_pages_header)
    return None


def _total_pages(said: tuple[str, str | None], number: int, warned: bool, feed: str) -> tuple[int | None, bool]:
    """The count of pages the answer gives (``total_pages_header`` or ``total_pages``: a count past
    ``max_pages`` only ends the read there), and whether a warning was given (one a read: a count that is
    missing, no number, or 0 beside products, is ignored, not a failure)."""
    name, value = said
    if not name:  # the rules read no count of pages
        return None, warned
    digits = value.strip() if value is not None else ""
    if digits.isascii() and digits.isdigit() and digits.strip("0"):
        return (int(digits) if len(digits) <= 12 else PAST_ANY_COUNT), warned
    if not warned:
        said_of = ("missing" if value is None else "0 beside products" if digits.isascii() and digits.isdigit()
                   else f"not a number ({value[:50]!r})")
        option = "total_pages" if not name.endswith(" header") else "total_pages_header"
        log.warning("product feed %s: page %d: its %s %s: ignored (catalog.feed.page.%s)",
                    feed, number, name, said_of, option)
    return None, True


def _listed(mapping: FeedMapping) -> FeedMapping:
    """The mapping for a list already taken out of its page."""
    return replace(mapping, items=None)
