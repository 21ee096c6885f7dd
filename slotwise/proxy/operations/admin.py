"""The admin page (``/_sw/admin``): rules status, slot reports with charts, kill switches,
learning restarts, preview links, a visitor lookup, one line while webhook messages wait, and one
on the product feed's last read.

Signing in: open ``/_sw/admin`` and give the admin token (``--admin-token``)
in the form; the answer sets a session cookie (``slotwise.tag.admin_session``:
HttpOnly, SameSite=Strict, Secure over https, 12 hours). ``/_sw/admin?token=TOKEN``
signs in the same way in one click (the token then sits in the browser's
history, so the form is the way on a shared machine). Scripts send
``Authorization: Bearer TOKEN`` instead. Failed sign-ins are throttled per
client (``admin_throttle``). Signing out revokes the session in the state store, on every
worker and instance (``admin_session``). Every state-changing request (sign-out, kill
switch, learning restart, erase) is a POST that carries the session's CSRF token; the page
allows no framing and runs no script. Without a configured token the page is
disabled (fails closed).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import uuid
from collections import defaultdict
from dataclasses import asdict
from html import escape
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from slotwise.bandits.goals import is_binary
from slotwise.client_origin import origin_of
from slotwise.proxy.operations.admin_html import scrolled, utc_text
from slotwise.proxy.operations.admin_schedules import render_schedules
from slotwise.proxy.operations.admin_stages import funnel, render_funnel
from slotwise.proxy.operations.charts import line_chart
from slotwise.proxy.operations.kill_switch import ALL
from slotwise.proxy.operations.preview_pages import MAX_PRODUCTS, example_pages, pages_text
from slotwise.proxy.operations.slot_health import (HealthRow, health_rows, health_status, read_presence, render_line,
                                                   render_warning)
from slotwise.proxy.operations.learning import RESTART_KIND
from slotwise.rules.checker import did_you_mean
from slotwise.proxy.personalization.preview import PREVIEW_PARAM, PreviewError, check_forced, parse_forces, when_notes
from slotwise.proxy.operations import feed_health
from slotwise.proxy.operations.webhook_health import backlog_line, body, read_state, unknown
from slotwise.proxy.operations.reporting import (
    LEGEND,
    DecisionLog,
    amount_text,
    build_decision_log,
    chance_text,
    goal_text,
    json_safe,
    lift_text,
    measure_name,
    notices,
    read_all,
    report_rows,
    slot_reports,
)
from slotwise.store.base import LogRecord, StoreError
from slotwise.tag.admin import erase_person, export_person
from slotwise.tag.admin_session import CSRF_FIELD, CSRF_HEADER, AdminSessions, SessionUnchecked, is_https
from slotwise.tag.admin_throttle import NOT_A_GUESS, not_a_guess

if TYPE_CHECKING:
    from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

# what a script may send as ``off``: "off=no" must not switch a slot off, nor a typo either way
SWITCH_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}

log = logging.getLogger("slotwise.admin")

REPORT_TTL_S = 5.0
MAX_FORM = 8192
PAGE_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
STYLE = (
    "<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:1100px;color:#111}"
    "table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;"
    "text-align:right}th:first-child,td:first-child{text-align:left}.err{background:#fee2e2;padding:1rem;"
    "white-space:pre-wrap;font-family:monospace}.warn{color:#b45309;font-weight:600}.ok{color:#15803d}"
    ".off{color:#b91c1c;font-weight:600}.charts{display:flex;flex-wrap:wrap;gap:1rem}.chart figcaption"
    "{font-weight:600}.legend span{margin-right:.8rem}section{border-top:2px solid #eee;margin-top:1.5rem}"
    "form.inline{display:inline}header{display:flex;justify-content:space-between;align-items:center}"
    "pre{background:#f3f4f6;padding:1rem;overflow:auto;max-height:30rem}.note{color:#555}"
    "table.left td,table.left th{text-align:left}.scroll{overflow-x:auto;max-width:100%}.nw{white-space:nowrap}"
    ".chart{margin:0;max-width:100%}.chart svg{max-width:100%;height:auto}"
    ".contents ul{margin:.3rem 0;padding-left:1.2rem}.contents>ul>li{display:inline;margin-right:1rem}"
    ".contents>ul>li>ul{display:inline;padding:0}.contents>ul>li>ul>li{display:inline;margin-left:.6rem}"
    ".alert{background:#fef3c7;border-left:4px solid #b45309;padding:.6rem 1rem;margin:1rem 0}"
    "@media (max-width:640px){body{margin:1rem}header{flex-wrap:wrap}}</style>"
)


def _html(body: str, status: int = 200, title: str = "Slotwise admin") -> HTMLResponse:
    # lang: screen readers pick the voice; viewport: a phone lays the page out at its own width, not 980 px
    return HTMLResponse(f"<!doctype html><html lang=en><head><meta charset=utf-8>"
                        f"<meta name=viewport content=\"width=device-width, initial-scale=1\"><title>{escape(title)}</title>{STYLE}"
                        f"</head><body>{body}</body></html>", status, headers=PAGE_HEADERS)


def sign_in_page(message: str = "", status: int = 200) -> HTMLResponse:
    note = f"<p class=warn role=alert>{escape(message)}</p>" if message else ""
    return _html(
        "<h1>Slotwise admin</h1>" + note +
        "<form method=post action=/_sw/admin/login><label>Admin token "
        "<input type=password name=token autocomplete=current-password required autofocus></label> "
        "<button type=submit>Sign in</button></form>"
        "<p class=note>The token is the proxy's <code>--admin-token</code> (<code>SLOTWISE_ADMIN_TOKEN</code>).</p>",
        status, "Sign in - Slotwise admin")


class AdminPages:
    def __init__(self, personalizer: "SlotwisePersonalizer") -> None:
        self.p = personalizer
        self._cache: tuple[float, DecisionLog] | None = None
        self._records: list[Any] = []  # the log behind the cache (the funnel section reads it too)
        self.sessions = AdminSessions(self.token, personalizer.store, personalizer.settings.signing_key())

    @property
    def token(self) -> str:
        return self.p.settings.admin_token

    # -- who is asking -------------------------------------------------------
    def _denied(self, request: Request) -> Response:
        if not self.token:
            return JSONResponse({"error": "the admin API is disabled: start the proxy with --admin-token"}, 403)
        required = "admin token required (Authorization: Bearer TOKEN, or sign in at /_sw/admin)"
        if "authorization" not in request.headers:  # no token tried (a cookie at most): not a guess
            not_a_guess(request.scope, required)
        return JSONResponse({"error": request.scope.get(NOT_A_GUESS, required)}, 401,
                            headers={"www-authenticate": "Bearer", "cache-control": "no-store"})

    def _who(self, request: Request) -> str:
        return f"admin at {origin_of(request, self.p.settings.proxy_trust).address}"

    def _secure(self, request: Request) -> bool:
        return is_https(request, self.p.settings.public_url, self.p.settings.proxy_trust)

    async def _form(self, request: Request) -> dict[str, str]:
        """A form's fields (url-encoded, at most ``MAX_FORM`` bytes: the sign-in answers anyone), or the query's."""
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return dict(request.query_params)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                return {}
        try:
            return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=20))
        except ValueError:  # too many fields
            return {}

    async def _may_change(self, request: Request) -> tuple[dict[str, str], Response | None]:
        """A state-changing request's form, or the answer refusing it (not signed in, no CSRF token)."""
        if not await self.sessions.authorized(request):
            return {}, self._denied(request)
        form = await self._form(request)
        if not await self.sessions.csrf_ok(request, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)):
            return form, JSONResponse({"error": "missing or wrong CSRF token: reload the admin page and try again"},
                                      403, headers={"cache-control": "no-store"})
        return form, None

    # -- sign in / out -------------------------------------------------------
    async def login(self, request: Request) -> Response:
        if not self.token:
            return self._denied(request)
        form = await self._form(request)
        if not self.sessions.check_token(form.get("token", "")):
            return sign_in_page("Wrong token.", 401)  # a 401: the throttle counts it
        response = RedirectResponse("/_sw/admin", 303, headers={"cache-control": "no-store"})
        self.sessions.sign_in(response, self._secure(request))
        return response

    async def logout(self, request: Request) -> Response:
        _, refused = await self._may_change(request)
        if refused is not None:
            return refused
        response = RedirectResponse("/_sw/admin", 303, headers={"cache-control": "no-store"})
        await self.sessions.sign_out(request, response, self._secure(request))  # a copy of the cookie dies too
        return response

    # -- pages -----------------------------------------------------------------
    async def decision_log(self) -> DecisionLog:
        if self._cache is not None and time.monotonic() - self._cache[0] < REPORT_TTL_S:
            return self._cache[1]
        ruleset = self.p.ruleset()
        from slotwise.proxy.personalization.choices import slot_configs

        records = await read_all(self.p.store)
        self._records = records
        log = build_decision_log(records, slot_configs(ruleset) if ruleset else None, now=self.p.clock())
        self._cache = (time.monotonic(), log)
        return log

    def status(self) -> dict[str, Any]:
        rules = self.p.rules
        ruleset = self.p.ruleset()
        return {
            "rules": asdict(rules.status) if rules is not None else None,
            "slots": [s.summary() for s in ruleset.slots] if ruleset is not None else [],
            "learner_seq": self.p.learning.learner.seq,
            "learner": learner_summary(self.p.learning.learner),
            # which process answered, and whether it is the one that learns (the others load its models)
            "pid": os.getpid(),
            "learns": self.p.learning.leading,
        }

    async def page(self, request: Request) -> Response:
        if not self.token:
            return _html("<h1>Slotwise admin</h1><p>The admin page is disabled: start the proxy with "
                         "<code>--admin-token</code> (<code>SLOTWISE_ADMIN_TOKEN</code>).</p>", 403)
        if "token" in request.query_params:  # the one-click sign-in link
            if not self.sessions.check_token(request.query_params["token"]):
                return sign_in_page("Wrong token.", 401)
            response = RedirectResponse("/_sw/admin", 303, headers={"cache-control": "no-store"})
            self.sessions.sign_in(response, self._secure(request))
            return response
        if not await self.sessions.authorized(request):
            if "authorization" in request.headers:
                return sign_in_page("Wrong token.", 401)
            return sign_in_page(request.scope.get(NOT_A_GUESS, ""))  # signed out or expired: says so
        log = await self.decision_log()
        switches = await self.p.switches.current()
        session = await self.sessions.session(request)
        csrf = self.sessions.csrf_token(session) if session else ""
        return _html(self.render(log, switches, csrf, await self.webhook_line(), await self.feed_line(),
                                 health=await self.slot_health(), examples=await self.example_pages())
                     + render_funnel(await self.funnel()))

    async def slot_health(self) -> dict[str, HealthRow]:
        """The health of each slot of the rules (its element found or not on its pages: ``slot_health``); a
        slot no longer in the rules has none, and nothing shows when the store cannot say."""
        ruleset = self.p.ruleset()
        return health_rows(await read_presence(self.p.store), [s.id for s in ruleset.slots] if ruleset else [])

    async def example_pages(self) -> dict[str, str | None]:
        """Where each slot's preview links open: a page it applies to (``preview_pages``), None when none is known."""
        ruleset = self.p.ruleset()
        if ruleset is None:
            return {}
        return await example_pages(ruleset.slots, ruleset.catalog.patterns.written, self.p.page_slots.recent_page,
                                   lambda: self.p.store.list_products(limit=MAX_PRODUCTS))

    async def webhook_line(self) -> str | None:
        """One line while webhook messages wait (``webhook_health``: the health check's own store read)."""
        outbox = self.p.tag_api.outbox
        state = await read_state(self.p.store) if outbox is not None else None
        return backlog_line(state, self.p.clock()) if state is not None else None

    async def webhook_status(self) -> dict[str, Any]:
        """``/_sw/admin/api/status``'s ``webhook``: what ``/_sw/health`` says of the outbox (a script watching
        the admin API sees the same figures)."""
        outbox = self.p.tag_api.outbox
        if outbox is None:
            return {"configured": False}
        state = await read_state(self.p.store)
        return body(state, outbox.url, self.p.clock()) if state is not None else unknown(outbox.url)

    async def feed_line(self) -> tuple[str, bool] | None:
        """The product feed's line (``feed_health``: its reader's outcome, from the store); None without a
        feed, or when the store cannot be read."""
        lease = feed_health.rules_lease(self.p.ruleset())
        if lease is None:
            return None
        known, read = await feed_health.read_state(self.p.store, lease)
        return feed_health.feed_line(read, self.p.clock()) if known else None

    async def feed_status(self) -> dict[str, Any]:
        """``/_sw/admin/api/status``'s ``feed``: ``/_sw/health``'s, with the feed's URL, its reader and the
        error as it was."""
        lease = feed_health.rules_lease(self.p.ruleset())
        if lease is None:
            return {"configured": False}
        known, read = await feed_health.read_state(self.p.store, lease)
        return feed_health.body(read, lease, self.p.clock(), private=True) if known else feed_health.unknown(lease)

    async def funnel(self) -> dict[str, Any]:
        """Stage counts per category of the most recent people (``proxy.operations.admin_stages``)."""
        ruleset = self.p.ruleset()
        return await funnel(self.p.store, self._records, ruleset.signals if ruleset else None, self.p.clock())

    async def api_stages(self, request: Request) -> Response:
        if not await self.sessions.authorized(request):
            return self._denied(request)
        await self.decision_log()
        return JSONResponse(await self.funnel(), headers={"cache-control": "no-store"})

    async def api_status(self, request: Request) -> Response:
        if not await self.sessions.authorized(request):
            return self._denied(request)
        status = self.status()
        status["switches"] = dict((await self.p.switches.current()).entries)
        status["webhook"] = await self.webhook_status()
        status["feed"] = await self.feed_status()
        status["slot_health"] = health_status(await self.slot_health())
        return JSONResponse(json_safe(status), headers={"cache-control": "no-store"})

    async def api_report(self, request: Request) -> Response:
        if not await self.sessions.authorized(request):
            return self._denied(request)
        log = await self.decision_log()
        slot = request.query_params.get("slot")
        if slot is not None and slot not in log.slots:  # a typo must not read as "no data" ([]), as in the CLI
            known = sorted(log.slots)
            return JSONResponse({"error": f"no decisions for slot {slot!r} (slots: {', '.join(known) or 'none'})",
                                 "slots": known}, status_code=404, headers={"cache-control": "no-store"})
        reports = slot_reports(log, slot)
        return JSONResponse(json_safe([asdict(r) for r in reports]), headers={"cache-control": "no-store"})

    def _forced(self, request: Request) -> dict[str, str]:
        """The variants a preview request asks for, checked against the rules (``PreviewError``)."""
        q = request.query_params
        if q.get("off"):
            return {"*": "off"}
        forced = parse_forces(q.getlist("force"))
        if q.get("slot"):
            forced[q["slot"]] = q.get("variant", "")
        ruleset = self.p.ruleset()
        check_forced(forced, {s.id: s.arms for s in ruleset.slots} if ruleset is not None else {})
        return forced

    def _preview_url(self, request: Request, forced: dict[str, str]) -> str:
        path = request.query_params.get("path", "/") or "/"
        if not path.startswith("/") or path.startswith("//"):
            raise PreviewError(f"path {path!r}: give a path on this site, starting with one '/'")
        token = self.p.previews.token(forced)
        return f"{path}{'&' if '?' in path else '?'}{PREVIEW_PARAM}={quote(token)}"

    async def preview_link(self, request: Request) -> Response:
        """``?force=SLOT=VARIANT`` (repeatable; or ``slot=&variant=``), or ``?off=1``; ``path=/``.
        No variant named: the page as the rules decide, with the preview bar. Unknown names: 400."""
        if not await self.sessions.authorized(request):
            return self._denied(request)
        try:
            forced = self._forced(request)
            url = self._preview_url(request, forced)
        except PreviewError as exc:
            return JSONResponse({"error": str(exc)}, 400, headers={"cache-control": "no-store"})
        ruleset = self.p.ruleset()
        notes = when_notes(forced, ruleset.slots if ruleset is not None else ())
        return JSONResponse({"url": url, "expires_in": self.p.previews.ttl_s, "notes": notes},
                            headers={"cache-control": "no-store"})

    async def open_preview(self, request: Request) -> Response:
        """The admin page's preview buttons: straight to the signed link (with the bar)."""
        if not await self.sessions.authorized(request):
            return self._denied(request)
        try:
            url = self._preview_url(request, self._forced(request))
        except PreviewError as exc:
            return _html(f"<p class=warn>{escape(str(exc))}</p><p><a href=/_sw/admin>Back</a></p>", 400)
        return RedirectResponse(url, 303, headers={"cache-control": "no-store"})

    async def switch(self, request: Request) -> Response:
        """``name`` (a slot id, or ``*`` for all personalization), ``off`` (1 or 0)."""
        form, refused = await self._may_change(request)
        if refused is not None:
            return refused
        name = form.get("name", "")
        ruleset = self.p.ruleset()
        known = {s.id for s in ruleset.slots} if ruleset is not None else set()
        if name != ALL and name not in known:
            return JSONResponse({"error": f"unknown slot {name!r}{did_you_mean(name, sorted(known))}; the rules have: "
                                          f"{', '.join(sorted(known)) or 'none'}"},
                                400, headers={"cache-control": "no-store"})
        said = str(form.get("off", "1")).strip().lower()  # the page's buttons send 1 or 0
        if said not in SWITCH_WORDS:
            return JSONResponse({"error": f"'off' must be 1, true or yes (switch off) or 0, false or no (switch back on), got {said!r}"},
                                400, headers={"cache-control": "no-store"})
        off = SWITCH_WORDS[said]
        await self.p.switches.flip(name, off, self.p.clock(), self._who(request))
        if "authorization" in request.headers:
            return JSONResponse({"name": name, "off": off}, headers={"cache-control": "no-store"})
        return RedirectResponse("/_sw/admin#switches", 303, headers={"cache-control": "no-store"})

    async def restart(self, request: Request) -> Response:
        """``name``: a slot whose policy learns; ``variant`` (optional): that variant alone. Its
        learning starts over on every instance: a ``restart`` record in the shared log, so the
        learner, its snapshots and every replay of the log (the reports too) restart at the same point."""
        form, refused = await self._may_change(request)
        if refused is not None:
            return refused
        name, variant = form.get("name", ""), form.get("variant", "")
        ruleset = self.p.ruleset()
        learning = {s.id: s for s in ruleset.slots if s.learns} if ruleset is not None else {}
        if name not in learning:
            return JSONResponse({"error": f"no slot {name!r} that learns{did_you_mean(name, sorted(learning))}; "
                                          "the rules' learning slots: "
                                          f"{', '.join(sorted(learning)) or 'none'}"},
                                400, headers={"cache-control": "no-store"})
        if variant and variant not in learning[name].arms:
            return JSONResponse({"error": f"slot {name!r} has no variant {variant!r}"
                                          f"{did_you_mean(variant, learning[name].arms)}; it has: "
                                          f"{', '.join(learning[name].arms)}"},
                                400, headers={"cache-control": "no-store"})
        who, now = self._who(request), self.p.clock()
        record = {"slot": name, "by": who, **({"variant": variant} if variant else {})}
        try:
            await self.p.store.append([LogRecord(RESTART_KIND, f"restart:{name}:{uuid.uuid4().hex}", "", now, record)])
        except StoreError as exc:
            return JSONResponse({"error": f"the store cannot be reached ({exc}); nothing was restarted, try again"},
                                503, headers={"cache-control": "no-store", "retry-after": "5"})
        log.warning("learning restart: slot %r%s asked for by %s", name,
                    f", variant {variant!r}" if variant else "", who)
        self._cache = None  # the report shows it on the next page
        self.p.learning.poke()
        if "authorization" in request.headers:
            return JSONResponse({"name": name, "variant": variant or None, "restarted_at": now},
                                headers={"cache-control": "no-store"})
        return RedirectResponse(f"/_sw/admin#slot-{quote(name)}", 303, headers={"cache-control": "no-store"})

    async def visitor(self, request: Request) -> Response:
        """The visitor lookup: everything held about an id (export), with an erase button."""
        if not await self.sessions.authorized(request):
            return self._denied(request)
        raw = request.query_params.get("id", "").strip()
        session = await self.sessions.session(request)
        csrf = self.sessions.csrf_token(session) if session else ""
        if not raw:
            return _html("<p><a href=/_sw/admin>Back</a></p><p>Give a visitor id, alias or e-mail.</p>", 400)
        data = await export_person(self.p.store, raw)
        back = "<p><a href=/_sw/admin#visitors>Back to the admin page</a></p>"
        if data is None:
            return _html(f"{back}<h1>Visitor {escape(raw)}</h1><p>No data held about this id.</p>", 404)
        dump = json.dumps(json_safe({"id": raw, **data}), indent=2, ensure_ascii=False)
        return _html(
            f"{back}<h1>Visitor {escape(raw)}</h1><p>Everything held about this person (export):</p>"
            f"<pre>{escape(dump)}</pre>"
            f"<form method=post action=/_sw/admin/visitor/erase><input type=hidden name=csrf value=\"{escape(csrf)}\">"
            f"<input type=hidden name=id value=\"{escape(raw)}\"><button type=submit>Erase everything held "
            "about this person</button></form>")

    async def erase(self, request: Request) -> Response:
        form, refused = await self._may_change(request)
        if refused is not None:
            return refused
        raw = form.get("id", "").strip()
        if not raw:
            return _html("<p>Give a visitor id.</p>", 400)
        found = await erase_person(self.p.store, raw)
        log.warning("visitor erase: %s (%s) by %s", "done" if found else "nothing held",
                                                    "id given in the admin page", self._who(request))
        return _html(f"<p><a href=/_sw/admin#visitors>Back to the admin page</a></p><h1>Visitor {escape(raw)}</h1>"
                     f"<p>{'Erased: profile, aliases, events, decisions, coupons and messages.' if found else 'Nothing was held about this id.'}</p>")

    # -- rendering ---------------------------------------------------------
    def render(self, log: DecisionLog, switches: Any, csrf: str, webhook: str | None = None,
               feed: tuple[str, bool] | None = None, health: Mapping[str, HealthRow] | None = None,
               examples: Mapping[str, str | None] | None = None) -> str:
        status = self.status()
        rules = status["rules"]
        hidden = f'<input type=hidden name=csrf value="{escape(csrf)}">'
        parts = [
            "<header><h1>Slotwise</h1><form class=inline method=post action=/_sw/admin/logout>"
            f"{hidden}<button type=submit>Sign out</button></form></header>",
        ]
        if rules is None:
            parts.append("<p>No rules file: a transparent proxy.</p>")
        else:
            parts.append(
                f"<p>Rules <code>{escape(rules['path'])}</code>, version {rules['version']}, loaded "
                f"{utc_text(rules['loaded_at']) if rules['loaded_at'] else 'never'}.</p>"
            )
            if rules["error"]:
                at = f" ({utc_text(rules['error_at'])})" if rules.get("error_at") else ""
                parts.append(f"<p class=warn>The last change to the rules was rejected{at}; the last good rules keep "
                             "serving:</p>" if rules["version"] else
                             "<p class=warn>The rules were rejected and none have loaded since the start: no page "
                             "is personalized until the file is fixed (it is reloaded when saved):</p>")
                parts.append(f"<div class=err>{escape(rules['error'])}</div>")
            else:
                parts.append("<p class=ok>Rules valid.</p>")
            parts.extend(f"<p class=note>{escape(note)}</p>" for note in rules.get("notes") or ())
        if webhook is not None:
            parts.append(f"<p class=warn id=webhook>{escape(webhook)}</p>")
        if feed is not None:
            parts.append(f"<p class={'warn' if feed[1] else 'note'} id=feed>{escape(feed[0])}</p>")
        ruleset = self.p.ruleset()
        slots = list(ruleset.slots) if ruleset is not None else []
        health = health or {}
        parts.append(render_warning(health))
        reports = slot_reports(log)
        parts.append(render_contents([rep.slot for rep in reports]))
        parts.append(render_switches(slots, switches, hidden))
        parts.append(render_schedules(slots, self.p.clock()))
        parts.append(render_previews(slots, examples or {}))
        parts.append(
            "<section id=visitors><h2>Visitor lookup</h2><form method=get action=/_sw/admin/visitor>"
            "<label>Visitor id, <code>customer:ID</code> or e-mail <input name=id required size=40></label> "
            "<button type=submit>Look up</button></form><p class=note>Shows everything held about the person "
            "(export), with a button to erase it; the same as <code>slotwise visitor export|erase</code>.</p></section>"
        )
        parts.append("<section id=reports><h2>Reports</h2>")  # each slot's report a subsection (h3) of it
        if not reports:
            parts.append("<p>No decisions logged yet.</p>")
        learning = {s.id: s for s in slots if s.learns}
        for rep in reports:
            restart = restart_form(learning[rep.slot], hidden) if rep.slot in learning else ""
            parts.append(render_slot(rep, log, restart, render_line(health, rep.slot)))
        if reports:
            parts.append(f"<p class=note>{escape(LEGEND)}</p>")
        parts.append("</section>")
        return "".join(parts)


def render_contents(report_slots: list[str]) -> str:
    """Links to the page's sections and to each slot's report: from the keyboard, the report of the
    twelfth slot is a few Tabs away rather than past every kill switch and preview link."""
    links = [("switches", "Kill switches"), ("preview", "Preview"), ("visitors", "Visitor lookup")]
    items = "".join(f"<li><a href=\"#{key}\">{label}</a></li>" for key, label in links)
    slots = "".join(f"<li><a href=\"#slot-{quote(slot)}\">{escape(slot)}</a></li>" for slot in report_slots)
    items += f"<li><a href=\"#reports\">Reports</a>{f'<ul>{slots}</ul>' if slots else ''}</li>"
    return f"<nav aria-label=\"On this page\" class=contents><ul>{items}</ul></nav>"


def render_switches(slots: list[Any], switches: Any, hidden: str) -> str:
    """The kill switches: all personalization, then each slot, beside its ``enabled`` in the rules."""

    def state(name: str) -> str:
        entry = switches.entries.get(name)
        if entry and entry.get("off"):
            when = utc_text(entry["at"])
            return f"<span class=off>off</span> <small>({escape(str(entry.get('who', '')))}, {when})</small>"
        return "<span class=ok>on</span>"

    def button(name: str) -> str:
        off = bool(switches.entries.get(name, {}).get("off"))
        text = "Switch back on" if off else "Switch off"
        what = "all personalization" if name == ALL else name  # a screen reader's list of buttons names each one
        return (f"<form class=inline method=post action=/_sw/admin/switch>{hidden}"
                f"<input type=hidden name=name value=\"{escape(name)}\"><input type=hidden name=off value={0 if off else 1}>"
                f"<button type=submit data-switch=\"{escape(name)}\" aria-label=\"{text} {escape(what)}\">{text}</button></form>")

    rows = [f"<tr><td><b>All personalization</b></td><td>-</td><td>{state(ALL)}</td><td>{button(ALL)}</td></tr>"]
    for slot in slots:
        rules = "enabled" if slot.enabled else "<span class=off>enabled: false</span>"
        rows.append(f"<tr><td><code>{escape(slot.id)}</code> <small>{escape(slot.action)} {escape(slot.selector)}</small></td>"
                    f"<td>{rules}</td><td>{state(slot.id)}</td><td>{button(slot.id)}</td></tr>")
    return ("<section id=switches><h2>Kill switches</h2><p class=note>Takes effect within a second on every "
            "instance; visitors then get the store's own page for that slot. Each flip is written to the log.</p>"
            + scrolled("<table class=left><tr><th>slot</th><th>rules file</th><th>switch</th><th>action</th></tr>"
                       + "".join(rows) + "</table>") + "</section>")


def render_previews(slots: list[Any], examples: Mapping[str, str | None]) -> str:
    """Preview links: each variant of each slot, personalization off, or the page as decided, with the bar.
    A slot's links open a page it applies to (``examples``: ``preview_pages``); a slot without one says so,
    with a form to give one, rather than link to a page where it does not run."""
    rows = []
    for slot in slots:
        example = examples.get(slot.id)
        if example is None:
            rows.append(f"<tr><td><code>{escape(slot.id)}</code></td><td>{preview_form(slot)}</td></tr>")
            continue
        path = quote(example, safe="/")
        links = " ".join(
            f"<a href=\"/_sw/admin/preview?force={quote(f'{slot.id}={v.id}')}&amp;path={escape(path)}\" "
            f"data-preview=\"{escape(slot.id)}={escape(v.id)}\" aria-label=\"{escape(v.id)} of {escape(slot.id)}\">{escape(v.id)}</a>"
            for v in slot.variants)
        rows.append(f"<tr><td><code>{escape(slot.id)}</code></td><td>{links} <small>on <code>{escape(example)}</code>"
                    "</small></td></tr>")
    return ("<section id=preview><h2>Preview</h2><p>Open the store with the preview bar: "
            "<a href=\"/_sw/admin/preview?path=/\" data-preview=visitor>as the rules decide for you</a> · "
            "<a href=\"/_sw/admin/preview?off=1&amp;path=/\" data-preview=off>personalization off</a>. "
            "Or force one variant (nothing is recorded while previewing):</p>"
            "<form method=get action=/_sw/admin/preview><label>Start at path <input name=path value=/ size=30></label> "
            "<button type=submit>Open with the bar</button></form>"
            + scrolled("<table class=left><tr><th>slot</th><th>variants</th></tr>" + "".join(rows) + "</table>")
            + "</section>")


def preview_form(slot: Any) -> str:
    """A slot with no page known to apply to: the words, and a form to open a variant on a page of one's own."""
    options = "".join(f"<option value=\"{escape(f'{slot.id}={v.id}')}\">{escape(v.id)}</option>" for v in slot.variants)
    return (f"<span class=note data-preview-none=\"{escape(slot.id)}\">No page it applies to is known yet (its pages: "
            f"<code>{escape(pages_text(slot))}</code>; none served lately, none from the catalog): give one.</span> "
            "<form class=inline method=get action=/_sw/admin/preview>"
            f"<select name=force aria-label=\"variant of {escape(slot.id)}\">{options}</select> "
            f"<input name=path required size=24 placeholder=/… aria-label=\"a path {escape(slot.id)} applies to\"> "
            f"<button type=submit aria-label=\"Open {escape(slot.id)} with the bar\">Open</button></form>")


def restart_form(slot: Any, hidden: str) -> str:
    """The button that starts a learning slot's learning over (all its variants, or the one chosen),
    behind a box to tick (no script runs here)."""
    options = "".join(f"<option value=\"{escape(v)}\">variant {escape(v)} alone</option>" for v in slot.arms)
    return (f"<form class=restart method=post action=/_sw/admin/restart>{hidden}"
            f"<input type=hidden name=name value=\"{escape(slot.id)}\"><label><input type=checkbox required> "
            f"Forget what the policy learned about {escape(slot.id)}, on every instance: for a variant whose offer "
            "changed, or a store that changed. The figures above stay.</label> "
            f"<select name=variant aria-label=\"what to start over in {escape(slot.id)}\">"
            f"<option value=\"\">every variant</option>{options}</select> "
            f"<button type=submit data-restart=\"{escape(slot.id)}\" aria-label=\"Restart learning of {escape(slot.id)}\">"
            "Restart learning</button></form>")


def render_slot(rep: Any, log: DecisionLog, restart: str = "", health: str = "") -> str:
    """One slot's section of the admin page: the table, lift, warnings, notes and charts, in the
    text report's words (``reporting.report_rows``, ``lift_text``, ``notices``), ``health`` (its element
    found or not on its pages: ``slot_health.render_line``) and ``restart`` (``restart_form``) for a slot
    that learns."""
    binary = is_binary(rep.goal)
    rows = "".join(
        f"<tr><td>{escape(r.name)}</td><td>{r.shown}</td><td>{r.seen}</td><td>{r.measured}</td>"
        f"<td>{escape(r.value)}</td><td>{escape(r.interval)}</td><td>{escape(r.chance)}</td></tr>"
        for r in report_rows(rep))
    out = [
        f"<section id=\"slot-{escape(rep.slot)}\"><h3>{escape(rep.slot)} <small>goal: {escape(goal_text(rep))}</small></h3>",
        health,
        scrolled("<table class=report><tr><th>variant</th><th>shown</th><th>seen</th><th>measured</th>"
                 f"<th>{measure_name(rep.goal)}</th><th>95% interval</th><th>chance best</th></tr>{rows}</table>"),
        f"<p>{escape(lift_text(rep))}</p>",
        render_segments(rep, lambda x: amount_text(x, binary)),
    ]
    out += [f"<p{' class=warn' if kind == 'warning' else ''}>{escape(text)}</p>" for kind, text in notices(rep)]
    share = defaultdict(list)
    for bucket in rep.traffic:
        for arm, value in bucket.shares.items():
            share[arm].append((bucket.start, value))
    reward = reward_over_time(log, rep.slot)
    # one order for both charts, the table's: a variant keeps its colour from chart to chart
    # (a chart colours its series by position; an empty one keeps its place)
    order = [a.arm for a in rep.arms] + ["holdout"]
    order += sorted((set(share) | set(reward)) - set(order))
    out.append('<div class="charts">')
    # a variant's restart names it: the dashed line of "loud" alone is not the whole slot starting over
    marks = [(r.ts, f"learning of {r.arm} restarted" if r.arm else "learning restarted") for r in rep.restarts]
    out.append(line_chart({arm: share.get(arm, []) for arm in order}, title="Share of traffic over time", y_max=1.0,
                          marks=marks, bucket_s=3600.0))
    out.append(line_chart({arm: reward.get(arm, []) for arm in order}, title="Reward over time",
                          y_format="{:.1%}" if binary else "{:.2f}", marks=marks, bucket_s=3600.0))
    out.append("</div>")
    out.append(restart)
    out.append("</section>")
    return "".join(out)


def render_segments(rep: Any, fmt: Any) -> str:
    """A contextual slot's variants per segment: a table per feature whose segments have
    different leaders, and a line naming the features where they agree."""
    if not rep.segments:
        return ""
    arms = [a.arm for a in rep.segments[0].rows[0].arms]
    out = ["<h4>By segment</h4><p>This slot decides per visitor; the chances above pool all visitors.</p>"]
    same = []
    for table in rep.segments:
        if not table.leaders_differ:
            same.append(table.group)
            continue
        head = "".join(f"<th>{escape(a)}</th>" for a in arms)
        rows = []
        for row in table.rows:
            leader = row.leader
            lead = escape(f"{leader.arm} ({chance_text(leader.p_best)} chance best)") if leader else "unclear yet"
            cells = "".join(f"<td>{fmt(a.mean) if a.closed else '-'}</td>" for a in row.arms)
            rows.append(f"<tr><td>{escape(row.level)}</td><td>{row.measured}</td>{cells}<td>{lead}</td></tr>")
        out.append(scrolled(f"<table><tr><th>{escape(table.group)}</th><th>measured</th>{head}<th>leader</th></tr>"
                            + "".join(rows) + "</table>"))
    if same:
        out.append(f"<p>Same leader (or none yet) in every segment of: {escape(', '.join(same))}.</p>")
    return "".join(out)


def learner_summary(learner: Any) -> dict[str, Any]:
    """What this process's learner holds: per slot the policy, its model version and per-arm evidence."""
    slots: dict[str, Any] = {}
    for name, policy in sorted(learner.policies.items()):
        arms: dict[str, dict[str, float]] = {}
        stats = getattr(policy, "arms", None)
        if isinstance(stats, dict):  # per-arm [n, sum, sum_sq]
            arms = {a: {"n": st[0], "reward_sum": st[1]} for a, st in sorted(stats.items())}
        elif hasattr(policy, "arm_names"):  # linucb
            arms = {a: {"n": float(policy._n[i])} for i, a in enumerate(policy.arm_names)}
        elif isinstance(getattr(policy, "counts", None), dict):  # river-model
            arms = {a: {"n": float(n)} for a, n in sorted(policy.counts.items())}
        slots[name] = {"policy": policy.name, "model_version": policy.model_version, "updates": policy.version,
                       "restarts": policy.restarts, "arms": arms}
    watermark = learner.watermark
    return {"seq": learner.seq, "pending": learner.pending_count, "not_held": learner.not_held,
            "watermark": watermark if math.isfinite(watermark) else None, "slots": slots}


def reward_over_time(log: DecisionLog, slot: str, bucket_s: float = 3600.0) -> dict[str, list[tuple[float, float]]]:
    """Mean reward per arm (and holdout) per time bucket, over decisions whose reward is known."""
    sums: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in log.rows:
        if row.slot != slot or row.reward is None:
            continue
        arm = "holdout" if row.holdout else str(row.arm)
        sums[arm][row.ts - row.ts % bucket_s].append(row.reward)
    return {arm: sorted((t, sum(v) / len(v)) for t, v in buckets.items()) for arm, buckets in sums.items()}


def session_checked(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """An admin endpoint that answers 503 when the store cannot say whether a session was signed out
    (or cannot record a sign-out): refused, never taken on trust, and not a wrong token (no 401)."""

    async def run(request: Request) -> Response:
        try:
            return await endpoint(request)
        except SessionUnchecked as exc:
            return JSONResponse({"error": str(exc)}, 503, headers={"cache-control": "no-store", "retry-after": "5"})

    return run


def admin_routes(personalizer: "SlotwisePersonalizer") -> list[BaseRoute]:
    pages = AdminPages(personalizer)
    routes = [
        ("/admin", pages.page, "GET"),
        ("/admin/api/status", pages.api_status, "GET"),
        ("/admin/api/report", pages.api_report, "GET"),
        ("/admin/api/stages", pages.api_stages, "GET"),
        ("/admin/api/preview-link", pages.preview_link, "GET"),
        ("/admin/login", pages.login, "POST"),
        ("/admin/logout", pages.logout, "POST"),
        ("/admin/switch", pages.switch, "POST"),
        ("/admin/restart", pages.restart, "POST"),
        ("/admin/preview", pages.open_preview, "GET"),
        ("/admin/visitor", pages.visitor, "GET"),
        ("/admin/visitor/erase", pages.erase, "POST"),
    ]
    return [Route(path, session_checked(endpoint), methods=[method]) for path, endpoint, method in routes]
