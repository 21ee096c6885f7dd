"""Factories for bandit tests (as mitmproxy's tflow does for flows)."""

from __future__ import annotations

import itertools

import pytest

from slotwise.bandits import DecisionRecord

_ids = itertools.count()


def make_record(visitor: str = "v1", slot: str = "home", arm: str | None = "a", ts: float = 0.0,
                propensity: float = 0.5, holdout: bool = False, decision_id: str | None = None,
                context: dict | None = None) -> DecisionRecord:
    return DecisionRecord(
        decision_id=decision_id or f"d{next(_ids)}", ts=ts, visitor_id=visitor, slot=slot, arm=arm,
        propensity=propensity, policy="thompson", model_version="0.0", context=context or {}, holdout=holdout,
    )


@pytest.fixture
def record():
    return make_record
