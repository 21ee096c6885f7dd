"""The admin API for a person's data: export (GET) and erase (DELETE).

``/_sw/admin/api/visitors/{id}`` where ``id`` is a visitor id, an alias
(``customer:C42``, ``email:<sha256>``) or an e-mail address (hashed here).
Protected by ``Authorization: Bearer <admin token>`` compared in constant
time; with no token configured the API does not exist (404): it fails closed.
A request without the header (a signed-in browser sends its ``sw_admin``
cookie here too: same path prefix) is refused without costing a try in the
admin throttle: it guessed nothing. A wrong bearer token costs one.
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from slotwise.profile import hash_email
from slotwise.store.base import Store
from slotwise.tag.admin_throttle import NOT_A_GUESS, not_a_guess

if TYPE_CHECKING:
    from slotwise.proxy.config import Settings

NO_STORE = {"cache-control": "no-store"}
BEARER_ONLY = ("this API takes the admin token as Authorization: Bearer TOKEN (a session cookie is not "
               "enough; signed in, use the visitor lookup on /_sw/admin)")


ALIAS_KINDS = ("customer:", "email:")
# the ``sw_vid`` cookie's value as a browser shows it: the visitor id, a dot, its signature
_COOKIE_VALUE = re.compile(r"^([A-Za-z0-9_-]{16,64})\.[A-Za-z0-9_-]{16,64}$")


def person_key(raw: str) -> str:
    """What the store resolves: a bare e-mail address becomes its ``email:`` alias.

    ``customer:jane@example.com`` is a customer id (stores that key customers by
    e-mail do): it is looked up as given. ``email:jane@example.com`` is hashed.
    The ``sw_vid`` cookie's value, copied from a browser, is its visitor id (ids have no dot):
    the signature only proves the server issued it, and the caller here holds the admin token.
    """
    raw = raw.strip()
    cookie = _COOKIE_VALUE.match(raw)
    if cookie:
        return cookie.group(1)
    if raw.startswith("customer:"):
        return raw
    if raw.startswith("email:"):
        address = raw[len("email:"):]
        return f"email:{hash_email(address)}" if "@" in address else raw
    if "@" in raw:
        return f"email:{hash_email(raw)}"
    return raw


async def export_person(store: Store, raw_id: str) -> dict[str, Any] | None:
    return await store.export_profile(person_key(raw_id))


async def erase_person(store: Store, raw_id: str) -> bool:
    """Idempotent: erasing someone already gone is not an error (returns False).

    The learner holds the person's decisions that still wait for a reward (visitor id, context) in
    memory and in its saved snapshot: a ``forget`` record naming only their ids tells it to drop them.
    """
    from slotwise.proxy.operations.learning import FORGET_KIND
    from slotwise.store.base import LogRecord

    key = person_key(raw_id)
    held = await store.export_profile(key)
    decisions = [e["key"] for e in (held or {}).get("log", []) if e["kind"] == "decision"]
    found = await store.delete_profile(key)
    if decisions:
        await store.append([LogRecord(FORGET_KIND, f"forget:{uuid.uuid4().hex}", "", time.time(),
                                      {"decisions": decisions})])
    return found


def authorized(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def admin_routes(settings: "Settings", store: Store) -> list[Route]:
    async def visitor(request: Request) -> Response:
        if not settings.admin_token:
            return JSONResponse({"error": "not found"}, status_code=404, headers=NO_STORE)
        if not authorized(request, settings.admin_token):
            if "authorization" not in request.headers:  # a browser's sw_admin cookie at most: no token tried
                not_a_guess(request.scope, BEARER_ONLY)
            return JSONResponse(
                {"error": request.scope.get(NOT_A_GUESS, "unauthorized")}, status_code=401,
                headers={**NO_STORE, "www-authenticate": 'Bearer realm="slotwise-admin"'},
            )
        raw_id = request.path_params["visitor_id"]
        if request.method == "DELETE":
            found = await erase_person(store, raw_id)
            return JSONResponse({"id": raw_id, "erased": found}, headers=NO_STORE)
        data = await export_person(store, raw_id)
        if data is None:
            return JSONResponse({"error": "no data held about this id", "id": raw_id}, status_code=404, headers=NO_STORE)
        return JSONResponse({"id": raw_id, **data}, headers=NO_STORE)

    return [Route("/admin/api/visitors/{visitor_id:path}", visitor, methods=["GET", "DELETE"])]
