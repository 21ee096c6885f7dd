"""The learner: a pure state machine that joins rewards to decisions and teaches policies.

Feed it records in stream order; each call returns the ``Outcome``s it
produced. It never reads a clock: time is the ``ts`` of the records. Every
record first advances the learner's *watermark* (the largest ts seen) and
closes the windows that ended before it, so the outcome of a stream depends
on the stream alone — replaying the same records after a snapshot rebuilds
the same state. ``tick(now)`` only closes windows when no record arrives.

Records (``apply`` takes them as dicts, e.g. from a Redis stream)::

    {"type": "configure", "slots": {slot: SlotConfig fields}}
    {"type": "decision", **DecisionRecord fields}
    {"type": "exposure", "decision_id", "ts"}
    {"type": "event", "visitor_id", "event_type", "value", "ts",
                      "decision_ids": [..] | null, "cost": 0.0,
                      "redeemed": bool (optional), "discount": 0.0 (optional),
                      "priced": false (optional: an order of no known amount)}
    {"type": "tick", "now"}
    {"type": "restart", "slot", "ts", "by" (optional: who asked),
                        "arm" (optional: that variant alone)}
    {"type": "forget", "decision_ids": [..]}  (an erased person's decisions)

Each may carry an integer ``seq``; a record whose ``seq`` is not above the
last one applied is ignored (replaying a stream twice is harmless). Without
``seq`` the learner numbers records itself.

Attribution rules:

* a decision is eligible for events of its goal's type from the same
  visitor with ``decision.ts <= event.ts <= deadline``; the deadline is
  ``ts + window`` (``window_mode="fixed"``) or ``last activity + window``
  (``"inactivity"``: a session that ends after ``window`` idle seconds);
* every eligible pending decision of the visitor gets the reward — each one
  was followed by the goal — then leaves: a decision teaches exactly once, so
  a duplicate or second event finds nothing to reward;
* clicks must name their decision (``decision_ids``); a click implies
  exposure. Other events may name decisions to narrow the join;
* for goals needing exposure (click by default) a decision never exposed is
  dropped at the deadline instead of teaching 0;
* holdout decisions get their reward in an ``Outcome`` but teach nothing;
* a ``margin`` goal's reward is the order's value less the coupon's cost: the
  order's ``discount`` when it redeemed a coupon and says what it took off, the
  decision's declared cost (``cost``, ``cost_rate``) when it redeemed one and
  does not say, nothing when the store says it redeemed none (``redeemed``
  false); an order that says nothing of coupons pays the declared cost;
* an order of no known amount (``priced`` false: its currency has no rate to
  the rules' revenue currency) is an order to 0/1 goals, and to ``revenue``
  and ``margin`` closes the decision unlearned (``UNPRICED``): no reward is
  better than a wrong one.

Settling: change detection and the settled models (``Policy.reads_settled``) read
each decision's value once it has *settled*, in decision order. The window
closes a decision without a reward, but rewards come sooner: each slot keeps
the delays of its rewards (``delays.py``), and once enough are known a decision
older than their 99th percentile is settled as 0 (``Policy.settle``), long
before its window closes (the decision still waits for a reward until then).
A reward that comes after its decision was settled is learned as usual and
corrects the settled models (``Policy.correct``; ``settling["late"]`` counts
them). A decision not yet exposed when it settles (goals needing exposure)
is left out of the settled stream (``settling["unexposed"]``). Policies that
cannot unlearn a value (river models) settle at the window, as before. The
settle queue holds one entry per decision of the last horizon (at most a
window's decisions), the delays a fixed histogram per slot.

Memory: pending decisions live until their window closes, so they grow with
rate × window. ``max_pending`` bounds them: a decision arriving while that many
wait is *not held* (outcome ``not_held``, counted in ``not_held``) — it teaches
nothing, rather than being closed early with a reward it may not have earned.
Which decisions are not held depends only on when they arrive, never on their
outcome, so what is learned stays an unbiased sample. The ids of closed
decisions (kept ``dedupe_seconds`` to ignore a decision logged twice) are
bounded by the same figure, and the deadline heap by twice the pending
decisions. ``None`` (the default, e.g. for reports) holds all.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections import deque
from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from .decide import Decision, decide
from .delays import DelayHistogram
from .goals import EXPOSURE_REQUIRED_BY_DEFAULT, check_goal, is_binary, reward_of, rewarding_event
from .policies import KEEP_CHANGES, Policy, convert_policy, policy_from_state
from .policies.river_model import IncompatibleState
from .records import (
    ARM_REMOVED, ERASED, EXPIRED, NOT_HELD, REWARDED, SLOT_REMOVED, UNEXPOSED, UNKNOWN_SLOT, UNPRICED, DecisionRecord, Outcome,
    Restart,
)
from .spec import parse_policy_spec

# /2: time-of-day change detectors, river-model policies. /3: early settling (reward delays, the
# settle queue, settled stamps), and LinUCB's short memory switching on the leaders' settled rewards
# (``policies/recent.py``). /4: that switch's evidence per leading variant as well as pooled. /5: each
# stream's level of the last hours (the switch's first-day reference). /6: the values waiting out of each
# stream's calibration while its evidence is above 0 (from the second day on). A snapshot in another
# format is not loaded: the learner is rebuilt from the log (``SnapshotFormatError``)
SNAPSHOT_FORMAT = "slotwise.learner/6"
WINDOW_MODES = ("fixed", "inactivity")


def coupon_cost(rec: DecisionRecord, value: float | None, redeemed: bool | None, discount: float | None) -> float:
    """What the order's coupon cost, for a decision's margin (see the module docstring)."""
    if redeemed is False:
        return 0.0
    if redeemed and discount is not None:  # what the order says it took off, never more than the order
        return max(0.0, min(float(discount), float(value))) if value is not None else max(0.0, float(discount))
    return rec.cost + rec.cost_rate * float(value or 0.0)


MAX_SHARED_CONTEXTS = 10_000  # distinct contexts whose dict pending decisions share


@dataclass(frozen=True)
class SlotConfig:
    """What the learner needs to know about a slot (from the YAML rules)."""

    arms: tuple[str, ...]
    goal: str = "click"
    policy: Any = None  # spec: name or {"name", "params"}; None = thompson
    window: float = 1800.0  # attribution window, seconds
    window_mode: str = "fixed"
    require_exposure: bool | None = None  # None: the goal's default (click: yes)

    def __post_init__(self) -> None:
        check_goal(self.goal)
        if not self.arms:
            raise ValueError("a slot needs at least one arm")
        if len(set(self.arms)) != len(self.arms):
            raise ValueError(f"duplicate arms in {list(self.arms)!r}")
        if not self.window > 0:
            raise ValueError(f"window must be > 0 seconds, got {self.window!r}")
        if self.window_mode not in WINDOW_MODES:
            raise ValueError(f"window_mode must be one of {WINDOW_MODES}, got {self.window_mode!r}")
        object.__setattr__(self, "policy", parse_policy_spec(self.policy, self.goal).to_dict())

    @property
    def needs_exposure(self) -> bool:
        if self.require_exposure is None:
            return self.goal in EXPOSURE_REQUIRED_BY_DEFAULT
        return self.require_exposure

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arms"] = list(self.arms)
        return d

    @classmethod
    def coerce(cls, value: "SlotConfig | Mapping[str, Any]") -> "SlotConfig":
        if isinstance(value, SlotConfig):
            return value
        d = dict(value)
        d["arms"] = tuple(d["arms"])
        return cls(**d)


@dataclass(slots=True)  # one per decision waiting for its reward: thousands per minute
class _Pending:
    record: DecisionRecord
    order: int
    exposed: bool = False
    begun: bool = False  # the slot's policy counted it as a trial already (``Policy.begin``)
    # settled before its reward came (module docstring): the policy's stamp of the 0 it read
    # (``Policy.correct``), 0 when it read nothing; None: not settled yet
    stamp: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record.to_dict(), "order": self.order, "exposed": self.exposed, "begun": self.begun,
                "stamp": self.stamp}


class SnapshotFormatError(ValueError):
    """A snapshot this version cannot load: rebuild the learner from the log."""


def slot_seed(seed: int, slot: str) -> int:
    """A per-slot seed, stable across processes."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{slot}".encode(), digest_size=4).digest(), "big")


class Learner:
    """Per-slot policies plus pending decisions; fed records, returns outcomes."""

    def __init__(self, slots: Mapping[str, SlotConfig | Mapping[str, Any]] | None = None, *,
                 seed: int = 0, dedupe_seconds: float = 3600.0, max_pending: int | None = None):
        self.seed = seed
        self.dedupe_seconds = dedupe_seconds
        self.max_pending = max_pending  # bound on waiting decisions (module docstring); None: unbounded
        self.not_held = 0  # decisions not held because max_pending were waiting
        self._pending_elsewhere: int | None = None  # loaded from ``policies_snapshot``: the learner's count
        self.seq = 0  # last record applied
        self.watermark = float("-inf")
        self.slots: dict[str, SlotConfig] = {}
        self.policies: dict[str, Policy] = {}
        self._pending: dict[str, _Pending] = {}
        self._by_visitor: dict[str, list[str]] = {}
        # pending decisions share one dict per distinct context (features are mostly categorical:
        # a few hundred distinct contexts for thousands of decisions a minute); bounded
        self._contexts: dict[tuple[tuple[str, float], ...], dict[str, float]] = {}
        self._activity: dict[str, float] = {}  # visitor -> last activity (inactivity windows)
        self._heap: list[tuple[float, int, str]] = []
        self._closed: dict[str, float] = {}  # decision id -> forget after this watermark
        self._closed_queue: deque[tuple[float, str]] = deque()
        self._order = 0
        self.restarts: dict[str, list[Restart]] = {}  # per slot: when change detection restarted learning
        # settling (module docstring): per slot the reward delays and the decisions waiting to settle
        # (a heap of (decided_at, order, decision id)); decisions rewarded before they settled
        self._delays: dict[str, DelayHistogram] = {}
        self._to_settle: dict[str, list[tuple[float, int, str]]] = {}
        self._rewarded: dict[str, tuple[DecisionRecord, float]] = {}
        # values settled; rewards that came after their decision settled; decisions unexposed when they settled
        self.settling = {"settled": 0, "late": 0, "unexposed": 0}
        if slots:
            self._configure(slots)  # initial setup is not a record: seq stays 0

    # -- decide ------------------------------------------------------------
    def decide(self, slot: str, context: Mapping[str, Any] | None = None,
               rng: random.Random | None = None, *, features: Mapping[str, float] | None = None,
               decision_id: str | None = None, arms: Sequence[str] | None = None) -> Decision:
        """One decision for ``slot`` with its current policy and arms (see ``decide.decide``:
        the proxy passes the decision id, so the draw is that decision's own). ``arms``: only these of
        the slot's arms are offered now (the others' windows are closed): the policy's probabilities are
        over them, so the propensity is exact, and what it learned of the others is kept for when they return."""
        configured = self.slots[slot].arms
        if arms is None:
            arms = configured
        elif any(arm not in configured for arm in arms):
            raise ValueError(f"arms {list(arms)!r} are not all arms of slot {slot!r} ({list(configured)!r})")
        return decide(self.policies[slot], arms, context, rng, features=features, decision_id=decision_id)

    # -- records -----------------------------------------------------------
    def _accept(self, seq: int | None) -> bool:
        if seq is None:
            self.seq += 1
            return True
        if seq <= self.seq:
            return False
        self.seq = seq
        return True

    def configure(self, slots: Mapping[str, SlotConfig | Mapping[str, Any]], *,
                  seq: int | None = None) -> list[Outcome]:
        """Set the slots. Arms that stay keep their statistics, new ones start fresh,
        pending decisions of removed arms or slots are dropped (never learned)."""
        if not self._accept(seq):
            return []
        return self.configure_local(slots)

    def configure_local(self, slots: Mapping[str, SlotConfig | Mapping[str, Any]]) -> list[Outcome]:
        """``configure`` from this process's own rules, outside the stream: ``seq`` is untouched,
        so the records that follow in the shared log are still applied."""
        return self._configure(slots)

    def _configure(self, slots: Mapping[str, SlotConfig | Mapping[str, Any]]) -> list[Outcome]:
        new = {name: SlotConfig.coerce(cfg) for name, cfg in slots.items()}
        out: list[Outcome] = []
        for name in list(self.slots):
            if name not in new:
                out += self._drop(lambda p, n=name: p.record.slot == n, SLOT_REMOVED)
                del self.slots[name]
                self.policies.pop(name, None)
                self._to_settle.pop(name, None)
                self._delays.pop(name, None)
                self._rewarded = {i: v for i, v in self._rewarded.items() if v[0].slot != name}
        for name, cfg in new.items():
            old_cfg, old = self.slots.get(name), self.policies.get(name)
            if old is None or old_cfg is None or old_cfg.policy != cfg.policy or old_cfg.goal != cfg.goal:
                self._unbegin(name)  # what carries over to the new policy is learned evidence only
                policy = convert_policy(old, cfg.policy, cfg.goal, seed=slot_seed(self.seed, name))
                self._resettle(name, policy)
            else:
                policy = old
            if old_cfg is None or set(old_cfg.arms) != set(cfg.arms) or policy is not old:
                keep = set(cfg.arms)
                out += self._drop(lambda p, n=name: p.record.slot == n and not p.record.holdout
                                  and p.record.arm not in keep, ARM_REMOVED)
                policy.keep_arms(cfg.arms)
            self.slots[name] = cfg
            self.policies[name] = policy
            self._begin_pending(name)
        return out

    def on_decision(self, record: DecisionRecord | Mapping[str, Any], *, seq: int | None = None) -> list[Outcome]:
        """Register a decision; it waits for its reward until its window closes."""
        if not self._accept(seq):
            return []
        rec = record if isinstance(record, DecisionRecord) else DecisionRecord.from_dict(record)
        out = self._advance(rec.ts)
        if rec.decision_id in self._pending or rec.decision_id in self._closed:
            return out
        cfg = self.slots.get(rec.slot)
        if cfg is None or (not rec.holdout and rec.arm not in cfg.arms):
            return out + [Outcome(rec.decision_id, rec.slot, rec.arm, rec.visitor_id, UNKNOWN_SLOT,
                                  None, rec.ts, False, rec.holdout)]
        if self.max_pending is not None and len(self._pending) >= self.max_pending:
            self.not_held += 1
            return out + [Outcome(rec.decision_id, rec.slot, rec.arm, rec.visitor_id, NOT_HELD,
                                  None, rec.ts, False, rec.holdout)]
        self._order += 1
        rec = self._shared_context(rec)
        self._pending[rec.decision_id] = pending = _Pending(rec, self._order)
        self._begin(pending)
        if not rec.holdout and self._settles(rec.slot):
            heapq.heappush(self._to_settle.setdefault(rec.slot, []), (rec.ts, pending.order, rec.decision_id))
        self._by_visitor.setdefault(rec.visitor_id, []).append(rec.decision_id)
        self._touch(rec.visitor_id, rec.ts)
        heapq.heappush(self._heap, (self._deadline(self._pending[rec.decision_id]), self._order, rec.decision_id))
        if len(self._heap) > 2 * len(self._pending) + 1024:
            self._compact_heap()
        return out

    def on_exposure(self, decision_id: str, ts: float, *, seq: int | None = None) -> list[Outcome]:
        """The tag saw the slot's element in view."""
        if not self._accept(seq):
            return []
        out = self._advance(ts)
        pending = self._pending.get(decision_id)
        if pending is not None:
            pending.exposed = True
            self._touch(pending.record.visitor_id, ts)
        return out

    def on_event(self, visitor_id: str, event_type: str, value: float | None, ts: float,
                 decision_ids: Sequence[str] | None = None, *, cost: float = 0.0,
                 seq: int | None = None, also: Sequence[str] = (),
                 redeemed: bool | None = None, discount: float | None = None,
                 priced: bool = True) -> list[Outcome]:
        """A visitor event (click, add_to_cart, purchase, signup...): reward what it follows.

        ``also``: more visitor ids of the same person (an order the store reports
        for a customer rewards what they saw on any of their devices).
        ``redeemed``/``discount``: what the order says of its coupon (the margin goal's cost).
        ``priced`` False: the order's amount is not known (a currency with no rate): real-valued goals
        learn nothing from the decisions it closes.
        """
        if not self._accept(seq):
            return []
        out = self._advance(ts)
        candidates = [i for v in (visitor_id, *also) for i in self._by_visitor.get(v, ())]
        if decision_ids is not None:
            named = set(decision_ids)
            ids = [i for i in candidates if i in named]
        else:
            ids = candidates
        for decision_id in ids:
            pending = self._pending[decision_id]
            rec = pending.record
            cfg = self.slots[rec.slot]
            if rewarding_event(cfg.goal) != event_type:
                continue
            if event_type == "click":
                if decision_ids is None:
                    continue  # an anonymous click is not a click on this slot
                pending.exposed = True
            if not rec.ts <= ts <= self._deadline(pending):
                continue
            if cfg.needs_exposure and not pending.exposed:
                continue
            if not priced and not is_binary(cfg.goal):
                out.append(self._close(pending, None, UNPRICED, ts))
                continue
            decision_cost = coupon_cost(rec, value, redeemed, discount)
            self._delays.setdefault(rec.slot, DelayHistogram()).add(ts - rec.ts)
            out.append(self._close(pending, reward_of(cfg.goal, value, cost + decision_cost), REWARDED, ts))
        for v in (visitor_id, *also):
            self._touch(v, ts)
        return out

    def tick(self, now: float, *, seq: int | None = None) -> list[Outcome]:
        """Close the windows that ended before ``now`` (0 reward, or dropped if unexposed)."""
        if not self._accept(seq):
            return []
        return self._advance(now)

    def tick_local(self, now: float) -> list[Outcome]:
        """``tick`` from this process's clock, outside the stream (``seq`` untouched)."""
        return self._advance(now)

    def skip_to(self, seq: int) -> None:
        """Mark stream records up to ``seq`` as seen (records with nothing to learn)."""
        self.seq = max(self.seq, seq)

    def apply(self, record: Mapping[str, Any]) -> list[Outcome]:
        """Dispatch one stream record (see the module docstring for the shapes)."""
        kind = record.get("type")
        seq = record.get("seq")
        if kind == "decision":
            body = {k: v for k, v in record.items() if k not in ("type", "seq")}
            return self.on_decision(body, seq=seq)
        if kind == "exposure":
            return self.on_exposure(record["decision_id"], float(record["ts"]), seq=seq)
        if kind == "event":
            return self.on_event(record["visitor_id"], record["event_type"], record.get("value"),
                                 float(record["ts"]), record.get("decision_ids"),
                                 cost=float(record.get("cost") or 0.0), seq=seq, also=record.get("also") or (),
                                 redeemed=record.get("redeemed"), discount=record.get("discount"),
                                 priced=record.get("priced", True) is not False)
        if kind == "tick":
            return self.tick(float(record["now"]), seq=seq)
        if kind == "configure":
            return self.configure(record["slots"], seq=seq)
        if kind == "restart":
            return self.restart(str(record["slot"]), float(record["ts"]), by=str(record.get("by") or ""),
                                arm=str(record.get("arm") or ""), seq=seq)
        if kind == "forget":
            return self.forget([str(i) for i in record["decision_ids"]], seq=seq)
        raise ValueError(f"unknown record type {kind!r}")

    def forget(self, decision_ids: Sequence[str], *, seq: int | None = None) -> list[Outcome]:
        """An erased person's decisions: the ones still waiting (for a reward, or to settle) are dropped
        unlearned, with the visitor id and context they held, so the next snapshot holds nothing of them.
        What they taught already stays in the models: statistics of nobody in particular."""
        if not self._accept(seq):
            return []
        ids = set(decision_ids)
        for decision_id in ids:
            self._rewarded.pop(decision_id, None)
        return self._drop(lambda pending: pending.record.decision_id in ids, ERASED)

    # -- internals ---------------------------------------------------------
    def _begin(self, pending: _Pending) -> None:
        """Count a new decision as a trial of its arm now (``Policy.begin`` says why)."""
        rec = pending.record
        policy = self.policies.get(rec.slot)
        if pending.begun or rec.holdout or rec.arm is None or policy is None or not policy.counts_pending:
            return
        if rec.arm not in self.slots[rec.slot].arms:
            return
        policy.begin(rec.arm, rec.context if policy.contextual else None)
        pending.begun = True

    def _abandon(self, pending: _Pending) -> None:
        """A begun decision that will never teach: take its trial back."""
        if pending.begun:
            rec = pending.record
            policy = self.policies.get(rec.slot)
            if policy is not None:
                policy.abandon(rec.arm, rec.context if policy.contextual else None)  # type: ignore[arg-type]
            pending.begun = False

    def _unbegin(self, slot: str) -> None:
        for pending in self._pending.values():
            if pending.record.slot == slot:
                self._abandon(pending)

    def _begin_pending(self, slot: str) -> None:
        """The slot's policy is new, or restarted: its pending decisions count as trials again."""
        for pending in sorted(self._pending.values(), key=lambda p: p.order):
            if pending.record.slot == slot:
                self._begin(pending)

    def _settles(self, slot: str) -> bool:
        """The learner settles this slot's values itself (module docstring)."""
        policy = self.policies.get(slot)
        return policy is not None and policy.early_settling and policy.reads_settled

    def _resettle(self, slot: str, policy: Policy) -> None:
        """A new policy for ``slot``: its pending decisions not yet settled will settle into it;
        the old policy's settled values and stamps mean nothing to it."""
        self._to_settle.pop(slot, None)
        self._rewarded = {i: v for i, v in self._rewarded.items() if v[0].slot != slot}
        settles = policy.early_settling and policy.reads_settled
        for pending in self._pending.values():
            rec = pending.record
            if rec.slot != slot or rec.holdout:
                continue
            if pending.stamp is not None:
                pending.stamp = 0  # settled into the old policy: nothing to correct in this one
            elif settles:
                heapq.heappush(self._to_settle.setdefault(slot, []), (rec.ts, pending.order, rec.decision_id))

    def horizon(self, slot: str) -> float:
        """Seconds after a decision at which the slot settles it without a reward (``delays.py``)."""
        cfg = self.slots[slot]
        delays = self._delays.get(slot)
        return cfg.window if delays is None else delays.horizon(cfg.window)

    def _settle_due(self) -> None:
        """Settle, in decision order, the decisions older than their slot's horizon."""
        for slot, heap in self._to_settle.items():
            if not heap or slot not in self.slots:
                continue
            horizon = self.horizon(slot)
            while heap and heap[0][0] + horizon < self.watermark:
                _, order, decision_id = heapq.heappop(heap)
                self._settle_one(slot, order, decision_id)

    def _settle_one(self, slot: str, order: int, decision_id: str) -> None:
        pending = self._pending.get(decision_id)
        if pending is not None and pending.order == order:
            if pending.stamp is not None:
                return
            rec, value = pending.record, 0.0
            if self.slots[slot].needs_exposure and not pending.exposed:
                pending.stamp = 0  # it may never be shown: read nothing rather than a 0 it may not earn
                self.settling["unexposed"] += 1
                return
        else:
            rewarded = self._rewarded.pop(decision_id, None)
            if rewarded is None:
                return  # closed without teaching (dropped, its arm removed)
            rec, value = rewarded
        policy = self.policies[slot]
        if rec.arm not in self.slots[slot].arms or not self._settles(slot):
            return
        before = policy.restarts
        stamp = policy.settle(rec.arm, value, rec.context if policy.contextual else None,  # type: ignore[arg-type]
                              decided_at=rec.ts)
        self.settling["settled"] += 1
        if pending is not None:
            pending.stamp = stamp
        self._after_learning(slot, before, self.watermark)

    def _after_learning(self, slot: str, before: int, ts: float) -> None:
        """If learning restarted (``before``: the policy's restarts until now), log it and count the
        pending decisions as trials again: the restart forgot them."""
        policy = self.policies[slot]
        if policy.restarts == before:
            return
        for other in self._pending.values():
            if other.record.slot == slot:
                other.begun = False
        self._begin_pending(slot)
        log = self.restarts.setdefault(slot, [])
        change = policy.changes[-1]
        log.append(Restart(ts, change["arm"], change["watched"], change["before"], change["after"],
                           str(change.get("by") or "")))
        del log[:-KEEP_CHANGES]

    def restart(self, slot: str, ts: float, *, by: str = "", arm: str = "",
                seq: int | None = None) -> list[Outcome]:
        """``slot``'s learning starts over at ``ts``, as after a detected change: the decisions still
        pending count as trials again. ``by`` says who asked (a ``restart`` record in the shared log,
        from the admin page, so that every instance and every replay restart at the same point; the
        bandit bench calls it directly at a change of its own making). With ``arm``, that variant
        alone starts over (``_restart_arm``). A slot or variant the learner does not have is left
        alone: the rules may have dropped it since."""
        if not self._accept(seq):
            return []
        out = self._advance(ts)
        policy = self.policies.get(slot)
        if policy is None:
            return out
        if arm:
            return out + self._restart_arm(slot, arm, ts, by)
        before = policy.restarts
        policy.restart({"version": policy.version, "arm": "", "watched": "told", "before": math.nan,
                        "after": math.nan, **({"by": by} if by else {})})
        self._after_learning(slot, before, ts)
        return out

    def _restart_arm(self, slot: str, arm: str, ts: float, by: str) -> list[Outcome]:
        """One variant starts over, as if the rules had removed it and added it back (``configure``):
        its statistics go, its decisions still waiting for a reward are dropped (outcome
        ``arm_removed``: they showed what it was before), and the values of its decisions rewarded
        but not yet settled are not settled into the new start. The other variants keep theirs."""
        cfg = self.slots[slot]
        if arm not in cfg.arms:
            return []
        out = self._configure({**self.slots, slot: replace(cfg, arms=tuple(a for a in cfg.arms if a != arm))})
        self._rewarded = {i: v for i, v in self._rewarded.items() if not (v[0].slot == slot and v[0].arm == arm)}
        out += self._configure({**self.slots, slot: cfg})
        log = self.restarts.setdefault(slot, [])
        log.append(Restart(ts, arm, "told", by=by))
        del log[:-KEEP_CHANGES]
        return out

    def _shared_context(self, rec: DecisionRecord) -> DecisionRecord:
        """The record with its context replaced by an equal one already held, when there is one
        (memory: the context dict is most of a pending decision's size)."""
        if not rec.context:
            return rec
        key = tuple(rec.context.items())
        shared = self._contexts.get(key)
        if shared is None:
            if len(self._contexts) >= MAX_SHARED_CONTEXTS:
                return rec
            self._contexts[key] = shared = rec.context
        return rec if shared is rec.context else replace(rec, context=shared)

    def _touch(self, visitor_id: str, ts: float) -> None:
        if visitor_id in self._by_visitor:
            self._activity[visitor_id] = max(self._activity.get(visitor_id, ts), ts)

    def _deadline(self, pending: _Pending) -> float:
        rec = pending.record
        cfg = self.slots[rec.slot]
        if cfg.window_mode == "inactivity":
            return max(rec.ts, self._activity.get(rec.visitor_id, rec.ts)) + cfg.window
        return rec.ts + cfg.window

    def _advance(self, ts: float) -> list[Outcome]:
        if ts > self.watermark:
            self.watermark = ts
        self._settle_due()  # first: a horizon is never past the window, so settling comes before closing
        out: list[Outcome] = []
        heap = self._heap
        while heap and heap[0][0] < self.watermark:
            key, order, decision_id = heapq.heappop(heap)
            pending = self._pending.get(decision_id)
            if pending is None or pending.order != order:
                continue  # already closed
            deadline = self._deadline(pending)
            if deadline != key:
                # the session went on: re-queue at the real deadline, so windows close in
                # deadline order whatever the heap held (a restored heap holds only real ones)
                heapq.heappush(heap, (deadline, order, decision_id))
                continue
            if self.slots[pending.record.slot].needs_exposure and not pending.exposed:
                out.append(self._close(pending, None, UNEXPOSED, deadline))
            else:
                out.append(self._close(pending, 0.0, EXPIRED, deadline))
        queue = self._closed_queue
        while queue and queue[0][0] < self.watermark:
            _, decision_id = queue.popleft()
            self._closed.pop(decision_id, None)
        return out

    def _compact_heap(self) -> None:
        """Drop the entries of decisions already closed (a reward closes one long before its deadline,
        and its entry would wait there till then): the heap stays within twice the pending decisions."""
        self._heap = [(self._deadline(p), p.order, i) for i, p in self._pending.items()]
        heapq.heapify(self._heap)

    def _forget(self, pending: _Pending) -> None:
        rec = pending.record
        del self._pending[rec.decision_id]
        ids = self._by_visitor.get(rec.visitor_id)
        if ids is not None:
            ids.remove(rec.decision_id)
            if not ids:
                del self._by_visitor[rec.visitor_id]
                self._activity.pop(rec.visitor_id, None)
        forget_at = self.watermark + self.dedupe_seconds
        self._closed[rec.decision_id] = forget_at
        self._closed_queue.append((forget_at, rec.decision_id))
        queue = self._closed_queue
        while self.max_pending is not None and len(self._closed) > self.max_pending and queue:
            t, decision_id = queue.popleft()  # the oldest first, as the watermark would have
            if self._closed.get(decision_id) == t:
                del self._closed[decision_id]

    def _close(self, pending: _Pending, reward: float | None, reason: str, ts: float) -> Outcome:
        self._forget(pending)
        rec = pending.record
        taught = reward is not None and not rec.holdout and rec.arm is not None
        if not taught:
            self._abandon(pending)
        if taught:
            policy = self.policies[rec.slot]
            before = policy.restarts
            context = rec.context if policy.contextual else None
            settle: float | None = self.slots[rec.slot].window
            if self._settles(rec.slot):
                settle = None  # the learner settles it (``_settle_one``), or has
                if pending.stamp is None:
                    self._rewarded[rec.decision_id] = (rec, float(reward))  # type: ignore[arg-type]
                elif reward:
                    self.settling["late"] += 1
                    if pending.stamp:
                        policy.correct(rec.arm, float(reward), context, pending.stamp)  # type: ignore[arg-type]
            policy.update(rec.arm, reward, context, rec.propensity,  # type: ignore[arg-type]
                          decided_at=rec.ts, settle=settle, begun=pending.begun)
            self._after_learning(rec.slot, before, ts)
        return Outcome(rec.decision_id, rec.slot, rec.arm, rec.visitor_id, reason, reward, ts,
                       taught, rec.holdout)

    def _drop(self, match, reason: str) -> list[Outcome]:
        out = []
        for pending in sorted(self._pending.values(), key=lambda p: p.order):
            if match(pending):
                self._forget(pending)
                self._abandon(pending)
                rec = pending.record
                out.append(Outcome(rec.decision_id, rec.slot, rec.arm, rec.visitor_id, reason, None,
                                   self.watermark, False, rec.holdout))
        return out

    # -- persistence ---------------------------------------------------------
    @property
    def pending_count(self) -> int:
        """Decisions waiting for their reward (in a policies-only snapshot: as many as its learner held)."""
        return len(self._pending) if self._pending_elsewhere is None else self._pending_elsewhere

    def snapshot(self) -> dict[str, Any]:
        """JSON-serialisable state: sufficient statistics, pending decisions, ``seq``."""
        return {
            **self.snapshot_header(),
            "pending": [p.to_dict() for p in sorted(self._pending.values(), key=lambda p: p.order)],
            "activity": dict(self._activity),
            "closed": [[t, i] for t, i in self._closed_queue if self._closed.get(i) == t],
            "delays": {slot: h.state() for slot, h in self._delays.items()},
            "to_settle": {slot: [list(e) for e in heap] for slot, heap in self._to_settle.items() if heap},
            "rewarded": [[i, rec.to_dict(), r] for i, (rec, r) in self._rewarded.items()],
        }

    def policies_snapshot(self) -> dict[str, Any]:
        """``snapshot`` without the pending decisions: what a process that only decides needs.

        Small (it does not grow with the traffic), so it can be published every
        second; it cannot restore a learner (``pending_omitted``), only serve decisions.
        """
        return {**self.snapshot_header(), "pending": [], "activity": {}, "closed": [], "pending_omitted": True,
                "pending_count": len(self._pending)}

    def snapshot_header(self) -> dict[str, Any]:
        """Everything in a snapshot but the per-decision parts."""
        return {
            "format": SNAPSHOT_FORMAT,
            "seq": self.seq,
            "watermark": None if self.watermark == float("-inf") else self.watermark,
            "seed": self.seed,
            "dedupe_seconds": self.dedupe_seconds,
            "order": self._order,
            "slots": {name: cfg.to_dict() for name, cfg in self.slots.items()},
            "policies": {name: p.state() for name, p in self.policies.items()},
            "not_held": self.not_held,
            "settling": dict(self.settling),
        }

    @classmethod
    def from_snapshot(cls, d: Mapping[str, Any]) -> "Learner":
        """Rebuild a learner; feed it the records after ``d["seq"]`` to catch up.

        ``SnapshotFormatError`` when the snapshot was written in another format (an older
        Slotwise, or river models pickled by another river version): replay the log instead.
        """
        if d.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotFormatError(f"learner snapshot format {d.get('format')!r}, this version reads "
                                      f"{SNAPSHOT_FORMAT!r}")
        self = cls(seed=int(d["seed"]), dedupe_seconds=float(d["dedupe_seconds"]))
        self.seq = int(d["seq"])
        self.watermark = float("-inf") if d["watermark"] is None else float(d["watermark"])
        self._order = int(d["order"])
        self.not_held = int(d.get("not_held") or 0)
        self.settling.update({k: int(v) for k, v in (d.get("settling") or {}).items()})
        if d.get("pending_omitted"):
            self._pending_elsewhere = int(d.get("pending_count") or 0)
        self.slots = {name: SlotConfig.coerce(cfg) for name, cfg in d["slots"].items()}
        try:
            self.policies = {name: policy_from_state(st, seed=slot_seed(self.seed, name))
                             for name, st in d["policies"].items()}
        except IncompatibleState as exc:
            raise SnapshotFormatError(str(exc)) from exc
        self._activity = {v: float(t) for v, t in d["activity"].items()}
        for item in d["pending"]:
            stamp = item.get("stamp")
            pending = _Pending(DecisionRecord.from_dict(item["record"]), int(item["order"]), bool(item["exposed"]),
                               bool(item.get("begun", False)), None if stamp is None else int(stamp))
            rec = pending.record
            self._pending[rec.decision_id] = pending
            self._by_visitor.setdefault(rec.visitor_id, []).append(rec.decision_id)
        for pending in self._pending.values():
            self._heap.append((self._deadline(pending), pending.order, pending.record.decision_id))
        heapq.heapify(self._heap)
        for t, i in d["closed"]:
            self._closed[i] = float(t)
            self._closed_queue.append((float(t), i))
        self._delays = {slot: DelayHistogram.from_state(st) for slot, st in (d.get("delays") or {}).items()}
        self._to_settle = {slot: [(float(t), int(o), str(i)) for t, o, i in heap]
                           for slot, heap in (d.get("to_settle") or {}).items()}
        for heap in self._to_settle.values():
            heapq.heapify(heap)
        self._rewarded = {str(i): (DecisionRecord.from_dict(rec), float(r)) for i, rec, r in d.get("rewarded") or []}
        return self


def replay_records(learner: Learner, records: Iterable[Mapping[str, Any]]) -> list[Outcome]:
    """Apply records in order; the outcomes of all of them."""
    out: list[Outcome] = []
    for record in records:
        out += learner.apply(record)
    return out
