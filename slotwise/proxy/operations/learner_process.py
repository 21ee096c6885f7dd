"""The separate learner of the scale-out layout: one consumer of the Redis stream.

It holds the pending decisions (at most ``learning.MAX_PENDING``); the serving
instances load only its models (``POLICIES_NAME``), never its pending decisions.

It reads the log with a consumer group, applies each record to the pure
``Learner`` once (records carry increasing ``seq`` numbers, and the learner
ignores any it has already applied), saves a snapshot, and only then
acknowledges the entries. A crash at any point therefore loses nothing and
counts nothing twice: unacknowledged entries are reclaimed on restart, and
those the last snapshot already contains are skipped by their ``seq``.

Slots are configured from the rules file when one is given, and otherwise
from the decisions themselves (each decision carries its slot's goal,
attribution window and policy).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Mapping

from slotwise.bandits.learner import Learner, SlotConfig, SnapshotFormatError
from slotwise.bandits.records import UNKNOWN_SLOT, Outcome
from slotwise.proxy.operations.learning import MAX_PENDING, POLICIES_NAME, SNAPSHOT_NAME, copy_interval, learner_record
from slotwise.proxy.operations.log_retention import LogTrimmer
from slotwise.store.base import LogRecord
from slotwise.store.outage import is_outage

log = logging.getLogger("slotwise.learner")

WINDOW_GRACE_S = 5.0  # close windows a little late: events may reach the stream after a delay


class StreamLearner:
    def __init__(
        self,
        store: Any,
        *,
        group: str = "learner",
        consumer: str = "learner-1",
        slots: Mapping[str, SlotConfig] | None = None,
        snapshot_every_s: float = 1.0,
        batch: int = 500,
        block_ms: int = 1000,
        reclaim_idle_ms: int = 30_000,
        clock: Callable[[], float] = time.time,
        trimmer: LogTrimmer | None = None,
        max_pending: int = MAX_PENDING,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.store = store
        self.trimmer = trimmer  # trims the log behind each saved snapshot (log_retention.py)
        self.group, self.consumer = group, consumer
        self.snapshot_every_s = snapshot_every_s
        self.batch, self.block_ms, self.reclaim_idle_ms = batch, block_ms, reclaim_idle_ms
        self.clock = clock
        self.timer = timer  # what a snapshot cost (``clock`` may be a simulated one)
        self._snapshot_cost = 0.0
        self.max_pending = max_pending
        self.learner = Learner(max_pending=max_pending)
        self.fixed_slots = dict(slots) if slots else None
        self._unacked: list[int] = []
        self._last_snapshot = 0.0
        self._dirty = False
        self.applied = 0
        self._unknown: set[tuple[str, str | None]] = set()  # (slot, arm) of decisions not learned, said once

    async def start(self) -> None:
        found = await self.store.load_snapshot(SNAPSHOT_NAME)
        rebuild = False
        if found is not None:
            try:
                self.learner = Learner.from_snapshot(found[0])
                self.learner.max_pending = self.max_pending
            except Exception as exc:  # another version's format, or corrupt: the stream holds everything
                log.warning("snapshot not loaded (%s); rebuilding the models from the stream", exc,
                            exc_info=not isinstance(exc, SnapshotFormatError))
                rebuild = True
        if self.fixed_slots:
            self.learner.configure_local(self.fixed_slots)
        if rebuild:
            await self.rebuild()
        await self.store.create_group(self.group, after_seq=0)
        # our own earlier incarnation's pending entries (it was killed), then anyone's idle ones
        await self.process(await self.store.reclaim(self.group, self.consumer, 0, count=100_000))

    async def rebuild(self, batch: int = 1000) -> int:
        """Learn the whole stream again (the snapshot could not be read). Entries the group
        delivers later are skipped by their ``seq``; a snapshot is saved at once."""
        seq, applied = 0, 0
        while True:
            records = await self.store.read_log(seq, batch)
            for rec in records:
                converted = learner_record(rec)
                if converted is None:
                    self.learner.skip_to(rec.seq)
                    continue
                if rec.kind == "decision":
                    self._ensure_slot(rec.data)
                try:
                    self.learner.apply(converted)
                    applied += 1
                except (KeyError, ValueError, TypeError):
                    self.learner.skip_to(rec.seq)
            if len(records) < batch:
                break
            seq = records[-1].seq
        self._dirty = True
        await self.flush(force=True)
        return applied

    def configure(self, slots: Mapping[str, SlotConfig]) -> None:
        self.fixed_slots = dict(slots)
        self.learner.configure_local(self.fixed_slots)

    def _ensure_slot(self, data: Mapping[str, Any]) -> None:
        """Without a rules file, a decision for an unknown slot or arm configures it."""
        if self.fixed_slots is not None:
            return
        slot, arm = data.get("slot"), data.get("arm")
        current = self.learner.slots.get(slot)
        if current is not None and (arm is None or arm in current.arms):
            return
        arms = tuple(current.arms if current else ()) + ((arm,) if arm is not None else ())
        self.learner.configure_local({
            **self.learner.slots,
            slot: SlotConfig(
                arms=arms or ("control",),
                goal=data.get("goal") or "click",
                policy=data.get("policy_spec"),
                window=float(data.get("window") or 1800.0),
                window_mode=data.get("window_mode") or "inactivity",
            ),
        })

    async def process(self, records: list[LogRecord]) -> int:
        for rec in records:
            converted = learner_record(rec)
            if converted is None:
                self.learner.skip_to(rec.seq)
            else:
                if rec.kind == "decision":
                    self._ensure_slot(rec.data)
                try:
                    self._warn_unknown(self.learner.apply(converted))
                    self.applied += 1
                except (KeyError, ValueError, TypeError):
                    log.warning("record %s not learnable; skipped", rec.seq, exc_info=True)
                    self.learner.skip_to(rec.seq)
            self._unacked.append(rec.seq)
            self._dirty = True
        return len(records)

    def _warn_unknown(self, outcomes: list[Outcome]) -> None:
        """A decision for a slot or variant the learner's rules lack is not learned: an instance serves other
        rules (a roll-out half done, or the learner started with an older file). Said once per slot and variant,
        or the instances would explore that variant for ever with nobody the wiser."""
        for outcome in outcomes:
            if outcome.reason != UNKNOWN_SLOT or (outcome.slot, outcome.arm) in self._unknown:
                continue
            self._unknown.add((outcome.slot, outcome.arm))
            log.warning("decisions for slot %r variant %r are not learned: the learner's rules have no such %s; "
                        "give the learner (--rules) the rules the instances serve", outcome.slot, outcome.arm,
                        "variant" if outcome.slot in self.learner.slots else "slot")

    async def flush(self, force: bool = False) -> None:
        """Snapshot (published to the serving instances), then acknowledge."""
        if not self._dirty and not force:
            return
        # large models (a river tree's: megabytes) are saved less often (``copy_interval``);
        # 0 s asks for a snapshot after every batch, whatever it costs
        every = self.snapshot_every_s and copy_interval(self.snapshot_every_s, self._snapshot_cost)
        if not force and self.clock() - self._last_snapshot < every:
            return
        saved = self.learner.seq
        started = self.timer()
        try:
            # the models alone, first: what the serving instances load (it does not grow with the pending
            # decisions), never behind the full one
            await self.store.save_snapshot(POLICIES_NAME, self.learner.policies_snapshot(), saved)
            await self.store.save_snapshot(SNAPSHOT_NAME, self.learner.snapshot(), saved)
        except Exception as exc:
            if self.trimmer is not None:  # Redis full: trim what the last snapshot has, or it stays full
                await self.trimmer.relieve(exc)
            raise
        self._snapshot_cost = self.timer() - started
        self._last_snapshot = self.clock()
        self._dirty = False
        if self._unacked:
            await self.store.ack(self.group, self._unacked)
            self._unacked = []
        if self.trimmer is not None:
            await self.trimmer.after_snapshot(saved)

    async def step(self) -> int:
        records = await self.store.consume(self.group, self.consumer, self.batch, self.block_ms)
        n = await self.process(records)
        closed = self.learner.tick_local(self.clock() - WINDOW_GRACE_S)
        if closed:
            self._dirty = True
        await self.flush()
        return n

    async def recover_lost_group(self) -> None:
        """Redis came back without our consumer group (no persistence, or a new server).

        The models are kept. The group is created again after what the
        learner has applied, and the stream's seq counter is lifted past it,
        so new records get seqs the learner (and the serving instances, which
        compare snapshot seqs) accept. Records appended to the empty Redis
        before this ran have lower seqs and are not learned: at most the
        second or so it takes to notice. A snapshot is saved at once, since
        the old one went with the data.
        """
        log.error("consumer group %r is gone (Redis lost its data?): recreating it after seq %d",
                  self.group, self.learner.seq)
        raise_seq = getattr(self.store, "raise_seq", None)
        if raise_seq is not None:
            await raise_seq(self.learner.seq)
        await self.store.create_group(self.group, after_seq=self.learner.seq)
        self._unacked = []  # they belonged to the lost group
        await self.flush(force=True)

    async def run(self, stop: asyncio.Event) -> None:
        while True:  # Redis may be away when the learner starts: wait for it
            try:
                await self.start()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if stop.is_set():
                    return
                if not is_outage(exc):  # Redis away: said once by the store, not a traceback a second
                    log.warning("learner start failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1.0)
        last_reclaim = self.clock()
        while not stop.is_set():
            try:
                await self.step()
                if self.clock() - last_reclaim > self.reclaim_idle_ms / 1000:
                    last_reclaim = self.clock()
                    await self.process(await self.store.reclaim(self.group, self.consumer, self.reclaim_idle_ms))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: wait and go on; nothing is acknowledged until learned
                if "NOGROUP" in str(exc):
                    try:
                        await self.recover_lost_group()
                        continue
                    except Exception:
                        pass
                if not is_outage(exc):  # an outage is logged once, by the store
                    log.warning("learner step failed; retrying in 1 s", exc_info=True)
                await asyncio.sleep(1.0)
        try:
            await self.flush(force=True)
        except Exception as exc:  # Redis away at shutdown: nothing is lost, the entries stay pending
            log.warning("final snapshot failed; the unacknowledged entries will be learned at the next start",
                        exc_info=not is_outage(exc))
