"""The outage log: one line when the store goes, one when it is back, also when only writes are refused."""

from __future__ import annotations

import logging

import pytest

from slotwise.store.base import StoreError, StoreUnavailable
from slotwise.store.outage import Outage, is_outage


def test_reads_that_work_between_refused_writes_do_not_end_the_outage(caplog: pytest.LogCaptureFixture) -> None:
    outage, counted = Outage(clock=iter(range(100)).__next__), []
    outage.listeners.append(counted.append)
    with caplog.at_level(logging.INFO, logger="slotwise.store"):
        for _ in range(50):  # Redis at maxmemory: every append refused, every read fine
            outage.failed(StoreError("OOM command not allowed"), "append")
            outage.succeeded("get_profile")
        assert outage.down
        outage.succeeded("append")  # memory freed: a refused call works again
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0].startswith("store refusing writes: OOM")
    assert "50 store calls failed" in messages[1] and not outage.down
    assert counted == ["refused"] * 50


def test_an_unreachable_store_is_back_at_the_first_call_that_works(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage()
    err = StoreUnavailable("connection refused")
    with caplog.at_level(logging.INFO, logger="slotwise.store"):
        outage.failed(err)
        outage.failed(StoreUnavailable("connection refused"))
        outage.succeeded("ping")
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING"]
    try:  # a caller wrapping the store's error still sees it as covered
        raise RuntimeError("storing events failed") from err
    except RuntimeError as wrapped:
        assert is_outage(wrapped)
    assert not is_outage(StoreError("a bug"))
