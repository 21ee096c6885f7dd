"""A worker process for the profile cache tests: one ``open_store`` (cached SQLite), driven line by line.

    python tests/store/profile_cache_worker.py DATA_DIR

Reads commands on stdin, answers one JSON line each:
``view VISITOR CATEGORY`` (a page view through the cache and the writer), ``page VISITOR CATEGORY``
(the same as the proxy records it: data another worker can replay), ``dump VISITOR`` (the whole profile),
``event VISITOR CATEGORY`` (a synchronous, acknowledged update), ``get VISITOR``
(the categories' counts as this worker sees them), ``link VISITOR ALIAS`` (a login),
``erase VISITOR``, ``stats`` (the cache's counters), ``flush``, ``close``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from slotwise.profile import ViewRecord, record_view
from slotwise.store import open_store


async def main(data: str) -> None:
    store = open_store("", data)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command, *args = line.split()
        now = time.time()
        answer: object = "ok"
        if command == "view":
            visitor, category = args
            await store.update_profile_soon(visitor, lambda p, c=category: record_view(p, now, category=c), now)
        elif command == "page":  # a page view as the proxy records it: data, published for the other workers
            visitor, category = args
            await store.update_profile_soon(visitor, ViewRecord(now, category, f"p-{category}", 19.5, True), now)
        elif command == "dump":
            profile = await store.get_profile(args[0])
            answer = profile.to_dict() if profile else None
        elif command == "event":
            visitor, category = args
            await store.update_profile(visitor, lambda p, c=category: record_view(p, now, category=c), now)
        elif command == "get":
            profile = await store.get_profile(args[0])
            answer = {c: e["count"] for c, e in profile.categories.items()} if profile else None
        elif command == "link":  # a login: VISITOR becomes ALIAS's person (merged)
            visitor, alias = args
            await store.link_identity(visitor, alias, now)
        elif command == "erase":
            answer = await store.delete_profile(args[0])
        elif command == "stats":
            answer = store.stats()
        elif command == "flush":
            await store.flush()
        elif command == "close":
            await store.close()
            print(json.dumps("closed"), flush=True)
            return
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
