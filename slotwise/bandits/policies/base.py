"""What every policy shares: the river verbs, exact propensities, change detection, plain-data state.

A policy turns its state into a probability vector over the arms
(``probabilities``) and decides by sampling from it, so the logged propensity
is by construction the probability the decision had. ``update`` learns one
reward. State is sufficient statistics in our own JSON (river pickles do not
load across versions), so another process rebuilds the same policy from it.

Change detection lives here because it is the same for every policy: each
arm's stream (its rewards, or a model's view of them) goes to a
``ChangeDetector`` once the decision has settled, in decision order, and a
detected shift restarts learning (``_forget_evidence``). Fed by a ``Learner``,
a decision settles at its slot's usual reward delay (``settle``, ``delays.py``);
fed directly, once its attribution window has passed (``_watch``).
"""

from __future__ import annotations

import heapq
import math
import random
from typing import Any, ClassVar, Mapping, Sequence

from ..change import ChangeDetector
from ..exploration import sample
from ..goals import is_binary
from ..spec import PolicySpec, parse_policy_spec

Features = Mapping[str, float]
JOINT = ""  # detector key of all arms' values as one stream (no variant id is empty)
KEEP_CHANGES = 20  # change points kept in the state (the newest)


def number(value: Any) -> float:
    """A JSON number back to a float (null: NaN)."""
    return math.nan if value is None else float(value)


def json_number(value: float) -> float | None:
    """JSON has no NaN: an unknown mean is null."""
    return None if math.isnan(value) else value


def discount_factor(half_life: float | None) -> float:
    """Per-update weight of old evidence for a ``half_life`` in learned decisions (1: never forget)."""
    return 1.0 if half_life is None else 0.5 ** (1.0 / float(half_life))


class Policy:
    """Base class: probabilities -> sampled pull; subclasses define ``probabilities`` and ``update``."""

    name: ClassVar[str] = ""
    contextual: ClassVar[bool] = False
    joint_stream: ClassVar[bool] = False  # also watch every arm's values as one stream
    # counts a decision as a trial when it is made (``begin``), its reward when it closes: see ``begin``
    counts_pending: ClassVar[bool] = False
    # learns each value only once it has settled, in decision order (``_on_settled``), detection or not
    learns_settled: ClassVar[bool] = False
    # the learner may settle this policy's values itself, as soon as the slot's reward delays allow
    # (``settle``), and fix a reward that comes later (``correct``): what it settles must be correctable
    early_settling: ClassVar[bool] = True

    def __init__(self, goal: str, params: Mapping[str, Any] | None = None, seed: int | None = None):
        spec = parse_policy_spec({"name": self.name, "params": dict(params or {})}, goal)
        self.goal = goal
        self.binary = is_binary(goal)
        self.params: dict[str, Any] = spec.params
        self.seed = seed
        self._rng = random.Random(seed)  # draws for callers without a decision id (bench, tests)
        self.version = 0  # number of updates applied
        self.generation = 0  # bumped when the arm set is edited
        self.discount = discount_factor(self.params.get("half_life"))
        self.n_arms = 0  # configured arm count (0: unknown, use the arms seen)
        self.detectors: dict[str, ChangeDetector] = {}  # per arm, when change_detection is on
        self.restarts = 0  # learning restarts after a detected change
        # the newest KEEP_CHANGES restarts: {"version", "arm", "watched", "before", "after"}
        self.changes: list[dict[str, Any]] = []
        # heap of values waiting for their window to settle: (decided_at, order, arm, value, context)
        self._unsettled: list[tuple[float, int, str, float, dict[str, float] | None]] = []
        self._order = 0
        self._latest = -math.inf  # latest decision time learned
        self._settled_seen = 0  # values the learner settled (``settle``): a settled value's stamp
        self._restart_seen = 0  # ``_settled_seen`` at the last restart: older stamps are void

    # -- river verbs -------------------------------------------------------
    def probabilities(self, arm_ids: Sequence[str], context: Features | None = None) -> dict[str, float]:
        raise NotImplementedError

    def pull(self, arm_ids: Sequence[str], context: Features | None = None,
             rng: random.Random | float | None = None) -> str:
        """Choose an arm by sampling from ``probabilities`` (so propensities are exact).

        ``rng``: a generator, or the decision's own uniform number (``randomness.py``).
        """
        return sample(self.probabilities(arm_ids, context), self._rng if rng is None else rng)

    def update(self, arm_id: str, reward: float, context: Features | None = None,
               propensity: float | None = None, *, decided_at: float | None = None,
               settle: float | None = 0.0, begun: bool = False) -> None:
        """Learn one reward. ``decided_at``/``settle`` (the decision's time and its attribution
        window) let change detection see rewards in the order of the decisions (see ``_watch``)
        and file them under the decision's hour of the day. ``settle=None``: the learner settles
        this decision's value itself (``settle``), so it is not watched here. ``begun``: ``begin``
        already counted this decision as a trial; add its reward only."""
        raise NotImplementedError

    def begin(self, arm_id: str, context: Features | None = None) -> None:
        """A decision was made: count it as a trial now, with no reward yet (``counts_pending``).

        Rewards arrive late and unevenly: a click within minutes, a non-click only when the
        attribution window closes. A policy that learns a decision only when it closes holds the
        recent clicks without the recent non-clicks, so the variant it showed most lately looks
        better than it is — by ~1.5 points at 3,000 visits an hour and a 30-minute window — and
        keeps winning for that reason. Counted at decision time (the reward added when it is
        known), a recent decision weighs as a non-click until its click arrives, minutes later:
        a small bias against what was just shown, which makes it explore rather than lock in.
        For sufficient statistics (counts, sums, LinUCB's ``A``/``b``) the end state is exactly
        that of learning every reward at once.
        """

    def abandon(self, arm_id: str, context: Features | None = None) -> None:
        """Undo ``begin``: the decision will never teach (not exposed, or its arm was removed)."""

    # -- settling (the learner's) --------------------------------------------
    @property
    def reads_settled(self) -> bool:
        """Something here reads settled values: change detection, or a model of settled values."""
        return bool(self.params.get("change_detection")) or self.learns_settled

    def settle(self, arm_id: str, value: float, context: Features | None = None, *,
               decided_at: float | None = None) -> int:
        """A decision's value once it counts as settled — its reward, or 0 when none came within
        the slot's usual reward delay (``delays.py``) — given by the learner in decision order, to
        change detection and the settled models. Returns the value's stamp for ``correct``; a
        restart shows in ``restarts``."""
        self._settled_seen += 1
        self._on_settled(arm_id, float(value), decided_at, context)
        return self._settled_seen

    def correct(self, arm_id: str, delta: float, context: Features | None, stamp: int) -> None:
        """A reward came after its decision was settled as 0 (stamp ``stamp``): add ``delta`` to
        what the settled models learned. Here nothing: change detectors are not corrected (a
        reward later than the delays' 99th percentile is ~1% of rewards; docs/benchmarks.md)."""

    def _stamp_valid(self, stamp: int) -> bool:
        """A settled value's stamp still names something learned (no restart since)."""
        return self._restart_seen < stamp <= self._settled_seen

    # -- change detection ----------------------------------------------------
    def _stream_kind(self) -> str:
        """What an arm's detector watches: 0/1 rewards (counts), or real values (revenue, errors)."""
        return "bernoulli" if self.binary else "gaussian"

    def _watched(self) -> str:
        """``reward``: detectors see rewards; ``error``: rewards against the model's prediction."""
        return "reward"

    def _watch(self, arm_id: str, value: float, decided_at: float | None = None, settle: float | None = 0.0,
               context: Features | None = None) -> bool:
        """Feed ``value`` to ``arm_id``'s detector once its decision's window has settled.

        Rewards are learned as they arrive: a purchase minutes after the decision,
        a zero only when the window closes. In that order an arm whose traffic just
        grew shows its conversions before its non-conversions — a rise that is not
        there (and a drop when its traffic shrinks). So values wait, ordered by
        decision time, until ``settle`` seconds of later decisions have been seen,
        and the detector reads them in decision order. Without ``decided_at`` the
        value goes in at once. ``context``: the features, for policies whose stream
        is the reward against a model (``_observe``). True when learning restarted.
        ``settle=None``: the learner settles the value itself (``settle``); nothing to do here.
        """
        if settle is None or not self.reads_settled:
            return False
        if decided_at is None:
            return self._on_settled(arm_id, value, None, context)
        self._order += 1  # ties in decision time: first learned, first settled
        entry = (float(decided_at), self._order, arm_id, float(value), dict(context) if context else None)
        heapq.heappush(self._unsettled, entry)
        self._latest = max(self._latest, float(decided_at))
        while self._unsettled and self._unsettled[0][0] <= self._latest - settle:
            at, _, arm, settled, ctx = heapq.heappop(self._unsettled)
            if self._on_settled(arm, settled, at, ctx):
                return True
        return False

    def _on_settled(self, arm_id: str, value: float, at: float | None, context: Features | None) -> bool:
        """A value whose window has settled, in decision order: to change detection."""
        return bool(self.params.get("change_detection")) and self._settled(arm_id, value, at, context)

    def _settled(self, arm_id: str, value: float, at: float | None, context: Features | None) -> bool:
        """A value whose decision has settled: to the arm's detector, and the joint one."""
        watched, expected = self._observe(arm_id, value, context)
        if watched is None:
            return False
        return self._detect(arm_id, watched, expected, at) or (
            self.joint_stream and self._detect(JOINT, watched, expected, at))

    def _observe(self, arm_id: str, value: float, context: Features | None) -> tuple[float | None, float]:
        """What the detector sees of a settled value: ``(value, level expected under no change)``;
        None while there is nothing to compare it with yet. Here: the reward itself."""
        return value, 1.0

    def _new_detector(self) -> ChangeDetector:
        return ChangeDetector(self.params["change_threshold"], self._stream_kind())

    def _detect(self, arm_id: str, value: float, expected: float, at: float | None) -> bool:
        """Feed ``arm_id``'s detector; on a change, forget everything learned and say so."""
        detector = self.detectors.get(arm_id)
        if detector is None:
            detector = self.detectors[arm_id] = self._new_detector()
        if not detector.add(value, expected, at):
            return False
        before, after, expected_before, expected_after = detector.shift or (math.nan,) * 4
        if self._watched() == "error" and self._stream_kind() == "bernoulli":
            before, after = before - expected_before, after - expected_after  # reward minus prediction
        change = {"version": self.version, "arm": arm_id, "watched": self._watched(),
                  "before": before, "after": after}
        self.restart(change)
        return True

    def restart(self, change: dict) -> None:
        """Learn over from here, and keep ``change`` (what shifted) with the last ones: after a detected
        change, or when told (``Learner.restart``)."""
        self.changes = (self.changes + [change])[-KEEP_CHANGES:]
        self.restarts += 1
        self._restart_seen = self._settled_seen
        self.detectors = {}
        self._unsettled = []  # already learned; the new detectors start with what comes next
        self._forget_evidence()

    def _forget_evidence(self) -> None:
        """After a change point: start learning over (subclasses clear their statistics).

        The arm set, the feature vocabulary, reward scales and counters stay: they are
        configuration, not evidence about which variant wins.
        """

    # -- identity & state --------------------------------------------------
    @property
    def model_version(self) -> str:
        return f"{self.generation}.{self.version}"

    @property
    def spec(self) -> PolicySpec:
        return PolicySpec(self.name, dict(self.params))

    def keep_arms(self, arm_ids: Sequence[str]) -> None:
        """Forget arms not in ``arm_ids``; new arms start from the prior."""
        self.n_arms = len(arm_ids)
        self.generation += 1
        keep = set(arm_ids)
        self.detectors = {a: d for a, d in self.detectors.items() if a in keep or a == JOINT}
        self._unsettled = [u for u in self._unsettled if u[2] in keep]  # a filtered heap is still a heap

    def state(self) -> dict[str, Any]:
        """JSON-serialisable sufficient statistics (no RNG state: it is not part of the model)."""
        return {"name": self.name, "goal": self.goal, "params": dict(self.params),
                "version": self.version, "generation": self.generation, "n_arms": self.n_arms,
                "restarts": self.restarts,
                "changes": [{**c, "before": json_number(c["before"]), "after": json_number(c["after"])}
                            for c in self.changes],
                "detectors": {a: d.state() for a, d in self.detectors.items()},
                "unsettled": [list(u) for u in self._unsettled], "order": self._order,
                "latest": self._latest if math.isfinite(self._latest) else None,
                "settled_seen": self._settled_seen, "restart_seen": self._restart_seen}

    def _load(self, state: Mapping[str, Any]) -> None:
        self.version = int(state["version"])
        self.generation = int(state["generation"])
        self.n_arms = int(state.get("n_arms", 0))
        self.restarts = int(state.get("restarts", 0))
        self.changes = [{"version": int(c["version"]), "arm": str(c["arm"]), "watched": str(c.get("watched", "reward")),
                         "before": number(c.get("before")), "after": number(c.get("after")),
                         **({"by": str(c["by"])} if c.get("by") else {})}
                        for c in state.get("changes", [])]
        self.detectors = {}
        self._unsettled = [(float(t), int(o), str(a), float(v), None if c is None else {str(k): float(x) for k, x in c.items()})
                           for t, o, a, v, c in state.get("unsettled", [])]
        self._order = int(state.get("order", 0))
        heapq.heapify(self._unsettled)
        latest = state.get("latest")
        self._latest = -math.inf if latest is None else float(latest)
        self._settled_seen = int(state.get("settled_seen", 0))
        self._restart_seen = int(state.get("restart_seen", 0))
        if self.params.get("change_detection"):
            for arm, st in (state.get("detectors") or {}).items():
                detector = self.detectors[arm] = self._new_detector()
                detector.load(st)

    def clone(self) -> "Policy":
        """A fresh copy from state (same statistics, same seed)."""
        from . import policy_from_state

        return policy_from_state(self.state(), seed=self.seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(goal={self.goal!r}, params={self.params!r}, v={self.model_version})"
