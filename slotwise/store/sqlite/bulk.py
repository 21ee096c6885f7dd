"""Bulk profile updates for imports: many rows, one transaction per batch.

``update_profile`` costs a transaction per call; a million-row POS export
needs each profile loaded and saved once per batch instead. Rows name their
person by aliases (``customer:C42``, ``email:<sha256>``): an alias nobody
holds yet creates a profile under the first alias, so a visitor who later
logs in with that customer id or e-mail merges into it (``link_identity``).
"""

from __future__ import annotations

import sqlite3
from typing import Sequence

from slotwise.profile import Profile, merge
from slotwise.store.base import ProfileUpdate
from slotwise.store.profile_json import decode_profile, encode_profile
from slotwise.store.sqlite.db import Database
from slotwise.store.sqlite.profiles import _load, load_json, release_claims_against, write_profile


def _owner(cur: sqlite3.Cursor, alias: str) -> str | None:
    row = cur.execute("SELECT profile_id FROM aliases WHERE alias = ?", (alias,)).fetchone()
    return row[0] if row else None


class BulkMixin:
    db: Database

    async def bulk_update(self, items: Sequence[tuple[Sequence[str], ProfileUpdate]], now: float) -> int:
        """Applies each update to the profile its aliases name, in one transaction.

        Aliases that point at two different profiles merge them (as
        ``link_identity`` does); an alias a browser only claimed is taken
        from its claimant first. Returns the number of profiles written.
        """
        cache: dict[str, Profile] = {}
        stored: dict[str, str] = {}  # the JSON of each row read here: a profile that encodes to it again is not written
        with self.db.transaction() as cur:
            for aliases, update in items:
                if not aliases:
                    continue
                release_claims_against(cur, aliases, now, cache)  # an import is trusted: claims on these names are void
                owners = list(dict.fromkeys(o for o in (_owner(cur, a) for a in aliases) if o))
                target = owners[0] if owners else aliases[0]
                profile = cache.get(target) or _read(cur, target, stored) or Profile.new(target, now)
                for other_id in owners[1:]:
                    other = cache.pop(other_id, None) or _load(cur, other_id)
                    if other is not None:
                        profile = merge(profile, other)
                    cur.execute("DELETE FROM profiles WHERE id = ?", (other_id,))
                    cur.execute("UPDATE aliases SET profile_id = ? WHERE profile_id = ?", (target, other_id))
                    cur.execute("INSERT OR REPLACE INTO aliases(alias, profile_id) VALUES (?, ?)", (other_id, target))
                for alias in aliases:
                    if _owner(cur, alias) != target:
                        cur.execute("INSERT OR REPLACE INTO aliases(alias, profile_id) VALUES (?, ?)", (alias, target))
                update(profile)
                cache[target] = profile
            written = 0
            for profile in cache.values():
                data = encode_profile(profile)
                if stored.get(profile.id) != data:  # unchanged (a re-import): same row, same version, caches kept
                    write_profile(cur, profile.id, data, now)
                    written += 1
        return written


def _read(cur: sqlite3.Cursor, profile_id: str, stored: dict[str, str]) -> Profile | None:
    """The profile ``profile_id``, its JSON kept in ``stored``."""
    data = load_json(cur, profile_id)
    if data is None:
        return None
    stored[profile_id] = data
    return decode_profile(data)
