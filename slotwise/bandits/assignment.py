"""Stable, stateless assignment of visitors: holdout and sticky splits.

Everything hashes ``salt:visitor_id`` with blake2b, so any proxy instance,
any process, any day gives the same answer without storing anything. The
salt separates independent draws (the global holdout must not correlate
with a slot's split).
"""

from __future__ import annotations

import hashlib
from typing import Sequence

_SCALE = float(1 << 64)
HOLDOUT_SALT = "slotwise:holdout"


def bucket(visitor_id: str, salt: str) -> float:
    """A uniform, stable number in [0, 1) for this visitor and salt."""
    digest = hashlib.blake2b(f"{salt}:{visitor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def in_holdout(visitor_id: str, share: float, salt: str = HOLDOUT_SALT) -> bool:
    """True for a stable ``share`` of visitors who are never personalized."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"holdout share must be in [0, 1], got {share!r}")
    return bucket(visitor_id, salt) < share


def even_split(visitor_id: str, slot: str, arms: Sequence[str]) -> str:
    """Sticky uniform split by rendezvous hashing.

    Each arm scores ``bucket(visitor, slot/arm)`` and the highest wins, so the
    split is even, and adding or removing an arm only moves the visitors of
    that arm (the others keep their variant). Propensity is ``1/len(arms)``.
    """
    if not arms:
        raise ValueError("even_split needs at least one arm")
    return max(arms, key=lambda arm: bucket(visitor_id, f"split:{slot}/{arm}"))
