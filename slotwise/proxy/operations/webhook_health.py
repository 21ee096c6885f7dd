"""What waits in the webhook outbox: ``/_sw/health``'s ``webhook``, the metrics' gauges, the admin page's line.

While the receiver of ``--webhook-url`` refuses (down, a wrong URL, a 401),
messages pile up in the outbox, delivered at least once and never given up
(``tag.outbox``), and nothing said so. Now one store read,
``Store.outbox_state`` (index reads on both stores, whatever the backlog),
serves the health check (and so each ``/_sw/metrics`` scrape, which
refreshes health first: the gauges ``slotwise_webhook_pending``,
``_failing`` and ``_oldest_seconds``) and the admin page.

Never a degraded reason: the receiver's outage is no fault of this instance,
and a balancer that took every instance out for it would lose the store's
pages and deliver nothing more. Alert on ``slotwise_webhook_oldest_seconds``.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from slotwise.proxy.forwarding.upstream_health import iso
from slotwise.proxy.operations import metrics
from slotwise.proxy.operations.admin_html import utc_text
from slotwise.store.base import OutboxState, Store, StoreError

log = logging.getLogger("slotwise.proxy")


def receiver(url: str) -> str:
    """The receiver's origin (``scheme://host:port``): ``/_sw/health`` answers anyone, and a webhook URL's
    path, query or user part often holds a token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is no number: the receiver is named without it
        port = ""
    return f"{parts.scheme}://{host}{port}"


def status(state: OutboxState) -> str:
    """``ok`` (nothing waits), ``pending`` (messages on their way, none refused yet) or ``failing``."""
    return "failing" if state.failing else "pending" if state.pending else "ok"


def body(state: OutboxState, url: str, now: float) -> dict[str, Any]:
    """``/_sw/health``'s ``webhook`` for this state."""
    out: dict[str, Any] = {"configured": True, "receiver": receiver(url), "status": status(state),
                           "pending": state.pending, "failing": state.failing}
    if state.oldest is not None:
        out.update(oldest=iso(state.oldest), oldest_seconds=round(max(0.0, now - state.oldest), 1))
    if state.last_error is not None:
        out.update(last_error=state.last_error, last_error_at=iso(state.last_error_at))
    return out


async def read_state(store: Store) -> OutboxState | None:
    """``store.outbox_state()``, or None when the store cannot say (logged unless it is an outage, which
    the store logs once): the health check and the admin page carry on without it."""
    try:
        return await store.outbox_state()
    except StoreError:
        return None
    except Exception:
        log.exception("reading the webhook outbox's state failed")
        return None


def unknown(url: str) -> dict[str, Any]:
    """``webhook`` while the store cannot be read (its own degraded reason says why)."""
    return {"configured": True, "receiver": receiver(url), "status": "unknown", "error": "the store could not be read"}


async def check_webhook(store: Store, url: str, now: float) -> dict[str, Any]:
    """``/_sw/health``'s ``webhook``, and the gauges set from the same read (left as they were when the
    store cannot be read: the degraded reasons say why)."""
    state = await read_state(store)
    if state is None:
        return unknown(url)
    oldest_s = max(0.0, now - state.oldest) if state.oldest is not None else 0.0
    metrics.set_webhook(state.pending, state.failing, oldest_s)
    return body(state, url, now)


def ago(seconds: float) -> str:
    """A duration for a person: ``40 s``, ``12 min``, ``3.5 h``, ``2.0 days``."""
    if seconds < 90:
        return f"{max(0, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def backlog_line(state: OutboxState, now: float) -> str | None:
    """The admin page's one line while messages wait (plain text; the page escapes it); None when none does."""
    if not state.pending:
        return None
    since = utc_text(state.oldest) if state.oldest is not None else "?"
    waited = f" ({ago(now - state.oldest)})" if state.oldest is not None else ""
    many = "message waits" if state.pending == 1 else "messages wait"
    line = f"Webhook: {state.pending} {many} for delivery since {since}{waited}"
    if state.failing:
        line += f"; {state.failing} refused or unanswered at least once"
    if state.last_error is not None:
        line += f"; last error: {state.last_error}"
    return line + "."
