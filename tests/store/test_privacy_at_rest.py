"""E-mail addresses are hashed on arrival: no clear address in any stored byte (SQLite and Redis).

Every way an address reaches Slotwise through the tag API is sent, then the
raw database (SQLite: the db, -wal and -shm files; Redis: every value of
every key) is searched for it. The sign-up webhook's outbox is the one place
that keeps an address, until it is delivered (docs/security.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.identity import VisitorCookies
from slotwise.tag.api import TagAPI
from slotwise.tag.testing import ADMIN_TOKEN, SECRET

pytestmark = pytest.mark.anyio

ADDRESSES = ["identify.ann@example.com", "signup.ann@example.com", "custom.ann@example.com",
             "capture.ann@example.com", "url.ann@example.com", "popup.ann@example.com"]


async def raw_bytes(backend: Any, store: Any, tmp_path: Path) -> bytes:
    """Everything the backend holds, as bytes."""
    if backend.name == "sqlite":
        return b"".join(f.read_bytes() for f in sorted(tmp_path.glob("slotwise.db*")))
    client = store.redis
    out = []
    async for key in client.scan_iter(match="*"):
        kind = await client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            out.append(await client.get(key))
        elif kind == "hash":
            out.append(await client.hgetall(key))
        elif kind == "set":
            out.append(await client.smembers(key))
        elif kind == "list":
            out.append(await client.lrange(key, 0, -1))
        elif kind == "zset":
            out.append(await client.zrange(key, 0, -1))
        elif kind == "stream":
            out.append(await client.xrange(key))
        out.append(key)
    return repr(out).encode()


@pytest.fixture
async def client(store: Any, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(secret=SECRET, data=str(tmp_path), admin_token=ADMIN_TOKEN)
    api = TagAPI(settings, store, VisitorCookies(SECRET.encode()), webhook="")
    app = Starlette(routes=[Mount("/_sw", routes=api.routes())])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shop.test") as c:
        yield c


def ev(type_: str, n: int, props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": f"{type_[:8]}-{n:08d}", "ts": 1_700_000_000.0, "props": props, **extra}


async def test_no_clear_address_is_stored(backend: Any, store: Any, client: httpx.AsyncClient, tmp_path: Path) -> None:
    events = [
        ev("identify", 1, {"customer_id": "c-1", "email": "Identify.Ann@example.com"}),
        ev("signup", 2, {"email": "signup.ann@example.com", "source": "newsletter"}),
        ev("custom", 3, {"name": "lead", "email": "custom.ann@example.com", "note": "from custom.ann@example.com"}),
        ev("capture", 4, {"source": "form", "values": {"email": "capture.ann@example.com", "x": ["capture.ann@example.com"]}}),
        ev("page_view", 5, {"url": "https://shop.test/reset?email=url.ann%40example.com", "title": "Hi url.ann@example.com"},
           url="https://shop.test/reset?email=url.ann@example.com"),
    ]
    r = await client.post("/_sw/events", content=json.dumps({"events": events}))
    assert r.status_code == 200 and r.json()["stored"] == 5, r.text
    r = await client.post("/_sw/signup", content=json.dumps({"email": "popup.ann@example.com"}))
    assert r.status_code == 200, r.text

    visitor = client.cookies.get("sw_vid").split(".")[0]
    profile = await store.get_profile(visitor)
    assert profile.customer_id == "c-1" and profile.email_hash  # the facts are kept, as hashes
    held = (await raw_bytes(backend, store, tmp_path)).lower()
    for address in ADDRESSES:
        for form in (address, address.replace("@", "%40")):
            assert form.encode() not in held, f"{form} stored in clear"


async def test_an_erased_persons_decisions_leave_the_learners_saved_state(backend: Any, store: Any,
                                                                          tmp_path: Path) -> None:
    """The learner keeps the decisions still waiting for a reward — with their visitor id and context —
    in memory and in its saved snapshot. Erasing the person drops them there too (SQLite: the learner of
    the serving processes; Redis: ``slotwise learner``), and the snapshot is saved again at once."""
    from slotwise.bandits.learner import SlotConfig
    from slotwise.bandits.records import DecisionRecord
    from slotwise.proxy.operations.learner_process import StreamLearner
    from slotwise.proxy.operations.learning import LearningLoop
    from slotwise.store.base import LogRecord
    from slotwise.tag.admin import erase_person

    now = 1_800_000_000.0
    slots = {"hero": SlotConfig(arms=("a", "b"), goal="click", window=3600.0)}
    visitor, other = "erasedvisitor0000000001", "keptvisitor000000000002"
    for n, who in enumerate([visitor, other]):
        rec = DecisionRecord(f"dec{n}" + "0" * 28, now + n, who, "hero", "a", 0.5, context={"bias": 1.0})
        await store.append([LogRecord("decision", rec.decision_id, who, now + n, rec.to_dict())])
    await store.update_profile(visitor, lambda p: None, now)
    if backend.name == "redis":  # ``slotwise learner``: the stream's consumer, a snapshot after each batch
        stream = StreamLearner(store, slots=slots, block_ms=10, snapshot_every_s=0)
        await stream.start()
        await stream.step()
    else:  # the learner of the serving processes
        loop = LearningLoop(store, dedicated=True, clock=lambda: now + 10)
        await loop.start(slots)
        await loop.snapshot()
    assert visitor.encode() in await raw_bytes(backend, store, tmp_path)  # the test sees what it looks for

    assert await erase_person(store, visitor)
    if backend.name == "redis":
        await stream.step()
        learner = stream.learner
    else:
        await loop.step()  # a round of the learner's task: the snapshot is due at once, not in a minute
        learner = loop.learner
    held = await raw_bytes(backend, store, tmp_path)
    assert visitor.encode() not in held and other.encode() in held  # the other visitor's decision waits on
    assert learner.pending_count == 1
    if backend.name != "redis":
        await loop.stop()
