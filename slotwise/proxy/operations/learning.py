"""Keeps this process's bandit learner in step with the store's log.

The log (decisions, events, exposures) is the single source of truth. In
embedded mode every worker tails it and applies the same records, in the
same order, to its own pure ``Learner`` — so all workers learn the same
thing without talking to each other — and snapshots its state now and then.
On start the newest snapshot is loaded and only the records logged after it
are replayed: a kill -9 loses no learning.

In follower mode (several instances over Redis) the process does not learn;
it loads the snapshots a separate ``slotwise learner`` publishes.

A snapshot this version cannot read (``SnapshotFormatError``: an older
format, or river models pickled by another river version) is not an error:
the learner starts empty and replays the whole log, which rebuilds exactly
what the snapshot held.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Iterable, Mapping

from slotwise.bandits.learner import Learner, SlotConfig, SnapshotFormatError
from slotwise.bandits.records import Outcome
from slotwise.store.base import LogRecord, Store
from slotwise.store.outage import is_outage
from slotwise.tasks import cancel_and_wait

log = logging.getLogger("slotwise.learning")

SNAPSHOT_NAME = "bandits"
REWARD_EVENTS = ("click", "add_to_cart", "purchase", "signup")
EXPOSURE_EVENTS = ("exposure", "popup_shown")  # a popup is seen when it opens (its template is never in view)


def learner_record(rec: LogRecord) -> dict[str, Any] | None:
    """The learner's view of one log record (None: nothing to learn from it)."""
    data = rec.data
    if rec.kind == "decision":
        return {**data, "type": "decision", "seq": rec.seq}
    if rec.kind != "event":
        return None
    event_type = data.get("type")
    props = data.get("props") or {}
    decision_id = props.get("decision_id") or data.get("decision_id")
    ts = arrival_time(rec)
    if event_type in EXPOSURE_EVENTS and decision_id:
        return {"type": "exposure", "decision_id": decision_id, "ts": ts, "seq": rec.seq}
    if event_type in REWARD_EVENTS:
        visitors = data.get("visitors")
        return {
            "type": "event",
            "visitor_id": rec.visitor,
            **({"also": [str(v) for v in visitors if v != rec.visitor]} if isinstance(visitors, list) else {}),
            "event_type": event_type,
            "value": event_value(props),
            "ts": ts,
            "decision_ids": [decision_id] if decision_id else None,
            "cost": float(props.get("coupon_cost") or 0.0),
            **redemption(props),
            "seq": rec.seq,
        }
    return None


def redemption(props: Mapping[str, Any]) -> dict[str, Any]:
    """Whether an order redeemed a coupon, and what it took off, when the store says (``coupon``).

    ``{}`` when the event does not say: the learner then charges the offer's
    declared cost on every order that follows it, as if it had been used.
    """
    if "coupon" not in props:
        return {}
    out: dict[str, Any] = {"redeemed": bool(props.get("coupon"))}
    try:
        if out["redeemed"] and props.get("discount") is not None:
            out["discount"] = max(0.0, float(props["discount"]))
    except (TypeError, ValueError):
        pass
    return out


def arrival_time(rec: LogRecord) -> float:
    """When the learner takes an event to have happened: when the server stored it.

    The tag's own ``ts`` may be days old (events queued offline); joining on it
    would let an event arriving after the live learner closed a window (its
    clock tick, outside the log) reward that decision in every later replay of
    the log — the report, a restart from an older snapshot — but not in the
    live model. The server's receive time follows the log's order, so every
    reader settles each decision the same way. Decisions carry the server's
    time already.
    """
    received = rec.data.get("received")
    try:
        return float(received) if received is not None else rec.ts
    except (TypeError, ValueError):
        return rec.ts


def event_value(props: Mapping[str, Any]) -> float | None:
    """An order's value: its total, else the sum of its lines."""
    if props.get("total") is not None:
        try:
            return float(props["total"])
        except (TypeError, ValueError):
            return None
    lines = props.get("lines") or ()
    try:
        return sum(float(line.get("price") or 0) * int(line.get("qty") or 1) for line in lines) or None
    except (TypeError, ValueError, AttributeError):
        return None


class LearningLoop:
    """The in-process learner plus the task that feeds it from the log."""

    def __init__(
        self,
        store: Store,
        *,
        follower: bool = False,
        poll_s: float = 0.5,
        snapshot_every_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        on_outcomes: Callable[[list[Outcome]], None] | None = None,
    ) -> None:
        self.store = store
        self.follower = follower
        self.poll_s = poll_s
        self.snapshot_every_s = snapshot_every_s
        self.clock = clock
        self.on_outcomes = on_outcomes
        self.learner = Learner()
        self.slots: dict[str, SlotConfig] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_snapshot = 0.0
        self._snapshot_seq = -1
        self._wake = asyncio.Event()

    async def start(self, slots: Mapping[str, SlotConfig]) -> None:
        await self.load_snapshot()
        self.configure(slots)
        if not self.follower:
            await self.catch_up()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def load_snapshot(self) -> bool:
        """Loads a newer snapshot if there is one (a cheap seq check first where the store has it)."""
        seq_of = getattr(self.store, "snapshot_seq", None)
        if seq_of is not None and self._snapshot_seq >= 0:
            latest = await seq_of(SNAPSHOT_NAME)
            if latest is None or latest <= self._snapshot_seq:
                return False
        found = await self.store.load_snapshot(SNAPSHOT_NAME)
        if found is None:
            return False
        data, seq = found
        if seq <= self._snapshot_seq:
            return False
        try:
            learner = Learner.from_snapshot(data)
        except SnapshotFormatError as exc:  # another version's models: the log rebuilds them
            log.warning("bandit snapshot not loaded (%s); %s", exc,
                        "waiting for the learner's next one" if self.follower else "rebuilding the models from the log")
            return False
        except Exception:  # a corrupt or foreign snapshot: start fresh rather than not at all
            log.warning("bandit snapshot unreadable; rebuilding the models from the log", exc_info=True)
            return False
        if self.slots:
            learner.configure_local(self.slots)
        self.learner = learner
        self._snapshot_seq = seq
        return True

    def configure(self, slots: Mapping[str, SlotConfig]) -> None:
        """New rules: arms that stay keep their statistics (see ``Learner.configure``)."""
        self.slots = dict(slots)
        self._emit(self.learner.configure_local(self.slots))

    async def catch_up(self, batch: int = 1000) -> int:
        """Applies every log record after the learner's position; returns how many."""
        applied = 0
        while True:
            records = await self.store.read_log(self.learner.seq, batch)
            for rec in records:
                converted = learner_record(rec)
                if converted is None:
                    self.learner.skip_to(rec.seq)
                    continue
                try:
                    self._emit(self.learner.apply(converted))
                except (KeyError, ValueError, TypeError):
                    log.warning("log record %s (%s) not learnable; skipped", rec.seq, rec.kind, exc_info=True)
                    self.learner.skip_to(rec.seq)
                applied += 1
            if len(records) < batch:
                return applied

    async def snapshot(self) -> None:
        if self.follower:
            return
        await self.store.save_snapshot(SNAPSHOT_NAME, self.learner.snapshot(), self.learner.seq)
        self._snapshot_seq = self.learner.seq
        self._last_snapshot = self.clock()

    async def step(self) -> None:
        """One round of the background task (also called directly by tests)."""
        if self.follower:
            await self.load_snapshot()
            return
        await self.catch_up()
        self._emit(self.learner.tick_local(self.clock()))
        if self.clock() - self._last_snapshot >= self.snapshot_every_s and self.learner.seq != self._snapshot_seq:
            await self.snapshot()

    def poke(self) -> None:
        """Something was logged: run the next step now instead of at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store may be away for a while; serving goes on
                if not is_outage(exc):  # an outage is logged once, by the store
                    log.warning("learning step failed; retrying", exc_info=True)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if not self.follower:
            try:
                await self.catch_up()
                await self.snapshot()
            except Exception:
                log.warning("final bandit snapshot failed", exc_info=True)

    def _emit(self, outcomes: Iterable[Outcome]) -> None:
        outcomes = list(outcomes)
        if outcomes and self.on_outcomes is not None:
            self.on_outcomes(outcomes)
