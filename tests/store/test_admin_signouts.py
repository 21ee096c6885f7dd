"""Admin sign-outs are kept in the store (SQLite and Redis alike): every instance refuses the session,
until its cookie would have expired anyway."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio


async def test_a_sign_out_is_seen_by_another_instance_until_the_cookie_would_have_expired(backend: Any) -> None:
    here, there = backend.open(), backend.open()
    now = 1_000_000.0
    assert not await there.admin_session_revoked("s1", now)
    await here.revoke_admin_session("s1", now, 3600.0)
    assert await there.admin_session_revoked("s1", now + 1)  # another worker, another connection
    assert not await there.admin_session_revoked("s2", now + 1)  # only that session
    if backend.name == "sqlite":  # Redis expires the key on its own clock (ttl_s from now): not moved here
        assert not await there.admin_session_revoked("s1", now + 3601)
        await here.revoke_admin_session("s2", now + 7200, 60.0)  # an expired entry is cleaned away on the way
        assert await there.admin_session_revoked("s2", now + 7201)
    for opened in backend.opened:
        await opened.close()
