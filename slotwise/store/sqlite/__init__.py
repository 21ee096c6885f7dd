"""The embedded store: one SQLite file (WAL) under the data directory."""

from __future__ import annotations

from pathlib import Path

from slotwise.store.sqlite.bulk import BulkMixin
from slotwise.store.sqlite.catalog import CatalogMixin
from slotwise.store.sqlite.coupons import CouponsMixin, erase_coupons, export_coupons
from slotwise.store.sqlite.db import Database
from slotwise.store.sqlite.health import HealthMixin
from slotwise.store.sqlite.inventory import InventoryMixin
from slotwise.store.sqlite.feed_reads import FeedReadsMixin
from slotwise.store.sqlite.leases import LeasesMixin
from slotwise.store.sqlite.log import LogMixin
from slotwise.store.sqlite.outbox import OutboxMixin, erase_outbox, export_outbox
from slotwise.store.sqlite.profiles import ProfilesMixin
from slotwise.store.sqlite.reorder import ReorderMixin, erase_reorder, export_reorder
from slotwise.store.sqlite.presence import PresenceMixin
from slotwise.store.sqlite.signouts import SignoutsMixin
from slotwise.store.sqlite.snapshots import SnapshotsMixin
from slotwise.store.sqlite.switches import SwitchesMixin


class SQLiteStore(ProfilesMixin, LogMixin, CatalogMixin, SnapshotsMixin, CouponsMixin, OutboxMixin, BulkMixin,
                  SwitchesMixin, SignoutsMixin, PresenceMixin, InventoryMixin, ReorderMixin, LeasesMixin, FeedReadsMixin, HealthMixin):
    """The default store: every concern is a mixin over one ``Database``."""

    # what else delete_profile / export_profile cover: functions of (cursor, ids)
    _erase_hooks = (erase_coupons, erase_outbox, erase_reorder)
    _export_hooks = (export_coupons, export_outbox, export_reorder)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = Database(self.path)

    async def close(self) -> None:
        self.db.close()


__all__ = ["SQLiteStore"]
