"""Storing events, from any source: the tag, the proxy's captures, the order webhook.

One path for all of them, so an add to cart read from a form post through
the proxy and one sent by the tag change the golden record and teach the
bandits the same way:

1. lines are resolved through the catalog: a child product (a size that is
   its own product) becomes its parent plus that size; category, price and
   name are filled in where the source did not say (rows kept per catalog
   stamp, ``catalog_rows``: the mini basket is compared this way on every page);
2. the events are appended to the log (durable before anything else;
   e-mails only as hashes);
3. identity: the aliases an event names are linked — merged into an
   existing person only when the source is *trusted* (the store's own page,
   a request the store accepted, a signed webhook, an import); a browser's
   claim only attaches an alias nobody holds, and sets nothing it could not
   link;
4. the profile is updated once for the batch (each event id applied once; a
   size is recorded as the current rules' size vocabulary says: none for a ``catalog.not_sizes`` value,
   ``M`` for a ``catalog.size_names`` name of it; the log keeps it as sent);
5. the learner is told.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from slotwise.rules.prices import shown_in
from slotwise.rules.product_facts import currency_code
from slotwise.rules.revenue import Revenue, valued
from slotwise.rules.size_vocabulary import PLAIN_SIZES, SizeVocabulary
from slotwise.store.base import LogRecord, Store
from slotwise.store.outage import is_outage
from slotwise.tag.catalog_rows import CatalogRows
from slotwise.tag.golden import PROFILE_TYPES, apply_events, held_line, identity_aliases
from slotwise.tag.scrub import scrub

log = logging.getLogger("slotwise.tag")

DEFAULT_CLAIM_CAP = 5000.0
"""The most a purchase only a browser claims is worth to a revenue goal (``--max-claimed-order``)."""

LINES_SLACK = 1.5
"""A claimed order's total may exceed its lines' value (shipping, tax, fees) by at most this factor."""

LINE_EVENTS = ("add_to_cart", "remove_from_cart", "cart", "purchase")

OnEvents = Callable[[str, Sequence[Any]], Any]
MAX_UNCONVERTED_SAID = 100
"""Currencies without a rate named in the log (once each): a browser may name any, the log stays bounded."""


@dataclass
class Incoming:
    """One validated event (a pydantic model from ``tag.events``), its time and its log key; ``verified``: an
    identify whose customer id the store signed (``rules.signed_identity``), trusted though a browser sent it."""

    event: Any
    ts: float
    key: str
    verified: bool = False


def browser_key(visitor: str, event_id: str) -> str:
    """The log key of an event a browser sent: its id, scoped to the visitor who sent it.

    Log keys are unique across the whole log; an id alone would let anyone
    who sends ``purchase-<order id>`` first make the real buyer's purchase a
    duplicate. A retry by the same visitor is still recognised.
    """
    return f"v:{visitor}:{event_id}"


def _line_products(event: Any) -> list[Any]:
    props = event.props
    if event.type in ("add_to_cart", "remove_from_cart"):
        return [props]
    return list(getattr(props, "lines", None) or ())


def _resolved(line: Any, products: dict[str, dict[str, Any]], bound: bool = False, currency: str | None = None) -> Any:
    """A line with its child product mapped to the parent and size, and gaps filled from the catalog.

    ``bound`` (a browser's claim): a price above the catalog's is the catalog's. ``currency`` (an order's):
    the catalog's price is the one in it (``rules.prices``); none there, none is filled in, and a claim is
    bounded by the row's own price, as before (a claim naming a currency the catalog has no price in must
    not lift the bound). The line names its price's currency where it is known — the catalog's for a price
    from it, else the line's or event's own — so a waiting cart compares it, and ``visitor.cart_value``
    converts it, as that currency's (a store selling in one currency: its lines name that one).
    """
    entry = products.get(str(line.product)) or {}
    update: dict[str, Any] = {}
    if entry.get("parent"):
        update["product"] = str(entry["parent"])
        if not getattr(line, "size", None) and entry.get("size"):
            update["size"] = str(entry["size"])
        entry = {**(products.get(str(entry["parent"])) or {}), **{k: v for k, v in entry.items() if v is not None}}
    priced = shown_in(entry, currency)
    price_currency = currency  # the currency of the price the line ends with
    for name in ("category", "price", "name"):
        if hasattr(line, name) and getattr(line, name, None) in (None, "") and priced.get(name) not in (None, ""):
            update[name] = priced[name]
            price_currency = priced.get("currency") if name == "price" else price_currency
    known, known_in = _price(priced.get("price")), priced.get("currency")
    if known is None:
        known, known_in = _price(entry.get("price")), entry.get("currency")
    if bound and known is not None and getattr(line, "price", None) is not None and line.price > known:
        update["price"], price_currency = known, known_in
    if price_currency and hasattr(line, "currency") and ("price" in update or not line.currency):
        update["currency"] = currency_code(price_currency)
    return line.model_copy(update=update) if update else line


def _price(value: Any) -> float | None:
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if 0 <= price < float("inf") else None


def bounded_purchase(item: Incoming, cap: float) -> Incoming:
    """A browser-claimed purchase's value: at most ``LINES_SLACK`` × its lines' value, at most ``cap``.

    The learner rewards revenue goals with the order's ``total`` (else the sum
    of its lines): a claim's total is set to the bounded value, so one made-up
    ``total: 9999999`` cannot set a revenue slot's mean.
    """
    event = item.event
    if event.type != "purchase":
        return item
    props = event.props
    priced = [line for line in props.lines if line.price is not None]
    lines_value = sum(line.price * line.qty for line in priced) if priced else None
    value = props.total if props.total is not None else lines_value
    if value is None:
        return item
    if lines_value is not None:
        value = min(value, lines_value * LINES_SLACK)
    value = round(min(value, cap), 2)
    if value == props.total:
        return item
    return Incoming(event.model_copy(update={"props": props.model_copy(update={"total": value})}), item.ts, item.key)


def _log_props(event: Any) -> dict[str, Any]:
    """The props as logged: e-mail addresses hashed on arrival, never stored in clear (``tag.scrub``)."""
    return scrub(event.props.model_dump(exclude_none=True, exclude={"signature"}))  # a signature never: it vouches forever


def _without_channel(item: Incoming) -> Incoming:
    if item.event.type != "purchase" or getattr(item.event.props, "channel", None) is None:
        return item
    props = item.event.props.model_copy(update={"channel": None})
    return Incoming(item.event.model_copy(update={"props": props}), item.ts, item.key)


def _with_channel(item: Incoming, channel: str) -> Incoming:
    if item.event.type != "purchase":
        return item
    props = item.event.props.model_copy(update={"channel": channel})
    return Incoming(item.event.model_copy(update={"props": props}), item.ts, item.key)


class EventRecorder:
    """Appends, resolves, links and applies a batch of events for one visitor."""

    def __init__(self, store: Store, *, on_events: OnEvents | None = None,
                 claim_cap: float = DEFAULT_CLAIM_CAP, sizes: Callable[[], SizeVocabulary | None] | None = None,
                 revenue: Callable[[], Revenue | None] | None = None,
                 on_unconverted: Callable[[str], None] | None = None, rows: CatalogRows | None = None) -> None:
        self.store = store
        self.rows = rows or CatalogRows(store)  # the lines' products, read once per catalog stamp
        self.sizes: Callable[[], SizeVocabulary | None] = sizes or (lambda: PLAIN_SIZES)  # the current rules' (a reload changes them)
        self.revenue = revenue or (lambda: None)  # the rules' reporting currency and rates (None: none)
        self.on_unconverted = on_unconverted  # an order in a currency with no rate (the metric)
        self._unconverted_said: set[str] = set()
        self.on_events = on_events
        self.claim_cap = claim_cap if claim_cap > 0 else DEFAULT_CLAIM_CAP
        self.followups: Any = None  # tag.mail.MailFollowups when a webhook URL is set (purchase, stage change)

    async def resolve_lines(self, items: Sequence[Incoming], bound: bool = False) -> list[Incoming]:
        """Each line's child product → parent + size; category, price, name from the catalog.

        ``bound``: the lines are a browser's claim, a price above the catalog's is lowered to it.
        Each line names its price's currency where known (``_resolved``).
        """
        wanted = {str(line.product) for item in items if item.event.type in LINE_EVENTS for line in _line_products(item.event)}
        if not wanted:
            return list(items)
        products = await self.rows.get(wanted)
        parents = {str(p["parent"]) for p in products.values() if p.get("parent")} - set(products)
        if parents:
            products.update(await self.rows.get(parents))
        out = []
        for item in items:
            event = item.event
            if event.type in ("add_to_cart", "remove_from_cart"):
                currency = currency_code(getattr(event.props, "currency", None))
                event = event.model_copy(update={"props": _resolved(event.props, products, bound, currency)})
            elif event.type in ("cart", "purchase"):
                currency = currency_code(getattr(event.props, "currency", None))  # an order's: its lines' prices
                lines = [_resolved(line, products, bound, currency or currency_code(line.currency))
                         for line in event.props.lines]
                if event.type == "purchase" and currency:  # the order's currency is its lines': none says it again
                    lines = [line.model_copy(update={"currency": None}) if line.currency == currency else line
                             for line in lines]
                event = event.model_copy(update={"props": event.props.model_copy(update={"lines": lines})})
            out.append(Incoming(event, item.ts, item.key))
        return out

    async def held_lines(self, item: Incoming, *, trusted: bool) -> list[dict[str, Any]]:
        """A cart event's lines as recording it would leave them in the profile: resolved as ``record`` resolves
        them (a child is its parent in a size; a claim's prices bounded) and kept as ``golden.held_line`` keeps a
        line (the rules' sizes). Why: a mini basket that names variants is compared with the profile's cart on
        every page, and must be compared as what it would be written as."""
        (resolved,) = await self.resolve_lines([item], bound=not trusted)
        sizes = self._sizes()
        return [held_line(line, sizes) for line in resolved.event.props.lines]

    async def record(self, visitor: str, items: Sequence[Incoming], now: float, *, trusted: bool,
                     source: str = "tag", visitors: Sequence[str] = (), channel: str | None = None) -> list[bool]:
        """Stores the batch; returns, per item, whether it was new (False: a duplicate key).

        ``visitors``: the person's device ids whose decisions these events may
        reward (an order webhook names the person, not the browser).
        ``channel``: ``store`` for in-store orders (trusted sources only).
        """
        if not items:
            return []
        revenue = self._revenue() if any(item.event.type in LINE_EVENTS for item in items) else None
        items = await self.resolve_lines(items, bound=not trusted)
        if not trusted:  # a browser's claim: its order value is bounded (revenue goals learn from it)
            items = [bounded_purchase(item, self.claim_cap) for item in items]
        if not trusted or channel is None:
            items = [_without_channel(item) for item in items]
        else:
            items = [_with_channel(item, channel) for item in items]
        extra = {"visitors": list(visitors)} if visitors else {}
        records = []
        for item in items:
            props = _log_props(item.event)
            data = {"type": item.event.type, "url": scrub(getattr(item.event, "url", None)), "props": props,
                    "client_ts": getattr(item.event, "ts", None), "received": now, "source": source, **extra}
            if revenue is not None and item.event.type == "purchase":
                data["revenue"] = valued(props, revenue)
            records.append(LogRecord(kind="event", key=item.key, visitor=visitor, ts=item.ts, data=data))
        added = await self.store.append(records)  # durable (committed) before anything else
        fresh = [item for item, new in zip(items, added) if new]
        if revenue is not None:  # a retried batch's duplicates were counted the first time
            self._unconverted([rec for rec, new in zip(records, added) if new], revenue)
        applicable = []
        refused: list[str] = []  # a claim's aliases another profile holds: the same claim again writes nothing
        for item in items:
            event = item.event
            if event.type == "identify" and not await self._link(visitor, event, now, trusted):
                refused += identity_aliases(event)
                continue  # a claim on someone else's identity: nothing of it reaches this profile
            if event.type == "signup" and not await self._link(visitor, event, now, trusted):
                # subscribed, but with an address the visitor could not claim: not theirs to hold
                event = event.model_copy(update={"props": event.props.model_copy(update={"email": None, "email_hash": None})})
            applicable.append((event, item.ts))
        if refused or any(event.type in PROFILE_TYPES for event, _ in applicable):
            update, before = self._noting_stages(apply_events(applicable, self._sizes(), trusted=trusted,
                                                              refused_aliases=refused),
                                                 [event for event, _ in applicable])
            profile = await self.store.update_profile(visitor, update, now)
            if before is not None:
                try:
                    await self.followups.after(profile, before, [item.event for item in fresh], now)
                except Exception as exc:  # the follow-up e-mail is optional: the events are stored already
                    if not is_outage(exc):
                        log.exception("mail follow-up failed")
        if fresh and self.on_events is not None:
            try:
                outcome = self.on_events(visitor, [item.event for item in fresh])
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:  # the learner is optional: the events are stored already
                log.exception("on_events callback failed")
        return list(added)

    def _revenue(self) -> Revenue | None:
        """The rules' reporting currency; none when the rules cannot say (fail open: orders as they come)."""
        try:
            return self.revenue()
        except Exception:
            log.exception("revenue currency unavailable: orders recorded as they come")
            return None

    def _unconverted(self, records: Sequence[LogRecord], revenue: Revenue) -> None:
        """The new orders in a currency with no rate (``rules.revenue.valued``): each counted
        (``on_unconverted``), each such currency named in the log once."""
        for rec in records:
            missing = (rec.data.get("revenue") or {}).get("unconverted")
            if missing is None:
                continue
            if self.on_unconverted is not None:
                self.on_unconverted(missing)
            if missing not in self._unconverted_said and len(self._unconverted_said) < MAX_UNCONVERTED_SAID:
                self._unconverted_said.add(missing)
                log.warning("orders in %s count as orders but add no revenue: the rules' revenue.rates give no rate "
                            "from %s to %s (said once)", missing, missing, revenue.currency)

    def _sizes(self) -> SizeVocabulary:
        """The rules' size vocabulary; none when the rules cannot say (fail open: sizes as sent)."""
        try:
            return self.sizes() or PLAIN_SIZES
        except Exception:
            log.exception("size vocabulary unavailable: sizes recorded as sent")
            return PLAIN_SIZES

    def _noting_stages(self, update: Callable[[Any], None], events: Sequence[Any]
                       ) -> tuple[Callable[[Any], None], dict[str, str] | None]:
        """The update, noting the funnel stages just before it when a follow-up e-mail may need them."""
        followups = self.followups
        if followups is None or not followups.watches(events):
            return update, None
        before: dict[str, str] = {}

        def noting(profile: Any) -> None:
            before.clear()  # a retried transaction notes them again
            before.update(followups.stages_now(profile))
            update(profile)

        return noting, before

    async def _link(self, visitor: str, event: Any, now: float, trusted: bool) -> bool:
        """Links the event's aliases; True when every one of them is now this visitor's."""
        linked = True
        for alias in identity_aliases(event):
            profile = await self.store.link_identity(visitor, alias, now, merge=trusted)
            if not trusted and await self.store.resolve(alias) != profile.id:
                linked = False
        return linked
