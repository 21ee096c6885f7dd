"""Tag-only mode: the page's slot decisions as JSON edits the browser applies.

The same steps as a proxied page, minus the page body: page facts come from
the URL patterns only, and the view itself is recorded by the tag's
``page_view`` event, not here.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from slotwise.proxy.flow import Flow, Visitor
from slotwise.rules import page_facts, request_facts

if TYPE_CHECKING:
    from slotwise.proxy.personalize import SlotwisePersonalizer


async def decide_for_url(p: "SlotwisePersonalizer", request: Any, visitor_id: str, url: str) -> list[dict[str, Any]]:
    from slotwise.proxy.personalize import PageWork

    ruleset = p.ruleset()
    if ruleset is None:
        return []
    parts = urlsplit(url)
    headers = [(k.lower(), v) for k, v in request.headers.items()]
    flow = Flow(
        method="GET", path=parts.path or "/", query_string=parts.query, headers=headers,
        client_ip=request.client.host if request.client else "", scheme=parts.scheme or "http",
        public_host=parts.netloc or request.headers.get("host", ""),
    )
    flow.visitor = Visitor(visitor_id, False)
    query = parse_qsl(parts.query, keep_blank_values=True)
    page = page_facts(flow.path, query, None, ruleset, url=url)
    req = request_facts(headers, query)
    if req.gpc:
        return []
    profile = await p.store.get_profile(visitor_id)
    if ruleset.consent == "required" and (profile is None or profile.consent != "granted"):
        return []
    work = PageWork(ruleset, profile)
    now = p.clock()
    await p._decide_step(flow, work, page, req, now, None)
    await p._persist_decisions(visitor_id, work, now)
    return [_edit_json(edit) for edit in work.edits]


def _edit_json(edit: Any) -> dict[str, Any]:
    data = asdict(edit)
    data["order"] = list(data.get("order") or ())
    data["attributes"] = dict(data.get("attributes") or {})
    return data
