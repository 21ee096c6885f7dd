"""Who refreshes a product feed: the lease's name for a feed and its mapping, and who holds it.

Every worker of every instance runs a ``FeedLoader``; the catalog it writes is shared, so one of them
reading the store's feed is enough. The lease is named by a digest of what is read (the feed and its
mapping), so a rules change of either is a new lease, free at once: never held back by the previous
feed's last load. The digest is of plain, ordered data (a mapping's sets sorted), the same in every
process whatever its hash seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import socket
from pathlib import Path
from typing import Any, Mapping

from slotwise.rules.feed_mapping import FeedMapping


def _plain(value: Any) -> Any:
    """``value`` as JSON data in a fixed order (dataclasses as dicts, sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def lease_name(feed: Path | str, mapping: FeedMapping | None) -> str:
    """``feed:<digest>``: one lease per feed and mapping."""
    text = json.dumps([isinstance(feed, Path), str(feed), _plain(mapping)], sort_keys=True)
    return "feed:" + hashlib.sha256(text.encode()).hexdigest()[:32]


class Holder:
    """This process's name as a lease holder (host, pid, a random tag): the pid read at each use, so a
    loader made before the workers forked names each worker apart."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(4)

    def __str__(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{self.tag}"
