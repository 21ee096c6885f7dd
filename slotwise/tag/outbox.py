"""Delivers outbox messages (sign-up webhooks) at least once, with back-off.

The message is stored in the request that caused it (``store.outbox_put``);
this worker, a background task of each process, claims due messages with a
lease, POSTs them, and settles each: 2xx → done (deleted), anything else →
due again after an exponential back-off with jitter (capped, never given
up). A receiver deduplicates by the ``Idempotency-Key`` header; the body is
signed (``X-Slotwise-Signature: sha256=<hex HMAC of the body>``).

Each attempt's outcome goes to ``on_attempt`` (the proxy counts them in
``slotwise_webhook_attempts_total``): ``delivered`` (2xx), ``refused`` (the
receiver answered anything else) or ``error`` (no answer: refused connection,
timeout, a URL that cannot be reached). What waits is the store's
``outbox_state``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from typing import Callable

import httpx

from slotwise.store.base import OutboxItem, Store
from slotwise.store.outage import is_outage
from slotwise.tasks import cancel_and_wait

log = logging.getLogger("slotwise.tag.outbox")

TOPIC = "webhook"
OUTCOMES = ("delivered", "refused", "error")
"""What ``on_attempt`` is told of each delivery attempt."""


def backoff(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt: base·2^(n−1), capped, with ±25% jitter."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * (0.75 + 0.5 * (rng or random).random())


class OutboxWorker:
    """One background task per process delivering due messages."""

    def __init__(
        self,
        store: Store,
        url: str,
        key: bytes,
        *,
        base_delay: float = 1.0,
        max_delay: float = 3600.0,
        lease_s: float = 30.0,
        timeout: float = 10.0,
        poll_s: float = 5.0,
        now: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        on_attempt: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.url = url
        self.key = key
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.now = now
        self.on_attempt = on_attempt
        self._client = httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False, transport=transport)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0

    def start(self) -> None:
        """Starts the task in the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="slotwise-outbox")

    def notify(self) -> None:
        """A message was queued: deliver now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.deliver_due()
            except Exception as exc:  # the store hiccuped: try again at the next poll
                if not is_outage(exc):
                    log.exception("outbox delivery round failed")
                busy = False
            if busy:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=await self._sleep_for())
            except asyncio.TimeoutError:
                pass

    async def _sleep_for(self) -> float:
        """Until the next message is due (if the store can tell), at most ``poll_s``."""
        next_due = getattr(self.store, "outbox_next_due", None)
        due = await next_due() if next_due is not None else None
        if due is None:
            return self.poll_s
        return min(self.poll_s, max(0.02, due - self.now()))

    async def deliver_due(self, limit: int = 10) -> bool:
        """One round; True when it delivered a full batch (more may be due)."""
        items = await self.store.outbox_claim(self.now(), self.lease_s, limit)
        for item in items:
            await self._deliver(item)
        return len(items) == limit

    async def _deliver(self, item: OutboxItem) -> None:
        body = json.dumps(dict(item.payload), separators=(",", ":")).encode()
        signature = hmac.new(self.key, body, hashlib.sha256).hexdigest()
        headers = {
            "content-type": "application/json",
            "idempotency-key": f"sw-{item.topic}-{item.payload.get('id', item.id)}",
            "x-slotwise-signature": f"sha256={signature}",
            "user-agent": "Slotwise-Webhook/1",
        }
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
            error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
            outcome = "refused" if error else "delivered"
        except httpx.HTTPError as exc:
            error, outcome = f"{type(exc).__name__}: {exc}", "error"
        self._told(outcome)
        if not error:
            await self.store.outbox_done(item.id)
            self.delivered += 1
            return
        now = self.now()
        delay = backoff(item.attempts, self.base_delay, self.max_delay)
        log.warning("webhook %s attempt %d failed (%s); retrying in %.1fs", item.id, item.attempts, error, delay)
        await self.store.outbox_retry(item.id, now + delay, error, now)

    def _told(self, outcome: str) -> None:
        """``on_attempt(outcome)``; a failing listener costs the count, never the delivery."""
        if self.on_attempt is not None:
            try:
                self.on_attempt(outcome)
            except Exception:
                log.exception("webhook attempt listener failed")
