"""The golden record: one profile per person, and the pure steps that change it.

A profile is plain data (JSON in every store) so that the SQLite store, the
Redis store, the rules' read-only view and exports all see the same thing.
Everything here is pure: time comes in as an argument, nothing is read from
or written to anywhere else.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Mapping

import msgspec

SESSION_TIMEOUT_S = 30 * 60
"""A visit ends after 30 minutes without activity (the analytics convention)."""

MAX_PRODUCTS = 200
MAX_CATEGORIES = 100
MAX_PURCHASES = 500
MAX_APPLIED_EVENTS = 200
MAX_PENDING = 10
MAX_REFUSED = 20
"""Claims a profile remembers were refused (``refused_claims``): one cycling through addresses writes each, bounded."""

CHANNELS = ("online", "store")

def hash_email(email: str) -> str:
    """E-mails are only ever kept hashed: SHA-256 of the trimmed, lower-cased address."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


@dataclass
class Profile:
    """Everything Slotwise holds about one person."""

    id: str
    anonymous_ids: list[str] = field(default_factory=list)
    customer_id: str | None = None
    customer_trusted: bool = False  # customer_id came from a trusted link (a signed id, the store's page), not a claim
    email_hash: str | None = None
    email_trusted: bool = False  # email_hash came from a trusted link (the store's page, an accepted login), not a claim
    first_seen: float = 0.0
    last_seen: float = 0.0
    visits: int = 0
    session_start: float = 0.0
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)  # slug -> {count, last}
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {count, last, category}
    cart: list[dict[str, Any]] = field(default_factory=list)  # {product, category, size, qty, price, added}
    cart_hint: int = 0  # items the store's mini basket showed when its lines could not be read
    purchases: list[dict[str, Any]] = field(default_factory=list)  # {order_id, channel, product, category, size, qty, price, ts, store?}
    subscribed: bool = False
    consent: str | None = None  # "granted", "denied" or None (not asked)
    coupon: str | None = None  # the coupon code this person got, if any
    assignments: dict[str, dict[str, Any]] = field(default_factory=dict)  # slot -> sticky {arm, decision_id, ts, session_start}
    popups: dict[str, dict[str, Any]] = field(default_factory=dict)  # slot -> {shown, closed, converted, last}
    applied_events: list[str] = field(default_factory=list)  # ids of the latest events applied (exactly-once updates)
    pending: list[dict[str, Any]] = field(default_factory=list)  # captured events waiting for the next page to confirm them
    chosen_store: dict[str, Any] | None = None  # {id, ts}: the physical store the visitor picked on the site
    saved_cart: list[dict[str, Any]] = field(default_factory=list)  # the last cart with lines (see save_cart)
    refused_claims: list[str] = field(default_factory=list)  # digests of aliases claimed here that another held (see refuse)

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict for JSON (shallow: the nested lists and dicts are shared, not copied,
        because serialising a profile happens on every page view)."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Profile":
        if cls is Profile and data.keys() == _KNOWN:  # every field, nothing else: what a store wrote
            # what ``__init__`` does (it only assigns), without its 24 arguments: a read-back's hot path
            profile = object.__new__(Profile)
            profile.__dict__.update(data)
            return profile
        known = _KNOWN if cls is Profile else frozenset(f.name for f in fields(cls))
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def new(cls, profile_id: str, now: float) -> "Profile":
        return cls(id=profile_id, anonymous_ids=[profile_id], first_seen=now, last_seen=now)

    # -- derived facts -------------------------------------------------
    @property
    def recent_categories(self) -> list[str]:
        """Category slugs, most recently viewed first."""
        return [c for c, _ in sorted(self.categories.items(), key=lambda kv: -kv[1]["last"])]

    @property
    def top_categories(self) -> list[str]:
        """Category slugs by number of views, then recency."""
        return [c for c, _ in sorted(self.categories.items(), key=lambda kv: (-kv[1]["count"], -kv[1]["last"]))]

    @property
    def recent_products(self) -> list[str]:
        return [p for p, _ in sorted(self.products.items(), key=lambda kv: -kv[1]["last"])]

    @property
    def purchased_products(self) -> set[str]:
        return {str(p["product"]) for p in self.purchases}

    @property
    def preferred_sizes(self) -> dict[str, str]:
        """Per category, the size bought most often (online and in store); ties go to the latest."""
        return self.preferred_sizes_read(None)

    def preferred_sizes_read(self, size_of: Callable[[str], str | None] | None) -> dict[str, str]:
        """``preferred_sizes`` with each stored size read by ``size_of`` (the rules' size vocabulary): a size
        recorded before the rules said it is none is skipped, one recorded as another name of a size
        (``Medium``) counts as its key (``M``); the purchases stay as they were."""
        by_category: dict[str, Counter[str]] = {}
        latest: dict[tuple[str, str], float] = {}
        for line in self.purchases:
            size, category = line.get("size"), line.get("category")
            if size and size_of is not None:
                size = size_of(size)
            if not size or not category:
                continue
            by_category.setdefault(category, Counter())[size] += int(line.get("qty") or 1)
            key = (category, size)
            latest[key] = max(latest.get(key, 0.0), float(line.get("ts") or 0.0))
        return {
            cat: max(counts, key=lambda s: (counts[s], latest[(cat, s)]))
            for cat, counts in by_category.items()
        }

    @property
    def cart_value(self) -> float:
        return sum(float(line.get("price") or 0) * int(line.get("qty") or 1) for line in self.cart)

    def in_session(self, now: float) -> bool:
        return self.visits > 0 and now - self.last_seen <= SESSION_TIMEOUT_S


_FIELD_NAMES = tuple(f.name for f in fields(Profile))  # once: ``fields()`` per decode was a third of it
_KNOWN = frozenset(_FIELD_NAMES)


# -- pure updates ----------------------------------------------------------


def touch(profile: Profile, now: float) -> bool:
    """Mark activity; returns True when this activity starts a new visit."""
    new_visit = not profile.in_session(now)
    if new_visit:
        profile.visits += 1
        profile.session_start = now
    if not profile.first_seen:
        profile.first_seen = now
    if now > profile.last_seen:  # ``max(last_seen, now)``, without the call: every page view runs it
        profile.last_seen = now
    return new_visit


def _bump(entries: dict[str, dict[str, Any]], key: str, now: float, limit: int, **extra: Any) -> None:
    entry = entries.get(key)
    if entry is None:
        entries[key] = entry = {"count": 0, "last": 0.0}
    entry["count"] += 1
    if now > entry["last"]:  # ``max(last, now)``: the same value (the first one on a tie, as ``max``)
        entry["last"] = now
    for name, value in extra.items():
        if value:
            entry[name] = value
    if len(entries) > limit:
        oldest = min(entries, key=lambda k: entries[k]["last"])
        del entries[oldest]


def record_view(profile: Profile, now: float, *, category: str | None = None, product: str | None = None,
                offer: Mapping[str, Any] | None = None) -> None:
    """A page view: the visit, and the category/product it showed.

    ``offer`` (``price``, ``in_stock``, ``currency``) is what the page said then: "back in stock" and
    "price dropped" compare the catalog's current facts with what the visitor last saw (a price only
    with one in the same currency)."""
    touch(profile, now)
    if category:
        _bump(profile.categories, category, now, MAX_CATEGORIES)
    if product:
        product = str(product)
        _bump(profile.products, product, now, MAX_PRODUCTS, category=category)
        entry = profile.products.get(product)
        if offer is not None and entry is not None:
            entry["seen"] = {"price": offer.get("price"), "in_stock": offer.get("in_stock")}
            if offer.get("currency"):  # kept only when known: a profile of one currency stays as it was
                entry["seen"]["currency"] = offer["currency"]


class ViewRecord(msgspec.Struct, frozen=True, array_like=True, tag=0):
    """A page view as data: ``record_view`` with these arguments (``offer`` from ``price`` and
    ``in_stock`` when there is a product).

    Why data and not a closure: the profile writer of one worker process publishes the views it wrote
    (``store.sqlite.deltas``), and the other workers replay them on their cached copies instead of
    reading the row back and decoding it: only plain fields cross a process (a msgspec struct: read
    from msgpack in C, no ``__init__`` in Python)."""

    now: float
    category: str | None = None
    product: str | None = None
    price: Any = None
    in_stock: Any = None
    currency: Any = None  # last: a view published before it had one decodes with none

    def __call__(self, profile: Profile) -> None:
        offer = {"price": self.price, "in_stock": self.in_stock, "currency": self.currency} if self.product else None
        record_view(profile, self.now, category=self.category, product=self.product, offer=offer)


class AssignRecord(msgspec.Struct, frozen=True, array_like=True, tag=1):
    """A page's sticky assignments as data: ``(slot, arm, decision_id, ts, session_start)`` per slot
    into ``profile.assignments``, each a new dict on every call (the update is applied to several
    copies). Data for the same reason as ``ViewRecord``: a worker's writer publishes it with the
    views, so a visitor's next page on another worker needs no read of the row after a page that
    made decisions (the first page of every session)."""

    slots: tuple[tuple[str, str, str, float, float], ...]

    def __call__(self, profile: Profile) -> None:
        profile.assignments.update({slot: {"arm": arm, "decision_id": decision_id, "ts": ts,
                                           "session_start": session_start}
                                    for slot, arm, decision_id, ts, session_start in self.slots})


def set_cart(profile: Profile, lines: Iterable[Mapping[str, Any]], count: int | None = None,
             size_of: Callable[[Any], str | None] | None = None) -> None:
    """The cart as the store shows it: its lines, or only how many items it holds.

    A line the cart held already (``_line_key``: its size read by ``size_of``) keeps the time it was first
    added (the cart that waits for a later visit is told by that time)."""
    added = {_line_key(line, size_of): line.get("added") for line in profile.cart}
    lines = [_cart_line(line) for line in lines]
    for line in lines:
        line["added"] = added.get(_line_key(line, size_of)) or line["added"]
    if lines or count == 0 or count is None:
        profile.cart = lines
        profile.cart_hint = 0
        save_cart(profile)
    else:
        profile.cart_hint = count  # items we cannot name: the cart is not empty


def save_cart(profile: Profile) -> None:
    """Keeps the last cart that had lines, for "the cart that waits" on a later visit.

    Stores often keep a cart per device: the laptop's empty mini basket must
    not forget what was left in the phone's. A cart emptied during the visit
    that filled it was emptied on purpose and is not kept; a purchase or a
    removal takes its lines out."""
    if profile.cart:
        profile.saved_cart = [dict(line) for line in profile.cart]
    elif all(float(line.get("added") or 0.0) >= profile.session_start for line in profile.saved_cart):
        profile.saved_cart = []


def _cart_line(line: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "product": str(line["product"]),
        "category": line.get("category"),
        "size": line.get("size"),
        "qty": int(line.get("qty") or 1),
        "price": float(line.get("price") or 0.0),
        "added": float(line.get("added") or 0.0),  # when it went into the cart (0: not known)
        **({"currency": line["currency"]} if line.get("currency") else {}),  # its price's, where known
    }


def _line_key(line: Mapping[str, Any], size_of: Callable[[Any], str | None] | None) -> tuple[str, Any]:
    """A cart line's product and size, its stored size read by ``size_of`` (the rules' size vocabulary: a line
    added as ``Medium`` before ``catalog.size_names`` said so is an ``M``): lines with one key are one line."""
    size = line.get("size")
    return str(line["product"]), size_of(size) if size_of is not None and size else size


def add_to_cart(profile: Profile, line: Mapping[str, Any], size_of: Callable[[Any], str | None] | None = None) -> None:
    """Adds a line, its qty to the line of its product and size when the cart holds one (``_line_key``: the
    stored line keeps its size as written, its qty summed)."""
    new = _cart_line(line)
    key = _line_key(new, size_of)
    for existing in profile.cart:
        if _line_key(existing, size_of) == key:
            existing["qty"] += new["qty"]
            break
    else:
        profile.cart.append(new)
    save_cart(profile)


def remove_from_cart(profile: Profile, product: str, size: str | None = None,
                     size_of: Callable[[Any], str | None] | None = None) -> None:
    """Takes the product's lines (of ``size``, each line's read by ``size_of``: ``_line_key``) out."""
    def kept(line: Mapping[str, Any]) -> bool:
        stored, read = _line_key(line, size_of)
        return not (stored == str(product) and (size is None or read == size))

    profile.cart = [line for line in profile.cart if kept(line)]
    profile.saved_cart = [line for line in profile.saved_cart if kept(line)]


def _purchase_line(order_id: str, channel: str, line: Mapping[str, Any], now: float) -> dict[str, Any]:
    entry = {
        "order_id": order_id,
        "channel": channel,
        "product": str(line["product"]),
        "category": line.get("category"),
        "size": line.get("size"),
        "qty": int(line.get("qty") or 1),
        "price": float(line.get("price") or 0.0),
        "ts": float(line.get("ts") or now),
    }
    if line.get("store"):  # the physical store of an in-store purchase (POS import)
        entry["store"] = str(line["store"])
    return entry


def record_purchase(
    profile: Profile,
    order_id: str,
    lines: Iterable[Mapping[str, Any]],
    now: float,
    channel: str = "online",
) -> bool:
    """Adds an order's lines; idempotent per (channel, order id). Returns False for a repeat."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, not {channel!r}")
    if any(p["order_id"] == order_id and p["channel"] == channel for p in profile.purchases):
        return False
    profile.purchases.extend(_purchase_line(order_id, channel, line, now) for line in lines)
    profile.purchases.sort(key=lambda p: p["ts"])
    del profile.purchases[:-MAX_PURCHASES]
    if channel == "online":
        profile.cart = []
        profile.cart_hint = 0
        profile.saved_cart = []
    return True


def import_purchase_lines(
    profile: Profile,
    order_id: str,
    lines: Iterable[Mapping[str, Any]],
    now: float,
    channel: str = "store",
    size_of: Callable[[str], str | None] | None = None,
) -> int:
    """Adds order lines from an import; idempotent per (channel, order, product, size).

    Unlike ``record_purchase`` an order's lines may arrive in several calls
    (a POS export is not sorted by order), so each line is checked on its own.
    ``size_of`` (the rules' size vocabulary): a stored line's size is read by it (a ``not_sizes`` value is
    none, ``Medium`` is ``M``), so a file imported before the rules said so is not added again. Returns the
    number of lines added.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, not {channel!r}")
    have = {(p["channel"], p["order_id"], p["product"],
             size_of(p["size"]) if size_of is not None and p.get("size") else p.get("size"))
            for p in profile.purchases}
    added = 0
    for line in lines:
        entry = _purchase_line(order_id, channel, line, now)
        key = (channel, order_id, entry["product"], entry["size"])
        if key in have:
            continue
        have.add(key)
        profile.purchases.append(entry)
        added += 1
    if added:
        profile.purchases.sort(key=lambda p: p["ts"])
        del profile.purchases[:-MAX_PURCHASES]
    return added


POPUP_OUTCOMES = ("shown", "closed", "converted")


def record_popup(profile: Profile, slot: str, outcome: str, now: float) -> None:
    """Counts a popup being shown, closed or converted (rules cap how often it shows)."""
    if outcome not in POPUP_OUTCOMES:
        raise ValueError(f"outcome must be one of {POPUP_OUTCOMES}, not {outcome!r}")
    entry = profile.popups.setdefault(slot, {"shown": 0, "closed": 0, "converted": 0, "last": 0.0})
    entry[outcome] = entry.get(outcome, 0) + 1
    entry["last"] = max(entry.get("last", 0.0), now)


def mark_applied(profile: Profile, event_id: str) -> bool:
    """Remembers an event id; False when it was applied already (a retried batch)."""
    if event_id in profile.applied_events:
        return False
    profile.applied_events.append(event_id)
    del profile.applied_events[:-MAX_APPLIED_EVENTS]
    return True


# -- merging ---------------------------------------------------------------


def _merge_counted(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], limit: int) -> dict[str, dict[str, Any]]:
    out = {k: dict(v) for k, v in a.items()}
    for key, entry in b.items():
        if key in out:
            mine = out[key]
            newer = entry["last"] > mine["last"]
            mine["count"] = mine["count"] + entry["count"]
            mine["last"] = max(mine["last"], entry["last"])
            for extra, value in entry.items():
                if extra == "seen" and value and newer:  # what the page said at the latest view
                    mine[extra] = value
                elif extra not in ("count", "last") and value and not mine.get(extra):
                    mine[extra] = value
        else:
            out[key] = dict(entry)
    while len(out) > limit:
        del out[min(out, key=lambda k: out[k]["last"])]
    return out


def merge(known: Profile, other: Profile) -> Profile:
    """Fold ``other`` (typically an anonymous profile) into ``known``.

    Every field is combined, none is simply overwritten: counts add up,
    recency takes the latest, purchases are united by (channel, order id),
    the cart that was touched last wins, consent takes the stricter answer.
    """
    merged = Profile(id=known.id)
    merged.anonymous_ids = list(dict.fromkeys(known.anonymous_ids + other.anonymous_ids + [other.id]))
    merged.customer_id = known.customer_id or other.customer_id
    merged.customer_trusted = known.customer_trusted if known.customer_id else other.customer_trusted
    merged.email_hash = known.email_hash or other.email_hash
    merged.email_trusted = known.email_trusted if known.email_hash else other.email_trusted
    firsts = [t for t in (known.first_seen, other.first_seen) if t]
    merged.first_seen = min(firsts) if firsts else 0.0
    merged.last_seen = max(known.last_seen, other.last_seen)
    merged.visits = known.visits + other.visits
    merged.session_start = max(known.session_start, other.session_start)
    merged.categories = _merge_counted(known.categories, other.categories, MAX_CATEGORIES)
    merged.products = _merge_counted(known.products, other.products, MAX_PRODUCTS)
    newer, older = (other, known) if other.last_seen > known.last_seen else (known, other)
    merged.cart = [dict(line) for line in (newer.cart or older.cart)]
    merged.cart_hint = newer.cart_hint if newer.cart or newer.cart_hint else older.cart_hint
    saved = [c for c in (known.saved_cart, other.saved_cart) if c]  # the one filled last
    merged.saved_cart = [dict(line) for line in max(saved, key=lambda c: max(float(x.get("added") or 0) for x in c))] if saved else []
    seen: set[tuple[str, str, str, str | None]] = set()
    purchases: list[dict[str, Any]] = []
    for line in known.purchases + other.purchases:
        key = (line["channel"], line["order_id"], line["product"], line.get("size"))
        if key not in seen:
            seen.add(key)
            purchases.append(dict(line))
    merged.purchases = sorted(purchases, key=lambda p: p["ts"])[-MAX_PURCHASES:]
    merged.subscribed = known.subscribed or other.subscribed
    if "denied" in (known.consent, other.consent):
        merged.consent = "denied"
    else:
        merged.consent = known.consent or other.consent
    merged.coupon = known.coupon or other.coupon
    merged.assignments = {**other.assignments, **known.assignments}
    merged.popups = _merge_popups(known.popups, other.popups)
    merged.applied_events = list(dict.fromkeys(known.applied_events + other.applied_events))[-MAX_APPLIED_EVENTS:]
    merged.pending = (known.pending + other.pending)[-MAX_PENDING:]
    merged.refused_claims = list(dict.fromkeys(known.refused_claims + other.refused_claims))[-MAX_REFUSED:]
    choices = [c for c in (known.chosen_store, other.chosen_store) if c]
    merged.chosen_store = dict(max(choices, key=lambda c: c.get("ts") or 0.0)) if choices else None
    return merged


def _merge_popups(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {k: dict(v) for k, v in a.items()}
    for slot, entry in b.items():
        mine = out.setdefault(slot, {"shown": 0, "closed": 0, "converted": 0, "last": 0.0})
        for outcome in POPUP_OUTCOMES:
            mine[outcome] = mine.get(outcome, 0) + entry.get(outcome, 0)
        mine["last"] = max(mine.get("last", 0.0), entry.get("last", 0.0))
    return out


def holds(profile: Profile | None, alias: str, *, by_trust: bool = True) -> bool:
    """The profile holds the customer id or address ``alias`` names (``customer:ID``, ``email:HASH``), by a
    trusted link already (``by_trust``; else a claim will do): linking it again writes nothing new. The tag
    sends a signed-in customer with every page view, the store's pages name the logged-in one on every page;
    the request has read the profile, the store need not be asked."""
    if profile is None:
        return False
    kind, _, value = alias.partition(":")
    if kind == "customer":
        held, trusted = profile.customer_id, profile.customer_trusted
    elif kind == "email":
        held, trusted = profile.email_hash, profile.email_trusted
    else:
        return False
    return bool(value) and held == value and (trusted or not by_trust)


def trust(profile: Profile, aliases: Iterable[str]) -> None:
    """A trusted source (the store's page, an accepted login, an import) linked these aliases to the person:
    the customer id and address among them that the profile holds are held by trust from now on, so naming
    them again need write nothing (``holds``)."""
    for alias in aliases:
        if holds(profile, alias, by_trust=False):
            if alias.startswith("customer:"):
                profile.customer_trusted = True
            else:
                profile.email_trusted = True


def refused_digest(alias: str) -> str:
    """How a refused claim's alias is kept: a digest, so the claimant's profile holds no one else's customer id."""
    return hashlib.sha256(alias.encode("utf-8")).hexdigest()[:24]


def refuse(profile: Profile, aliases: Iterable[str]) -> None:
    """The browser claimed these aliases (``customer:ID``, ``email:HASH``) and another profile held them: the claim
    attached nothing (docs/tag.md, "Identity trust"). Remembered (the latest ``MAX_REFUSED``), so the same claim
    again, on every page, is known to change nothing before anything is written (``refused``)."""
    for alias in aliases:
        digest = refused_digest(alias)
        if digest in profile.refused_claims:
            profile.refused_claims.remove(digest)
        profile.refused_claims.append(digest)
    del profile.refused_claims[:-MAX_REFUSED]


def refused(profile: Profile | None, alias: str) -> bool:
    """A claim of ``alias`` from this profile's browser was refused before (``refuse``)."""
    return profile is not None and bool(profile.refused_claims) and refused_digest(alias) in profile.refused_claims


def hold(profile: Profile, aliases: Iterable[str]) -> None:
    """A trusted source that names the person by these aliases (an import row: ``customer:ID``, ``email:HASH``)
    says who they are: the customer id and the address become the profile's where it holds none, or only a
    claim (the store's word beats a browser's), and are held by trust (``trust``). One held by trust already
    stays: a person may have two addresses. What reads them: the rules' ``visitor.known`` and
    ``visitor.customer_id``, the mail payload's ``person`` (and whether a person is mailed at all), the shared
    browser's check (``names_another_person``)."""
    for alias in aliases:
        kind, _, value = alias.partition(":")
        if kind == "customer" and value and not (profile.customer_id and profile.customer_trusted):
            profile.customer_id = value
        elif kind == "email" and value and not (profile.email_hash and profile.email_trusted):
            profile.email_hash = value
    trust(profile, aliases)


def forget_alias(profile: Profile, alias: str) -> None:
    """Drops the fact a lost alias stood for (``customer:ID``, ``email:HASH``).

    A browser that only *claimed* an identity loses it when a trusted source
    (the store's page, an order webhook, an import) names the real holder.
    """
    kind, _, value = alias.partition(":")
    if kind == "customer" and profile.customer_id == value:
        profile.customer_id, profile.customer_trusted = None, False
    elif kind == "email" and profile.email_hash == value:
        profile.email_hash, profile.email_trusted = None, False
