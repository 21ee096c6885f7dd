"""Accounts and the newsletter: log-in, sign-up, log-out, account page, newsletter form.

Log-in, sign-up and log-out check the session-bound CSRF token (403 without
it). The newsletter form does not: the proxy's exit-intent popup posts to it
from markup the store did not render.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from . import auth, newsletter, orders
from .pages import demo_of, error_page, header_state, render, wants_json
from .session import get_session

MIN_PASSWORD = 4


async def _checked_form(request: Request) -> FormData | None:
    """The posted form, or None if its csrf_token does not match this session."""
    form = await request.form()
    demo = demo_of(request)
    if not auth.csrf_valid(demo.secret, get_session(request).existing_id, form.get("csrf_token")):
        return None
    return form


async def _forbidden(request: Request) -> Response:
    return await error_page(request, 403, "Session expired", "Your form expired. Please go back, reload and try again.")


def _account_url(request: Request) -> str:
    """Absolute, built from the request (the proxy must rewrite it to its own origin)."""
    return str(request.url_for("account"))


async def _log_in(request: Request, customer_id: str) -> Response:
    session = get_session(request)
    old = session.existing_id
    new = session.rotate()
    await demo_of(request).db.write(auth.start_session, old, new, customer_id)
    return RedirectResponse(_account_url(request), status_code=303)


async def login(request: Request) -> Response:
    if request.method == "GET":
        get_session(request).id  # the form's CSRF token needs a session
        return await render(request, "login.html", "login", form={"email": ""})
    form = await _checked_form(request)
    if form is None:
        return await _forbidden(request)
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    customer = await demo_of(request).db.read(auth.authenticate, email, password)
    if customer is None:
        return await render(request, "login.html", "login", status_code=401, form={"email": email},
                            errors_list=["Wrong email or password."])
    return await _log_in(request, customer.id)


async def signup(request: Request) -> Response:
    if request.method == "GET":
        get_session(request).id
        return await render(request, "signup.html", "signup", form={"name": "", "email": ""})
    form = await _checked_form(request)
    if form is None:
        return await _forbidden(request)
    name = str(form.get("name", "")).strip()
    email = auth.normalize_email(str(form.get("email", "")))
    password = str(form.get("password", ""))
    errors = []
    if not name:
        errors.append("Please tell us your name.")
    if not auth.valid_email(email):
        errors.append("Please enter a valid email address.")
    if len(password) < MIN_PASSWORD:
        errors.append(f"Your password needs at least {MIN_PASSWORD} characters.")
    if not errors:
        password_hash = await run_in_threadpool(auth.hash_password, password)
        try:
            customer = await demo_of(request).db.write(auth.create_customer, name, email, password_hash)
        except auth.EmailTaken:
            errors.append("There is already an account with that email. Log in instead?")
        else:
            return await _log_in(request, customer.id)
    status = 409 if any("already" in e for e in errors) else 400
    return await render(request, "signup.html", "signup", status_code=status,
                        form={"name": name, "email": email}, errors_list=errors)


async def logout(request: Request) -> Response:
    form = await _checked_form(request)
    if form is None:
        return await _forbidden(request)
    session = get_session(request)
    await demo_of(request).db.write(auth.end_session, session.existing_id)
    session.rotate()
    return RedirectResponse("/", status_code=303)


async def account(request: Request) -> Response:
    state = await header_state(request)
    if state.customer is None:
        return RedirectResponse("/login", status_code=303)
    history = await demo_of(request).db.read(orders.for_customer, state.customer.id)
    return await render(request, "account.html", "account", state=state, orders=history)


async def subscribe(request: Request) -> Response:
    form = await request.form()
    email = auth.normalize_email(str(form.get("email", "")))
    if not auth.valid_email(email):
        if wants_json(request):
            return JSONResponse({"ok": False, "error": "invalid email"}, status_code=400)
        return await render(request, "newsletter.html", "newsletter", status_code=400, ok=False, email=email, new=False)
    new = await demo_of(request).db.write(newsletter.subscribe, email, get_session(request).existing_id)
    if wants_json(request):
        return JSONResponse({"ok": True, "email": email, "new": new})
    return await render(request, "newsletter.html", "newsletter", ok=True, email=email, new=new)
