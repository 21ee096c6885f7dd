"""The HTTP API the tag talks to, mounted by the proxy under ``/_sw``.

Routes (relative to the mount): ``GET /tag.js``, ``GET /tag.<hash>.js``,
``POST /events``, ``POST /signup``, ``GET /decide``, and the admin
``GET|DELETE /admin/api/visitors/{id}``. See docs/tag.md for the contract.

Nothing here answers 2xx for an event before the store has committed it;
store failures answer 503 (the tag retries), never a 2xx that lies.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
import uuid
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from slotwise.profile import hash_email
from slotwise.store.base import LogRecord, Store
from slotwise.tag.assets import TagAssets
from slotwise.tag.admin import admin_routes
from slotwise.tag.admin_session import is_https
from slotwise.tag.coupons import CouponSigner
from slotwise.tag.events import parse_batch
from slotwise.tag import jsonbody
from slotwise.tag.golden import email_is_valid, names_another_person, names_nothing_new
from slotwise.tag.jsonbody import BadJSON
from slotwise.rules.order_mapping import OrderMapping
from slotwise.tag.orders import OrderWebhook
from slotwise.tag.recorder import EventRecorder, Incoming, browser_key
from slotwise.store.outage import is_outage
from slotwise.tag.mail import MailFollowups, Picks
from slotwise.tag.outbox import OutboxWorker
from slotwise.tag.privacy import ConsentMode, check_mode, gpc, implied, may_store
from slotwise.client_origin import origin_of
from slotwise.tag.ratelimit import TokenBucket

if TYPE_CHECKING:
    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.identity import VisitorCookies

log = logging.getLogger("slotwise.tag")

Decide = Callable[..., Awaitable[dict[str, Any]]]
"""``async def decide(request, visitor_id, url, extract=None) -> {"decisions": [...], "complete": bool}``"""

OnEvents = Callable[[str, Sequence[Any]], Any]
"""``on_events(visitor_id, new_events)``: newly stored events (pydantic models); may be async."""

Expand = Callable[[str, Sequence[Incoming], float], Awaitable[list[Incoming]]]
"""``expand(visitor_id, events, now)``: capture events → the events they name (the rules' ``capture``)."""

SignedLogin = Callable[[str, str, Any, float], Sequence[Incoming]]
"""``signed_login(visitor_id, url, extract, now)``: the customer id the store signed in a ``/decide`` extract,
as a ``verified`` identify when its signature checks; else nothing (the page view makes it a claim)."""

MAX_BODY = 64 * 1024
MAX_SIGNUP_BODY = 4 * 1024
MAX_CLOCK_SKEW_S = 7 * 24 * 3600  # events queued offline for up to a week keep their own time
NONCE_HEADER = "x-slotwise-nonce"  # the tag's nonce on GET /decide: a header, never the URL (access logs)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers={"cache-control": "no-store"})


class TagAPI:
    """The tag's endpoints and the sign-up webhook worker, over one store."""

    def __init__(
        self,
        settings: "Settings",
        store: Store,
        cookies: "VisitorCookies",
        *,
        decide: Decide | None = None,
        on_events: OnEvents | None = None,
        recorder: EventRecorder | None = None,
        expand: Expand | None = None,
        signed_login: SignedLogin | None = None,
        tag_config: Callable[[], Mapping[str, Any]] | None = None,
        is_bot: Callable[[str | None], bool] | None = None,
        now: Callable[[], float] = time.time,
        consent_mode: ConsentMode = implied,
        rate: float = 20.0,
        burst: float = 200.0,
        max_body: int = MAX_BODY,
        webhook: str | None = None,
        outbox_options: dict[str, Any] | None = None,
        signals: Callable[[], Any] | None = None,
        picks: Picks | None = None,
        orders: Callable[[], OrderMapping | None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.cookies = cookies
        self.decide = decide
        self.is_bot = is_bot
        self.recorder = recorder or EventRecorder(store, on_events=on_events, claim_cap=settings.max_claimed_order)
        self.on_events = self.recorder.on_events
        self.expand = expand
        self.signed_login = signed_login
        self.assets = TagAssets(tag_config)
        # the order webhook: the rules' capture.orders (the store's own shape), else the fixed one
        self.orders = OrderWebhook(store, self.recorder, lambda: settings.order_secret, now,
                                   mapping=orders or (lambda: None))
        self.now = now
        self.consent_mode = consent_mode
        self.max_body = max_body
        self.limiter = TokenBucket(rate, burst)
        key = settings.signing_key()
        self.coupons = CouponSigner(key)
        url = webhook if webhook is not None else (settings.webhook_url or None)
        self.outbox = OutboxWorker(store, url, settings.webhook_key(), now=now, **(outbox_options or {})) if url else None
        # the e-mail that follows the popup (tag.mail): sign-up, purchase and stage-change messages
        self.mail = MailFollowups(store, signals=signals or (lambda: None), picks=picks,
                                  public_url=settings.public_url, notify=self.outbox.notify) if self.outbox else None
        if self.mail is not None:
            self.recorder.followups = self.mail

    # -- lifecycle -----------------------------------------------------------
    async def startup(self) -> None:
        if self.outbox is not None:
            self.outbox.start()

    async def shutdown(self) -> None:
        if self.outbox is not None:
            await self.outbox.stop()

    def _ensure_worker(self) -> None:
        # started lazily too, so a mount without lifespan hooks still delivers
        if self.outbox is not None:
            self.outbox.start()

    def routes(self) -> list[Route]:
        return [
            *self.assets.routes(),
            Route("/events", self.events, methods=["POST"]),
            Route("/signup", self.signup, methods=["POST"]),
            Route("/decide", self.decide_route, methods=["GET", "POST"]),
            Route("/orders", self.orders, methods=["POST"]),
            *admin_routes(self.settings, self.store),
        ]

    # -- helpers ---------------------------------------------------------------
    def _visitor(self, request: Request, nonce: Any = None) -> tuple[str, bool]:
        """The signed visitor id; else the id the tag's nonce stands for; else a fresh one.

        ``(id, is_new)``: new means no valid cookie came (one is set in the answer).
        A first-time visitor's racing requests all carry the same nonce, so they
        all get the same id, whichever answer sets the cookie last.
        """
        visitor = self.cookies.read(request.headers.getlist("cookie"))
        if visitor:
            request.state.sw_visitor = "cookie"
            return visitor, False
        derived = self.cookies.from_nonce(nonce, self.now()) if isinstance(nonce, str) else None
        request.state.sw_visitor = "nonce" if derived else "new"
        return derived or self.cookies.new_id(), True

    @staticmethod
    def _said(request: Request, response: Response) -> Response:
        """Tells the tag whether its cookie is known (then it stops sending its nonce)."""
        response.headers["x-slotwise-visitor"] = getattr(request.state, "sw_visitor", "new")
        return response

    def _address(self, request: Request) -> str:
        """The browser's address: the peer, or behind trusted proxies the one they name (``client_origin``).

        In tag-only mode ``/_sw/`` is reached through the store's own proxy, so
        the peer is the same for every visitor: without this, every first-time
        visitor of the store would share one rate limit.
        """
        return origin_of(request, self.settings.proxy_trust).address

    def _set_cookie(self, request: Request, response: Response, visitor: str) -> None:
        secure = is_https(request, self.settings.public_url, self.settings.proxy_trust)
        response.headers.append("set-cookie", self.cookies.set_cookie(visitor, secure))

    def _rate_key(self, request: Request, visitor: str, is_new: bool) -> str:
        # without a valid cookie every request would be a new visitor: limit by address instead
        return f"ip:{self._address(request)}" if is_new else visitor

    def _limited(self, key: str, cost: float) -> JSONResponse | None:
        wait = self.limiter.take(key, cost, self.now())
        if not wait:
            return None
        response = _error(429, "too many events; retry later", retry_after=math.ceil(wait))
        response.headers["retry-after"] = str(max(1, math.ceil(wait)))
        return response

    def _mode(self) -> str:
        try:
            return check_mode(self.consent_mode())
        except Exception:
            log.exception("consent mode callback failed; assuming consent is required")
            return "required"

    def _clamp(self, ts: float | None, now: float) -> float:
        if ts is None or ts > now + 60 or ts < now - MAX_CLOCK_SKEW_S:
            return now
        return min(ts, now)

    # -- POST /events ------------------------------------------------------------
    async def events(self, request: Request) -> Response:
        self._ensure_worker()
        try:
            body = await jsonbody.read_limited(request, self.max_body)
        except jsonbody.TooLarge:
            return _error(413, f"the body is larger than {self.max_body} bytes; send smaller batches")
        try:
            raw = jsonbody.loads(body)
        except BadJSON as exc:
            return _error(400, str(exc))
        try:
            good, bad = parse_batch(raw)
        except OverflowError as exc:
            return _error(413, str(exc))
        except ValueError as exc:
            return _error(400, str(exc))
        visitor, is_new = self._visitor(request, raw.get("n"))
        limited = self._limited(self._rate_key(request, visitor, is_new), max(1, len(raw["events"])))
        if limited is not None:
            return limited
        now = self.now()
        result: dict[str, Any] = {
            "received": len(raw["events"]), "stored": 0, "duplicates": 0, "dropped": 0,
            "rejected": [r.model_dump() for r in bad],
        }
        status = 200 if not bad else (207 if good else 422)
        if gpc(request) or (self.is_bot is not None and self.is_bot(request.headers.get("user-agent"))):
            result["dropped"] = len(good)  # an opt-out, or a crawler running the tag: acknowledged, not counted
            return JSONResponse(result, status_code=status, headers={"cache-control": "no-store"})
        try:
            stored, visitor, is_new = await self._store_events(visitor, is_new, [e for _, e in good], now, result)
        except Exception as exc:
            if not is_outage(exc):  # an outage is logged once, by the store
                log.exception("storing events failed")
            response = _error(503, "events could not be stored; retry later")
            response.headers["retry-after"] = "5"
            return response
        response = JSONResponse(result, status_code=status, headers={"cache-control": "no-store"})
        if is_new and stored:
            self._set_cookie(request, response, visitor)
        return self._said(request, response)

    async def _store_events(self, visitor: str, is_new: bool, events: list[Any], now: float,
                            result: dict[str, Any]) -> tuple[bool, str, bool]:
        """Appends, updates the profile, links identities; (whether anything was stored, the visitor they were
        stored for, whether that visitor needs its cookie set)."""
        mode = self._mode()
        profile = None if is_new else await self.store.get_profile(visitor)
        consent = profile.consent if profile else None
        keep: list[tuple[Any, float]] = []
        for event in events:
            allowed = may_store(mode, consent)
            if event.type == "consent":
                consent = "granted" if event.props.granted else "denied"
                # a "no" is remembered only where something is already held about the person
                allowed = event.props.granted or profile is not None or mode == "implied"
            if allowed:
                keep.append((event, self._clamp(event.ts, now)))
            else:
                result["dropped"] += 1
        if not keep:
            return False, visitor, is_new
        items = [Incoming(event, ts, browser_key(visitor, event.event_id)) for event, ts in keep]
        if self.expand is not None:
            items = await self.expand(visitor, items, now)
        added, visitor, is_new = await self._record(visitor, is_new, profile, items, now)
        result["stored"] = sum(added)
        result["duplicates"] = len(added) - sum(added)
        return bool(items), visitor, is_new

    async def _record(self, visitor: str, is_new: bool, profile: Any, items: list[Incoming],
                      now: float) -> tuple[list[bool], str, bool]:
        """Records the tag's items for the visitor whose ``profile`` the request read: a claim as a claim, a
        customer id the store signed (``verified``) as a trusted link that merges. (Per item whether it was new,
        the visitor they were recorded for, whether that visitor needs its cookie set.)"""
        # naming only the identity the profile holds already (a signed id by trust): nothing to write
        items = [item for item in items if not names_nothing_new(profile, item.event, trusted=item.verified)]
        signed = [item for item in items if item.verified]
        if any(names_another_person(profile, item.event.props.customer_id, None) for item in signed):
            visitor, is_new = self.cookies.new_id(), True  # a shared browser: as after a logout (the proxy's way)
        added = await self.recorder.record(visitor, [i for i in items if not i.verified], now, trusted=False, source="tag")
        added += await self.recorder.record(visitor, signed, now, trusted=True, source="tag")
        return added, visitor, is_new

    async def _login(self, request: Request, visitor: str, is_new: bool, profile: Any, url: str,
                     extract: Any) -> tuple[str, bool]:
        """The page's customer id, when the store signed it, linked before the page is decided (docs/tag.md,
        "The page right after login"): the first page after a login is the customer's, merged with their other
        devices, as the events path links it (on a shared browser, a fresh visitor id). Once the profile holds
        them by trust, nothing is written. Fail open: the page is decided as the browser's, its view links them."""
        if self.signed_login is None or (self.is_bot is not None and self.is_bot(request.headers.get("user-agent"))):
            return visitor, is_new
        try:
            now = self.now()
            items = list(self.signed_login(visitor, url, extract, now))
            if items:
                _, visitor, is_new = await self._record(visitor, is_new, profile, items, now)
        except Exception as exc:
            if not is_outage(exc):
                log.exception("linking the signed customer of %s failed", url)
        return visitor, is_new

    # -- POST /signup ------------------------------------------------------------
    async def signup(self, request: Request) -> Response:
        """E-mail in, coupon out: one code per person, never the same code twice."""
        self._ensure_worker()
        try:
            raw = jsonbody.loads(await jsonbody.read_limited(request, MAX_SIGNUP_BODY))
        except jsonbody.TooLarge:
            return _error(413, "the body is too large")
        except BadJSON as exc:
            return _error(400, str(exc))
        if not isinstance(raw, dict):
            return _error(400, 'the body must be a JSON object {"email": ...}')
        email = raw.get("email")
        decision_id = raw.get("decision_id")
        if not isinstance(email, str) or not email_is_valid(email.strip()):
            return _error(400, "please enter a valid e-mail address", field="email")
        if decision_id is not None and (not isinstance(decision_id, str) or len(decision_id) > 256):
            return _error(400, "decision_id must be a string", field="decision_id")
        visitor, is_new = self._visitor(request, raw.get("n"))
        limited = self._limited(self._rate_key(request, visitor, is_new), 10)
        if limited is not None:
            return limited
        email = email.strip()
        now = self.now()
        alias = f"email:{hash_email(email)}"
        # asking for the coupon is an explicit request; the browsing profile is only
        # written where the visitor allows it (no GPC, consent if required)
        track = not gpc(request)
        if track:
            profile = None if is_new else await self.store.get_profile(visitor)
            track = may_store(self._mode(), profile.consent if profile else None)
        try:
            code, fresh = await self._claim(visitor, alias, now, track)
            if track and fresh:  # the learner's reward for a sign-up popup, named by its decision
                props = {"source": "popup", **({"decision_id": decision_id} if decision_id else {})}
                await self.store.append([LogRecord(
                    kind="event", key=browser_key(visitor, f"signup-{alias[6:38]}"), visitor=visitor, ts=now,
                    data={"type": "signup", "props": props, "received": now},
                )])
                if self.on_events is not None:
                    outcome = self.on_events(visitor, [])
                    if inspect.isawaitable(outcome):
                        await outcome
            if fresh and self.mail is not None:
                offer = await self._offer(visitor, decision_id) if track and decision_id else {}
                await self.mail.signup(visitor, email, code, decision_id, alias, now, offer=offer)
        except Exception as exc:
            if not is_outage(exc):
                log.exception("sign-up failed")
            return _error(503, "the sign-up could not be saved; please try again")
        response = JSONResponse({"coupon": code}, headers={"cache-control": "no-store"})
        if is_new and track:
            self._set_cookie(request, response, visitor)
        return self._said(request, response)

    async def _offer(self, visitor: str, decision_id: str) -> dict[str, str]:
        """``{"slot", "offer"}``: the slot and variant whose popup this sign-up answered, as this
        visitor's logged decision says (never what the browser claims), so the store can give
        the code the discount that variant promised; ``{}`` when no decision of theirs has that id."""
        profile = await self.store.get_profile(visitor)
        for slot, assignment in (profile.assignments if profile is not None else {}).items():
            if assignment.get("decision_id") == decision_id and assignment.get("arm") not in (None, "__holdout__"):
                return {"slot": slot, "offer": str(assignment["arm"])}
        return {}

    async def _claim(self, visitor: str, alias: str, now: float, track: bool) -> tuple[str, bool]:
        """The visitor's coupon: one per person, shown only to the visitor it was issued to.

        A typed address proves nothing: it is linked only if nobody holds it, and
        an address someone else holds gets this visitor a code of their own,
        never that person's code (or identity).
        """
        if not track:  # no profile (GPC, no consent): a code for this request, owned by nobody we know
            return await self.store.claim_coupon(f"anon:{uuid.uuid4().hex}", now, self.coupons.generate)
        profile = await self.store.link_identity(visitor, alias, now, merge=False)
        linked = await self.store.resolve(alias) == profile.id
        if profile.coupon:
            code, fresh = profile.coupon, False
        else:
            owner = alias if linked else f"profile:{profile.id}"
            code, fresh = await self.store.claim_coupon(owner, now, self.coupons.generate)

        def subscribe(p: Any) -> None:
            p.subscribed = True
            if linked:
                p.email_hash = p.email_hash or alias[len("email:"):]
            p.coupon = p.coupon or code

        await self.store.update_profile(visitor, subscribe, now)
        return code, fresh

    # -- GET /decide -------------------------------------------------------------
    async def decide_route(self, request: Request) -> Response:
        """Tag-only mode: the page's slot decisions, applied by the tag in the browser.

        ``GET ?url=&r=`` with the tag's nonce in ``X-Slotwise-Nonce`` (the
        snippet, before the page is parsed) or ``POST {url, r, extract, n}``
        (the tag, with what the page says, when the GET answer was ``complete:
        false``). ``url`` is the page, ``r`` its referrer (the request's own
        Referer is the page itself). The nonce stands for the visitor for a day,
        so it never goes in a URL (access logs); ``?n=`` is still read, from
        snippets pasted into pages before it moved.
        The answer says how the visitor was known (``visitor``: ``cookie``,
        ``nonce`` or ``new``), like the ``x-slotwise-visitor`` header.
        """
        self._ensure_worker()
        extract = None
        nonce = request.headers.get(NONCE_HEADER) or request.query_params.get("n")
        url = request.query_params.get("url") or ""
        referrer = request.query_params.get("r")
        if request.method == "POST":
            try:
                body = jsonbody.loads(await jsonbody.read_limited(request, self.max_body))
            except jsonbody.TooLarge:
                return _error(413, f"the body is larger than {self.max_body} bytes")
            except BadJSON as exc:
                return _error(400, str(exc))
            if not isinstance(body, dict):
                return _error(400, 'the body must be a JSON object {"url": ..., "extract": ...}')
            url = body.get("url") if isinstance(body.get("url"), str) else ""
            extract = body.get("extract") if isinstance(body.get("extract"), dict) else {}
            nonce = body.get("n", nonce)
            referrer = body.get("r") if isinstance(body.get("r"), str) else referrer
        url = url or request.headers.get("referer") or ""
        if len(url) > 4096 or len(referrer or "") > 4096:
            return _error(414, "url too long")
        request.state.sw_referrer = referrer or ""
        visitor, is_new = self._visitor(request, nonce)
        answer: dict[str, Any] = {"decisions": [], "complete": True}
        allowed = self.decide is not None and not gpc(request)
        if allowed:
            profile = None if is_new else await self.store.get_profile(visitor)
            allowed = may_store(self._mode(), profile.consent if profile else None)
        if allowed:
            limited = self._limited(self._rate_key(request, visitor, is_new), 1)
            if limited is not None:
                return limited
            if extract:
                visitor, is_new = await self._login(request, visitor, is_new, profile, url, extract)
            try:
                answer = dict(await self.decide(request, visitor, url, extract))  # type: ignore[misc]
            except Exception as exc:  # fail open: the page as the store made it
                if not is_outage(exc):
                    log.exception("decide failed for %s", url)
                answer = {"decisions": [], "complete": True}
        answer["cookie"] = getattr(request.state, "sw_visitor", "new") == "cookie"  # came (a login may change it)
        answer["visitor"] = getattr(request.state, "sw_visitor", "new")
        response = JSONResponse(answer, headers={"cache-control": "private, no-store", "vary": "Cookie"})
        if is_new and allowed:
            self._set_cookie(request, response, visitor)
        return self._said(request, response)
