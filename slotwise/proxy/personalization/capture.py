"""Capturing what visitors do from the traffic itself, as the rules' ``capture`` section says.

Three places, all fail-open (a capture problem never changes what the
visitor gets from the store):

- **requests** through the proxy: a matching request's body is kept (up to
  ``MAX_BODY``) while it streams to the store; when the store answers, the
  source's ``success`` decides and its fields become the event (trusted:
  the store accepted it; but newsletter and registration forms accept any
  address, so their e-mails are claims). ``logout`` gives the browser a
  fresh visitor id.
  A ``confirm`` source waits for the visitor's next page to show (or not
  show) a selector, kept in ``Profile.pending``.
- **pages** through the proxy: the logged-in customer, the mini basket as
  the cart's truth, and page events (the order confirmation), trusted.
- **the tag's events** (``expand``): click/submit captures and GA4
  ``dataLayer`` pushes become concrete events, and in tag-only mode a page
  view's extract is read like the proxy reads a page, a request the
  tag observed like the proxy reads a request (``RequestSeen``), and the JSON
  answer ``capture.cart`` names, as the tag read it, like the proxy reads that
  answer — as claims.

Every event then goes through one ``EventRecorder``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import parse_qsl

from slotwise import lenient_json
from slotwise.keys import category_key, product_key
from slotwise.profile import Profile
from slotwise.proxy.flow import Flow
from slotwise.proxy.forwarding.answer_body import parse_answer
from slotwise.proxy.personalization.catalog_category import CatalogCategories
from slotwise.proxy.personalization.pageviews import PageViewRecorder
from slotwise.rules import RuleSet, page_facts
from slotwise.rules.capture import (
    CaptureError, PageSource, RequestSeen, RequestSource, Response, build_event, cart_lines, customer_of, datalayer_events, page_event,
    signature_of,
)
from slotwise.rules.facts import page_currency
from slotwise.rules.reading import PageReading, bytes_to_read, read_extract
from slotwise.rules.signed_identity import SignedIdentity
from slotwise.proxy.operations.metrics import count_signed_identity
from slotwise.store.base import Store
from slotwise.tag.events import RequestSeenProps, parse_event
from slotwise.tag.golden import names_another_person, settled
from slotwise.tag.recorder import EventRecorder, Incoming
from slotwise.tag.scrub import scrub

log = logging.getLogger("slotwise.capture")

MAX_BODY = 64 * 1024
UNPROVEN = frozenset({"newsletter", "signup"})
"""Events a store accepts for any address typed in: a newsletter form, and a registration (a store rarely
proves the address before it answers). They attach an e-mail nobody holds yet, never merge into the person
who does: someone registering with an in-store customer's address must not see that customer's history.
A login proves the password, and the account page names who the store says is logged in: those merge."""
PENDING_S = 300.0  # a confirmation must come within this many seconds
_KEY_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_CAPTURES = "sw_captures"
_CART = "sw_answer_cart"  # the store's answer to this request holds the cart (capture.cart with request)


def claim_key(visitor: str, order_id: str) -> str:
    """The log key of an order a browser claims (a dataLayer push, a tag-only page): once per visitor and order.

    Log keys are unique across the whole log, so the order id alone would let
    anyone who pushes a made-up purchase with the next order number keep that
    order's real buyer from being recorded. Trusted sources use ``order:<id>``,
    which no claim can take.
    """
    return f"claim:{_key_part(visitor)}:purchase:{order_id}"


def _key_part(visitor: str) -> str:
    """A visitor id as a part of a log key: what a browser sent, made safe and bounded."""
    return _KEY_SAFE.sub("_", visitor)[:64]


class _Once:
    """Logs a problem once per (source, reason): a broken selector must not flood the log.

    Reasons can carry what a browser sent, so there may be endlessly many: past
    ``limit`` distinct ones, one last line says so and the rest are dropped
    (rather than every one being logged from then on).
    """

    def __init__(self, limit: int = 5000) -> None:
        self.seen: set[tuple[str, str]] = set()
        self.limit = limit

    def __call__(self, source: str, reason: str) -> None:
        key = (source, reason[:200])
        if key in self.seen:
            return
        if len(self.seen) >= self.limit:
            if len(self.seen) == self.limit:
                self.seen.add(("", "full"))
                log.warning("capture: more than %d different problems; no more are logged until restart", self.limit)
            return
        self.seen.add(key)
        log.warning("capture %s: %s", source, reason)


class Capture:
    """The proxy's capture of requests and pages, and the expansion of the tag's capture events."""

    def __init__(self, store: Store, recorder: EventRecorder, pageviews: PageViewRecorder,
                 categories: CatalogCategories, clock: Callable[[], float], *, tag_only: bool = False) -> None:
        """``tag_only``: no proxy sees the store's requests, so the tag's observations of them are read."""
        self.store = store
        self.tag_only = tag_only
        self.recorder = recorder
        self.pageviews = pageviews
        self.categories = categories
        self.clock = clock
        self.warn = _Once()

    # -- events from parts -------------------------------------------------------------
    def _incoming(self, raw: Mapping[str, Any] | None, key: str, ts: float, source: str) -> Incoming | None:
        """A built event validated like the tag's (bad values are logged once, never stored)."""
        if raw is None:
            return None
        # the event id is the key's digest: the same capture (an order read twice) is applied once
        event_id = hashlib.sha256(key.encode()).hexdigest()[:32]
        event, errors = parse_event(0, {**raw, "event_id": event_id, "ts": ts})
        if event is None:
            self.warn(source, "; ".join(f"{e.field}: {e.reason}" for e in errors))
            return None
        return Incoming(event, ts, key)

    # -- 1. requests ---------------------------------------------------------------------
    def on_request(self, flow: Flow, ruleset: RuleSet) -> bool:
        """Marks the flow when a request source wants it; True when its body must be kept."""
        sources = ruleset.capture.request_sources(flow.method, flow.path, flow.query_string, flow.headers)
        cart = ruleset.capture.answer_cart
        holds_cart = cart is not None and cart.source.match(flow.method, flow.path, flow.query_string,
                                                            flow.headers) is not None
        if not sources and not holds_cart:
            return False
        flow.state[_CAPTURES] = sources
        flow.state[_CART] = holds_cart
        flow.wants_answer_body = holds_cart or any(source.reads_answer for source, _ in sources)
        return True

    async def on_response(self, flow: Flow, ruleset: RuleSet, new_visitor: Callable[[], tuple[str, str]]) -> None:
        """The store answered a marked request: record what its sources read (or hold it for confirmation),
        then the cart its answer holds (``capture.cart`` with ``request``): the cart after the request, so an
        add whose answer is the cart (PrestaShop's) is that cart, not the cart and the add again."""
        await self._on_sources(flow, ruleset, new_visitor)
        if flow.visitor is not None and flow.state.get(_CART):
            await self._answer_cart(flow, ruleset)

    async def _on_sources(self, flow: Flow, ruleset: RuleSet, new_visitor: Callable[[], tuple[str, str]]) -> None:
        sources: list[tuple[RequestSource, dict[str, str]]] = flow.state.get(_CAPTURES) or []
        if not sources or flow.visitor is None:
            return
        body = bytes(flow.request_body)
        if flow.request_body_truncated:
            self.warn(sources[0][0].id, f"request body over {MAX_BODY} bytes: not read")
            return
        form, json_body = await _parse_body(flow, body)
        query: dict[str, str] = {}
        for name, value in parse_qsl(flow.query_string, keep_blank_values=True):
            query.setdefault(name, value)  # the first value of a repeated name, as for form fields
        headers = {k: v for k, v in reversed(flow.headers)}
        response = Response(flow.status, dict(flow.response_headers), flow.path,
                            parse_answer(flow.answer_body, flow.response_header("content-encoding")))
        now = self.clock()
        recorded: list[Incoming] = []
        claims: list[Incoming] = []  # accepted by the store, yet proving nothing about who sent them
        pending: list[dict[str, Any]] = []
        for source, params in sources:
            try:
                ok, raw = source.event_of(RequestSeen(form, json_body, query, params, headers, response), ruleset.catalog)
            except (CaptureError, ValueError) as exc:
                self.warn(source.id, str(exc))
                continue
            if not ok:
                continue
            if source.event == "logout":
                visitor_id, cookie = new_visitor()
                flow.extra_headers.append(("set-cookie", cookie))
                flow.state["logged_out"] = visitor_id
                continue
            incoming = self._incoming(raw, f"req:{source.id}:{uuid.uuid4().hex}", now, source.id)
            if incoming is None:
                continue
            if source.confirm is not None:  # held in the profile until confirmed: addresses only hashed
                pending.append({"event": scrub(raw), "key": incoming.key, "source": source.id, "css": source.confirm.css,
                                "present": source.confirm.present, "expires": now + PENDING_S, "ts": now,
                                "trusted": source.event not in UNPROVEN})
            elif source.event in UNPROVEN:
                claims.append(incoming)
            else:
                recorded.append(incoming)
        visitor = flow.visitor.id
        if await self._logs_in_someone_else(visitor, recorded):  # a shared browser: as after a logout
            visitor, cookie = new_visitor()
            flow.extra_headers.append(("set-cookie", cookie))
            flow.state["logged_out"] = visitor
        if pending:
            await self.store.update_profile(visitor, lambda p: _hold(p, pending), now)
        if recorded:
            await self.recorder.record(visitor, recorded, now, trusted=True, source="proxy")
        if claims:
            await self.recorder.record(visitor, claims, now, trusted=False, source="proxy")

    async def _answer_cart(self, flow: Flow, ruleset: RuleSet) -> None:
        """The cart the store's JSON answer holds (``capture.cart`` with ``request``), as the mini basket's."""
        cart = ruleset.capture.answer_cart
        if cart is None or flow.visitor is None or flow.status >= 400:
            return
        answer = parse_answer(flow.answer_body, flow.response_header("content-encoding"))
        lines, count = cart.read(answer, ruleset.catalog)
        if lines is None and count is None:
            return  # not JSON, too long, or without the cart (another section): says nothing
        now, visitor = self.clock(), flow.visitor.id
        item = await self._cart_item(await self.store.get_profile(visitor), lines, count, now, trusted=True)
        if item is not None:
            await self.recorder.record(visitor, [item], now, trusted=True, source="proxy")

    async def _cart_item(self, profile: Profile | None, lines: list[dict[str, Any]] | None, count: int | None,
                         now: float, *, trusted: bool) -> Incoming | None:
        """The cart event a basket's (or an answer's) lines and count make, when they change the profile's.

        The profile holds its lines as recording left them, resolved through the catalog (a variant id is its
        parent in a size): lines that differ as read are compared again as they would be written
        (``EventRecorder.held_lines``, the one resolution: rows kept per catalog stamp, no store round trip
        a page), else a basket naming variants would write a cart event on every page. A line's price counts
        only where the basket shows one (``_repriced``): the catalog's is no news of the basket."""
        if (lines is None and count is None) or not _cart_changed(profile, lines, count):
            return None
        props: dict[str, Any] = {"lines": lines or []}
        if count is not None:
            props["count"] = count
        item = self._incoming({"type": "cart", "props": props}, f"page:cart:{uuid.uuid4().hex}", now, "cart")
        if item is None or profile is None or not lines:
            return item
        held = await self.recorder.held_lines(item, trusted=trusted)
        shown = [line if read.get("price") is not None else {**line, "price": None} for line, read in zip(held, lines)]
        return item if _cart_changed(profile, shown, count) else None

    async def _logs_in_someone_else(self, visitor: str, recorded: Sequence[Incoming]) -> bool:
        """A login the store accepted names a customer other than the one this browser's profile is."""
        from slotwise.tag.golden import email_hash_of

        logins = [item.event.props for item in recorded if item.event.type == "identify"]
        if not logins:
            return False
        profile = await self.store.get_profile(visitor)
        return any(names_another_person(profile, props.customer_id, email_hash_of(props)) for props in logins)

    # -- 2. pages ------------------------------------------------------------------------
    def page_groups(self, flow: Flow, ruleset: RuleSet) -> dict[str, Any]:
        return ruleset.capture.page_groups(flow.path, flow.query_string, flow.headers)

    async def on_page(self, visitor: str, html: bytes, reading: PageReading, ruleset: RuleSet, profile: Profile,
                      now: float, *, trusted: bool = True, charset: str = "utf-8") -> Profile:
        """Customer, cart and page events from a page the visitor was just served (or, untrusted, shown);
        ``charset``: the page's (``flow.charset``), to read ``html`` in."""
        items: list[Incoming] = []
        claims: list[Incoming] = []
        if profile.pending and html:
            confirmed = await self._confirmations(visitor, bytes_to_read(html, charset), profile, now)
            items += [item for item, proven in confirmed if proven and trusted]
            claims += [item for item, proven in confirmed if not (proven and trusted)]
        items += await self.page_events(reading, ruleset, profile, now, trusted=trusted, visitor=visitor)
        if not items and not claims:
            return profile
        source = "proxy" if trusted else "tag"
        if items:
            await self.recorder.record(visitor, items, now, trusted=trusted, source=source)
        if claims:
            await self.recorder.record(visitor, claims, now, trusted=False, source=source)
        return await self.store.get_profile(visitor) or profile

    async def page_events(self, reading: PageReading, ruleset: RuleSet, profile: Profile | None, now: float, *,
                          trusted: bool, visitor: str = "") -> list[Incoming]:
        """The events a page reading holds: identity, cart truth, page sources (nothing is written; the cart's
        lines are resolved through the catalog's kept rows to compare them)."""
        capture = ruleset.capture
        items: list[Incoming] = []
        customer, email = customer_of(reading.group("customer"))
        signed = None if trusted else self._signed(reading, visitor, now)
        if signed is not None:  # tag-only: checked before it is stored (``verify``)
            items.append(signed)
            customer = None
        email_hash = _named(customer, email)[1]
        if names_another_person(profile, customer, email_hash):
            customer = email = None  # a shared browser whose cookie could not change (a streamed page): no merge
        # Naming what the profile holds again writes nothing new. A trusted page (the store's, behind the proxy)
        # confirms a customer id or address the browser only claimed (the tag's unsigned ``identify``, a
        # newsletter form): until the profile holds it by trust, it links it once, so the claim mark goes and
        # the person's other devices merge with this one instead of taking it from it. A claim (tag-only,
        # unsigned) adds nothing to the same claim, nor to one refused before (another profile holds it).
        if customer and not settled(profile, f"customer:{customer}", trusted=trusted):
            item = self._incoming({"type": "identify", "props": {"customer_id": customer}},
                                  f"page:identify:{uuid.uuid4().hex}", now, "customer")
            items += [item] if item else []
        if email and not settled(profile, f"email:{email_hash}", trusted=trusted):
            item = self._incoming({"type": "identify", "props": {"email": email}},
                                  f"page:identify:{uuid.uuid4().hex}", now, "customer")
            items += [item] if item else []
        currency = page_currency(reading, ruleset.catalog)  # a price the page shows naming no currency: in it
        if capture.cart is not None:
            lines, count = cart_lines(reading.group("cart"), ruleset.catalog, reads_lines=capture.cart.group.lines is not None,
                                      currency=currency)
            item = await self._cart_item(profile, lines, count, now, trusted=trusted)
            items += [item] if item else []
        for name, values in reading.groups.items():
            source = capture.page_source(name)
            if source is None:
                continue
            try:
                raw = page_event(source, values, ruleset.catalog, currency, profile.cart if profile else ())
            except CaptureError as exc:
                self.warn(source.id, str(exc))
                continue
            if raw is None:
                continue
            items += [i for i in [self._incoming(raw, _page_key(source, raw, trusted, visitor), now, source.id)] if i]
        return items

    def _signed(self, reading: PageReading, visitor: str, now: float) -> Incoming | None:
        """The identify a tag-only page's signed customer id makes (``capture.customer.signature``), unchecked;
        its key keeps it once a visitor and customer, whether the page view or ``/decide`` sent it first."""
        customer, _ = customer_of(reading.group("customer"))
        signature = signature_of(reading.group("customer"))
        if not (customer and signature):
            return None
        return self._incoming({"type": "identify", "props": {"customer_id": customer, "signature": signature}},
                              f"page:signed:{_key_part(visitor)}:{_digest(customer)}", now, "customer")

    def signed_login(self, visitor: str, url: str, extract: Any, now: float, ruleset: RuleSet | None) -> list[Incoming]:
        """The customer id the store signed on a page the tag asks decisions for (``POST /_sw/decide``'s
        extract), when its signature checks: a trusted link, so the page right after a login is decided on the
        customer's profile. The id is checked, counted and logged as a page view's (``checked``). Anything
        less (no signature, a wrong one, no ``secret_env``) is nothing more here: the page's view makes it the
        claim it always was."""
        source = ruleset.capture.customer if ruleset is not None else None
        if ruleset is None or source is None or not isinstance(extract, Mapping):
            return []
        path, query = _path_query(url)
        if not source.applies(path, query):
            return []
        reading = read_extract({"values": extract.get("values")}, ruleset.catalog, {"customer": source.group})
        customer, _ = customer_of(reading.group("customer"))
        signature = signature_of(reading.group("customer"))
        if not customer or self.checked(customer, signature, ruleset.capture.identity) != "verified":
            return []
        item = self._signed(reading, visitor, now)
        if item is None:
            return []
        props = item.event.props.model_copy(update={"signature": None})  # never stored: it vouches forever
        return [Incoming(item.event.model_copy(update={"props": props}), item.ts, item.key, verified=True)]

    async def page_names_another_person(self, reading: PageReading, visitor: str) -> bool:
        """The store's page names a customer other than the one this browser's profile is (the profile is
        read only when the page names someone)."""
        customer, email_hash = _named(*customer_of(reading.group("customer")))
        if not customer and not email_hash:
            return False
        return names_another_person(await self.store.get_profile(visitor), customer, email_hash)

    async def _confirmations(self, visitor: str, html: bytes, profile: Profile, now: float) -> list[tuple[Incoming, bool]]:
        """Pending captures this page confirms (and whether each proves who sent it); all are settled now."""
        from selectolax.lexbor import LexborHTMLParser

        tree = LexborHTMLParser(html)
        items: list[tuple[Incoming, bool]] = []
        for held in profile.pending:
            if held.get("expires", 0) < now:
                continue
            try:
                found = tree.css_first(held["css"]) is not None
            except Exception:
                continue
            if found == bool(held.get("present", True)):
                item = self._incoming(held["event"], held["key"], float(held.get("ts") or now), held.get("source", "?"))
                items += [(item, bool(held.get("trusted", True)))] if item else []
        await self.store.update_profile(visitor, _settle, now)
        return items

    # -- 3. the tag's events ---------------------------------------------------------------
    async def expand(self, visitor: str, items: Sequence[Incoming], now: float, ruleset: RuleSet | None) -> list[Incoming]:
        """Capture events become the events they name; tag-only page views are read like pages; a customer id
        the store signed is marked ``verified`` (its signature dropped)."""
        out: list[Incoming] = []
        profile: Profile | None = None
        for item in items:
            event = item.event
            if event.type == "capture" and event.props.answer is not None and ruleset is not None:
                if profile is None:
                    profile = await self.store.get_profile(visitor)
                out += await self._tag_answer(item, ruleset, profile)
            elif event.type == "capture":
                out += self._expand_capture(visitor, item, ruleset)
            elif event.type == "page_view" and event.props.extract is not None and ruleset is not None:
                if profile is None:
                    profile = await self.store.get_profile(visitor)
                page_item, more = await self._tag_page(visitor, item, ruleset, profile, now)
                out += [page_item, *more]
            else:
                out.append(item)
        identity = ruleset.capture.identity if ruleset is not None else None
        checked = [checked for item in out for checked in self.verify(item, identity)]
        if any(item.verified is False and item.key.startswith("page:signed:") for item in checked):
            profile = profile or await self.store.get_profile(visitor)
        return [item for item in checked if not _names_someone_else(item, profile)]

    def checked(self, customer_id: Any, signature: str | None, identity: SignedIdentity | None) -> str | None:
        """How a customer id the tag sent fared against the store's signature (``rules.signed_identity.OUTCOMES``;
        None: no signature where the rules check none), counted in ``slotwise_signed_identity_total`` and, when
        it is a problem, logged once (without the id or the signature). The one check of the page views, the
        tag's ``identify`` and ``POST /_sw/decide``: each id the tag sends is counted the same way."""
        if identity is None:
            outcome = "off" if signature else None
        elif not signature:
            outcome = "missing"
        else:
            outcome = "verified" if identity.verify(customer_id, signature) else "forged"
        if outcome is not None:
            count_signed_identity(outcome)
        if outcome == "forged":
            self.warn("customer", "a customer id came with a signature that matches no secret of "
                                  "capture.customer.secret_env (forged, or signed with another secret): kept as a claim")
        elif outcome == "off":
            self.warn("customer", "a customer id came with a signature, but the rules name no "
                                  "capture.customer.secret_env: kept as a claim")
        return outcome

    def verify(self, item: Incoming, identity: SignedIdentity | None) -> list[Incoming]:
        """An identify's customer id, checked against the store's signature (``rules.signed_identity``): marked
        ``verified`` when it matches, else left a claim as before; the signature is dropped either way (it
        vouches for the customer for as long as the secret lasts: never stored). It vouches for the id alone:
        an e-mail sent beside a valid one goes on as a claim of its own (else anyone with an account could
        sign their own id and merge into whoever holds an address they type). Counted and logged by ``checked``."""
        event = item.event
        if event.type != "identify" or not event.props.customer_id:
            return [item]
        signature = event.props.signature
        outcome = self.checked(event.props.customer_id, signature, identity)
        if signature is None:
            return [item]
        props = event.props.model_copy(update={"signature": None})
        if outcome != "verified" or not (props.email or props.email_hash):
            return [Incoming(event.model_copy(update={"props": props}), item.ts, item.key, verified=outcome == "verified")]
        signed = props.model_copy(update={"email": None, "email_hash": None})
        claim = event.model_copy(update={"props": props.model_copy(update={"customer_id": None}),
                                         "event_id": f"{event.event_id}-email"})
        return [Incoming(event.model_copy(update={"props": signed}), item.ts, item.key, verified=True),
                Incoming(claim, item.ts, f"{item.key[:160]}-email")]

    def _expand_capture(self, visitor: str, item: Incoming, ruleset: RuleSet | None) -> list[Incoming]:
        props = item.event.props
        if ruleset is None:
            return []
        raws: list[dict[str, Any]] = []
        try:
            if props.source == "datalayer":
                if ruleset.capture.datalayer is None:
                    self.warn("datalayer", "the tag sent a dataLayer push but the rules read none (rules changed?)")
                    return []
                problems: list[str] = []
                raws = datalayer_events(props.push, ruleset.capture.datalayer, ruleset.catalog, problems, props.currency)
                for problem in problems:
                    self.warn("datalayer", problem)
            elif props.request is not None:
                raws = self._observed(props.source, props.request, ruleset)
            else:
                trigger = ruleset.capture.trigger(props.source)
                if trigger is None:
                    self.warn(props.source, "the tag sent a capture the rules do not have (rules changed?)")
                    return []
                values = trigger.group.clean({"present": True, "fields": props.values or {}})
                raw = build_event(trigger.event, values["fields"], (), ruleset.catalog, props.currency)
                raws = [raw] if raw else []
        except ValueError as exc:  # CaptureError, or a request source's expression failed
            self.warn(props.source, str(exc))
            return []
        out = []
        for n, raw in enumerate(raws):
            if raw["type"] == "purchase":
                key = claim_key(visitor, raw["props"]["order_id"])
            else:
                key = f"{item.key[:160]}-{n}"  # the tag's key holds the visitor: keep all of it
            built = self._incoming(raw, key, item.ts, props.source)
            if built is not None:
                out.append(Incoming(built.event.model_copy(update={"url": item.event.url}), built.ts, built.key))
        return out

    def _observed(self, source_id: str, seen: RequestSeenProps, ruleset: RuleSet) -> list[dict[str, Any]]:
        """The event a request the tag observed (tag-only mode) makes, read by the source's own ``fields`` and
        ``success`` as the proxy reads one: a followed redirect is the proxy's first hop (302, ``location``
        where it ended). Only the keys the source names are read. The browser's word: never trusted."""
        source = ruleset.capture.request_source(source_id)
        if not self.tag_only:  # the proxy sees the requests itself: a browser's word would count one twice
            self.warn(source_id, "the tag sent a request it observed, but requests go through the proxy here")
            return []
        if source is None or source not in ruleset.capture.observed_requests():
            self.warn(source_id, "the tag sent a request the rules do not observe (rules changed?)")
            return []
        params = source.match(seen.method, seen.path, seen.query, seen.headers)
        if params is None:
            self.warn(source.id, f"the tag sent {seen.method} {seen.path[:100]}, which the source does not match")
            return []
        keys = source.reads()
        headers = {**{k.lower(): v for k, v in seen.response_headers.items() if k.lower() in keys.get("response", ())},
                   **({"location": seen.location} if seen.redirected and seen.location else {})}
        response = Response(302 if seen.redirected else seen.status, headers, seen.path)
        request = RequestSeen(
            form=_only(seen.form, keys.get("form")), json_body=_only(seen.json_body, keys.get("json")),
            query=_only(seen.query, keys.get("query")), params=params,
            headers=_only({k.lower(): v for k, v in seen.headers.items()}, keys.get("headers")), response=response)
        ok, raw = source.event_of(request, ruleset.catalog)
        return [raw] if ok and raw else []

    async def _tag_answer(self, item: Incoming, ruleset: RuleSet, profile: Profile | None) -> list[Incoming]:
        """The cart in the JSON answer ``capture.cart`` names, as the tag read it (tag-only mode: what the rule's key
        paths reach of it), read by the rule as the proxy reads the whole answer (``_answer_cart``): a cart event
        only when it changes the profile's (``_cart_item``). The browser's word: a claim, as a tag-only basket."""
        props = item.event.props
        cart = ruleset.capture.answer_cart
        if not self.tag_only:  # the proxy reads the answer itself: a browser's word would count it twice
            self.warn(props.source, "the tag sent an answer it read, but answers go through the proxy here")
            return []
        if cart is None or props.source != cart.source.id:
            self.warn(props.source, "the tag sent an answer the rules do not read (rules changed?)")
            return []
        lines, count = cart.read(props.answer, ruleset.catalog)
        built = await self._cart_item(profile, lines, count, item.ts, trusted=False)
        return [] if built is None else [Incoming(built.event.model_copy(update={"url": item.event.url}), built.ts,
                                                  built.key)]

    async def _tag_page(self, visitor: str, item: Incoming, ruleset: RuleSet, profile: Profile | None,
                        now: float) -> tuple[Incoming, list[Incoming]]:
        """A tag-only page view: facts from its extract (like the proxy's), the catalog learns, page events."""
        event = item.event
        url = event.props.url or event.url or ""
        path, query = _path_query(url)
        groups = {**ruleset.catalog.extract_groups(), **ruleset.capture.page_groups(path, query)}
        reading = read_extract(event.props.extract, ruleset.catalog, groups)
        shown = page_facts(path, query, None, ruleset, url=url, reading=reading)
        product = shown.product if shown.product and shown.product.get("id") else None
        if product is not None:
            await self.pageviews.learn(product, now)  # what the page shows, as behind the proxy
        facts = await self.categories.of(shown)  # a page naming no category: the catalog's, as /decide reads it
        props = event.props.model_copy(update={
            "category": facts.category or category_key(event.props.category),
            "product": (product or {}).get("id") or product_key(event.props.product),
            "extract": None,
        })
        page_item = Incoming(event.model_copy(update={"props": props}), item.ts, item.key)
        return page_item, await self.page_events(reading, ruleset, profile, now, trusted=False, visitor=visitor)


def _path_query(url: str) -> tuple[str, str]:
    """A page URL the tag sent: its path (``/`` when it has none, or is no URL) and query."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "/", ""
    return parts.path or "/", parts.query


def _only(values: Mapping[str, Any] | None, keys: Sequence[str] | None) -> dict[str, Any]:
    """The keys a source names, of what the browser sent (it sends no other, and none other is read)."""
    return {k: values[k] for k in keys or () if values and k in values}


def _hold(profile: Profile, pending: list[dict[str, Any]]) -> None:
    from slotwise.profile import MAX_PENDING

    profile.pending = (profile.pending + pending)[-MAX_PENDING:]


def _settle(profile: Profile) -> None:
    profile.pending = []


def _page_key(source: PageSource, raw: Mapping[str, Any], trusted: bool, visitor: str) -> str:
    """An order read from a page is recorded once, however often it is reloaded (``order:<id>`` when trusted)."""
    if raw["type"] == "purchase":
        order = str(raw["props"]["order_id"])
        return f"order:{order}" if trusted else claim_key(visitor, order)
    return f"page:{source.id}:{uuid.uuid4().hex}"


def _names_someone_else(item: Incoming, profile: Profile | None) -> bool:
    """A page's signed customer id that did not verify, naming another customer than the browser's profile is:
    dropped, as a page naming someone else is when nothing vouches for it (``page_events``)."""
    return (not item.verified and item.key.startswith("page:signed:")
            and names_another_person(profile, item.event.props.customer_id, None))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _named(customer: str | None, email: str | None) -> tuple[str | None, str | None]:
    """A page's customer id and the hash of its e-mail address."""
    from slotwise.profile import hash_email

    return customer, hash_email(email) if email else None


def _cart_changed(profile: Profile | None, lines: list[dict[str, Any]] | None, count: int | None) -> bool:
    """Whether the mini basket says something the profile does not hold yet (else nothing is written).

    A basket that shows only a count is compared with the count it showed last
    (``cart_hint``) when there is one: the lines the profile holds may never
    add up to the store's count (it counts lines, an add went another way),
    and comparing with them would write a cart event on every page.
    """
    if profile is None:
        return bool(lines) or bool(count)
    if lines is not None:
        have = sorted(profile.cart, key=_line_key)
        new = sorted(lines, key=_line_key)
        if [_line_key(line) for line in have] != [_line_key(line) for line in new]:
            return True
        if any(_repriced(old, line) for old, line in zip(have, new)):
            return True
        return count is not None and not lines and count != profile.cart_hint
    if count == 0:
        return bool(profile.cart) or profile.cart_hint != 0
    if profile.cart_hint:
        return count != profile.cart_hint
    return count != sum(int(line.get("qty") or 1) for line in profile.cart)


def _repriced(held: Mapping[str, Any], read: Mapping[str, Any]) -> bool:
    """Whether a line read again is priced otherwise than the profile's priced line: another currency (the
    visitor switched the store's), or another price. A price or currency the reading does not name (a basket
    that shows no prices) is no change, else every page would write a cart event; nor is a price the profile's
    line never had (an add to cart that named none), as before: the basket said the same line."""
    if not held.get("price"):
        return False
    if read.get("currency") and held.get("currency") and read["currency"] != held["currency"]:
        return True
    return read.get("price") is not None and float(read["price"]) != float(held["price"])


def _line_key(line: Mapping[str, Any]) -> tuple[str, str, int]:
    """What makes two cart lines the same (a missing size sorts like an empty one, never beside a text)."""
    return str(line.get("product")), str(line.get("size") or ""), int(line.get("qty") or 1)


async def _parse_body(flow: Flow, body: bytes) -> tuple[dict[str, Any], Any]:
    """Form fields (urlencoded or multipart; first value of each) and the JSON body, as far as they parse."""
    ctype = (flow.header("content-type") or "").lower()
    form: dict[str, Any] = {}
    json_body: Any = None
    try:
        if "application/x-www-form-urlencoded" in ctype:
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                form.setdefault(name, value)
        elif "multipart/form-data" in ctype:
            from starlette.datastructures import Headers as StarletteHeaders
            from starlette.formparsers import MultiPartParser

            async def stream() -> Any:
                yield body

            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in flow.headers]
            parsed = await MultiPartParser(StarletteHeaders(raw=raw), stream(), max_files=100, max_fields=500).parse()
            for name, value in parsed.multi_items():
                if isinstance(value, str):
                    form.setdefault(name, value)
            await parsed.close()  # uploaded files are not read
        elif "json" in ctype or body.lstrip()[:1] in (b"{", b"["):  # also JSON sent as text/plain, as beacons do
            json_body = lenient_json.loads(body)  # a price NaN or a lone surrogate must not reach a profile
    except Exception as exc:  # a body the store may accept but we cannot read: no event
        log.info("capture: unreadable request body on %s: %s", flow.path, exc)
    return form, json_body
