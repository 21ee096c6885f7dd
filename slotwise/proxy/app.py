"""The Slotwise edge as an ASGI app: ``/_sw/*`` is ours, everything else goes to the origin.

Pure ASGI at the top (no middleware stack on the hot path): a request whose
path starts with ``/_sw/`` goes to a small Starlette router (health, metrics,
and the personalizer's routes); every other request goes to the
``Forwarder``, and every WebSocket to the ``WebSocketForwarder`` (proxied to
the origin; ``/_sw/`` has none). Lifespan starts and stops the personalizer and the upstream
client; a personalizer that fails to start is replaced by a transparent one
(fail open) rather than taking the store down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, Router

from slotwise.tag.admin_throttle import AdminThrottle
from slotwise.tag.page_origins import CrossOrigin

from slotwise.proxy.operations import heap, metrics
from slotwise.proxy.config import Settings
from slotwise.proxy.flow import NullPersonalizer, Personalizer
from slotwise.proxy.forwarding.forward_http import Forwarder
from slotwise.proxy.forwarding.forward_safe import SafePersonalizer
from slotwise.proxy.forwarding.forward_stream import Receive, Scope, Send
from slotwise.proxy.forwarding.forward_ws import WebSocketForwarder, deny
from slotwise.proxy.operations.health import HealthReport, run_checks
from slotwise.proxy.operations.in_flight import InFlight
from slotwise.proxy.operations.worker_signals import stopping
from slotwise.proxy.forwarding.upstream_health import check_upstream
from slotwise.proxy.forwarding.upstream import Upstream

log = logging.getLogger("slotwise.proxy")

PREFIX = "/_sw"
HEALTH_CACHE_S = 1.0
NOT_HERE = PlainTextResponse(
    "Slotwise runs tag-only here (--tag-only): it serves /_sw/ only; the store serves its own pages.\n", status_code=404,
    headers={"cache-control": "no-store"},
)


class ProxyApp:
    def __init__(self, settings: Settings, personalizer: Personalizer | None = None, *, worker: bool = False) -> None:
        """``worker``: this app is a server worker's one app (``create_app_from_env``), so its start-up
        may settle the process's heap (``heap.settle``); an app among others in one process leaves it."""
        if not settings.upstream and not settings.tag_only:
            raise ValueError("SLOTWISE_UPSTREAM / --upstream: required to run the proxy (or --tag-only)")
        self.settings = settings
        self.worker = worker
        self.personalizer: Personalizer = personalizer or NullPersonalizer()
        self.upstream = Upstream(settings) if settings.upstream else None
        self.startup_error: str | None = None  # the personalizer failed to start: serving transparently
        self.in_flight = InFlight(settings.worker_stop_budget)
        self._health: tuple[float, HealthReport] | None = None
        self._health_lock: asyncio.Lock | None = None
        self._build()

    def _build(self) -> None:
        self.safe = SafePersonalizer(self.personalizer, self.settings.personalize_budget_ms)
        self.forwarder = Forwarder(self.settings, self.safe, self.upstream) if self.upstream is not None else None
        self.websockets = (
            WebSocketForwarder(self.settings, self.upstream, self.forwarder, stopping)
            if self.forwarder is not None and self.upstream else None
        )
        own = [Route("/health", self.health, methods=["GET", "HEAD"]), Route("/live", self.live, methods=["GET", "HEAD"]),
               Route("/metrics", self.metrics, methods=["GET"])]
        router = Router(routes=[Mount(PREFIX, routes=[*own, *self.personalizer.routes()])])
        self.router: Any = AdminThrottle(router, self.settings.proxy_trust)  # failed admin logins, per client
        if self.settings.page_origin_list:  # tag-only on a subdomain: the pages' origins call the tag's endpoints
            self.router = CrossOrigin(self.router, self.settings.page_origin_list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            task = asyncio.current_task()
            if task is not None:  # cancelled if still running the budget after a stop signal (in_flight.py)
                self.in_flight.tasks.add(task)
            try:
                path: str = scope["path"]
                if path.startswith(PREFIX) and (len(path) == len(PREFIX) or path[len(PREFIX)] == "/"):
                    await self.router(scope, receive, send)
                elif self.forwarder is None:  # --tag-only: the store serves its own pages
                    await NOT_HERE(scope, receive, send)
                else:
                    await self.forwarder(scope, receive, send)
            finally:
                if task is not None:
                    self.in_flight.tasks.discard(task)
        elif kind == "websocket":
            path = scope["path"]
            if self.websockets is None or path.startswith(PREFIX) and (len(path) == len(PREFIX) or path[len(PREFIX)] == "/"):
                # /_sw/ has no WebSocket, and --tag-only has no origin to upgrade to
                if (await receive())["type"] == "websocket.connect":
                    await deny(scope, send, 404, [(b"content-type", b"text/plain; charset=utf-8")], b"no WebSocket here\n")
            else:
                await self.websockets(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def live(self, request: Request) -> Response:
        """Liveness: the process answers (200 even when degraded: pages are still served)."""
        return JSONResponse(
            {"status": "live", "pid": os.getpid(), "personalizer": type(self.personalizer).__name__},
            headers={"cache-control": "no-store"},
        )

    async def health_report(self) -> HealthReport:
        """The checks' outcome, reused for ``HEALTH_CACHE_S``: a flood of health requests costs one check a second."""
        if self._health_lock is None:
            self._health_lock = asyncio.Lock()
        async with self._health_lock:  # concurrent requests wait for one check instead of each running it
            if self._health is not None and time.monotonic() - self._health[0] < HEALTH_CACHE_S:
                return self._health[1]
            checks = getattr(self.personalizer, "health", None) or _nothing  # a transparent proxy: nothing to check
            error = self.startup_error

            async def all_checks(report: HealthReport) -> None:
                if error is not None:
                    report.add("personalizer_failed", error)
                await checks(report)

            report = await run_checks(all_checks)
            if self.upstream is not None:  # not within the store checks' deadline: its own, shorter
                report.upstream = await check_upstream(self.upstream.health, self.upstream.probe)
            self._health = (time.monotonic(), report)
            return report

    async def health(self, request: Request) -> Response:
        """Readiness for alerting: 503 with ``status: degraded`` and the reasons (see ``health.py``); whether
        the store answers in ``upstream``, never in the status (``upstream_health.py``)."""
        report = await self.health_report()
        body = {**report.body(), "pid": os.getpid(), "personalizer": type(self.personalizer).__name__}
        return JSONResponse(body, status_code=200 if not report.reasons else 503, headers={"cache-control": "no-store"})

    async def metrics(self, request: Request) -> Response:
        """The Prometheus text, with the health gauges refreshed first."""
        await self.health_report()
        return await metrics_endpoint(request)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        metrics.start()
        self.in_flight.start()
        try:
            await self.personalizer.startup()
        except Exception as exc:  # fail open: a transparent proxy beats an outage
            self.startup_error = f"{type(self.personalizer).__name__} failed to start: {type(exc).__name__}: {exc}"
            log.exception("personalizer %s failed to start; serving pages unchanged", type(self.personalizer).__name__)
            metrics.count_fail_open("startup")
            self.personalizer = NullPersonalizer()
            self._build()
        if self.worker:
            heap.settle()  # start-up's objects out of every later full collection (the p99 tail)

    async def shutdown(self) -> None:
        self.in_flight.stop()
        try:
            await self.personalizer.shutdown()
        finally:
            metrics.flush()  # what this worker counted since its last flush reaches the scrape
            if self.upstream is not None:
                await self.upstream.aclose()


async def _nothing(report: HealthReport) -> None:
    return None


async def metrics_endpoint(request: Request) -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type, headers={"cache-control": "no-store"})


def create_app(settings: Settings, personalizer: Personalizer | None = None, *, worker: bool = False) -> Any:
    """The ASGI app for these settings; without a personalizer, a transparent reverse proxy."""
    return ProxyApp(settings, personalizer, worker=worker)


def create_app_from_env() -> Any:
    """Factory for server workers: settings from ``SLOTWISE_*``, the real personalizer if installed."""
    from slotwise.logsetup import configure_logging

    from slotwise.proxy.operations.orphans import die_with_master, stop_master
    from slotwise.proxy.operations.worker_signals import tell_at_uvicorns_stop
    from slotwise.proxy.server import tune_malloc

    die_with_master()  # a kill -9 of the master must not leave this worker serving
    tune_malloc()
    settings = Settings.from_env()
    configure_logging(settings.log_level, access=settings.access_log)  # one format, no query strings
    if settings.server == "uvicorn":  # granian's workers are told by their own handler (server.run: once_per_worker)
        tell_at_uvicorns_stop()
    try:
        return _worker_app(settings)
    except Exception as exc:  # would fail again in every respawned worker
        stop_master(exc)
        raise


def _worker_app(settings: Settings) -> Any:
    try:
        from slotwise.proxy.personalization.personalize import build_personalizer  # written by the personalization layer
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.personalize":
            raise  # the module exists but something it imports is missing: say so
        return create_app(settings, NullPersonalizer(), worker=True)
    return create_app(settings, build_personalizer(settings), worker=True)
