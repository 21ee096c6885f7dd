"""What a bulk import does to profiles and aliases: one code path for the SQLite and the Redis store.

Rows name their person by aliases (``customer:C42``, ``email:<sha256>``) and
bring an update. The person is whoever holds the first of them; aliases held
by other profiles merge those into it (as a trusted ``link_identity`` does);
an alias nobody holds attaches to the person, created under the first alias
when nobody holds any. The stores differ only in how they read and write
(``BulkSource``): SQLite asks its transaction as it goes, Redis answers from
what it read for a whole chunk in two round trips and writes the chunk with
one script — a row-by-row ``link_identity``/``update_profile`` over Redis
cost a dozen round trips and a JSON round trip per alias.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from slotwise.profile import Profile, merge
from slotwise.store.base import ProfileUpdate
from slotwise.store.profile_json import decode_profile, encode_profile

BulkItem = tuple[Sequence[str], ProfileUpdate]


class BulkSource(Protocol):
    """A store's reads and writes, as seen by one bulk write (a transaction, a Redis chunk)."""

    def owner(self, alias: str) -> str | None:
        """The profile ``alias`` points at now, with this write's own changes (None: nobody)."""

    def load(self, profile_id: str) -> str | None:
        """The stored JSON of profile ``profile_id`` (None: none)."""

    def fold(self, other_id: str, target: str) -> None:
        """``other_id``'s profile is merged into ``target``: it goes, its id and its aliases point there."""

    def link(self, alias: str, target: str) -> None:
        """``alias`` points at ``target`` from now on."""


@dataclass
class BulkResult:
    """The people a bulk write named, updated, and the JSON each was read as (absent: new)."""

    profiles: dict[str, Profile]
    stored: dict[str, str]

    def changed(self) -> list[tuple[Profile, str]]:
        """(profile, its JSON) for each profile that does not encode to what was read: what to write."""
        out = []
        for profile in self.profiles.values():
            data = encode_profile(profile)
            if self.stored.get(profile.id) != data:  # unchanged (a re-import): nothing to write
                out.append((profile, data))
        return out


Release = Callable[[Sequence[str], dict[str, Profile]], None]


def apply_bulk(items: Sequence[BulkItem], source: BulkSource, now: float, release: Release | None = None) -> BulkResult:
    """Applies each update, in order, to the profile its aliases name; ``release`` first voids a
    browser's claims on a row's aliases (it may change the profiles held in the dict it is given)."""
    cache: dict[str, Profile] = {}
    stored: dict[str, str] = {}
    for aliases, update in items:
        if not aliases:
            continue
        if release is not None:
            release(aliases, cache)
        owners = list(dict.fromkeys(o for o in map(source.owner, aliases) if o))
        target = owners[0] if owners else aliases[0]
        profile = cache.get(target) or _read(source, target, stored) or Profile.new(target, now)
        for other_id in owners[1:]:
            other = cache.pop(other_id, None) or _read(source, other_id, {})
            if other is not None:
                profile = merge(profile, other)
            source.fold(other_id, target)
        for alias in aliases:
            if source.owner(alias) != target:
                source.link(alias, target)
        update(profile)
        cache[target] = profile
    return BulkResult(cache, stored)


def _read(source: BulkSource, profile_id: str, stored: dict[str, str]) -> Profile | None:
    """The profile ``profile_id``, its JSON kept in ``stored``."""
    data = source.load(profile_id)
    if data is None:
        return None
    stored[profile_id] = data
    return decode_profile(data)
