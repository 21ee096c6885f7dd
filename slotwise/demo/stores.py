"""The demo's store picker: what a store finder looks like on a real site.

A form per store posts the choice; Slotwise captures it through the rules
(the ``store_chosen`` event), the store only redirects. Per-store stock is
the CSV ``/download/catalog.csv`` gives (``slotwise import inventory`` reads
it as is); the web shop's own count is ``feeds.online_stock``.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .feeds import STORES
from .pages import render


async def stores_page(request: Request) -> Response:
    return await render(request, "stores.html", "stores", stores=STORES, chosen=request.query_params.get("chosen"))


async def choose_store(request: Request) -> Response:
    """A store picked on the site: 303 back to the store list (the choice is the proxy's to record)."""
    form = await request.form()
    store = str(form.get("store") or "")
    if store not in STORES:
        return await render(request, "stores.html", "stores", status_code=422, stores=STORES, chosen=None,
                            errors_list=["Choose one of our stores."])
    return RedirectResponse(f"/stores?chosen={quote(store)}", status_code=303)
