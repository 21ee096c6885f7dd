"""``slotwise rules check FILE [--url URL [--cookie N=V] [--header 'N: V'] [--strict]] [--feed]``: validate slot rules.

Errors print as ``file:line:column: message`` (all of them, exit status 1).
A valid file prints one line per slot; with ``--url`` the live page is
fetched (the only I/O, and it lives here, not in ``slotwise.rules``) and
everything the rules read from it is shown: the page's type, category and
product facts (and where they came from), the customer and the mini basket,
each slot's selector hits, each capture source, and the forms on the page
with the request source that would read them. Cookies and headers let a
rules author look at pages that need a basket or a login. ``--feed`` reads
the catalog feed as the proxy would (every page) and shows its first products.
A selector that finds nothing on the page is a warning, with its near misses (``rules.near_miss``); the
exit status stays 0 unless ``--strict`` (then ``STRICT_EXIT``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Mapping, TextIO
from urllib.parse import urljoin, urlsplit

from slotwise.commands.page_fetch import FetchError, fetch
from slotwise.rules.schedule import DEFAULT_TIMEZONE, TURN_WORDS



def register(subparsers: Any) -> None:
    from slotwise.proxy.config import OPTIONS

    parser = subparsers.add_parser("rules", help="work with YAML slot rules", description="Work with YAML slot rules.")
    sub = parser.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    sub.required = True
    check = sub.add_parser(
        "check",
        help="validate a rules file (all errors at once, as file:line:column)",
        description="Validate a rules file and everything it includes; exit 1 on any error.",
    )
    check.add_argument("file", metavar="FILE", help="the YAML rules file")
    check.add_argument("--url", metavar="URL", help="also fetch this live page and show everything the rules read from it")
    check.add_argument("--cookie", metavar="NAME=VALUE", action="append", default=[],
                       help="a cookie to send with --url (repeatable), e.g. the store's session for a page with a basket")
    check.add_argument("--header", metavar="'NAME: VALUE'", action="append", default=[],
                       help="a request header to send with --url (repeatable); a Cookie header is held like --cookie")
    check.add_argument("--feed", action="store_true",
                       help="also read the catalog feed (all its pages; a storefront path on --url's site) and show "
                            f"the first {FEED_SHOWN} products it yields")
    bound = next(o for o in OPTIONS if o.name == "max_html_bytes")
    check.add_argument(bound.flag, dest=bound.name, type=int, default=None, metavar="N",
                       help=f"with --url: the bound `slotwise serve {bound.flag}` runs with; a page over it is said to "
                            f"pass through the proxy unchanged (env {bound.env}, default {bound.default})")
    check.add_argument("--strict", action="store_true",
                       help=f"with --url: exit {STRICT_EXIT} when the page shows a warning (a slot's selector finds "
                            "nothing on a page it applies to, a variant with nothing to set): for a deploy's check")
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None,
              now: float | None = None) -> int:
    """``now``: the moment the slots' ``active`` windows are said of (default: the clock's)."""
    from slotwise.rules import check_rules

    now = time.time() if now is None else now
    out = out or sys.stdout
    err = err or sys.stderr
    ruleset, issues = check_rules(args.file)
    if issues or ruleset is None:
        for issue in issues:
            print(issue, file=err)
        print(f"{args.file}: {len(issues)} error{'s' if len(issues) != 1 else ''}; rules rejected", file=err)
        return 1
    settings = f"holdout {ruleset.holdout:.0%}, consent {ruleset.consent}, attribution window {ruleset.attribution_window_text}"
    if ruleset.timezone != DEFAULT_TIMEZONE:
        settings += f", timezone {ruleset.timezone}"
    print(f"{args.file}: OK, {len(ruleset.slots)} slot{'s' if len(ruleset.slots) != 1 else ''} ({settings})", file=out)
    for slot in ruleset.slots:
        print(f"  {slot.summary()}", file=out)
        if slot.key_warning is not None:  # tag-only mode is serve's, not the rules': said as of request sources
            print(slot.key_warning, file=out)
        for line in schedule_lines(slot, now, ruleset.timezone):
            print(line, file=out)
    capture = ruleset.capture
    sources = len(capture.requests) + len(capture.pages) + len(capture.triggers)
    if not capture.empty:
        extras = [n for n, v in (("customer", capture.customer), ("cart", capture.cart or capture.answer_cart),
                                 ("dataLayer", capture.datalayer)) if v]
        print(f"  capture: {sources} event source{'s' if sources != 1 else ''}"
              + (f"; {', '.join(extras)}" if extras else ""), file=out)
    if capture.identity is not None:  # its variables are set (else the rules were refused, naming them)
        print(f"  {capture.identity.describe()}", file=out)
    print(f"  {soft_navigations_line(ruleset)}", file=out)
    for source in (*capture.requests, *((capture.answer_cart.source,) if capture.answer_cart is not None else ())):
        if source.unobserved is not None:  # tag-only mode is serve's, not the rules': said of every such source
            print(source.unobserved, file=out)
    for warning in ruleset.cookie_warnings:  # the same: said of every cookie field
        print(warning, file=out)
    if capture.answer_cart is not None:
        print(f"  cart (capture.cart): {capture.answer_cart.describe()}; read by the proxy as it passes, or in "
              "tag-only mode by the tag (its answer script, loaded for these rules only)", file=out)
    if capture.orders is not None:
        print("  order webhook (/_sw/orders), in the store's own shape (capture.orders):", file=out)
        for line in capture.orders.describe():
            print(f"    {line}", file=out)
    catalog = ruleset.catalog
    if catalog.feed_mapping is not None:
        from slotwise.proxy.personalization.catalog_feed import shown

        print(f"  catalog feed: {shown(catalog.feed)}, in the store's own shape", file=out)
        for line in catalog.feed_mapping.describe():
            print(f"    {line}", file=out)
    for said in (*catalog.size_vocabulary.describe(), catalog.describe_variant_id(), catalog.describe_product_id(),
                 catalog.page_types.describe() if catalog.page_types is not None else None):
        if said:
            print(f"  {said}", file=out)
    categories: dict[str, tuple[str, str | None]] = {}
    if getattr(args, "feed", False):
        status = _check_feed(catalog, args.url, out, err, categories)
        if status or not args.url:
            return status
    if args.url:
        from slotwise.proxy.config import ConfigError

        try:
            cookie_headers = [h for h in args.header if _is_cookie(h)]
            headers = _pairs([h for h in args.header if not _is_cookie(h)], ":", "--header", "'NAME: VALUE'")
            cookies = {**_cookie_header_pairs(cookie_headers), **_pairs(args.cookie, "=", "--cookie", "NAME=VALUE")}
            limit = _max_html_bytes(getattr(args, "max_html_bytes", None))
        except (ValueError, ConfigError) as exc:
            print(f"slotwise rules check: {exc}", file=err)
            return 2
        return _check_url(ruleset, args.url, out, err, cookies=cookies, headers=headers, max_html_bytes=limit,
                          categories=categories, now=now, strict=getattr(args, "strict", False))
    return 0


FEED_SHOWN = 5
FINDS_NOTHING = " <- selector finds nothing"
STRICT_EXIT = 3
"""``--strict``'s exit status when the page shows a warning: not 1 (the rules are valid) nor 2 (the page
could not be checked), so a deploy script tells the three apart."""


def schedule_lines(slot: Any, now: float, timezone: str = DEFAULT_TIMEZONE) -> list[str]:
    """A slot's and its variants' ``active`` windows in words, and a warning for each one that has ended: a
    stale campaign is never applied again (a variant: never offered again), and still costs every page a look.
    A ``when`` that reads the clock: until when a page it leaves as the store's may be cached (``fresh_for``)."""
    lines, warnings = [], []
    owners = [(f"slot {slot.id!r}", "", slot.window)] + [
        (f"variant {v.id!r} of slot {slot.id!r}", f"variant {v.id!r} ", v.window) for v in slot.variants]
    for name, prefix, window in owners:
        if window is None:
            continue
        lines.append(f"    {prefix}{window.describe(now)}")
        if window.ended(now):
            warnings.append(f"WARNING: {name}: its 'active' window ended {window.closes()}: a stale "
                            f"campaign, never {'applied' if not prefix else 'offered'} again; remove it or give it new dates")
    if slot.clock is not None:
        read = sorted(f for f in slot.when.facts if f.startswith("time.")) or ["time"]
        lines.append(f"    'when' reads the clock ({', '.join(read)}): a page it leaves as the store's is cached only "
                     f"until {TURN_WORDS[slot.clock]} ({timezone}){' while it runs' if slot.scheduled else ''}")
    return lines + warnings


def _signed(identity: Any, customer: str | None, signature: str | None) -> str | None:
    """What the page's signature says of its customer id (tag-only: trusted or a claim); never the signature."""
    if identity is None or not customer:
        return None
    if not signature:
        return "no signature (tag-only: a claim)"
    if identity.verify(customer, signature):
        return "signature valid (tag-only: trusted, merges the customer's devices)"
    return f"signature WRONG for {' or '.join('$' + n for n in identity.names)} (tag-only: a claim)"


def _check_feed(catalog: Any, url: str | None, out: TextIO, err: TextIO,
                categories: dict[str, tuple[str, str | None]]) -> int:
    """``--feed``: the products the proxy would learn from ``catalog.feed`` (read as the proxy reads it).
    ``categories`` gets each product's category by every id a page may name it by (its id, other id and
    sizes' ids), as the catalog holds it: ``--url``'s page takes it when it names none, as behind the proxy."""
    import asyncio

    from slotwise.keys import category_key

    from slotwise.proxy.personalization.catalog_feed import FeedLoader, shown

    if catalog.feed is None:
        print("slotwise rules check: --feed: the rules have no catalog.feed", file=err)
        return 2
    if isinstance(catalog.feed, str) and catalog.feed.startswith("/") and not url:
        print(f"slotwise rules check: --feed: {catalog.feed} is a path on the storefront: give --url (a page of "
              "the store) to say which", file=err)
        return 2
    parts = urlsplit(url or "")
    loader = FeedLoader(None, f"{parts.scheme}://{parts.netloc}" if url else "", lambda: 0.0)  # type: ignore[arg-type]
    try:
        products = asyncio.run(loader.products(catalog.feed, catalog.feed_mapping))
    except Exception as exc:  # what the proxy would log, and it would keep the catalog it has
        print(f"catalog feed {shown(catalog.feed)}: not loaded: {exc or type(exc).__name__}", file=out)
        return 1
    for p in products:
        category = category_key(p.get("category"))
        if category is not None:
            name = p.get("category_name") if isinstance(p.get("category_name"), str) else None
            for known in (p["id"], p.get("other_id"), *(p.get("variants") or {}).values()):
                if known:
                    categories.setdefault(str(known), (category, name))
    print(f"catalog feed {shown(catalog.feed)}: {len(products)} product{'s' if len(products) != 1 else ''}"
          + (f" ({loader.ended})" if loader.ended else ""), file=out)
    for p in products[:FEED_SHOWN]:
        facts = ", ".join(f"{k} {p[k]!r}" for k in ("name", "price", "currency", "category", "in_stock", "stock",
                                                       "stock_by_size")
                          if p.get(k) is not None)
        print(f"  {p['id']}: {facts}", file=out)
        if p.get("url") or p.get("image"):
            print(f"    url {p.get('url')!r}, image {p.get('image')!r}", file=out)
        if p.get("other_id"):
            print(f"    other id {p['other_id']!r}: a line naming it is this product", file=out)
        if p.get("variants"):
            print(f"    sizes {', '.join(f'{size}={child}' for size, child in p['variants'].items())}", file=out)
        if p.get("more_sizes"):
            print(f"    also sizes {', '.join(f'{size}={child}' for child, size in p['more_sizes'])}", file=out)
        if p.get("aliases"):
            print(f"    no size {', '.join(p['aliases'])}: a line naming one is this product", file=out)
    return 0


def _pairs(items: list[str], sep: str, flag: str, form: str) -> dict[str, str]:
    """``NAME<sep>VALUE`` items as a dict; ``ValueError`` naming the flag and the item that is not one."""
    out: dict[str, str] = {}
    for item in items:
        name, found, value = item.partition(sep)
        if not found or not name.strip():
            raise ValueError(f"{flag} {item!r}: expected {form}")
        out[name.strip()] = value.strip()
    return out


def _is_cookie(header: str) -> bool:
    return header.partition(":")[0].strip().lower() == "cookie"


def _cookie_header_pairs(items: list[str]) -> dict[str, str]:
    """The cookies of ``--header 'Cookie: a=1; b=2'`` (as a browser's devtools show them), for the same
    host-bound jar as ``--cookie``: as a header they went to the first request only (httpx drops a
    Cookie header on every redirect, even the store's own), and a header never knows which host it is for."""
    out: dict[str, str] = {}
    for item in items:
        for part in item.partition(":")[2].split(";"):
            if not part.strip():
                continue
            name, found, value = part.partition("=")
            if not found or not name.strip():
                raise ValueError(f"--header {item!r}: {part.strip()!r} is not NAME=VALUE "
                                 "(or give each cookie as --cookie NAME=VALUE)")
            out[name.strip()] = value.strip()
    return out


def _max_html_bytes(flag: int | None) -> int:
    """``slotwise serve``'s bound on a page it rewrites, read as serve reads it (``Settings``: the flag,
    else ``SLOTWISE_MAX_HTML_BYTES``, else its default; the same checks and messages). Only this one
    variable is read: a deployment's other ``SLOTWISE_*`` settings are no business of a rules check."""
    import os

    from slotwise.proxy.config import OPTIONS, Settings

    env = next(o.env for o in OPTIONS if o.name == "max_html_bytes")
    own = {env: os.environ[env]} if env in os.environ else {}
    return Settings.from_env(own, max_html_bytes=flag).max_html_bytes


def _check_url(ruleset: Any, url: str, out: TextIO, err: TextIO, *, cookies: dict[str, str] | None = None,
               headers: dict[str, str] | None = None, max_html_bytes: int | None = None,
               categories: dict[str, tuple[str, str | None]] | None = None, now: float | None = None,
               strict: bool = False) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        print(f"slotwise rules check: --url {url!r} is not an http(s) URL", file=err)
        return 2
    try:
        page = fetch(url, cookies or {}, headers or {})
    except FetchError as exc:
        print(f"slotwise rules check: --url: {exc}", file=err)
        return 2
    except Exception as exc:  # any network failure is a clear message, not a traceback
        print(f"slotwise rules check: --url: cannot fetch {url}: {type(exc).__name__}: {exc}", file=err)
        return 2
    if not page.html_type:
        where = f"{url} redirects to {page.url}, which" if page.redirected else url
        ctype = f"Content-Type {page.content_type}" if page.content_type else "no Content-Type"
        print(f"slotwise rules check: --url: {where} is not an HTML page (HTTP {page.status}, {ctype}): the proxy "
              "passes it through untouched", file=err)
        return 2
    if page.redirected:
        print(f"\n{url} redirects to {page.url} (shown below; pass --cookie for pages that need a login or a basket)", file=out)
    from slotwise.proxy.forwarding.encoding import sniff_charset

    charset = sniff_charset(page.html, page.content_type)  # the proxy's: BOM, Content-Type, <meta charset>, UTF-8
    lines = describe_page(ruleset, page.url, page.status, page.html, headers or {}, cut=page.cut, charset=charset,
                          sent_size=page.sent_size, max_html_bytes=max_html_bytes, categories=categories,
                          cookies=cookies, now=now)
    for line in lines:
        print(line, file=out)
    warned = sum(FINDS_NOTHING in line or "WARNING:" in line for line in lines)
    if strict and warned:
        print(f"slotwise rules check: --strict: {warned} warning{'s' if warned != 1 else ''} on {page.url}", file=err)
        return STRICT_EXIT
    return 0


def describe_page(ruleset: Any, url: str, status: int, html: bytes, headers: dict[str, str] | None = None, *,
                  cut: bool = False, charset: str = "utf-8", sent_size: int | None = None,
                  max_html_bytes: int | None = None, categories: dict[str, tuple[str, str | None]] | None = None,
                  cookies: Mapping[str, str] | None = None, now: float | None = None) -> list[str]:
    """Everything the rules read from one page, as lines for a person (pure: no I/O). ``categories``:
    product id -> (category, name) from the feed ``--feed`` read, for a product page that names none.
    ``cookies``: the request's (``--cookie``), what the rules' cookie fields read, as behind the proxy. ``cut``: ``html`` is
    only the start of a longer page, so a selector that finds nothing may find it further down. ``charset``:
    the page's (``sniff_charset``); it is read in it as the proxy reads it (``bytes_to_read``). ``sent_size``
    (its bytes as sent) and ``max_html_bytes`` (serve's bound): with them, a page the proxy would pass
    through unchanged is said to be one (``_passes_through``). ``now``: the moment a slot's ``active`` window
    and a ``when`` on the ``time`` facts are said of (default: the clock's)."""
    from slotwise.proxy.forwarding.documents import is_document
    from slotwise.proxy.personalization.catalog_category import with_category
    from slotwise.rules import page_facts
    from slotwise.rules.facts import page_currency
    from slotwise.rules.capture import CaptureError, cart_lines, customer_of, page_event, signature_of
    from slotwise.rules.html_api import count_matches
    from slotwise.rules.near_miss import near_miss_text
    from slotwise.rules.page_types import describe as describe_type
    from slotwise.rules.cookies import page_cookies
    from slotwise.rules.reading import bytes_to_read, cookie_values, read_html, reading_codec, reads_cookies, with_cookies

    size, document, html = len(html), is_document(html, charset), bytes_to_read(html, charset)
    parts = urlsplit(url)
    path = parts.path or "/"
    catalog, capture = ruleset.catalog, ruleset.capture
    url_type = catalog.url_type(path)
    groups = catalog.page_groups(url_type)
    groups.update(capture.page_groups(path, parts.query, headers))
    reading = read_html(html, catalog, groups, structured=url_type.reads_product)
    if reads_cookies(groups):
        jar = page_cookies([("cookie", f"{k}={v}") for k, v in (cookies or {}).items()])
        reading = with_cookies(reading, groups, cookie_values(groups, jar))
    page = page_facts(path, parts.query, html, ruleset, url=url, reading=reading)
    from_feed = None
    if page.category is None and page.product is not None and categories:
        from_feed = categories.get(str(page.product.get("id")))
        page = with_category(page, *from_feed) if from_feed else page
    kind, _, told = catalog.page_type(url_type, reading)
    lines = ["", f"{url}: HTTP {status}, {size} bytes; page type {page.type}"
             + (f", category {page.category!r}" if page.category else "")]
    if status >= 400:
        lines.append(f"  WARNING: HTTP {status} {_reason(status)}: the store's error page, not the page itself "
                     "(what follows is read from it)")
    if cut:
        lines.append(f"  only the first {size} bytes read: the page is longer (what comes after is not shown)")
    lines.append(f"  type {kind}: {describe_type(url_type, told)}"
                 + (" (its markup declares a product)" if page.type != kind else ""))
    counts = count_matches(html, [s.selector for s in ruleset.slots]) if ruleset.slots else []
    why = _passes_through(ruleset, html, path, parts.query, headers, counts, size=size, cut=cut, sent_size=sent_size,
                          limit=max_html_bytes, document=document)
    if why:
        lines.append(f"  the proxy would pass this page through unchanged: {why}: no slot changes it")
    codec = reading_codec(charset)
    if codec is not None:  # not UTF-8: say what its text is read as
        lines.append(f"  charset {charset}" + (f", read as {codec} (as browsers read it)" if codec != charset else ""))
    if catalog.page_currency is not None:
        lines.append(f"  currency {page.currency or 'none'}" + (" (catalog.page_currency)" if page_currency(reading, catalog)
                     else ": catalog.page_currency reads none here, the product's or catalog.currency instead"))
    if page.product is not None:
        lines += _product_lines(page.product, reading) + _json_ld_lines(html, catalog)
        if from_feed:
            lines.append(f"    category {from_feed[0]!r} from the catalog feed: the page names none (as behind the "
                         "proxy and in tag-only mode)")
    elif kind == "other":
        lines.append("  no product (" + ("no catalog.page_types selector matches" if url_type.open else
                                         "no URL pattern claims this page") + " and its markup declares none)")
    if capture.customer is not None:
        if "customer" not in groups:
            lines.append("  customer: not read on this page (capture.customer.pages)")
        else:
            customer, email = customer_of(reading.group("customer"))
            named = [f"id {customer!r}" for _ in [0] if customer] + [f"e-mail {_mask(email)}" for _ in [0] if email]
            named += [said for said in [_signed(capture.identity, customer, signature_of(reading.group("customer")))] if said]
            lines.append(f"  customer: {', '.join(named) if named else 'none named (logged out, or the selector finds nothing)'}")
    if capture.cart is not None:
        if "cart" not in groups:
            lines.append("  cart: not read on this page (capture.cart.pages)")
        else:
            cart, count = cart_lines(reading.group("cart"), catalog, reads_lines=capture.cart.group.lines is not None)
            if cart is None and count is None and reading.group("cart").get("present") and capture.cart.group.within:
                counted = capture.cart.group.fields.get("count")
                what = f"its count ({counted.css or 'its own text'!r}) reads no number" if counted is not None else "it shows no lines"
                lines.append(f"  cart: {capture.cart.group.within} found, but {what}: says nothing about the cart")
            elif cart is None and count is None:
                lines.append(f"  cart: not on this page ({capture.cart.group.within or 'count'} finds nothing)")
            elif not cart and not count:
                lines.append("  cart: empty")
            else:
                shown = "; ".join(f"{c['product']}" + (f" size {c['size']}" if c.get("size") else "") + f" ×{c['qty']}"
                                  for c in cart or [])
                lines.append(f"  cart: {'count ' + str(count) if count is not None else 'no count'}"
                             + (f"; {len(cart)} line{'s' if len(cart) != 1 else ''}: {shown}" if cart else "; lines not read"))
    lines += _script_lines(groups, reading, html)
    if ruleset.slots:
        lines.append("  slots:")
        no_sizes = catalog.sizes is not None and page.product is not None and not page.product.get("variants")
        moment = time.time() if now is None else now
        for slot, count in zip(ruleset.slots, counts):
            matches = slot.pages.matches(path, parts.query, headers)
            line = _slot_line(slot, page, matches, count, no_sizes=no_sizes, now=moment, timezone=ruleset.timezone)
            if FINDS_NOTHING in line:  # what the page has instead: a typo, a theme's renamed class
                line = line.replace(FINDS_NOTHING, FINDS_NOTHING + near_miss_text(html, slot.selector), 1)
            lines.append(line)
            if matches and count and slot.action in ("reorder", "select-option", "set-value"):
                lines += [f"      {line}" for line in _slot_targets(html, slot)]
    if capture.pages or capture.requests or capture.triggers:
        lines.append("  capture:")
    for source in capture.pages:
        name = f"ev:{source.id}"
        if name not in groups:
            lines.append(f"    {source.id} ({source.event} from a page): page does not match")
            continue
        if source.cart_lines:  # the page's order id; its lines are the visitor's cart, which only serve holds
            order = (reading.group(name).get("fields") or {}).get("order_id")
            lines.append(f"    {source.id} ({source.event} from a page): "
                         + (f"order {order!r}; its lines: the visitor's cart as capture.cart last read it (lines: cart)"
                            if order else "page matches, but its fields find nothing"))
            continue
        try:
            event = page_event(source, reading.group(name), catalog)
        except CaptureError as exc:
            lines.append(f"    {source.id} ({source.event} from a page): page matches, but {exc}")
            continue
        lines.append(f"    {source.id} ({source.event} from a page): "
                     + (_event_text(event) if event else "page matches, but its fields find nothing"))
    for trigger in capture.triggers:
        found = count_matches(html, [trigger.selector])[0]
        lines.append(f"    {trigger.id} ({trigger.event} on {trigger.on} of {trigger.selector!r}): "
                     f"{found} element{'s' if found != 1 else ''} on this page")
    forms, links = _forms(html, url), _links(html, url)
    for source in capture.requests:
        mine = [f for f in forms if source.match(f["method"], f["path"]) is not None]
        linked = [p for p in links if source.match("GET", p) is not None]
        confirm = (f"; then the next page must {'show' if source.confirm.present else 'not show'} {source.confirm.css!r}"
                   if source.confirm is not None else "")
        head = f"    {source.id} ({source.event} from a request): "
        if mine:
            fields = ", ".join(sorted({n for f in mine for n in f["fields"]}))
            lines.append(f"{head}{len(mine)} form{'s' if len(mine) != 1 else ''} on this page "
                         f"post{'s' if len(mine) == 1 else ''} to it (fields: {fields or 'none'}); "
                         f"recorded when {source.success_text}{confirm}")
        elif linked:
            lines.append(f"{head}{len(linked)} link{'s' if len(linked) != 1 else ''} on this page lead to it; "
                         f"recorded when {source.success_text}{confirm}")
        else:
            lines.append(f"{head}nothing on this page sends it (a script may){confirm}")
    if capture.datalayer is not None:
        pushes = html.count(b"dataLayer.push") + html.count(b"gtag(")
        lines.append(f"    dataLayer: {pushes} push{'es' if pushes != 1 else ''} in the page's HTML (more may come from scripts)")
    return lines


def soft_navigations_line(ruleset: Any) -> str:
    """What the tag does on a single-page storefront (``capture.soft_navigations``, docs/tag.md): which URL
    changes are a new page (a path, a query parameter some ``pages`` of the rules read), or that it does nothing."""
    if not ruleset.capture.soft_navigations:
        return "soft navigations: not followed (capture.soft_navigations: false): only pages the browser loads are pages"
    from slotwise.rules.tag_config import soft_query

    query = soft_query(ruleset)
    new = "a new path" + (f" or a new {' or '.join('?' + name for name in query)}" if query else "")
    return (f"soft navigations: followed (a single-page storefront's history.pushState or back button to {new} "
            "is a page: read, decided and applied in the browser)")


def _slot_line(slot: Any, page: Any, matches: bool, count: int, *, no_sizes: bool, now: float,
               timezone: str = DEFAULT_TIMEZONE) -> str:
    """One slot on this page: whether its pages match, what its selector finds, and whom it is shown to. A
    ``when`` that reads the page alone is evaluated (``Slot.when_on_page``); one that reads the visitor is
    said, not counted as shown or not shown. A selector that finds nothing is a warning, unless the slot
    is not shown here anyway, or it reads sizes on a product the rules read none for (``no_sizes``), or it
    waits for the page's own script to render its element (``wait``: said, as that is what it is for). A slot
    outside its ``active`` window at ``now`` is not shown; a ``when`` on the ``time`` facts is said of ``now``."""
    from slotwise.rules.errors import RuleEvaluationError
    from slotwise.rules.schedule import time_facts
    from slotwise.rules.vocabulary import TIME_NAMES

    notes = [] if slot.enabled else ["disabled"]
    holds: bool | None = True
    if matches and not slot.runs(now):
        holds = False
        window = slot.window if slot.window is not None and not slot.window.active(now) else None
        notes.append(f"not shown now: outside its active window ({window.describe(now)})" if window is not None
                     else "not shown now: none of its variants' active windows is open")
    elif matches and slot.when is not None:
        at_time = bool(slot.when.facts & TIME_NAMES)
        try:
            holds = slot.when_on_page(page, time_facts(now, timezone))
        except RuleEvaluationError as exc:
            holds = False  # the proxy fails open: the whole page as the store sent it
            notes.append(f"WARNING: {exc.reason}: the proxy would serve this page unchanged")
        else:
            where = "on this page now" if at_time else "on this page"
            notes.append(f"depends on the visitor: shown only when {slot.when_source}" if holds is None else
                         f"when {slot.when_source}: true {where}" if holds else
                         f"not shown: when {slot.when_source} is false {where}")
    hits = f"{count} element{'s match' if count != 1 else ' matches'} {slot.selector!r}"
    found = ""
    if matches and count == 0 and holds is not False:
        found = (" (this product has no sizes)" if no_sizes and slot.reads_sizes else
                 f" (not in the page's HTML: the tag waits up to {_duration(slot.wait_ms)} for the page's scripts to"
                 " render it, and applies the decision then)" if slot.wait_ms else
                 FINDS_NOTHING)
    note = f" [{'; '.join(notes)}]" if notes else ""
    return f"    {slot.id}: {'page matches' if matches else 'page does not match'}; {hits}{found}{note}"


def _duration(ms: int) -> str:
    """``2s``, ``1.5s``, ``800ms``: a slot's ``wait`` as the rules write it."""
    return f"{ms}ms" if ms < 1000 else f"{ms / 1000:g}s"


def _reason(status: int) -> str:
    """``Not Found`` for 404; an unregistered status says nothing more."""
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _passes_through(ruleset: Any, html: bytes, path: str, query: str, headers: dict[str, str] | None,
                    counts: list[int], *, size: int, cut: bool, sent_size: int | None, limit: int | None,
                    document: bool = True) -> str | None:
    """Why ``slotwise serve`` would send this page as the store sent it (fail open), or None: no full
    document (``documents.is_document``: empty, or a fragment), larger than ``--max-html-bytes`` as sent
    or decoded (``forward_html``: neither is rewritten), or over a bound of ``slotwise.html.bounds``,
    asked with the proxy's own checks (the nesting before the parse, then the matches of the edits of
    every enabled slot whose pages match: their ``limit`` first elements each)."""
    from slotwise.html.bounds import PageBoundError, check_matches, check_page

    if not document:
        return "it is no full document (empty, or no <html>, <body> or doctype: a fragment)"
    if limit is not None and sent_size is not None and sent_size > limit:
        return f"it is {'more than ' if cut else ''}{sent_size} bytes, over --max-html-bytes {limit} (SLOTWISE_MAX_HTML_BYTES)"
    if limit is not None and size > limit:
        return (f"it is {'more than ' if cut else ''}{size} bytes decoded, over --max-html-bytes {limit} "
                "(SLOTWISE_MAX_HTML_BYTES)")
    edited = [min(count, slot.limit) if slot.limit is not None else count for slot, count in zip(ruleset.slots, counts)
              if slot.enabled and slot.pages.matches(path, query, headers)]
    try:
        check_page(html)
        check_matches(sum(edited))
    except PageBoundError as exc:
        return str(exc)
    return None


def _script_lines(groups: Mapping[str, Any], reading: Any, html: bytes) -> list[str]:
    """What each field reading a script's data (``rules.script_data``) reads on this page, or why nothing: as
    the proxy reads it; the tag reads the live global (after the store's scripts ran: it may hold more)."""
    from slotwise.rules.parse_fields import PERSON_FIELDS
    from slotwise.rules.script_data import script_field_trouble

    out = []
    for name, group in groups.items():
        values = reading.group(name)
        for key, f in group.fields.items():
            if not f.reads_script:
                continue
            what = f"script {'.'.join(f.script)}" if f.script is not None else f"{f.css or 'its own text'} json {'.'.join(f.json or ())}"
            got = (values.get("fields") or {}).get(key) if values.get("present") else None
            if got is not None:
                shown = _mask(got) if key in PERSON_FIELDS and "@" in got else got
                out.append(f"    {name} {key} ({what}): {shown!r}")
            elif not values.get("present"):
                out.append(f"    {name} {key} ({what}): not read ({group.within!r} is not on this page)")
            else:
                out.append(f"    {name} {key} ({what}): nothing: {script_field_trouble(html, f)}")
    return ["  script data (read from the page's scripts; in tag-only mode the tag reads the live global):", *out] if out else []


def _mask(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def _product_lines(product: Any, reading: Any) -> list[str]:
    p = dict(product)
    sources = []
    if reading.structured:
        sources.append("page markup (JSON-LD / Open Graph / microdata)")
    if reading.group("product").get("present") and any((reading.group("product").get("fields") or {}).values()):
        sources.append("catalog.selectors")
    price = f"{p['price']:.2f} {p.get('currency') or '(no currency)'}" if isinstance(p.get("price"), (int, float)) else "none"
    stock = {True: "in stock", False: "OUT OF STOCK", None: "unknown"}[p.get("in_stock")]
    out = [f"  product {p.get('id')!r}: {p.get('name')!r}, price {price}, {stock}",
           f"    url {p.get('url')!r}, image {p.get('image')!r}, category {p.get('category')!r}"
           + (f", brand {p.get('brand')!r}" if p.get("brand") else "")]
    if p.get("other_id"):
        out.append(f"    other id {p['other_id']!r} (catalog.selectors.other_id): a line naming it is this product")
    if p.get("variants"):
        offered = ", ".join(f"{size}={child}" for size, child in dict(p["variants"]).items())
        out.append(f"    sizes (size=child product): {offered}; in stock: {', '.join(p.get('sizes') or ()) or 'none'}")
    if p.get("aliases"):  # JSON-LD variants without a size
        out.append(f"    no size {', '.join(p['aliases'])}: a line naming one is this product")
    if p.get("more_sizes"):  # a variant's page that lists not all: children learned, the catalog's size map kept
        out.append(f"    also sizes {', '.join(f'{size}={child}' for child, size in p['more_sizes'])} "
                   "(not every variant listed: the catalog keeps the product's sizes)")
    out.append(f"    read from: {', '.join(sources) if sources else 'the URL only (nothing on the page)'}")
    return out


def _json_ld_lines(html: bytes, catalog: Any) -> list[str]:
    """What the page's JSON-LD says beyond the product's facts: a variant's own page (its group is the
    product: how the page names it, the variant viewed), and a warning when ``catalog.variant_id`` finds
    no key in some of its variants: the proxy leaves their sizes out (``jsonld._group_facts``), which
    nothing else on the page shows."""
    if b"ld+json" not in html.lower():
        return []
    from slotwise.rules.product_facts import json_ld_of

    read = json_ld_of(html, catalog)
    out = []
    if read.viewed is not None:
        size = f", size {catalog.size_of(read.viewed.size)!r}" if read.viewed.size else ", no size"
        out.append(f"    one variant's page ({read.group}): the product is its group; viewed variant {read.viewed.id!r}{size}"
                   + (f"; the group names {read.elsewhere} other variant{'s' if read.elsewhere != 1 else ''} by URL alone"
                      if read.elsewhere else ""))
    variants = read.variants + read.some
    missing = sum(1 for variant in variants if variant.id is None)
    if catalog.variant_id is not None and missing:
        out.append(f"    WARNING: {missing} of {len(variants)} JSON-LD variant{'s' if len(variants) != 1 else ''} with a size "
                   f"{'has' if missing == 1 else 'have'} no value at catalog.variant_id's key {catalog.variant_id_text()}: "
                   f"{'its size is' if missing == 1 else 'their sizes are'} left out of the product's sizes")
    return out


def _event_text(event: dict[str, Any]) -> str:
    props = event["props"]
    if event["type"] == "purchase":
        lines = "; ".join(f"{line['product']}" + (f" size {line['size']}" if line.get("size") else "") + f" ×{line['qty']}"
                          + (f" {line['price']:.2f}" if isinstance(line.get("price"), float) else "") for line in props["lines"])
        return f"order {props['order_id']!r}, total {props.get('total')}, {props.get('currency') or 'no currency'}: {lines}"
    return f"{event['type']} {props}"


def _links(html: bytes, url: str) -> list[str]:
    """The paths the page's links lead to (a GET request source, like a logout link)."""
    from selectolax.lexbor import LexborHTMLParser

    return [urlsplit(urljoin(url, a.attributes.get("href") or "")).path or "/"
            for a in LexborHTMLParser(html).css("a[href]")]


SUBMITTABLE = "input, select, textarea, button"
"""The elements whose ``name`` a form's submission can carry (the HTML standard's submittable elements)."""


def _forms(html: bytes, url: str) -> list[dict[str, Any]]:
    """The page's forms: method, the path they post to, and their field names. A field belongs to its form
    owner, as in the browser's submission (``form.elements``): the form its ``form`` attribute names by id,
    wherever the field is (Dawn's quantity and size radios sit outside the product form), else the form
    around it; a ``form`` attribute naming no form leaves the field in none."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    by_id: dict[str, Any] = {}
    for element in tree.css("[id]"):
        by_id.setdefault(element.attributes.get("id") or "", element)  # the first with the id, as getElementById
    fields: dict[int, list[str]] = {}
    for node in tree.css(SUBMITTABLE):
        name = node.attributes.get("name")
        owner = _form_owner(node, by_id)
        if name and owner is not None:
            fields.setdefault(owner.mem_id, []).append(name)
    out = []
    for form in tree.css("form"):
        action = form.attributes.get("action") or url
        method = (form.attributes.get("method") or "GET").upper()
        out.append({"method": method, "path": urlsplit(urljoin(url, action)).path or "/",
                    "fields": fields.get(form.mem_id, [])})
    return out


def _form_owner(node: Any, by_id: dict[str, Any]) -> Any:
    """The form ``node`` is submitted with (the HTML standard's form owner), or None."""
    if "form" in node.attributes:
        named = by_id.get(node.attributes.get("form") or "")
        return named if named is not None and named.tag == "form" else None
    parent = node.parent
    while parent is not None and parent.tag != "form":
        parent = parent.parent
    return parent


def _slot_targets(html: bytes, slot: Any) -> list[str]:
    """What a reorder, select-option or set-value slot finds in the elements its selector matches, as the
    proxy and the tag see them (``html.targets``): the keys its items read, or a warning when there is
    nothing to set — such a variant is only marked and counted, silently."""
    from selectolax.lexbor import LexborHTMLParser

    from slotwise.html import Edit
    from slotwise.html.targets import build

    edit = Edit(slot=slot.id, selector=slot.selector, action=slot.action, key=slot.key, items=slot.items)
    nodes = LexborHTMLParser(html).css(slot.selector)[: slot.limit]
    targets = [(node, build(node, edit, None)) for node in nodes]
    if not targets:
        return []
    if slot.action != "reorder":
        warning = _nothing_to_set(slot, targets)
        if warning:
            return [warning]
        if slot.action == "set-value":
            return []
    return [_item_keys(slot, targets[0][1])]


def _nothing_to_set(slot: Any, targets: list[tuple[Any, Any]]) -> str | None:
    """The warning for a set-value slot on elements that are no form field, or a select-option slot on
    elements with no choice in them (none is an ``<input>``/``<textarea>``/``<select>`` with options)."""
    from slotwise.html.locate import tag_of

    def settable(target: Any) -> bool:
        if slot.action == "set-value" and target.typed:
            return True
        return bool(target.options) and (slot.action == "select-option" or target.tag == "select")

    bad = [(node, target) for node, target in targets if not settable(target)]
    if not bad:
        return None
    node, target = bad[0]
    shown = _opening_tag(node)
    if len(targets) == 1:
        matched = shown
    else:
        matched = f"{len(targets)} elements, the first {shown}" if len(bad) == len(targets) else \
            f"{len(targets)} elements, {len(bad)} of them like {shown}"
    hint = ""
    if slot.action == "set-value" and target.tag == "input":
        kind = (node.attributes.get("type") or "").lower()
        why = (f"an <input type={kind}>, whose value is the choice it stands for: setting it would change what the "
               "form sends, not which one is checked" if kind in ("radio", "checkbox") else
               f"an <input type={kind}>, whose value is no answer a visitor types")
        if kind in ("radio", "checkbox"):
            hint = ('; choose among them with select-option on their container and items, e.g. '
                    f'items: "input[type={kind}]"')
    elif slot.action == "set-value" and target.tag != "select":
        why = "not a form field (input, textarea or select)"
        inner = node.css_first("input, textarea, select")
        hint = "; select the field itself" + (f", e.g. {slot.selector + ' ' + tag_of(inner)!r}" if inner is not None else "")
    elif slot.items:
        why = f"with nothing to choose (items {slot.items!r} find none in it)"
    elif target.tag == "select":
        why = "with nothing to choose (a <select> with no option)"
    else:
        why = "with nothing to choose (not a <select>, and no items say what its choices are)"
        hint = '; say them with items, e.g. items: "input[type=radio]" or "a"'
    return (f"WARNING: slot {slot.id!r} ({slot.action}): {slot.selector!r} matches {matched}, {why}: "
            f"nothing is set there, its variants are only marked and counted{hint}")


def _opening_tag(node: Any) -> str:
    """An element as a person finds it in the page's source: its tag with its id, class, type and name."""
    from slotwise.html.locate import tag_of

    attrs = node.attributes
    shown = "".join(f' {name}="{value[:40]}"' for name in ("id", "class", "type", "name")
                    if (value := attrs.get(name)) is not None)
    return f"<{tag_of(node)}{shown}>"


def _item_keys(slot: Any, target: Any) -> str:
    """What the slot's ``key`` reads from each item of its first element: the keys ``order`` and ``value``
    are compared with (a typo'd ``key`` or ``items`` reads none, and the slot then never changes anything)."""
    if slot.action == "reorder":
        keys, what = [c.key for c in target.children], "children"
    else:
        keys, what = [o.value for o in target.options], f"choices ({slot.items or 'options'})"
    if not keys:
        return f"item keys: no {what} found"
    shown = ", ".join(repr(k) if k else "none" for k in keys[:12]) + (", ..." if len(keys) > 12 else "")
    return f"item keys of its {what}: {shown}" + (" <- key reads nothing" if not any(keys) else "")
