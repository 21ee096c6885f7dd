"""Where a decision's randomness comes from: the decision id, not a generator's position.

A policy's probabilities are a function of its state, identical in every
worker and instance that holds the same statistics. The draw that picks an arm
from them must be independent from one decision to the next. A generator seeded
per slot is not: every process that loads the same snapshot restarts the same
sequence, so two instances (or one reloading snapshots) repeat each other's
draws — Thompson once chose one variant 15 times in a row while logging 1/3.

So the uniform number behind a decision is a hash of its id (a random UUID
the proxy makes anyway): independent across decisions, workers, instances and
reloads, and reproducible from the log (replay recomputes the same draw).
"""

from __future__ import annotations

import hashlib
import random

_SCALE = float(1 << 53)


def decision_uniform(decision_id: str) -> float:
    """A uniform number in [0, 1) determined by the decision id (53 bits of BLAKE2b)."""
    digest = hashlib.blake2b(decision_id.encode("utf-8"), digest_size=8, person=b"sw-decide").digest()
    return (int.from_bytes(digest, "big") >> 11) / _SCALE


def derived_rng(*keys: object) -> random.Random:
    """A generator determined by ``keys`` (e.g. a policy's seed and version): every process applying
    the same updates draws the same numbers (bootstrap weights), without a shared generator."""
    digest = hashlib.blake2b(":".join(map(str, keys)).encode("utf-8"), digest_size=8, person=b"sw-derive").digest()
    return random.Random(int.from_bytes(digest, "big"))
