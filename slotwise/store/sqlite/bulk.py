"""Bulk profile updates for imports: many rows, one transaction per batch.

``update_profile`` costs a transaction per call; a million-row POS export
needs each profile loaded and saved once per batch instead. What a row does
to profiles and aliases is ``slotwise.store.bulk``'s (shared with Redis);
here it reads and writes through the batch's transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

from slotwise.profile import Profile
from slotwise.store.bulk import BulkItem, apply_bulk
from slotwise.store.sqlite.db import Database
from slotwise.store.sqlite.profiles import load_json, release_claims_against, write_profile


class _Transaction:
    """``BulkSource`` over one transaction: every read sees the batch's earlier writes."""

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self.cur = cur

    def owner(self, alias: str) -> str | None:
        row = self.cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (alias,)).fetchone()
        return row[0] if row else None

    def load(self, profile_id: str) -> str | None:
        return load_json(self.cur, profile_id)

    def fold(self, other_id: str, target: str) -> None:
        self.cur.execute("DELETE FROM profiles WHERE id = ?", (other_id,))
        self.cur.execute("UPDATE aliases SET profile_id = ? WHERE profile_id = ?", (target, other_id))
        self.link(other_id, target)

    def link(self, alias: str, target: str) -> None:
        self.cur.execute("INSERT OR REPLACE INTO aliases(alias, profile_id) VALUES (?, ?)", (alias, target))


class BulkMixin:
    db: Database

    async def bulk_update(self, items: Sequence[BulkItem], now: float) -> int:
        """Applies each update to the profile its aliases name, in one transaction.

        Aliases that point at two different profiles merge them (as
        ``link_identity`` does); an alias a browser only claimed is taken
        from its claimant first. Returns the number of profiles written: one
        that encodes to the row it was read from (a re-import) keeps its row,
        its version and so every worker's cached copy.
        """
        with self.db.transaction() as cur:
            def release(aliases: Sequence[str], cache: dict[str, Profile]) -> None:
                release_claims_against(cur, list(aliases), now, cache)  # an import is trusted: claims are void

            result = apply_bulk(items, _Transaction(cur), now, release)
            changed = result.changed()
            for profile, data in changed:
                write_profile(cur, profile.id, data, now)
        return len(changed)
