"""The scale-out store: several proxy instances share state through one Redis (or Valkey).

``RedisStore("redis://host:6379/0?anon_ttl=30d")`` implements the whole
Store contract; each concern is a mixin over one client, like the SQLite
store. URL parameters of our own (see :mod:`.options`): ``anon_ttl``,
``timeout``, ``connect_timeout``, ``prefix``, ``dedup_ttl``, ``log_maxlen``;
keyword arguments give the defaults the URL may override.

Beyond the contract, for the learner and serving instances: ``stream_name``,
``create_group``, ``consume``, ``ack``, ``reclaim`` (log) and
``snapshot_seq``, ``watch_snapshots`` (snapshots), ``ping``, and ``probe_write``,
``log_head`` (health), ``trim_log``, ``log_start`` (retention).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slotwise.store.redis.bulk import BulkMixin
from slotwise.store.redis.catalog import CatalogMixin
from slotwise.store.redis.client import KeyedLocks, connect, guarded
from slotwise.store.redis.health import HealthMixin
from slotwise.store.redis.inventory import InventoryMixin
from slotwise.store.redis.coupons import CouponsMixin, erase_coupons, export_coupons
from slotwise.store.redis.feed_reads import FeedReadsMixin
from slotwise.store.redis.leases import LeasesMixin
from slotwise.store.redis.log import LogMixin
from slotwise.store.redis.outbox import OutboxMixin, erase_outbox, export_outbox
from slotwise.store.redis.options import RedisOptions, parse_duration, split_url
from slotwise.store.redis.profiles import ProfilesMixin
from slotwise.store.redis.reorder import ReorderMixin, erase_reorder, export_reorder
from slotwise.store.redis.retention import RetentionMixin
from slotwise.store.redis.presence import PresenceMixin
from slotwise.store.redis.signouts import SignoutsMixin
from slotwise.store.redis.snapshots import SnapshotsMixin
from slotwise.store.redis.switches import SwitchesMixin

DEFAULT_URL = "redis://127.0.0.1:6379/0"


class RedisStore(ProfilesMixin, LogMixin, CatalogMixin, SnapshotsMixin, CouponsMixin, OutboxMixin, BulkMixin,
                 HealthMixin, RetentionMixin, SwitchesMixin, SignoutsMixin, PresenceMixin, InventoryMixin, ReorderMixin, LeasesMixin,
                 FeedReadsMixin):
    """The Store contract over Redis; constructing it does no I/O (connections are lazy)."""

    # what else delete_profile / export_profile cover: async functions of (store, ids)
    _erase_hooks = (erase_coupons, erase_outbox, erase_reorder)
    _export_hooks = (export_coupons, export_outbox, export_reorder)

    def __init__(self, url: str = DEFAULT_URL, **options: Any) -> None:
        if "anonymous_ttl_s" in options:
            options["anonymous_ttl_s"] = parse_duration(options["anonymous_ttl_s"])
        self.url, self.options = split_url(url, replace(RedisOptions(), **options))
        self.redis = connect(self.url, self.options)
        self._blocking = None
        self._locks = KeyedLocks()
        self._scripts = {}

    @guarded
    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    async def close(self) -> None:
        for client in (self.redis, self._blocking):
            if client is not None:
                try:
                    await client.aclose()
                except Exception:  # closing a dead connection must not fail shutdown
                    pass


__all__ = ["RedisOptions", "RedisStore"]
