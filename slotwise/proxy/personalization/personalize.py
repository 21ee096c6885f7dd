"""The personalizer: identity, page facts, profile, decisions, rendering, rewriting.

This is the ``Personalizer`` the forwarding layer calls (``flow.py``). Each
step reads and writes the one ``Flow``; none of them catches errors: the
forwarding layer's ``SafePersonalizer`` turns any exception into the
upstream page, byte for byte, a metric and one log line.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from types import TracebackType
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import parse_qsl, urlsplit

from starlette.routing import BaseRoute

from slotwise.bandits.assignment import in_holdout
from slotwise.bandits.learner import SlotConfig
from slotwise.html import PageDigests, has_targets, rewrite
from slotwise.html.edits import RewriteResult
from slotwise.html.rewriter import frozen_errors
from slotwise.html.bounds import check_page
from slotwise.profile import AssignRecord, Profile
from slotwise.proxy.operations.admin import admin_routes
from slotwise.proxy.personalization.bots import BOT_SERVER_TIMING, is_bot
from slotwise.proxy.personalization.capture import MAX_BODY as CAPTURE_MAX_BODY
from slotwise.proxy.personalization.choices import HOLDOUT_ARM, PageWork, SlotChoice, mark_only, slot_configs, variant_costs
from slotwise.proxy.personalization.capture import Capture
from slotwise.proxy.personalization.catalog_category import CatalogCategories
from slotwise.proxy.personalization.catalog_feed import FeedLoader
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.decision_tokens import DecisionTokens
from slotwise.proxy.forwarding.documents import fragment_request
from slotwise.proxy.forwarding.encoding import ascii_compatible
from slotwise.proxy.flow import Flow, PersonalizationError, Visitor
from slotwise.proxy.forwarding.forward_safe import _SPENT as SPENT_MS
from slotwise.proxy.forwarding.forward_safe import BUDGET_EXEMPT
from slotwise.proxy.personalization.identity import VisitorCookies, cookie_value
from slotwise.proxy.personalization.inject import inject_before_body_end
from slotwise.proxy.personalization.journeys import JourneyLoader
from slotwise.proxy.personalization.late_decisions import late_script
from slotwise.proxy.operations.kill_switch import KillSwitches
from slotwise.proxy.operations.health import HealthReport, check_store
from slotwise.proxy.operations.feed_health import check_feed, rules_lease, unknown as feed_unknown
from slotwise.proxy.operations.webhook_health import check_webhook, unknown as webhook_unknown
from slotwise.proxy.operations.metrics import count_unconverted_order, count_webhook_attempt
from slotwise.proxy.operations.learning import SNAPSHOT_NAME, LearningLoop
from slotwise.proxy.operations.worker_signals import when_told_to_stop
from slotwise.proxy.personalization.page_readings import PageReadings, page_nonce
from slotwise.proxy.personalization.page_slots import PageSlots
from slotwise.proxy.personalization.page_work import digest_of, page_work
from slotwise.proxy.personalization.pageviews import PageViewRecorder
from slotwise.proxy.personalization.preview import EXPIRED_HEADER, PREVIEW_COOKIE, PREVIEW_PARAM, PreviewLinks
from slotwise.proxy.personalization.preview_bar import PreviewBar
from slotwise.proxy.personalization.slot_absence import SlotAbsence
from slotwise.proxy.personalization.recommendations import fetch_recommendations, picks_for
from slotwise.proxy.operations.rules_watch import RulesHolder, ruleset_holder
from slotwise.rules import RuleSet, build_context, page_facts, request_facts
from slotwise.rules.context import Context
from slotwise.rules.errors import RuleEvaluationError
from slotwise.rules.ruleset import Slot, Variant
from slotwise.rules.schedule import time_facts
from slotwise.rules.interests import InterestRules, interests
from slotwise.rules.cookies import page_cookies
from slotwise.rules.reading import PageReading, bytes_to_read, cookie_values, read_html, reads_cookies, with_cookies
from slotwise.rules.tag_config import tag_config
from slotwise.store import Store, open_store
from slotwise.store.base import LogRecord
from slotwise.store.outage import is_outage
from slotwise.tag.api import TagAPI
from slotwise.tag.assets import script_tag
from slotwise.tag.recorder import EventRecorder
from slotwise.tasks import cancel_and_wait

log = logging.getLogger("slotwise.personalize")

_UNLOGGED = "sw_unlogged"  # flow.state: the page's work and time, until ``commit`` logs its decisions
_SLOTS = "sw_slots"  # flow.state: (rules, the request's slots under them)


class stage:
    """Names the step (and slot) an error came from, for the fail-open metric and log.

    A class rather than a ``contextmanager`` generator: it wraps every step of
    every slot (~14 a page), and a generator-based one cost ~3 µs each.
    """

    __slots__ = ("name", "slot")

    def __init__(self, name: str, slot: str | None = None) -> None:
        self.name = name
        self.slot = slot

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if exc is None or isinstance(exc, PersonalizationError) or not isinstance(exc, Exception):
            return False
        if isinstance(exc, RuleEvaluationError):
            raise PersonalizationError(self.name, exc.reason, exc.slot_id) from exc
        raise PersonalizationError(self.name, f"{type(exc).__name__}: {exc}", self.slot) from exc


def random_decision_id() -> str:
    """A new decision's id: a random UUID (its hash is the decision's draw, ``bandits/randomness.py``)."""
    return uuid.uuid4().hex


def rejected_summary(path: str, error: str) -> str:
    """One line for ``/_sw/health``: the count and the first problem (``file:line:column: message``),
    not the count alone, so an alert says where to look."""
    head, *issues = error.splitlines()  # "N errors in rules:", then one issue a line
    return f"{head.rstrip(':')}; first: {issues[0]}" if issues else f"{path}: {head}"


class SlotwisePersonalizer:
    """Rules + profiles + bandits behind the forwarding layer.

    ``decision_ids`` makes each new decision's id (default: a random UUID). A bench passes a seeded
    source so two codes meet the same draws (the policy's randomness is a hash of the id)."""

    def __init__(self, settings: Settings, *, store: Store | None = None,
                 clock: Callable[[], float] = time.time,
                 decision_ids: Callable[[], str] = random_decision_id) -> None:
        self.settings = settings
        self.clock = clock
        self.decision_ids = decision_ids
        self._absent_said: set[tuple[str, str]] = set()  # (slot, selector) named in the log as matching nothing
        key = settings.signing_key()
        self.cookies = VisitorCookies(key, name=settings.cookie_name)
        self.previews = PreviewLinks(key, settings.preview_ttl, clock)
        self.tokens = DecisionTokens(key)
        # a stop waits for the queued page views within the worker's share of --stop-timeout, then says what it loses
        self.store = store or open_store(settings.store, settings.data, close_timeout=settings.worker_stop_budget)
        self.switches = KillSwitches(self.store)
        self.bar = PreviewBar(self.previews)
        self.rules: RulesHolder[RuleSet] | None = ruleset_holder(settings.rules) if settings.rules else None
        own_currency = self._of_rules(lambda rs: rs.catalog.currency)  # a catalog row's own price is in it
        self.pageviews = PageViewRecorder(self.store, urlsplit(settings.storefront).netloc,  # tag-only: --public-url's
                                          own_currency=own_currency)
        self.categories = CatalogCategories(self.store)  # its product rows serve the event recorder too
        self.readings = PageReadings()
        self.page_slots = PageSlots()
        self.digests = PageDigests()
        self.recorder = EventRecorder(self.store, on_events=self._on_events, claim_cap=settings.max_claimed_order,
                                      sizes=self._of_rules(lambda rs: rs.catalog.size_vocabulary),
                                      revenue=self._of_rules(lambda rs: rs.revenue), on_unconverted=count_unconverted_order,
                                      rows=self.categories.rows)
        self.capture = Capture(self.store, self.recorder, self.pageviews, self.categories, clock,
                               tag_only=settings.tag_only)
        self.feeds = FeedLoader(self.store, settings.storefront, clock, own_currency)
        self.journeys = JourneyLoader(self.store)
        self.absence = SlotAbsence(self.store, settings.slot_health_flush,  # --slot-health-flush
                                   slots=self._of_rules(lambda rs: [slot.id for slot in rs.slots]))
        self._feed_task: asyncio.Task[None] | None = None
        self._absence_task: asyncio.Task[None] | None = None
        self.learning = LearningLoop(self.store, follower=settings.store.startswith(("redis", "rediss", "unix")),
                                     max_pending=settings.learner_max_pending, clock=clock)
        self._configured_version = -1
        self._forget_stop_listener: Callable[[], None] = lambda: None
        self.tag_api = TagAPI(
            settings, self.store, self.cookies,
            decide=self.decide_for_tag, recorder=self.recorder, consent_mode=self.consent_mode,
            expand=self._expand, signed_login=self._signed_login, tag_config=lambda: tag_config(self.ruleset(), tag_only=settings.tag_only), is_bot=is_bot,
            now=clock, webhook=settings.webhook_url or None,
            outbox_options={"on_attempt": count_webhook_attempt},
            signals=self._of_rules(lambda rs: rs.signals), picks=self._mail_picks,
            orders=self._of_rules(lambda rs: rs.capture.orders),
        )

    # -- lifecycle ---------------------------------------------------------
    async def startup(self) -> None:
        # a worker told to stop (even while it starts) takes no learning over: the one that goes on serving does
        self._forget_stop_listener = when_told_to_stop(self.learning.stopping_soon)
        slots: dict[str, SlotConfig] | None = {}
        if self.rules is not None:
            self.rules.reload()
            self.rules.start()
            if self.rules.current is not None:
                slots = slot_configs(self.rules.current)
                self._configured_version = self.rules.status.version
            else:  # a broken file: the models keep their slots (and what they learned) until it is fixed
                slots = None
        await self.learning.start(slots)
        await self.tag_api.startup()
        self._warm()
        self._feed_task = asyncio.get_running_loop().create_task(self._keep_feed_fresh())
        self._absence_task = asyncio.get_running_loop().create_task(self.absence.run())

    def _warm(self) -> None:
        """Builds before the first page what the first page would otherwise build inside its time budget:
        the tags for the current rules (reading ``tag.js``, compacting it, gzip at level 9: ~4.5 of the
        first page's 8.4 ms in a new process, several times that on a loaded machine, where the default
        50 ms budget is near), and the script for waiting slots (``late``)."""
        try:
            self.tag_api.assets.current("proxy")
            self.tag_api.assets.current("full")
            self.tag_api.assets.current("late")
        except Exception:  # the page that needs it fails open with the reason; the worker still starts
            log.warning("building the tag at start failed; pages will try again", exc_info=True)

    async def _keep_feed_fresh(self, every_s: float = 30.0) -> None:
        """Loads the rules' product feed at start, when it changes, and every few minutes: each round asks the
        store whether this worker is the one to (``FeedLoader.refresh``); a store away skips the round."""
        while True:
            ruleset = self.ruleset()
            try:
                catalog = ruleset.catalog if ruleset is not None else None
                await self.feeds.refresh(catalog.feed if catalog else None, catalog.feed_mapping if catalog else None)
            except Exception as exc:  # the store may be away; the next round tries again
                if not is_outage(exc):
                    log.warning("product feed refresh failed", exc_info=True)
            await asyncio.sleep(every_s)

    async def shutdown(self) -> None:
        self.learning.stopping_soon()  # before the waits below, during which its steps still run
        self._forget_stop_listener()
        await cancel_and_wait(self._feed_task)
        await cancel_and_wait(self._absence_task)
        try:  # this worker's last counts, if the store takes them at once: never a stop held up by them
            await asyncio.wait_for(self.absence.flush(), timeout=min(1.0, self.settings.worker_stop_budget))
        except asyncio.TimeoutError:
            log.info("slot presence: this worker's last counts not saved (the store was slow)")
        if self.rules is not None:
            await self.rules.stop()
        # the snapshot before this worker's last page views: its wait for the SQLite lock bounded by the
        # worker's share of --stop-timeout, where SQLite's own 10 s could outlast the kill
        await self.learning.stop(within_s=self.settings.worker_stop_budget)
        await self.tag_api.shutdown()
        await self.store.close()

    def routes(self) -> Sequence[BaseRoute]:
        return [*self.tag_api.routes(), *admin_routes(self), *self.bar.routes()]

    async def health(self, report: HealthReport) -> None:
        """``/_sw/health``'s checks: the rules on disk, the store, the learner's lag; what waits in the
        webhook outbox (``webhook``) and how the product feed's last read went (``feed``), never reasons."""
        if self.rules is not None and self.rules.status.error:
            report.add("rules_invalid", rejected_summary(self.rules.status.path, self.rules.status.error))

        async def position() -> int:
            if not self.learning.follower:  # the in-process learner
                return int(self.learning.learner.seq)
            seq_of = getattr(self.store, "snapshot_seq", None)  # the learner process's last snapshot
            return int(await seq_of(SNAPSHOT_NAME) or 0) if seq_of is not None else int(self.learning.learner.seq)

        await check_store(report, self.store, position, max_lag_s=self.settings.health_max_lag, now=self.clock)
        outbox = self.tag_api.outbox
        if outbox is None:
            report.webhook = {"configured": False}
        elif "store_unavailable" in report.reasons:  # the read would only wait for the deadline
            report.webhook = webhook_unknown(outbox.url)
        else:
            report.webhook = await check_webhook(self.store, outbox.url, self.clock())
        lease = rules_lease(self.ruleset())
        if lease is not None and "store_unavailable" in report.reasons:
            report.feed = feed_unknown(lease)
        else:
            report.feed = await check_feed(self.store, lease, self.clock())

    async def _mail_picks(self, profile: Profile, spec: Any) -> list[dict[str, Any]]:
        """The follow-up e-mail's products: the recommendation slot's ranking, the person's strongest
        interest standing for the page's category."""
        ruleset = self.ruleset()
        strongest = next(iter(interests(profile, ruleset.signals.interests if ruleset else InterestRules())), None)
        return await picks_for(self.store, spec, profile, strongest)

    def _on_events(self, visitor_id: str, events: Any) -> None:
        """New events are in the log: let the learner read them now rather than at its next poll."""
        self.learning.poke()

    def consent_mode(self) -> str:
        ruleset = self.ruleset()
        return ruleset.consent if ruleset is not None else "implied"

    def _of_rules(self, part: Callable[[RuleSet], Any]) -> Callable[[], Any]:
        """A reader of one part of the current rules (None while none have loaded), for the parts that read
        it when they need it: a rules reload changes what they read."""
        return lambda: part(rs) if (rs := self.ruleset()) is not None else None

    def ruleset(self) -> RuleSet | None:
        if self.rules is None:
            return None
        current = self.rules.current
        if current is not None and self.rules.status.version != self._configured_version:
            self._configured_version = self.rules.status.version
            self.learning.configure(slot_configs(current))
        return current

    # -- per request -------------------------------------------------------
    def passes_through(self) -> bool:
        """Without rules (``slotwise serve`` as a plain proxy) no forwarded request is touched."""
        return self.rules is None

    async def on_request(self, flow: Flow) -> None:
        """Who is asking: bots are left alone; everyone else has a signed id.

        Without rules (``slotwise serve`` as a plain proxy) nothing reads the id, no page is
        rewritten and no cookie would be set: the request goes through untouched."""
        if self.rules is None:
            return
        cookie_headers = [v for k, v in flow.headers if k == "cookie"]
        if is_bot(flow.header("user-agent")):
            flow.is_bot = True
            flow.extra_headers.append(("server-timing", BOT_SERVER_TIMING))  # why there is no tag, no cookie
            self._read_preview(flow, cookie_headers)  # a tester's headless browser: the bar says "bot"
            return
        visitor_id = self.cookies.read(cookie_headers)
        if visitor_id is None:
            visitor_id = self.cookies.new_id()
            flow.visitor = Visitor(visitor_id, True, self.cookies.set_cookie(visitor_id, flow.scheme == "https"))
        else:
            flow.visitor = Visitor(visitor_id, False)
        self._read_preview(flow, cookie_headers)
        ruleset = self.ruleset()
        # a preview records nothing (the marketer's clicks are not the store's traffic)
        if (ruleset is not None and not ruleset.capture.empty and "preview" not in flow.state
                and self.capture.on_request(flow, ruleset)):
            flow.keep_request_body = CAPTURE_MAX_BODY
            flow.wants_response = True

    async def on_response(self, flow: Flow) -> None:
        """A request the rules capture got its answer: the store's success decides what is recorded."""
        ruleset = self.ruleset()
        if ruleset is None or flow.visitor is None or flow.header("sec-gpc", "").strip() == "1":
            return
        if ruleset.consent == "required":
            existing = await self.store.get_profile(flow.visitor.id)
            if existing is None or existing.consent != "granted":
                return

        def new_visitor() -> tuple[str, str]:
            visitor_id = self.cookies.new_id()
            return visitor_id, self.cookies.set_cookie(visitor_id, flow.scheme == "https")

        await self.capture.on_response(flow, ruleset, new_visitor)
        if flow.visitor.set_cookie and "logged_out" not in flow.state:
            flow.extra_headers.append(("set-cookie", flow.visitor.set_cookie))  # what we recorded is this browser's
            flow.visitor.set_cookie = None

    def _read_preview(self, flow: Flow, cookie_headers: list[str]) -> None:
        token = dict(parse_qsl(flow.query_string)).get(PREVIEW_PARAM) if PREVIEW_PARAM in flow.query_string else None
        from_query = token is not None
        if token is None:
            for header in cookie_headers:
                token = cookie_value(header, PREVIEW_COOKIE)
                if token:
                    break
        forced = self.previews.read(token)
        if forced is None:
            if self.previews.expired(token):  # say so, and drop the cookie that keeps it
                flow.extra_headers.append(("x-slotwise-preview", EXPIRED_HEADER))
                flow.extra_headers.append(("set-cookie", f"{PREVIEW_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"))
            return
        flow.state["preview"] = forced
        flow.state[BUDGET_EXEMPT] = True  # past the budget, the bar says so (see on_html)
        # on every answer under the link, a redirect too: how `slotwise preview` tells that this server took it
        flow.extra_headers.append(("x-slotwise-preview", "on"))
        if from_query:  # keep it on while the marketer clicks through (session cookie)
            flow.extra_headers.append(
                ("set-cookie", f"{PREVIEW_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax")
            )

    def wants_body(self, flow: Flow) -> bool:
        return (
            ((not flow.is_bot and flow.visitor is not None) or "preview" in flow.state)
            and flow.method == "GET"
            and flow.status == 200
            and fragment_request(flow) is None  # a script's fetch: never tagged, keeps its caching
            and self.ruleset() is not None
        )

    def html_cache_allowed(self, flow: Flow) -> bool:
        """May this request use the upstream HTML cache: rules to personalize with, and not logged in
        (``Authorization``, the rules' ``cache.login_cookies``) unless its page type is ``same_for_everyone``:
        asked before the page is read, so a page whose markup says its type (``catalog.page_types``) is one
        only when every type it may be is."""
        ruleset = self.ruleset()
        if ruleset is None:
            return False  # nothing to personalize: the store's own caching applies, untouched
        cache = ruleset.cache
        if flow.header("authorization") is None and not cache.logged_in([v for k, v in flow.headers if k == "cookie"]):
            return True
        return bool(cache.same_for_everyone) and all(map(cache.shared, ruleset.catalog.url_type(flow.path).possible))

    def fresh_for(self, flow: Flow) -> float | None:
        """Seconds until a slot or variant that could apply on this page opens or closes its ``active``
        window, or until the clock unit a running slot's ``when`` reads turns (``time.hour``: the next
        full hour), None when nothing will: a page keeping the store's caching may be kept no longer
        (``freshness_cap``), or a CDN would serve the store's page after a campaign started."""
        ruleset = self.ruleset()
        if ruleset is None or not ruleset.timed:  # nothing changes by the clock: nothing to cap (once per load)
            return None
        now = self.clock()
        edges = [e for slot in self._slots(flow, ruleset)
                 if slot.timed and (e := slot.next_change(now, ruleset.timezone)) is not None]
        return min(edges) - now if edges else None

    def edit_selectors(self, flow: Flow) -> list[str] | None:
        """Every element ``on_html`` may edit on this page is matched by one of these (streaming)."""
        ruleset = self.ruleset()
        if ruleset is None:
            return None
        return [slot.selector for slot in self._slots(flow, ruleset)]

    def _slots(self, flow: Flow, ruleset: RuleSet) -> Sequence[Slot]:
        """The request's slots under ``ruleset``, found once per request (streaming asks first, then
        ``on_html``) and kept per what the rules read of a request (``page_slots``); rules reloaded in
        between are asked afresh."""
        kept = flow.state.get(_SLOTS)
        if kept is not None and kept[0] is ruleset:
            return kept[1]  # type: ignore[no-any-return]
        slots = self.page_slots.slots(ruleset, flow.path, flow.query_string, flow.headers)
        flow.state[_SLOTS] = (ruleset, slots)
        return slots

    def on_stream(self, flow: Flow) -> None:
        """A streamed page's head leaves before ``on_html``: the headers it would add that are known now."""
        if flow.visitor is not None and flow.visitor.set_cookie and (flow.header("sec-gpc") or "").strip() != "1":
            flow.extra_headers.append(("set-cookie", flow.visitor.set_cookie))

    async def on_html(self, flow: Flow, html: bytes) -> bytes | None:
        ruleset = self.ruleset()
        if ruleset is None:
            return None
        if flow.visitor is None:  # a bot: left alone; with a preview link, the bar says why
            if "preview" not in flow.state:
                return None
            work = PageWork(ruleset, page_reason="bot")
            bar = self.bar.markup(flow, work, flow.state["preview"], page_nonce(html, flow.charset))
            return inject_before_body_end(html, bar.encode(), not_before=flow.html_sent, charset=flow.charset)
        started = time.perf_counter()
        work = PageWork(ruleset)
        now = self.clock()
        query = parse_qsl(flow.query_string, keep_blank_values=True)
        digest = await digest_of(html, self.digests)  # one digest per page view keys every per-page cache
        with stage("rules"):
            reading = await self._read_page(flow, html, digest, ruleset)
            url = flow.url
            page = self.readings.facts(reading, ruleset, flow.path, tuple(query), url, functools.partial(
                page_facts, flow.path, query, None, ruleset, url=url, reading=reading))  # the page is its reading
            request = request_facts(flow.headers, query)
            flow.state["reading"] = reading
        forced = flow.state.get("preview")
        with stage("store"):
            own, page = page, await self.categories.of(page)  # a page naming no category: the catalog's
            personalize = await self._profile_step(flow, work, page, request, now, forced, html, own.product)
        if personalize:
            await self._decide_step(flow, work, page, request, now, forced)
        # the proxy records page views itself: the tag must not count them again
        tag_data = {"pageview": "off"}
        if ruleset.consent == "required" and not (work.profile and work.profile.consent == "granted"):
            tag_data["consent"] = "required"  # the tag sends nothing until the visitor consents
        nonce = self.readings.nonce(digest, html, flow.charset)
        script = _tag_script(nonce, tuple(tag_data.items()), self.tag_api.assets.url())
        body, tailed = html, False
        if work.edits:
            # the tag's script goes into the splice's own copy of the page when it can (not for a
            # preview, whose bar reads the result and whose page may yet be the store's: below)
            at = self.readings.body_end(digest, html) if forced is None and not flow.html_sent and ascii_compatible(flow.charset) else None
            with stage("rewrite"):
                result = await page_work(len(html), rewrite, html, work.edits, encoding=flow.charset,
                                         frozen=flow.html_sent, digest=digest,
                                         tail=(at, script.encode()) if at is not None else None,
                                         cached=has_targets(digest, work.edits, flow.charset))
            body, tailed = result.body, result.tailed
            flow.personalized = result.changed
            if forced is None:  # a preview records nothing
                self._note_presence(flow, work, result, now)
            self._drop_absent(flow, work, result)
        if work.choices and forced is not None and self._out_of_budget(flow, started):
            # a preview is exempt from failing open on time: it says visitors would get the store's page
            work.page_reason, body, flow.personalized = "budget", html, False
            work.edits, work.waiting = [], []
        # rewritten here: watched for re-renders (wait), or told to the store's script (click: the browser's
        # change or click, once the page has loaded: late_decisions)
        shown = [c for c in work.choices if (c.slot.wait_ms or c.slot.click) and c.edit is not None]
        if work.waiting or shown:  # decisions on elements the store's script renders: the page carries them
            late = late_script(work.waiting, shown, self, nonce)
            flow.personalized = True
            if tailed:
                body = inject_before_body_end(body, late.encode(), not_before=flow.html_sent, charset=flow.charset)
            else:
                script += late
        # logged by ``commit`` once the page is certain to go out (``forward_safe``), not here
        flow.state[_UNLOGGED] = (work, now)
        flow.state["same_for_everyone"] = not flow.personalized and not flow.visitor.set_cookie
        if forced is not None:  # the preview bar: only ever on a page opened with a preview link
            script += self.bar.markup(flow, work, forced, nonce)
        if not tailed:
            body = inject_before_body_end(body, script.encode(), not_before=flow.html_sent, charset=flow.charset)
        if flow.visitor.set_cookie and not request.gpc:  # Global Privacy Control: no identifier either
            flow.extra_headers.append(("set-cookie", flow.visitor.set_cookie))
        elapsed = (time.perf_counter() - started) * 1000
        flow.timings["sw"] = elapsed  # slotwise_rewrite_seconds is observed once, around this call (forward_safe)
        applied = ",".join(
            [f"{c.slot.id}={c.variant.id if c.variant is not None else 'holdout'}" for c in work.choices]
            + [f"{c.slot.id}={c.variant.id if c.variant is not None else 'holdout'} (waits)" for c in work.waiting]
        )  # a waiting slot's decision is in the page's ``late`` script: the browser applies it
        flow.extra_headers.append(("server-timing", f'sw;dur={elapsed:.2f};desc="{applied or "none"}"'))
        return body

    def _note_presence(self, flow: Flow, work: PageWork, result: RewriteResult, now: float) -> None:
        """Counts each decided slot's element found or not on this page (``slot_absence``: the admin page's
        health line); a slot that waits for the store's script is counted by the tag, after its wait."""
        matches = result.matches
        index = {id(edit): i for i, edit in enumerate(work.edits)}
        sent = frozen_errors(result.errors) if flow.html_sent else ()  # found, in the part already streamed
        for choice in work.choices:
            if choice.edit is None or choice.slot.wait_ms or (i := index.get(id(choice.edit))) is None:
                continue
            found = matches.get(i, 1) > 0 or i in sent
            if not found and flow.html_sent and result.fallback_reason:  # not looked for (transcoded): not known
                continue
            self.absence.note(choice.slot.id, choice.slot.selector, flow.path, found, now)

    def _drop_absent(self, flow: Flow, work: PageWork, result: RewriteResult) -> None:
        """Choices whose slot is not on the page (its selector matched no element, or the element had
        already been sent) were never shown: not logged, learned nor kept sticky. A purchase goal would
        otherwise reward a typo'd selector's decisions; the log names each such slot once. A slot with
        ``wait``, whose element the store's script renders in the browser, is not in the HTML by design:
        its choice waits (``work.waiting``: applied by the browser, logged when it says so, never here:
        ``late_decisions``). A slot that
        is there keeps its decision even when the variant could not act on it (a size not offered):
        the rewriter still marks the element with the decision (``rewriter._decide``), so it counts,
        and the tag reports its exposure and clicks. Whether a decision counts must not depend on the
        variant drawn, or the control would be measured on pages the variant is not: the holdout, a control
        and a popup's no-popup arm are dropped here too, their edit (``choices.mark_only``) placed where a
        variant's would be."""
        absent = {id(work.edits[i]) for i, n in result.matches.items() if n == 0}
        if not absent:
            return
        kept = []
        for choice in work.choices:
            if choice.edit is None or id(choice.edit) not in absent:
                kept.append(choice)
                continue
            if choice.slot.wait_ms:
                work.waiting.append(choice)
                continue
            work.skipped[choice.slot.id] = "absent"
            key = (choice.slot.id, choice.slot.selector)
            if key not in self._absent_said and len(self._absent_said) < 1000:
                self._absent_said.add(key)
                log.info("slot %r: selector %r matched nothing on %s: no decision logged there;"
                         " `slotwise rules check RULES --url URL` shows what matches",
                         choice.slot.id, choice.slot.selector, flow.path)
        work.choices = kept

    async def _read_page(self, flow: Flow, html: bytes, digest: bytes, ruleset: RuleSet) -> PageReading:
        """The page read once per distinct page (``page_readings``): a kept reading on the loop, a new
        one in a page-work thread; with the rules' cookie fields filled from the page's cookies
        (``rules.cookies``), kept per distinct page and cookie values."""
        url_type = ruleset.catalog.url_type(flow.path)  # open: the page's markup says its type (read here too)
        groups = ruleset.catalog.page_groups(url_type)
        if not ruleset.capture.empty:
            groups.update(ruleset.capture.page_groups(flow.path, flow.query_string, flow.headers))
        structured = url_type.reads_product
        key = self.readings.key(digest, ruleset, tuple(sorted(groups)), structured, flow.charset)
        reading = self.readings.get(key, ruleset)
        if reading is None:
            read = functools.partial(self._bounded_read, html, ruleset, groups, structured, flow.charset)
            reading = await page_work(len(html), self.readings.read, key, ruleset, read)
        if not reads_cookies(groups):
            return reading
        values = cookie_values(groups, page_cookies(flow.headers, flow.response_headers, own=self.cookies.name))
        return self.readings.read((key, values), ruleset, functools.partial(with_cookies, reading, groups, values))

    @staticmethod
    def _bounded_read(html: bytes, ruleset: RuleSet, groups: dict[str, Any], structured: bool,
                      charset: str = "utf-8") -> PageReading:
        """Reads the page in its charset (``bytes_to_read``: here, in the page-work thread with the parse,
        not on the loop); one over a bound of ``slotwise.html.bounds`` raises before anything parses it."""
        html = bytes_to_read(html, charset)
        check_page(html)
        return read_html(html, ruleset.catalog, groups, structured=structured)

    def commit_pending(self, flow: Flow) -> bool:
        """Whether ``commit`` has decisions to log for this page: a returning visitor's sticky choices
        and a holdout's kept one have none (no record), and then the fail-open wrapper skips it."""
        unlogged = flow.state.get(_UNLOGGED)
        return unlogged is not None and flow.visitor is not None and any(c.record is not None for c in unlogged[0].choices)

    async def commit(self, flow: Flow) -> None:
        """The page ``on_html`` made goes out: log its new decisions (with their propensities) and
        keep them sticky. Only decisions a page really shows are logged."""
        unlogged = flow.state.pop(_UNLOGGED, None)
        if unlogged is None or flow.visitor is None:
            return
        work, now = unlogged
        with stage("store"):
            await self._persist_decisions(flow.visitor.id, work, now)

    def _out_of_budget(self, flow: Flow, started: float) -> bool:
        """This page's personalization has used up its time budget (``personalize_budget_ms``, less
        what earlier steps of the same page spent, as the fail-open wrapper counts it)."""
        spent = float(flow.state.get(SPENT_MS, 0.0)) + (time.perf_counter() - started) * 1000.0
        return spent > self.settings.personalize_budget_ms

    async def _persist_decisions(self, visitor_id: str, work: PageWork, now: float) -> None:
        """Logs the page's new decisions (with their propensities) and keeps them sticky."""
        fresh = [c.record for c in work.choices if c.record is not None]
        await self.persist_decisions(visitor_id, fresh, work.profile.session_start if work.profile else now, now)

    async def persist_decisions(self, visitor_id: str, records: Sequence[dict[str, Any]], session_start: float,
                                now: float) -> None:
        """Logs decisions that are on a page now (rendered by the proxy, or applied by the tag)."""
        if not records:
            return
        await self.store.append([LogRecord("decision", r["decision_id"], visitor_id, now, r) for r in records])
        slots = {r["slot"]: (r["slot"], r.get("arm") or HOLDOUT_ARM, r["decision_id"]) for r in records}  # the last per slot
        sticky = AssignRecord(tuple((slot, str(arm), str(decision_id), float(now), float(session_start))
                                    for slot, arm, decision_id in slots.values()))
        await self.store.update_profile_soon(visitor_id, sticky, now)  # data: other workers replay it

    def _opened(self, visitor_id: str, tokens: Sequence[str], now: float) -> list[dict[str, Any]]:
        records = [r for r in (self.tokens.open(t, visitor_id, now) for t in tokens) if r is not None]
        if len(records) < len(tokens):
            log.info("ignored %d decision token(s) not issued to this visitor", len(tokens) - len(records))
        return records

    def _selector_of(self, slot_id: str) -> str | None:
        ruleset = self.ruleset()
        try:
            return ruleset.slot(slot_id).selector if ruleset is not None else None
        except KeyError:  # a slot the rules no longer have
            return None

    async def confirm_applied(self, visitor_id: str, tokens: Sequence[str], now: float, url: str | None = None) -> int:
        """The tag applied these decisions (tag-only mode, and a slot that waits): now they are logged, and
        sticky; and their slots' elements were found (``slot_absence``)."""
        records = self._opened(visitor_id, tokens, now)
        self.absence.note_decisions(records, url, True, now, self._selector_of)
        profile = await self.store.get_profile(visitor_id)
        await self.persist_decisions(visitor_id, records, profile.session_start if profile else now, now)
        return len(records)

    async def _profile_step(self, flow: Flow, work: PageWork, page: Any, request: Any, now: float,
                            forced: dict[str, str] | None, html: bytes = b"",
                            shown: Mapping[str, Any] | None = None) -> bool:
        """Records the view (unless forbidden) under the page's category; returns whether to personalize.
        The catalog learns ``shown``, the product as the page itself shows it (not a category it took
        from the catalog: that is the catalog's already, and must not outlive a feed's change of it)."""
        assert flow.visitor is not None
        if request.gpc:
            work.page_reason = "gpc"
            return False  # Global Privacy Control: an opt-out of profiling and personalization
        if forced is not None:
            work.profile = await self.store.get_profile(flow.visitor.id)
            if self.previews.is_off(forced):
                work.page_reason = "off"
            elif work.ruleset.consent == "required" and (work.profile is None or work.profile.consent != "granted"):
                work.page_reason = "consent"
            return work.page_reason is None
        if work.ruleset.consent == "required":
            existing = await self.store.get_profile(flow.visitor.id)
            if existing is None or existing.consent != "granted":
                work.page_reason = "consent"
                return False
        reading = flow.state.get("reading")
        if reading is not None and reading.groups and not flow.html_sent:
            await self._another_person(flow, reading)
        product = shown if shown and shown.get("id") else None  # read-only, kept per page
        work.profile = await self.pageviews.record(flow.visitor.id, now, category=page.category, product=product)
        if reading is not None and (reading.groups or work.profile.pending):
            work.profile = await self.capture.on_page(flow.visitor.id, html, reading, work.ruleset, work.profile, now,
                                                      charset=flow.charset)
        return True

    async def _another_person(self, flow: Flow, reading: Any) -> None:
        """The page names a customer other than the person this browser is (a shared computer, a logout the
        rules did not see): the browser gets a fresh visitor id, as on a logout, before anything of this page
        is recorded, so neither person's history reaches the other."""
        assert flow.visitor is not None
        if not await self.capture.page_names_another_person(reading, flow.visitor.id):
            return
        visitor_id = self.cookies.new_id()
        flow.visitor = Visitor(visitor_id, True, self.cookies.set_cookie(visitor_id, flow.scheme == "https"))

    async def _decide_step(self, flow: Flow, work: PageWork, page: Any, request: Any, now: float,
                           forced: dict[str, str] | None) -> None:
        assert flow.visitor is not None
        ruleset, profile, visitor_id = work.ruleset, work.profile, flow.visitor.id
        slots = self._slots(flow, ruleset)
        if not slots:
            return
        switches = await self.switches.current()
        if switches.all_off:
            work.page_reason = "all-off"
            return
        running = [s for s in slots if (s.runs(now) or (forced is not None and s.id in forced))
                   and not switches.slot_off(s.id)]
        with stage("store"):  # the journey facts of the slots that can apply now (closed or killed: none)
            journeys = await self.journeys.load(ruleset, profile, page, running, now, record=forced is None)
        ctx = build_context(profile, page, request, visitor_id, ruleset.signals, journeys,
                            time_facts(now, ruleset.timezone))
        holdout = in_holdout(visitor_id, ruleset.holdout)
        # the one context definition (rules.context); own referrers told by the request's own Host.
        # Built only for a new decision: a returning visitor's sticky choices never read it
        features = _Features(ctx, flow.state.get("request_host") or flow.public_host)
        for slot in slots:
            if switches.slot_off(slot.id):
                work.skipped[slot.id] = "killed"
                continue
            if not slot.runs(now) and not (forced is not None and slot.id in forced):  # a preview may look ahead
                work.skipped[slot.id] = "window"  # outside its ``active`` window: as if its ``when`` were false
                continue
            with stage("rules", slot.id):
                if not slot.applies(ctx):
                    work.skipped[slot.id] = "when"
                    continue
            with stage("decide", slot.id):
                choice = self._choose(slot, profile, visitor_id, now, holdout, forced, features, ruleset)
            work.choices.append(choice)
            if choice.variant is None:  # the holdout: on the slot's element like a control (``mark_only``)
                choice.edit = mark_only(slot, choice.decision_id)
                work.edits.append(choice.edit)
                continue
            recommendations = None
            if getattr(choice.variant, "recommend", None) is not None:
                with stage("store", slot.id):
                    recommendations = await fetch_recommendations(self.store, choice.variant.recommend, page, profile,
                                                                  ruleset.catalog.patterns)
            with stage("render", slot.id):
                edit = slot.render(choice.variant, ctx, choice.decision_id, recommendations=recommendations)
            choice.edit = edit if edit is not None else mark_only(slot, choice.decision_id)
            work.edits.append(choice.edit)

    def _choose(self, slot: Slot, profile: Profile | None, visitor_id: str, now: float, holdout: bool,
                forced: dict[str, str] | None, features: _Features, ruleset: RuleSet) -> SlotChoice:
        """The slot's variant for this visitor (None: the holdout), with the reason. A preview
        forces the variants it names; its other slots decide as for a visitor, logging nothing."""
        if forced is not None and forced.get(slot.id) in slot.arms:  # any variant, its window open or not
            return SlotChoice(slot, slot.variant(forced[slot.id]), "preview", reason="forced")
        variants = {v.id: v for v in slot.offered(now)}  # the variants whose ``active`` window is open
        choice = self._visitor_choice(slot, variants, profile, visitor_id, now, holdout, features, ruleset)
        if forced is not None:  # shown to the marketer, never logged nor kept sticky
            choice.record, choice.decision_id = None, "preview"
        return choice

    def _visitor_choice(self, slot: Slot, variants: dict[str, Variant], profile: Profile | None, visitor_id: str,
                        now: float, holdout: bool, features: _Features, ruleset: RuleSet) -> SlotChoice:
        sticky = profile.assignments.get(slot.id) if profile is not None else None
        if sticky is not None and self._sticky_holds(slot, sticky, profile):
            arm = sticky["arm"]
            if arm == HOLDOUT_ARM and holdout:
                return SlotChoice(slot, None, sticky["decision_id"], reason="holdout")
            if arm in variants and not holdout:
                return SlotChoice(slot, variants[arm], sticky["decision_id"], reason="sticky")
        decision_id = self.decision_ids()
        window_s, window_mode = ruleset.attribution_window
        extras = {"goal": slot.goal, "window": window_s, "window_mode": window_mode,
                  "holdout_share": ruleset.holdout, "policy_spec": slot.policy_spec, "arms": list(slot.arms)}
        if holdout:
            record = {
                "decision_id": decision_id, "ts": now, "visitor_id": visitor_id, "slot": slot.id, "arm": None,
                "propensity": ruleset.holdout, "policy": "holdout", "model_version": "", "context": {},
                "holdout": True, **extras,
            }
            return SlotChoice(slot, None, decision_id, record, reason="holdout")
        # the draw comes from the decision id: independent across workers, instances and reloads
        offered = tuple(variants) if len(variants) < len(slot.variants) else None  # None: every arm
        decision = self.learning.learner.decide(slot.id, features=features.get(), decision_id=decision_id,
                                                arms=offered)
        record = decision.record(decision_id, now, visitor_id, slot.id).to_dict()
        variant = variants[decision.arm]
        record.update(extras)
        if offered is not None:  # the arms this decision was drawn among (``arms``: all the rules have)
            record["offered"] = list(offered)
        record["cost"], record["cost_rate"] = variant_costs(variant)
        return SlotChoice(slot, variant, decision_id, record, propensity=decision.propensity)

    @staticmethod
    def _sticky_holds(slot: Slot, sticky: dict[str, Any], profile: Profile | None) -> bool:
        mode = slot.sticky
        if mode == "none" or profile is None:
            return False
        if mode == "visitor":
            return True
        return sticky.get("session_start") == profile.session_start

    async def decide_for_tag(self, request: Any, visitor_id: str, url: str,
                             extract: Any = None) -> dict[str, Any]:
        """Tag-only mode: the same decisions, returned as edits for the browser to apply."""
        from slotwise.proxy.personalization.tag_decide import decide_for_url

        return await decide_for_url(self, request, visitor_id, url, extract)

    def _signed_login(self, visitor_id: str, url: str, extract: Any, now: float) -> list[Any]:
        """Tag-only ``POST /decide``: the page's customer id, when the store signed it (``Capture.signed_login``)."""
        return self.capture.signed_login(visitor_id, url, extract, now, self.ruleset())

    async def _expand(self, visitor_id: str, items: Any, now: float) -> list[Any]:
        """The tag's events before they are stored: applied decisions are logged, absent ones counted
        (neither stored as an event), captures expanded."""
        rest = []
        for item in items:
            if item.event.type == "applied":
                await self.confirm_applied(visitor_id, item.event.props.tokens, now, item.event.url)
                self.learning.poke()
            elif item.event.type == "absent":  # their element never came: nothing logged, the slot's health told
                records = self._opened(visitor_id, item.event.props.tokens, now)
                self.absence.note_decisions(records, item.event.url, False, now, self._selector_of)
            else:
                rest.append(item)
        return await self.capture.expand(visitor_id, rest, now, self.ruleset())


class _Features:
    """A page view's one-hot features (``Context.features``), built on the first new decision only:
    the sticky choices of a returning visitor and the holdout never read them (~5–10 µs a page)."""

    __slots__ = ("ctx", "own_host", "_built")

    def __init__(self, ctx: Context, own_host: str | None) -> None:
        self.ctx = ctx
        self.own_host = own_host
        self._built: dict[str, float] | None = None

    def get(self) -> dict[str, float]:
        if self._built is None:
            self._built = self.ctx.features(self.own_host)
        return self._built


@functools.lru_cache(maxsize=1024)
def _tag_script(nonce: str | None, data: tuple[tuple[str, str], ...], src: str) -> str:
    """``script_tag`` kept by all it is made of: the same few elements go into every page."""
    return script_tag(nonce, data=dict(data), src=src)


def build_personalizer(settings: Settings) -> SlotwisePersonalizer:
    return SlotwisePersonalizer(settings)
