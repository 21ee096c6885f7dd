"""The admin page (``/_sw/admin``): rules status, slot reports with charts, preview links.

Protected by the admin token (``--admin-token``): sent as
``Authorization: Bearer TOKEN``, or once as ``?token=TOKEN`` which sets an
HttpOnly cookie scoped to ``/_sw/admin``. Without a configured token the
page is disabled (fails closed).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections import defaultdict
from dataclasses import asdict
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from slotwise.bandits.goals import is_binary
from slotwise.proxy.admin_stages import funnel, render_funnel
from slotwise.proxy.charts import line_chart
from slotwise.proxy.reporting import (
    DecisionLog,
    build_decision_log,
    chance_text,
    json_safe,
    notices,
    read_all,
    slot_reports,
)
from slotwise.tag.admin import authorized as bearer_authorized

if TYPE_CHECKING:
    from slotwise.proxy.personalize import SlotwisePersonalizer

ADMIN_COOKIE = "sw_admin"
REPORT_TTL_S = 5.0


def _cookie_value(token: str) -> str:
    return hashlib.sha256(b"slotwise-admin:" + token.encode()).hexdigest()


def authorized(request: Request, token: str) -> bool:
    """Constant-time check of the bearer token or the admin cookie; no token configured: never."""
    if not token:
        return False
    if bearer_authorized(request, token):
        return True
    cookie = request.cookies.get(ADMIN_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), _cookie_value(token).encode())


def _denied(token: str) -> Response:
    if not token:
        return JSONResponse({"error": "the admin API is disabled: start the proxy with --admin-token"}, 403)
    return JSONResponse({"error": "admin token required (Authorization: Bearer TOKEN)"}, 401,
                        headers={"www-authenticate": "Bearer"})


class AdminPages:
    def __init__(self, personalizer: "SlotwisePersonalizer") -> None:
        self.p = personalizer
        self._cache: tuple[float, DecisionLog] | None = None
        self._records: list[Any] = []  # the log behind the cache (the funnel section reads it too)

    @property
    def token(self) -> str:
        return self.p.settings.admin_token

    async def decision_log(self) -> DecisionLog:
        if self._cache is not None and time.monotonic() - self._cache[0] < REPORT_TTL_S:
            return self._cache[1]
        ruleset = self.p.ruleset()
        from slotwise.proxy.personalize import slot_configs

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
        }

    async def page(self, request: Request) -> Response:
        if "token" in request.query_params:
            given = request.query_params["token"]
            if self.token and hmac.compare_digest(given.encode(), self.token.encode()):
                response = RedirectResponse("/_sw/admin", 303)
                response.set_cookie(ADMIN_COOKIE, _cookie_value(self.token), path="/_sw/admin",
                                    httponly=True, samesite="strict", secure=request.url.scheme == "https")
                return response
        if not authorized(request, self.token):
            return _denied(self.token)
        log = await self.decision_log()
        html = self.render(log, request).replace("</body></html>", render_funnel(await self.funnel()) + "</body></html>")
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def funnel(self) -> dict[str, Any]:
        """Stage counts per category of the most recent people (``proxy.admin_stages``)."""
        ruleset = self.p.ruleset()
        return await funnel(self.p.store, self._records, ruleset.signals if ruleset else None, self.p.clock())

    async def api_stages(self, request: Request) -> Response:
        if not authorized(request, self.token):
            return _denied(self.token)
        await self.decision_log()
        return JSONResponse(await self.funnel(), headers={"cache-control": "no-store"})

    async def api_status(self, request: Request) -> Response:
        if not authorized(request, self.token):
            return _denied(self.token)
        return JSONResponse(self.status(), headers={"cache-control": "no-store"})

    async def api_report(self, request: Request) -> Response:
        if not authorized(request, self.token):
            return _denied(self.token)
        log = await self.decision_log()
        reports = slot_reports(log, request.query_params.get("slot"))
        return JSONResponse(json_safe([asdict(r) for r in reports]), headers={"cache-control": "no-store"})

    async def preview_link(self, request: Request) -> Response:
        """``?slot=ID&variant=ID&path=/`` or ``?off=1``: a signed link for a marketer."""
        if not authorized(request, self.token):
            return _denied(self.token)
        q = request.query_params
        forced = {"*": "off"} if q.get("off") else {q.get("slot", ""): q.get("variant", "")}
        token = self.p.previews.token(forced)
        path = q.get("path", "/")
        return JSONResponse({"url": f"{path}{'&' if '?' in path else '?'}sw_preview={quote(token)}"})

    # -- rendering ---------------------------------------------------------
    def render(self, log: DecisionLog, request: Request) -> str:
        status = self.status()
        rules = status["rules"]
        parts = [
            "<!doctype html><html><head><meta charset=utf-8><title>Slotwise admin</title>",
            "<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:1100px;color:#111}"
            "table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;"
            "text-align:right}th:first-child,td:first-child{text-align:left}.err{background:#fee2e2;padding:1rem;"
            "white-space:pre-wrap;font-family:monospace}.warn{color:#b45309;font-weight:600}.ok{color:#15803d}"
            ".charts{display:flex;flex-wrap:wrap;gap:1rem}.chart figcaption{font-weight:600}.legend span{margin-right:"
            ".8rem}section{border-top:2px solid #eee;margin-top:1.5rem}</style></head><body>",
            "<h1>Slotwise</h1>",
        ]
        if rules is None:
            parts.append("<p>No rules file: a transparent proxy.</p>")
        else:
            parts.append(
                f"<p>Rules <code>{escape(rules['path'])}</code>, version {rules['version']}, loaded "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(rules['loaded_at'])) if rules['loaded_at'] else 'never'}.</p>"
            )
            if rules["error"]:
                parts.append("<p class=warn>The last change to the rules was rejected; the last good rules keep serving:</p>")
                parts.append(f"<div class=err>{escape(rules['error'])}</div>")
            else:
                parts.append("<p class=ok>Rules valid.</p>")
        if status["slots"]:
            parts.append("<h2>Slots</h2><ul>" + "".join(f"<li><code>{escape(s)}</code></li>" for s in status["slots"]) + "</ul>")
        reports = slot_reports(log)
        if not reports:
            parts.append("<p>No decisions logged yet.</p>")
        for rep in reports:
            parts.append(render_slot(rep, log))
        parts.append("</body></html>")
        return "".join(parts)


def render_slot(rep: Any, log: DecisionLog) -> str:
    """One slot's section of the admin page: the table, lift, warnings, notes and charts."""
    binary = is_binary(rep.goal)

    def fmt(x: float | None) -> str:
        if x is None or not math.isfinite(x):
            return "-"
        return f"{x:.2%}" if binary else f"{x:,.2f}"

    def diff(x: float) -> str:
        return f"{x * 100:+.2f} points" if binary else f"{x:+,.2f}"

    def chance(p: float) -> str:
        if not math.isfinite(p):
            return ""
        return ">99.9%" if p >= 0.9995 else ("<0.1%" if p < 0.0005 else f"{p:.1%}")

    def row(a: Any, name: str) -> str:
        known = a.closed > 0
        interval = f"{fmt(a.interval.low)} to {fmt(a.interval.high)}" if known else "-"
        return (f"<tr><td>{escape(name)}</td><td>{a.decisions}</td><td>{a.exposures}</td><td>{a.closed}</td>"
                f"<td>{fmt(a.mean) if known else '-'}</td><td>{interval}</td><td>{chance(a.p_best)}</td></tr>")

    rows = "".join(row(a, a.arm) for a in rep.arms)
    if rep.holdout is not None:
        rows += row(rep.holdout, "holdout (baseline)")
    out = [
        f"<section><h2>{escape(rep.slot)} <small>goal: {escape(rep.goal)}</small></h2>",
        "<table><tr><th>variant</th><th>shown</th><th>seen</th><th>measured</th>"
        f"<th>{'rate' if binary else 'per decision'}</th><th>95% interval</th><th>chance best</th></tr>{rows}</table>",
    ]
    if rep.lift is not None:
        lift = rep.lift
        rel = "" if lift.relative is None else f" ({lift.relative:+.0%} relative)"
        out.append(
            f"<p>Personalized {fmt(lift.personalized_mean)} vs holdout {fmt(lift.holdout_mean)}: "
            f"<b>{diff(lift.difference)}</b>{rel}, 95% interval "
            f"{diff(lift.difference_interval.low)} to {diff(lift.difference_interval.high)} "
            f"(personalized n={lift.n_personalized}, holdout n={lift.n_holdout}).</p>"
        )
    else:
        out.append("<p>Lift over the holdout: not enough measured decisions in both groups yet.</p>")
    out.append(render_segments(rep, fmt))
    out += [f"<p{' class=warn' if kind == 'warning' else ''}>{escape(text)}</p>" for kind, text in notices(rep)]
    share = defaultdict(list)
    for bucket in rep.traffic:
        for arm, value in bucket.shares.items():
            share[arm].append((bucket.start, value))
    out.append('<div class="charts">')
    marks = [(r.ts, "learning restarted") for r in rep.restarts]
    out.append(line_chart(share, title="Share of traffic over time", y_max=1.0, marks=marks))
    out.append(line_chart(reward_over_time(log, rep.slot), title="Reward over time",
                          y_format="{:.1%}" if binary else "{:.2f}", marks=marks))
    out.append("</div></section>")
    return "".join(out)


def render_segments(rep: Any, fmt: Any) -> str:
    """A contextual slot's variants per segment: a table per feature whose segments have
    different leaders, and a line naming the features where they agree."""
    if not rep.segments:
        return ""
    arms = [a.arm for a in rep.segments[0].rows[0].arms]
    out = ["<h3>By segment</h3><p>This slot decides per visitor; the chances above pool all visitors.</p>"]
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
        out.append(f"<table><tr><th>{escape(table.group)}</th><th>measured</th>{head}<th>leader</th></tr>"
                   + "".join(rows) + "</table>")
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
                       "arms": arms}
    watermark = learner.watermark
    return {"seq": learner.seq, "pending": learner.pending_count,
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


def admin_routes(personalizer: "SlotwisePersonalizer") -> list[BaseRoute]:
    pages = AdminPages(personalizer)
    return [
        Route("/admin", pages.page, methods=["GET"]),
        Route("/admin/api/status", pages.api_status, methods=["GET"]),
        Route("/admin/api/report", pages.api_report, methods=["GET"]),
        Route("/admin/api/stages", pages.api_stages, methods=["GET"]),
        Route("/admin/api/preview-link", pages.preview_link, methods=["GET"]),
    ]
