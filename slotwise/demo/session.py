"""The ``demo_session`` cookie: a signed, random session id and nothing else.

The cart and the logged-in customer live in SQLite under that id. The cookie
is only set when a handler actually uses the session, so static files and
feeds never carry ``Set-Cookie`` (which keeps them cacheable through a proxy).
"""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "demo_session"
MAX_AGE = 30 * 24 * 3600
_SCOPE_KEY = "slotwise.demo.session"


class Session:
    """The visitor's session id: read from the cookie, created or rotated on demand."""

    def __init__(self, session_id: str | None) -> None:
        self._id = session_id
        self.dirty = False

    @property
    def existing_id(self) -> str | None:
        """The id if the visitor already had one; never creates a session."""
        return self._id

    @property
    def id(self) -> str:
        """The id, creating a session (and a Set-Cookie) if there was none."""
        if self._id is None:
            self._id = new_session_id()
            self.dirty = True
        return self._id

    def rotate(self) -> str:
        """A fresh id (at log-in/log-out: no session fixation)."""
        self._id = new_session_id()
        self.dirty = True
        return self._id


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def get_session(conn: HTTPConnection) -> Session:
    session = conn.scope.get(_SCOPE_KEY)
    if not isinstance(session, Session):
        raise RuntimeError("SessionMiddleware is not installed")
    return session


class SessionMiddleware:
    """Pure ASGI middleware (no response buffering: streaming downloads stay streamed)."""

    def __init__(self, app: ASGIApp, *, secret: str, cookie_domain: str | None = None) -> None:
        self.app = app
        self.signer = Signer(secret, salt="demo_session")
        self.cookie_domain = cookie_domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = Session(self._read(HTTPConnection(scope).cookies.get(COOKIE_NAME)))
        scope[_SCOPE_KEY] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.dirty:
                MutableHeaders(scope=message).append("set-cookie", self._cookie(session.id))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _read(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return self.signer.unsign(value).decode()
        except BadSignature:
            return None

    def _cookie(self, session_id: str) -> str:
        cookie: SimpleCookie = SimpleCookie()
        cookie[COOKIE_NAME] = self.signer.sign(session_id).decode()
        morsel = cookie[COOKIE_NAME]
        morsel["path"] = "/"
        morsel["max-age"] = MAX_AGE
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        if self.cookie_domain:
            morsel["domain"] = self.cookie_domain
        return morsel.OutputString()
