"""The one digest of a page's bytes that every per-page cache is keyed by.

Why: a store serves the same page bytes to many visitors, so the work that
depends only on the bytes (the page's reading, the rewriter's splice targets,
the CSP nonce) is kept per page. Each of those caches used to hash the page
itself (a BLAKE2b and a SHA-256 of 120 KB: ~0.33 ms a view); the personalizer
now hashes once and hands the digest to all of them. SHA-256, because a
collision would apply one page's splice offsets to another page's bytes, and
because with the CPU's SHA extensions it is the cheapest strong hash here
(~0.09 ms for 120 KB against ~0.24 ms for BLAKE2b).
"""

from __future__ import annotations

import hashlib


def page_digest(html: bytes) -> bytes:
    """The page's SHA-256 (32 bytes)."""
    return hashlib.sha256(html).digest()
