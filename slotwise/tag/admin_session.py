"""Admin sign-in sessions: a signed, expiring cookie instead of the token in every request.

A person signs in once with the admin token (a form on ``/_sw/admin``); the
answer sets ``sw_admin``: a random session id signed with a key derived from
the token and the deployment's secret (``--secret``, or the one kept under
``--data``): rotating the token signs everyone out, and another deployment
that was given the same token (a staging copied from production) does not
take this one's cookies, nor this one theirs. Timestamped (a session
lasts ``SESSION_TTL_S``), HttpOnly, ``SameSite=Strict``, ``Secure`` over
https, scoped to ``/_sw/admin``. Signing out revokes the session id in the
state store (SQLite or Redis) for what is left of its life, so a copy of the
cookie stops working on every worker and instance too, not only in the
browser that signed out; a session that cannot be checked against the store
is refused (``SessionUnchecked``: the answer is a 503, never a session
taken on trust). A state-changing admin request made with the cookie must
also carry the session's CSRF token (a form field ``csrf`` or an
``X-CSRF-Token`` header) and, when the browser sends one, a same-origin
``Origin``: a page on another site cannot flip a kill switch or erase a
visitor through a signed-in admin's browser. Requests with ``Authorization:
Bearer`` (scripts) are not cookies and need neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any, Callable

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.requests import Request
from starlette.responses import Response

from slotwise.client_origin import Trust, origin_of
from slotwise.store.base import StoreError
from slotwise.tag.admin import authorized as bearer_authorized
from slotwise.tag.admin_throttle import not_a_guess
from slotwise.tag.page_origins import own_origin

SESSION_COOKIE = "sw_admin"
SESSION_PATH = "/_sw/admin"
SESSION_TTL_S = 12 * 3600
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SIGNED_OUT = "this admin session was signed out: sign in again at /_sw/admin"
EXPIRED = "this admin session expired: sign in again at /_sw/admin"


class SessionUnchecked(StoreError):
    """The store could not say whether a session was signed out, or could not record a sign-out."""


class AdminSessions:
    """Issues and checks admin session cookies and their CSRF tokens for one admin token of one
    deployment (``secret``: ``Settings.signing_key``, shared by its workers and instances); sign-outs
    are kept in ``store`` (``revoke_admin_session``), which every worker and instance reads."""

    def __init__(self, token: str, store: Any, secret: bytes, ttl_s: int = SESSION_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.store = store
        self.ttl_s = ttl_s
        key = hmac.new(secret, b"slotwise-admin-session:" + token.encode(), hashlib.sha256).digest()
        self._signer = TimestampSigner(key, salt="slotwise-admin")
        self._csrf_key = hashlib.sha256(b"slotwise-admin-csrf:" + key).digest()
        self.clock = clock

    def check_token(self, given: str) -> bool:
        """The admin token itself, compared in constant time; no token configured: never."""
        return bool(self.token) and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def issue(self) -> str:
        return self._signer.sign(secrets.token_urlsafe(18)).decode()

    def session_id(self, value: str | None) -> str | None:
        """The random id of a cookie this token and deployment signed and that has not expired (signed out or not)."""
        try:
            return self._unsign(value)
        except SignatureExpired:
            return None

    def _unsign(self, value: str | None) -> str | None:
        """As ``session_id``, but a cookie this deployment signed that has expired raises ``SignatureExpired``."""
        if not self.token or not value or len(value) > 256:
            return None
        try:
            return self._signer.unsign(value, max_age=self.ttl_s).decode()
        except SignatureExpired:
            raise
        except BadSignature:
            return None

    async def session(self, request: Request) -> str | None:
        """The request's session cookie if it is valid and not signed out (``SessionUnchecked`` when the
        store cannot say). A signed-out or expired one is marked for the throttle and the answer
        (``not_a_guess``): refusing it is not a failed sign-in, unless a wrong bearer token came too."""
        value = request.cookies.get(SESSION_COOKIE)
        try:
            sid = self._unsign(value)
        except SignatureExpired:
            _refused(request, EXPIRED)
            return None
        if sid is None:
            return None
        try:
            revoked = await self.store.admin_session_revoked(sid, self.clock())
        except Exception as exc:  # SQLite or Redis, whatever failed: not known to be signed in
            raise SessionUnchecked(f"the state store cannot be read to check the admin session ({exc}); "
                                   "try again (scripts: the bearer token needs no session)") from exc
        if not revoked:
            return value
        _refused(request, SIGNED_OUT)
        return None

    async def authorized(self, request: Request) -> bool:
        """A valid bearer token or session cookie."""
        if not self.token:
            return False
        return bearer_authorized(request, self.token) or await self.session(request) is not None

    def csrf_token(self, session: str) -> str:
        return hmac.new(self._csrf_key, session.encode(), hashlib.sha256).hexdigest()

    async def csrf_ok(self, request: Request, given: str | None) -> bool:
        """A state-changing request: bearer (not a browser's ambient credential), or the session's
        CSRF token from a page of this origin."""
        if bearer_authorized(request, self.token):
            return True
        session = await self.session(request)
        if session is None or not given:
            return False
        origin = request.headers.get("origin")
        if origin and origin != "null" and not own_origin(origin, request.headers.get("host", "")):
            return False
        return hmac.compare_digest(given.encode(), self.csrf_token(session).encode())

    def sign_in(self, response: Response, secure: bool) -> None:
        response.set_cookie(SESSION_COOKIE, self.issue(), max_age=self.ttl_s, path=SESSION_PATH,
                            httponly=True, samesite="strict", secure=secure)

    async def sign_out(self, request: Request, response: Response, secure: bool) -> None:
        """Revokes the request's session everywhere (``SessionUnchecked`` if the store refuses: the
        browser then keeps its cookie, so that signing out can be tried again), then drops the cookie."""
        sid = self.session_id(request.cookies.get(SESSION_COOKIE))
        if sid is not None:
            try:
                await self.store.revoke_admin_session(sid, self.clock(), self.ttl_s)
            except Exception as exc:
                raise SessionUnchecked(f"the state store cannot be written ({exc}): the session is not signed "
                                       "out; try again") from exc
        response.delete_cookie(SESSION_COOKIE, path=SESSION_PATH, httponly=True, samesite="strict", secure=secure)


def _refused(request: Request, why: str) -> None:
    """A session cookie refused for ``why``: not a guess at the token, unless a (wrong) bearer token came with it."""
    if "authorization" not in request.headers:
        not_a_guess(request.scope, why)


def is_https(request: Request, public_url: str = "", trust: Trust = Trust()) -> bool:
    """Whether the browser talks https to us: directly, the configured public URL says so, or a
    trusted proxy (``--trusted-proxies``, the TLS-terminating nginx) says so (``client_origin``:
    ``X-Forwarded-Proto``, or ``Forwarded``'s ``proto`` per ``--trusted-proxy-headers``), as the
    visitor cookie reads it."""
    if request.url.scheme == "https" or public_url.startswith("https://"):
        return True
    return origin_of(request, trust).scheme == "https"
