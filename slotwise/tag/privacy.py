"""Consent and Global Privacy Control: may we store anything about this visitor?

Consent mode comes from the rules (``required`` or ``implied``) through a
callable, so a rules reload changes it without rebuilding routes.

- ``Sec-GPC: 1`` is an opt-out: events are acknowledged but not stored, no
  profile is written, no cookie is set, nothing is personalized.
- ``required``: nothing is stored or personalized until the visitor's
  profile says ``consent == "granted"`` (the tag reports it with
  ``slotwise.consent(true)``).
- ``implied``: stored unless the visitor said no (``consent == "denied"``).
"""

from __future__ import annotations

from typing import Callable

from starlette.requests import Request

CONSENT_MODES = ("implied", "required")

ConsentMode = Callable[[], str]


def implied() -> str:
    return "implied"


def gpc(request: Request) -> bool:
    """The browser's Global Privacy Control signal (an opt-out of sale/sharing)."""
    return request.headers.get("sec-gpc", "").strip() == "1"


def may_store(mode: str, consent: str | None) -> bool:
    """Whether events may be stored for a profile with this ``consent`` value."""
    if consent == "denied":
        return False
    if mode == "required":
        return consent == "granted"
    return True


def check_mode(mode: str) -> str:
    if mode not in CONSENT_MODES:
        raise ValueError(f"consent mode must be one of {CONSENT_MODES}, not {mode!r}")
    return mode
