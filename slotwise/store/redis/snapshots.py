"""Model snapshots in Redis, and how serving instances notice a new one.

Keys: ``sw:snap:<name>`` hash {seq, data}. Saving also PUBLISHes
``{"name", "seq"}`` on ``sw:snapshots``. :meth:`watch_snapshots` wakes on that
message and also polls the seq (one HGET) every ``poll_s``, because pub/sub
drops messages while a subscriber is disconnected.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any, Awaitable, Callable, Mapping

from redis.exceptions import RedisError

from slotwise.store.base import StoreError
from slotwise.store.redis.client import UNAVAILABLE_ERRORS, RedisBase, guarded
from slotwise.store.redis.options import RedisOptions
from slotwise.store.snapshot_text import decoded_snapshot

log = logging.getLogger(__name__)

SnapshotCallback = Callable[[dict[str, Any], int], Awaitable[None] | None]


class SnapshotsMixin(RedisBase):
    options: RedisOptions

    @property
    def snapshot_channel(self) -> str:
        return self.key("snapshots")

    @guarded
    async def save_snapshot(self, name: str, data: Mapping[str, Any], seq: int, *,
                            within_s: float | None = None) -> None:
        async with asyncio.timeout(within_s), self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key("snap", name), mapping={"seq": int(seq), "data": json.dumps(dict(data), separators=(",", ":"))})
            pipe.publish(self.snapshot_channel, json.dumps({"name": name, "seq": int(seq)}))
            await pipe.execute()

    @guarded
    async def load_snapshot(self, name: str) -> tuple[dict[str, Any], int] | None:
        data, seq = await self.redis.hmget(self.key("snap", name), ["data", "seq"])
        if data is None or seq is None:
            return None
        return await decoded_snapshot(data), int(seq)

    @guarded
    async def snapshot_seq(self, name: str) -> int | None:
        """The saved snapshot's seq: the cheap check before a load."""
        seq = await self.redis.hget(self.key("snap", name), "seq")
        return None if seq is None else int(seq)

    async def watch_snapshots(
        self, name: str, callback: SnapshotCallback, *, after_seq: int = -1, poll_s: float = 1.0
    ) -> None:
        """Call ``callback(data, seq)`` for each newer snapshot of ``name``, until cancelled.

        Run it as a task. Redis going away is waited out (retried every
        ``poll_s``); an exception from the callback is logged, not raised.
        """
        seen = after_seq
        pubsub = None
        try:
            while True:
                try:
                    if pubsub is None:
                        pubsub = self.redis.pubsub()
                        await pubsub.subscribe(self.snapshot_channel)
                    seq = await self.snapshot_seq(name)
                    if seq is not None and seq > seen:
                        loaded = await self.load_snapshot(name)
                        if loaded is not None and loaded[1] > seen:
                            seen = loaded[1]
                            await _call(callback, *loaded)
                    await pubsub.get_message(ignore_subscribe_messages=True, timeout=poll_s)
                except (StoreError, RedisError, *UNAVAILABLE_ERRORS) as exc:
                    log.warning("snapshot watch %s: %s; retrying in %.1fs", name, exc, poll_s)
                    if pubsub is not None:
                        await _close_quietly(pubsub)
                        pubsub = None
                    await asyncio.sleep(poll_s)
        finally:
            if pubsub is not None:
                await _close_quietly(pubsub)


async def _call(callback: SnapshotCallback, data: dict[str, Any], seq: int) -> None:
    try:
        result = callback(data, seq)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a bad consumer must not stop the watch
        log.exception("snapshot callback failed")


async def _close_quietly(pubsub: Any) -> None:
    try:
        await pubsub.aclose()
    except Exception:  # the connection is already gone
        pass
