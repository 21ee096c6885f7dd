"""Keeps this process's bandit models in step with the store's log.

The log (decisions, events, exposures) is the single source of truth. One
process per store learns from it: it tails the log, applies every record in
order to a pure ``Learner`` — which holds the decisions waiting for their
reward — saves its full state now and then (``SNAPSHOT_NAME``) and publishes
its models alone every second (``POLICIES_NAME``). Every other process only
decides: it loads the published models and holds no pending decision, so
its memory does not grow with the traffic.

A model's copy can be large: a river tree's or forest's state is megabytes
of pickle after some thousands of rewards (``bench/learner_reload.py``:
~15 MB and ~0.4 s of CPU a load after 20,000). So a follower builds the
loaded models in a thread, not on the event loop that serves its pages, and
both sides pace the copies by what the last one cost: a publish or a load
that took ``t`` seconds waits ``t / COPY_SHARE`` before the next (and never
less than the usual second's publish or half-second's poll), so copying
models takes at most that share of a core.

Embedded (SQLite), the processes sharing the file elect the learner with an
advisory lock next to it (``learner_lock``): the first to take it learns,
the others follow and try to take it at each step, so when the learner
stops or is killed (kill -9 too: the kernel drops its lock) another takes
over within a poll. Taking over, or restarting, starts from the newest full
snapshot and replays only the records logged after its ``seq``: no learning
is lost. A process told to stop (``stopping_soon``: its stop signal, or its
shutdown begun) never takes over: it would only replay, save and release
again within its stop's time, while one that goes on serving takes over at
its next poll. Over Redis (``follower``) a separate ``slotwise learner`` learns.

The learner's own memory is bounded: at most ``MAX_PENDING`` decisions wait
for their reward; one arriving beyond that is not held and never learned
(``Learner``'s docstring; counted in ``slotwise_learner_not_held``).

A snapshot this version cannot read (``SnapshotFormatError``: an older
format, or river models pickled by another river version) is not an error:
the learner starts empty and replays the whole log, which rebuilds exactly
what the snapshot held.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Callable, Iterable, Mapping

from slotwise.bandits.learner import Learner, SlotConfig, SnapshotFormatError
from slotwise.bandits.records import Outcome
from slotwise.proxy.operations.learner_lock import LearnerLock, lock_for
from slotwise.proxy.operations.metrics import LEARNER_NOT_HELD
from slotwise.rules.revenue import order_value
from slotwise.store.base import LogRecord, Store
from slotwise.store.outage import is_outage
from slotwise.tasks import cancel_and_wait

log = logging.getLogger("slotwise.learning")

SNAPSHOT_NAME = "bandits"  # the learner's full state, pending decisions included (recovery)
POLICIES_NAME = "bandits.policies"  # its models alone, published every second (the processes that decide)
# Bound on the decisions waiting for their reward in the learning process (``Learner.max_pending``):
# ~600 bytes each, so about 60 MB; beyond it new decisions are not learned (counted, see the docs)
MAX_PENDING = 100_000
STALE_MODELS_POLLS = 10  # a follower loads the full snapshot when the published models stay behind it this long
COPY_SHARE = 0.05  # at most this share of a core for publishing (leader) or loading (follower) the models
REWARD_EVENTS = ("click", "add_to_cart", "purchase", "signup")
EXPOSURE_EVENTS = ("exposure", "popup_shown")  # a popup is seen when it opens (its template is never in view)
RESTART_KIND = "restart"  # a log record: a slot's learning starts over here (asked for on the admin page)
FORGET_KIND = "forget"  # a log record: these decisions' person was erased (decision ids only)


def copy_interval(usual: float, cost: float) -> float:
    """Seconds from one copy of the models (a publish, a load, a snapshot) to the next: the ``usual`` interval,
    or longer when the last copy took ``cost`` seconds, so that copies take at most ``COPY_SHARE`` of a core."""
    return max(usual, cost / COPY_SHARE)


def learner_record(rec: LogRecord) -> dict[str, Any] | None:
    """The learner's view of one log record (None: nothing to learn from it)."""
    data = rec.data
    if rec.kind == "decision":
        return {**data, "type": "decision", "seq": rec.seq}
    if rec.kind == RESTART_KIND:
        return {"type": "restart", "slot": str(data.get("slot") or ""), "arm": str(data.get("variant") or ""),
                "ts": rec.ts, "by": data.get("by") or "", "seq": rec.seq}
    if rec.kind == FORGET_KIND:
        return {"type": "forget", "decision_ids": [str(i) for i in data.get("decisions") or []], "seq": rec.seq}
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
            "ts": ts,
            "decision_ids": [decision_id] if decision_id else None,
            "cost": float(props.get("coupon_cost") or 0.0),
            **event_money(data, props),
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


def event_money(data: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """What an event is worth to the learner: ``value`` and what its coupon took off (``redemption``).

    An order recorded under the rules' ``revenue`` carries its value in the reporting currency
    (``rules.revenue.valued``): that is the value, and an order in a currency with no rate is ``priced:
    False`` (a conversion worth no known amount). Else the order's own total or lines, as before."""
    stamp = data.get("revenue")
    if not isinstance(stamp, Mapping):
        return {"value": order_value(props), **redemption(props)}
    if stamp.get("unconverted") is not None:
        return {"value": None, "priced": False, **redemption({k: v for k, v in props.items() if k != "discount"})}
    amount = stamp.get("amount")
    converted = {**{k: v for k, v in props.items() if k != "discount"}, "discount": stamp.get("discount")}
    return {"value": float(amount) if isinstance(amount, (int, float)) else None, **redemption(converted)}


class LearningLoop:
    """This process's learner plus the task that keeps it current.

    Leading, it tails the log into a ``Learner`` that holds the pending
    decisions, saves the full state now and then (``SNAPSHOT_NAME``, for
    recovery) and publishes the models alone every ``publish_every_s``
    (``POLICIES_NAME``, for the processes that only decide). Following, it
    loads those published models and holds no pending decision.
    """

    def __init__(
        self,
        store: Store,
        *,
        follower: bool = False,
        poll_s: float = 0.5,
        snapshot_every_s: float = 60.0,
        publish_every_s: float = 1.0,
        max_pending: int | None = MAX_PENDING,
        dedicated: bool = False,
        clock: Callable[[], float] = time.time,
        on_outcomes: Callable[[list[Outcome]], None] | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.store = store
        self.follower = follower  # configured: a separate learner process feeds this one (Redis)
        self.dedicated = dedicated  # the learner process ``slotwise serve`` starts: it never hands over
        self.poll_s = poll_s
        self.snapshot_every_s = snapshot_every_s
        self.publish_every_s = publish_every_s
        self.max_pending = max_pending
        self.clock = clock
        self.on_outcomes = on_outcomes
        self.timer = timer  # what a copy of the models cost (``clock`` may be a simulated one)
        self.learner = Learner(max_pending=max_pending)
        self.slots: dict[str, SlotConfig] | None = {}  # None: the rules did not load yet (``start``)
        # embedded (SQLite): of the processes sharing the file, the one holding this lock learns
        self.lock: LearnerLock | None = None if follower else lock_for(store)
        self.leading = False
        self.stopping = False  # told to stop: never takes the lock (``stopping_soon``)
        self._task: asyncio.Task[None] | None = None
        self._last_snapshot = 0.0
        self._snapshot_seq = -1
        self._last_publish = float("-inf")
        self._published_seq = -1
        self._not_held_seen = 0
        self._not_held_warned = float("-inf")
        self._models_behind = 0  # follower: polls in a row that found the full snapshot newer than the models
        self._next_load = float("-inf")  # follower: no load before this (``clock``), paced by the last one's cost
        self._publish_cost = 0.0  # leader: seconds the last publish took
        self._wake = asyncio.Event()
        self._erased = False  # a ``forget`` record was applied since the last snapshot

    def may_lead(self) -> bool:
        """Embedded, not stopping, and no dedicated learner process is waiting for the lock (it has precedence)."""
        return not self.follower and not self.stopping and (
            self.dedicated or self.lock is None or self.lock.wanted_by() is None)

    def stopping_soon(self) -> None:
        """This process was told to stop: from now on it never takes the learning over. Taking over costs a
        full snapshot's load, the log after it and a save before the lock goes again: time of the stop's
        budget (``--stop-timeout``), spent for a process that goes on serving to take over anyway."""
        self.stopping = True

    async def start(self, slots: Mapping[str, SlotConfig] | None) -> None:
        """``slots`` of the rules; ``None`` when a rules file was given but rejected: the models keep the slots
        they hold until ``configure`` (configured with no slot, they dropped every one, and what it learned)."""
        self.slots = None if slots is None else dict(slots)
        if self.may_lead() and (self.lock is None or self.lock.try_acquire()):
            await self.lead()
        else:
            try:
                await self.load_snapshot()
            except Exception as exc:
                if not is_outage(exc):
                    raise
                # Redis away at start (logged once by the store): decide from the priors until ``_run`` loads
                # the models once it is back, rather than fail the start and never personalize again
            self._emit(self._configured(self.learner))
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def lead(self) -> None:
        """Become the learner: the full snapshot, then every record logged after it (nothing is lost)."""
        learner = await self._load_full()
        learner.max_pending = self.max_pending
        self._emit(self._configured(learner))
        await self.catch_up(learner=learner)
        self.learner = learner
        self._not_held_seen = learner.not_held
        self.leading = True
        if self.lock is not None:
            log.info("this process learns (pid %d holds %s)", os.getpid(), self.lock.path)
        await self.publish()

    async def _load_full(self) -> Learner:
        self._snapshot_seq = -1
        found = await self.store.load_snapshot(SNAPSHOT_NAME)
        if found is None:
            return Learner(max_pending=self.max_pending)
        data, seq = found
        try:
            learner = Learner.from_snapshot(data)
        except SnapshotFormatError as exc:  # another version's models: the log rebuilds them
            log.warning("bandit snapshot not loaded (%s); rebuilding the models from the log", exc)
            return Learner(max_pending=self.max_pending)
        except Exception:  # a corrupt or foreign snapshot: start fresh rather than not at all
            log.warning("bandit snapshot unreadable; rebuilding the models from the log", exc_info=True)
            return Learner(max_pending=self.max_pending)
        self._snapshot_seq = seq
        return learner

    async def load_snapshot(self) -> bool:
        """Follower: loads newer published models if there are (a cheap seq check first where the store has it).

        The models alone (``POLICIES_NAME``); the full snapshot, stripped of its pending
        decisions, only when no models are published or they stay behind it (an older learner).
        """
        if self.clock() < self._next_load:
            return False
        names = await self._newer()
        if not names:
            return False
        started = self.timer()  # a load is paced by its cost; a poll that found nothing newer costs nothing
        try:
            return await self._load(names)
        finally:
            self._next_load = self.clock() + copy_interval(0.0, self.timer() - started)  # the poll is the usual

    async def _newer(self) -> tuple[str, ...]:
        """The snapshot to load (nothing: none newer than this process's), or both, in order, where the store
        cannot tell their seqs."""
        seq_of = getattr(self.store, "snapshot_seq", None)
        if seq_of is None:
            return (POLICIES_NAME, SNAPSHOT_NAME)
        models, full = await seq_of(POLICIES_NAME), await seq_of(SNAPSHOT_NAME)
        # the full one (large: never in the normal run) only when nobody publishes models, or a learner of
        # an older version saves only that one: several polls in a row behind it, not the instant between
        # the learner's two saves
        self._models_behind = self._models_behind + 1 if models is not None and (full or -1) > models else 0
        if models is None or self._models_behind >= STALE_MODELS_POLLS:
            latest, name = full, SNAPSHOT_NAME
        else:
            latest, name = models, POLICIES_NAME
        return () if latest is None or latest <= self._snapshot_seq else (name,)

    async def _load(self, names: tuple[str, ...]) -> bool:
        found = None
        for name in names:
            found = await self.store.load_snapshot(name)
            if found is not None:
                break
        if found is None:
            return False
        data, seq = found
        if seq <= self._snapshot_seq:
            return False
        try:  # off the event loop: a large model's copy would stall every page of this worker
            learner = await asyncio.to_thread(self._follower_learner, data, dict(self.slots or {}))
        except SnapshotFormatError as exc:  # another version's models
            log.warning("bandit snapshot not loaded (%s); waiting for the learner's next one", exc)
            return False
        except Exception:  # a corrupt or foreign snapshot: keep what this process has
            log.warning("bandit snapshot unreadable; waiting for the learner's next one", exc_info=True)
            return False
        self.learner = learner
        self._snapshot_seq = seq
        LEARNER_NOT_HELD.set(learner.not_held)  # counted where the learner runs, shown by every worker
        return True

    @staticmethod
    def _follower_learner(data: Mapping[str, Any], slots: Mapping[str, SlotConfig]) -> Learner:
        """The models of a loaded snapshot, configured for this process's slots (a new object: nothing shared
        with the event loop while it is built)."""
        learner = Learner.from_snapshot(policies_only(data))
        if slots:
            learner.configure_local(slots)
        return learner

    def _configured(self, learner: Learner) -> list[Outcome]:
        """``learner`` configured for this process's slots; as it is while the rules have not loaded."""
        return [] if self.slots is None else learner.configure_local(self.slots)

    def configure(self, slots: Mapping[str, SlotConfig]) -> None:
        """New rules: arms that stay keep their statistics (see ``Learner.configure``)."""
        self.slots = dict(slots)
        self._emit(self.learner.configure_local(self.slots))

    async def catch_up(self, batch: int = 1000, *, learner: Learner | None = None) -> int:
        """Applies every log record after the learner's position; returns how many."""
        learner = self.learner if learner is None else learner
        applied = 0
        while True:
            records = await self.store.read_log(learner.seq, batch)
            for rec in records:
                converted = learner_record(rec)
                if converted is None:
                    learner.skip_to(rec.seq)
                    continue
                if converted["type"] == "forget":
                    self._erased = True  # the saved snapshot may name the person: replaced at once
                try:
                    self._emit(learner.apply(converted))
                except (KeyError, ValueError, TypeError):
                    log.warning("log record %s (%s) not learnable; skipped", rec.seq, rec.kind, exc_info=True)
                    learner.skip_to(rec.seq)
                applied += 1
            if len(records) < batch:
                return applied

    async def snapshot(self, within_s: float | None = None) -> None:
        """The full state (pending decisions included): what a restart or a new leader resumes from."""
        if not self.leading:
            return
        await self.store.save_snapshot(SNAPSHOT_NAME, self.learner.snapshot(), self.learner.seq, within_s=within_s)
        self._snapshot_seq = self.learner.seq
        self._last_snapshot = self.clock()
        if self._erased:
            self._erased = False
            checkpoint = getattr(self.store, "checkpoint_after_erase", None)
            if checkpoint is not None:
                checkpoint()

    async def publish(self, within_s: float | None = None) -> None:
        """The models alone, for the processes that only decide (small: it does not grow with the traffic)."""
        if not self.leading or self.lock is None:  # nobody else decides from this store's file
            return
        started = self.timer()
        await self.store.save_snapshot(POLICIES_NAME, self.learner.policies_snapshot(), self.learner.seq,
                                       within_s=within_s)
        self._publish_cost = self.timer() - started
        self._published_seq = self.learner.seq
        self._last_publish = self.clock()

    async def step(self) -> None:
        """One round of the background task (also called directly by tests)."""
        if not self.leading:
            if self.may_lead() and self.lock is not None and self.lock.try_acquire():
                await self.lead()  # the learner went away (stopped, or killed): this process takes over
            else:
                await self.load_snapshot()
            return
        if self.lock is not None and not self.dedicated and self.lock.wanted_by() is not None:
            await self.hand_over()  # the dedicated learner process wants to learn
            return
        await self.catch_up()
        self._emit(self.learner.tick_local(self.clock()))
        due = self.clock() - self._last_snapshot >= self.snapshot_every_s or self._erased
        if due and self.learner.seq != self._snapshot_seq:
            await self.publish()  # the models first, at the same seq: followers never see the full one ahead
            await self.snapshot()
        every = copy_interval(self.publish_every_s, self._publish_cost)  # large models: less often
        if self.clock() - self._last_publish >= every and self.learner.seq != self._published_seq:
            await self.publish()
        self._count_not_held()

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

    async def hand_over(self) -> None:
        """Stop learning for the dedicated learner process; go on deciding with the same models."""
        await self._stop_leading()
        log.info("handed learning over to the learner process (pid %s)", self.lock.wanted_by() if self.lock else None)
        self.learner = Learner.from_snapshot(policies_only(self.learner.policies_snapshot()))
        self._configured(self.learner)  # without the pending decisions

    async def _stop_leading(self, within_s: float | None = None) -> None:
        """Leave nothing behind: the full state saved (a failure loses nothing: the log has it, but the next
        leader replays it all), then the lock released, so another process takes over at its next step.

        ``within_s`` (a worker's stop: the kill comes after ``--stop-timeout``): the full state is saved first,
        its wait for the store bounded by that time, then the models published in what is left."""
        try:
            await self.catch_up()
            if within_s is None:
                await self.publish()
                await self.snapshot()
            else:
                deadline = time.monotonic() + within_s
                await self.snapshot(within_s)
                await self.publish(max(deadline - time.monotonic(), 0.0))
        finally:
            if self.lock is not None:
                self.lock.release()
            self.leading = False

    async def stop(self, within_s: float | None = None) -> None:
        """``within_s``: what the final snapshot may wait for the store (a worker's share of the stop)."""
        self.stopping_soon()
        await cancel_and_wait(self._task)
        if self.leading:
            try:
                await self._stop_leading(within_s)
            except Exception:
                log.warning("final bandit snapshot failed; the next learner replays the log from the last one",
                            exc_info=True)
        if self.lock is not None:
            self.lock.release()
        self.leading = False

    def _count_not_held(self) -> None:
        """Decisions the learner could not hold (``MAX_PENDING`` waiting): a metric, and a warning a minute."""
        new = self.learner.not_held - self._not_held_seen
        LEARNER_NOT_HELD.set(self.learner.not_held)
        if new > 0:
            if self.clock() - self._not_held_warned >= 60.0:  # once a minute at most
                self._not_held_warned = self.clock()
                log.warning("decisions not learned: %d were already waiting for their reward (the learner's "
                            "bound, --learner-max-pending); %d so far", self.learner.pending_count, self.learner.not_held)
        self._not_held_seen = self.learner.not_held

    def _emit(self, outcomes: Iterable[Outcome]) -> None:
        outcomes = list(outcomes)
        if outcomes and self.on_outcomes is not None:
            self.on_outcomes(outcomes)


def policies_only(data: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot as a follower loads it: the models, without the pending decisions it may carry."""
    if data.get("pending_omitted"):
        return dict(data)
    return {**data, "pending": [], "activity": {}, "closed": [], "pending_omitted": True,
            "pending_count": len(data.get("pending") or ())}
