"""Per-segment rows for contextual slots: which variant leads for whom.

A contextual policy shows each visitor the variant that is best *for them*.
Pooled over all visitors, a variant that wins for mobile visitors and loses
for desktop ones looks like a loser ("<0.1% chance best") although it is
best for half the traffic. So for contextual slots the report splits the
measured decisions by each context feature the policy saw (the logged
features, ``features.py``: device, new/returning, category, ...) and shows
each segment's variants and its leader.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .features import GROUPS, segment_of
from .stats import ArmSummary, summarize_arms

MIN_MEASURED = 30  # a segment is shown once this many of its decisions are measured
LEADS = 0.8  # a segment's leader: at least this chance of being its best variant


@dataclass(frozen=True)
class SegmentRow:
    """One level of a feature (``mobile`` of ``device``) and its variants."""

    level: str
    measured: int
    arms: list[ArmSummary]

    @property
    def leader(self) -> ArmSummary | None:
        """The variant most likely best here, when it is likely enough (``LEADS``)."""
        best = max(self.arms, key=lambda a: a.p_best, default=None)
        return best if best is not None and best.p_best >= LEADS else None


@dataclass(frozen=True)
class SegmentTable:
    """One feature (``device``), its levels with enough measured decisions, and whether their
    leaders differ (the case that pooled figures hide)."""

    group: str
    rows: list[SegmentRow]

    @property
    def leaders_differ(self) -> bool:
        leaders = {row.leader.arm for row in self.rows if row.leader is not None}
        return len(leaders) > 1


def segment_tables(records: Iterable[Mapping[str, Any]], arms: Sequence[str], binary: bool,
                   min_measured: int = MIN_MEASURED, seed: int = 0) -> list[SegmentTable]:
    """For each feature group with two or more levels of ``min_measured`` measured decisions:
    the variants per level. ``records`` are one slot's decision-log rows (holdout excluded here)."""
    # group -> level -> per-arm decisions, exposures and rewards
    decisions: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    exposures: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    rewards: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in records:
        arm = r.get("arm")
        if r.get("holdout") or arm is None:
            continue
        context = r.get("context") or {}
        reward = r.get("reward")
        seen = bool(r.get("exposed") or r.get("exposed_at") not in (None, ""))
        for group in GROUPS:
            level = segment_of(context, group)
            if level is None:
                continue
            decisions[group][level][arm] += 1
            exposures[group][level][arm] += seen
            if reward is not None and reward != "":
                rewards[group][level][arm].append(float(reward))
    tables = []
    for group in GROUPS:
        rows = []
        for level in sorted(rewards.get(group, {})):
            measured = sum(len(v) for v in rewards[group][level].values())
            if measured < min_measured:
                continue
            summaries = summarize_arms(arms, rewards[group][level], decisions[group][level],
                                       exposures[group][level], binary, seed)
            rows.append(SegmentRow(level, measured, summaries))
        if len(rows) >= 2:
            tables.append(SegmentTable(group, rows))
    return tables
