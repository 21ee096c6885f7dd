"""The state store's contract, shared by the SQLite and the Redis store.

Exceptions::

    StoreError            the store could not do what was asked
    └── StoreUnavailable  the backend is unreachable (fail open, retry later)

Every method is async so that a network store (Redis) and the embedded one
(SQLite, whose calls take microseconds and run inline) share one interface.
Identity aliases look like ``"customer:C42"`` or ``"email:<sha256>"``; a
visitor id (the signed cookie's id) resolves to the canonical profile id it
was merged into.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Collection, Iterable, Mapping, Protocol, Sequence

from slotwise.profile import Profile
from slotwise.store.slot_presence import SlotPresence


class StoreError(Exception):
    """The store could not complete an operation."""


class StoreUnavailable(StoreError):
    """The backend cannot be reached; callers fail open and retry later."""


@dataclass(frozen=True)
class LogRecord:
    """One entry of the append-only log the learner consumes.

    ``kind`` is ``event`` (a visitor event), ``decision`` (a slot decision),
    ``exposure``, ``restart`` (a slot's learning restarted from the admin page) or ``forget``
    (the decision ids of an erased person, for the learner to drop);
    ``key`` makes appends idempotent (event id, decision id).
    """

    kind: str
    key: str
    visitor: str
    ts: float
    data: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0  # assigned by the store


ProfileUpdate = Callable[[Profile], None]


@dataclass(frozen=True)
class ViewUpdate:
    """A profile update the profile writer applies later (a page view, a sticky assignment).

    ``update`` is applied more than once to different copies of the profile (the worker's cached
    copy at once, the writer's copy when it writes, a reloaded copy while it is queued): it must
    give the same result on the same profile (time comes in as an argument), and put in the
    profile only objects it builds on each call, or values nobody changes in place.

    ``existed``: the profile existed when the update was made. If it is gone
    when the writer applies the update, it was erased meanwhile and the update
    is dropped (it must not bring an erased person back); otherwise a missing
    profile is created, as ``update_profile`` does.
    """

    visitor_id: str
    update: ProfileUpdate
    now: float
    existed: bool


@dataclass(frozen=True)
class ProductView:
    """A product view and its co-views, counted by the profile writer (``record_product_view`` later)."""

    product: str
    co_viewed: tuple[str, ...]


@dataclass(frozen=True)
class Committed:
    """What the writer committed for one profile: the version the row had when the writer read it
    (``None``: no row) and the version it has now.

    No profile travels with it: a worker's cache keeps its own copy and only moves it onto
    ``version`` when it was built on ``base`` (its copy is then the committed state plus its
    later views), so the writer's objects and the cache's never meet. ``visitors``: the visitor ids
    the writer found to name this profile, in the transaction that wrote it. ``data``: the text it
    wrote (a copy built on another version is made again from it, in the writer's thread).
    """

    base: int | None
    version: int
    visitors: tuple[str, ...] = ()
    data: str | None = None


def owners(ids: Sequence[str]) -> list[str]:
    """A person's ids as owners of coupons and outbox messages: each id, and ``profile:<id>``
    (the owner of a code given for an address someone else holds)."""
    return [*ids, *(f"profile:{i}" for i in ids if not i.startswith("profile:"))]


@dataclass(frozen=True)
class OutboxItem:
    """A message (e.g. a sign-up webhook) waiting for delivery, at least once."""

    id: int
    topic: str
    payload: Mapping[str, Any]
    attempts: int  # including the delivery attempt this item was claimed for
    created: float


@dataclass(frozen=True)
class OutboxState:
    """What waits in the outbox, for the operator (``/_sw/health``, the metrics, the admin page): read
    without touching any payload, so a receiver refusing for days does not make the check itself slow."""

    pending: int  # messages not delivered yet
    oldest: float | None  # ``created`` of the oldest of them (None: nothing pending)
    failing: int  # of them, those with a failed attempt (the receiver refused, or did not answer)
    last_error: str | None = None  # the most recent failed attempt's error, of a message still pending
    last_error_at: float | None = None


FEED_READ_KEPT_S = 7 * 86400.0
"""How long a feed's last read is kept after it: a feed the rules no longer name is forgotten then."""


@dataclass(frozen=True)
class FeedRead:
    """The outcome of the last read of a product feed, saved by the process that read it (the holder of the
    feed's lease) so that every worker and instance shows the same: ``/_sw/health``, the metrics, the admin."""

    feed: str  # the URL or file the rules name (the admin's alone: a URL may hold a token)
    at: float  # when the last read ended
    products: int = 0  # products the last read that loaded listed
    loaded_at: float | None = None  # when a read last loaded (None: none has)
    error: str | None = None  # why the last read failed (None: it loaded)
    failures: int = 0  # reads failed in a row since the last that loaded: how long the retry waits
    reader: str = ""  # the process that read it (``host:pid:tag``)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> FeedRead:
        """From ``as_dict``'s data (keys it does not know skipped: a newer version's record)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class InventoryRow:
    """Units of one product (in one size, or ``None`` for a product without sizes) at one physical store."""

    store: str
    product: str
    size: str | None
    qty: int


@dataclass
class InventoryChange:
    """What replacing stores' stock changed (a re-import of the same file changes nothing)."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0


class Store(Protocol):
    """What the proxy, the tag API, the CLI and the learner need from state."""

    # -- profiles ----------------------------------------------------------
    async def resolve(self, visitor_id: str) -> str:
        """The canonical profile id for a visitor id or alias (itself if unknown)."""

    async def get_profile(self, visitor_id: str) -> Profile | None: ...

    async def get_profiles(self, visitor_ids: Sequence[str]) -> list[Profile | None]:
        """``get_profile`` of each, in order; one round trip on Redis (an import reads back its buyers)."""

    async def update_profile(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        """Atomically read, apply ``update`` and write; creates the profile if missing."""

    async def update_profile_soon(self, visitor_id: str, update: ProfileUpdate, now: float) -> Profile:
        """As ``update_profile``, but the write may be batched with others and land a few
        milliseconds later (page views: see ``slotwise.store.profile_cache``); the profile
        returned already has the update applied."""

    async def link_identity(self, visitor_id: str, alias: str, now: float, *, merge: bool = True) -> Profile:
        """Attach an alias (customer id, e-mail hash) to the visitor's profile.

        If the alias already belongs to another profile, the visitor's profile
        is merged into that one (the golden record) and the visitor id from
        then on resolves to it — but only when ``merge`` is true, i.e. when the
        caller trusts the claim (the store's own page said who is logged in, an
        import). A claim the browser makes (``merge=False``) may only attach an
        alias nobody holds yet: typing someone else's e-mail never opens their
        profile. Such an alias stays marked as *claimed*: a trusted link for it
        later takes it from the claimant (who also loses the customer id or
        e-mail hash it stood for) instead of merging the real person into the
        claimant. ``visitor_id`` itself may be an alias (webhooks, imports):
        with ``merge`` a claim on it is void too.
        """

    async def bulk_update(self, items: Sequence[tuple[Sequence[str], ProfileUpdate]], now: float) -> int:
        """An import's rows: each update applied to the person its aliases name (trusted, as ``link_identity``
        with ``merge``), created under the first alias if nobody holds any; returns the profiles written.
        What it does is ``slotwise.store.bulk``'s on both stores; see there and each store's ``bulk``."""

    async def delete_profile(self, visitor_id: str) -> bool:
        """Erase everything held about the person: profile, aliases, log entries."""

    async def export_profile(self, visitor_id: str) -> dict[str, Any] | None:
        """Everything held about the person, as plain data."""

    # -- the append-only log -----------------------------------------------
    async def append(self, records: Sequence[LogRecord]) -> list[bool]:
        """Durably append; a record whose (kind, key) exists is skipped (False)."""

    async def read_log(self, after_seq: int, limit: int = 1000) -> list[LogRecord]: ...

    # -- catalog learned from pages and feeds -------------------------------
    async def upsert_products(self, products: Iterable[Mapping[str, Any]], now: float,
                              own_currency: str | None = None) -> int:
        """Merges each row into the stored one: the facts it carries (``None``: gone), the others kept, a
        row's kind (product or child) never changed, a price in ``own_currency`` (the rules'
        ``catalog.currency``) the row's own (``slotwise.store.catalog_merge``); returns the rows given."""

    async def catalog_stamp(self) -> int:
        """A number that changes whenever a product row changes (seen by another instance within a second):
        a writer that skips unchanged facts (``PageViewRecorder``) writes them again after another source did."""

    async def get_products(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    async def list_products(self, category: str | None = None, limit: int = 1000) -> list[dict[str, Any]]: ...

    async def record_product_view(self, product: str, co_viewed: Iterable[str]) -> None:
        """Count a view of ``product`` and one co-view with each of ``co_viewed``."""

    async def record_product_view_soon(self, product: str, co_viewed: Iterable[str]) -> None:
        """As ``record_product_view``, but the counts may be written with the next group of page views."""

    async def popular(self, category: str | None, limit: int) -> list[str]: ...

    async def co_viewed(self, product: str, limit: int) -> list[str]: ...

    # -- coupons (sign-up rewards) -------------------------------------------
    async def add_coupons(self, codes: Iterable[str], now: float) -> int:
        """Adds codes to the pool (known codes skipped); returns how many were new."""

    async def claim_coupon(self, owner: str, now: float, generate: Callable[[], str]) -> tuple[str, bool]:
        """The owner's code (``(code, False)``), or a newly claimed one: a free pool
        code, else one from ``generate``. A code is never handed out twice."""

    # -- the durable outbox (webhooks, at least once) ---------------------------
    async def outbox_put(self, topic: str, subjects: Sequence[str], payload: Mapping[str, Any], now: float) -> int:
        """Queues a message about ``subjects`` (visitor ids/aliases, for erase)."""

    async def outbox_claim(self, now: float, lease_s: float, limit: int = 10) -> list[OutboxItem]:
        """Due messages, leased for ``lease_s`` seconds."""

    async def outbox_done(self, item_id: int) -> None: ...

    async def outbox_retry(self, item_id: int, due: float, error: str, now: float) -> None:
        """The attempt at ``now`` failed with ``error``: due again at ``due``."""

    async def outbox_state(self) -> OutboxState:
        """Pending, oldest, failing and the last error: a few index reads, whatever the backlog."""

    # -- physical stores' stock (``slotwise import inventory``) ------------------
    async def replace_inventory(self, stores: Mapping[str, str], rows: Iterable[InventoryRow],
                                now: float) -> InventoryChange:
        """The stock of the stores named (id -> display name) becomes ``rows``, atomically:
        rows of those stores the file no longer names are removed; other stores are untouched."""

    async def store_stock(self, products: Iterable[str]) -> list[InventoryRow]:
        """Every store's rows for these products, ordered by store, product, size."""

    async def inventory_stores(self) -> dict[str, str]:
        """Store id -> display name, for every store an import named."""

    # -- reorder intervals (replenishment) -----------------------------------------
    async def set_reorder_intervals(self, by_person: Mapping[str, Mapping[str, float]]) -> None:
        """Each person's own interval (days per unit) per consumable key, replacing their earlier ones
        (one write for many people: an import sets a batch's buyers at once)."""

    async def reorder_intervals(self, keys: Iterable[str], limit: int = 1000) -> dict[str, list[float]]:
        """Per key, up to ``limit`` people's intervals: what a typical interval is computed from."""

    # -- model snapshots -------------------------------------------------------
    async def save_snapshot(self, name: str, data: Mapping[str, Any], seq: int, *,
                            within_s: float | None = None) -> None:
        """``within_s``: the write is given up (an error) past that many seconds of waiting for the store."""

    async def load_snapshot(self, name: str) -> tuple[dict[str, Any], int] | None: ...

    # -- kill switches (the admin page's) ---------------------------------------
    async def set_switch(self, name: str, off: bool, now: float, who: str) -> None:
        """Turns a slot (``name`` = its id) or all personalization (``*``) off or back on."""

    async def get_switches(self) -> dict[str, dict[str, Any]]:
        """Every switch ever set: ``{name: {"off": bool, "at": ts, "who": text}}``."""

    # -- admin sign-outs ---------------------------------------------------------
    async def revoke_admin_session(self, session: str, now: float, ttl_s: float) -> None:
        """A signed-out admin session (its cookie's random id) is refused by every worker and instance
        for ``ttl_s`` (what is left of its cookie's life at most): a copy of the cookie dies with it."""

    async def admin_session_revoked(self, session: str, now: float) -> bool:
        """Whether ``revoke_admin_session`` named this session less than its ``ttl_s`` ago."""

    # -- slots' presence on their pages (``slot_presence``: the admin page's health lines) -----
    async def add_slot_presence(self, counts: Mapping[str, SlotPresence]) -> None:
        """Adds one worker's counts since its last flush to each slot's record (``slot_presence.merge``),
        atomically against other workers and instances doing the same."""

    async def slot_presence(self) -> dict[str, SlotPresence]:
        """Every slot's record: slot id -> ``SlotPresence``."""

    async def forget_slot_presence(self, keep: Collection[str]) -> None:
        """Drops the record of every slot not in ``keep`` (the rules' slots, once per rules load): a slot
        taken out of the rules does not keep its counts, nor its warning, for ever."""

    # -- leases (one process of all workers and instances does a job) --------------
    async def take_lease(self, name: str, holder: str, now: float, ttl_s: float) -> bool:
        """Whether ``holder`` now holds lease ``name``: taken for ``ttl_s`` seconds if nobody held it
        (never taken, or its time is up; the holder itself neither), else refused. A holder that dies
        loses it when it expires. SQLite counts time by ``now``; Redis by its own clock from the call."""

    async def hold_lease(self, name: str, holder: str, now: float, ttl_s: float) -> None:
        """``name`` is held by ``holder`` for ``ttl_s`` seconds from now, whoever held it (a job asked for at
        once: ``FeedLoader.refresh(force=True)``)."""

    async def release_lease(self, name: str, holder: str, now: float, after_s: float = 0.0) -> bool:
        """``holder`` gives ``name`` back, if it still holds it (compare and delete, atomically): free at once,
        or (``after_s``) free ``after_s`` seconds from now, for whoever takes it then (a failed job's retry).
        False when ``holder`` no longer held it (its time ran out, perhaps another took it): left alone."""

    async def switch_lease(self, group: str, name: str, holder: str, now: float, ttl_s: float) -> bool:
        """Whether ``name`` just became ``group``'s current lease, and so ``holder``'s for ``ttl_s`` seconds,
        whoever held it (a job for new settings is due at once, even if it was done a moment ago under the
        same settings before a switch away and back); False, changing nothing, when it already was
        current: another process saw the same switch first, or nothing changed. ``ttl_s`` 0: a switch to no
        job (``catalog_feed.NO_FEED``), nothing held."""

    # -- the product feed's last read (``catalog.feed``, by the holder of its lease) ----------
    async def save_feed_read(self, name: str, read: FeedRead) -> None:
        """The last read under lease ``name``, for every process to show; kept ``FEED_READ_KEPT_S`` after it."""

    async def feed_read(self, name: str) -> FeedRead | None:
        """What ``save_feed_read`` last saved for ``name`` (None: nothing, or too long ago)."""

    async def close(self) -> None: ...
