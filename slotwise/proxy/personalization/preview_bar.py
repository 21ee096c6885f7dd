"""The preview bar: on a page opened with a preview link, what each slot shows and why.

Only a page whose request carries a valid preview link or cookie gets the
bar: the proxy adds, after the visitor tag, a JSON block (the slots of this
page, the variant each shows, the reason the personalizer recorded for it,
and signed links to force another variant) and ``/_sw/preview.js``. That
script and its stylesheet answer 404 to a request without a valid preview
cookie: nothing of the bar ever reaches a visitor, and the visitor tag
(``tag.js``) holds none of it. The reasons come from the decision path itself
(``SlotChoice.reason``, ``PageWork.skipped``, ``PageWork.page_reason``), never
guessed in the browser.
"""

from __future__ import annotations

import html as html_lib
import json
from importlib import resources
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from slotwise.proxy.personalization.identity import cookie_value
from slotwise.proxy.personalization.preview import OFF, PREVIEW_COOKIE, PREVIEW_PARAM, WHEN_STILL_HOLDS, PreviewLinks

if TYPE_CHECKING:
    from slotwise.proxy.flow import Flow
    from slotwise.proxy.personalization.choices import PageWork

REASONS: dict[str, str] = {
    "forced": "forced by this preview link",
    "decision": "the policy's choice for a visitor like you (not recorded: this is a preview)",
    "sticky": "your earlier decision for this slot, kept (sticky)",
    "holdout": "you are in the holdout: the store's own page, the baseline for lift",
    "when": "its 'when' is false for you on this page",
    "killed": "switched off in the admin page (kill switch)",
    "window": "outside its 'active' window (not started yet, or ended): the store's page as is",
    "disabled": "'enabled: false' in the rules",
    "all-off": "all personalization is switched off in the admin page",
    "off": "this preview link switches personalization off",
    "gpc": "your browser sends Global Privacy Control: no personalization",
    "consent": "the rules require consent and you have not given it",
    "bot": "your user agent looks like a bot: bots are never personalized (headless browsers say 'Headless')",
    "budget": "personalizing this page ran past its time budget: visitors get the store's page",
    "absent": "its selector matches no element on this page: no decision is made here",
    "pages": "its pages do not include this one: go to a page it applies to, the variant stays forced while you "
             "click through",
}
DATA_ID = "sw-preview-data"


def why(reason: str, slot: Any, forced: str | None) -> str:
    """The bar's words for a slot: ``REASONS``, and for a slot whose ``when`` is false, that condition — and,
    when the link forces one of its variants, that forcing does not lift it (a banner for returning mobile
    visitors previewed from a desktop shows nothing, and the marketer must know why and what would show it)."""
    text = REASONS.get(reason, reason)
    if reason != "when" or not getattr(slot, "when_source", None):
        return text
    text = f"its 'when' ({slot.when_source}) is false for you on this page"
    if forced is None:
        return text
    return f"forced to {forced} by this preview link, but {text}: {WHEN_STILL_HOLDS}"
ASSET_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


def json_for_html(value: Any) -> str:
    """JSON that cannot close its ``<script>`` element."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class PreviewBar:
    """Builds the bar's data for a page and serves its script to preview sessions only."""

    def __init__(self, previews: PreviewLinks, prefix: str = "/_sw") -> None:
        self.previews = previews
        self.prefix = prefix

    # -- the page's part -----------------------------------------------------
    def data(self, flow: "Flow", work: "PageWork", forced: Mapping[str, str]) -> dict[str, Any]:
        """What the bar shows: one entry per slot of this page, with the links to change it."""
        query = [(k, v) for k, v in parse_qsl(flow.query_string, keep_blank_values=True) if k != PREVIEW_PARAM]
        page = flow.path + (f"?{urlencode(query)}" if query else "")
        kept = {k: v for k, v in forced.items() if k != "*"}

        def link(new: Mapping[str, str]) -> str:
            return f"{page}{'&' if query else '?'}{PREVIEW_PARAM}={quote(self.previews.token(new))}"

        def variants(slot: Any) -> list[dict[str, Any]]:  # the links that force each variant of the slot here
            return [{"id": v.id, "control": v.control, "url": link({**kept, slot.id: v.id})} for v in slot.variants]

        ruleset = work.ruleset
        on_page = [s for s in ruleset.slots if s.pages.matches(flow.path, query, flow.headers)]
        choices = {c.slot.id: c for c in [*work.choices, *work.waiting]}  # waiting: applied by the browser
        slots = []
        for slot in on_page:
            choice = choices.get(slot.id)
            if not slot.enabled:
                reason = "disabled"
            elif work.page_reason is not None:
                reason = work.page_reason
            elif choice is not None:
                reason = choice.reason
            else:
                reason = work.skipped.get(slot.id, "when")
            shown = choice.variant if choice is not None and work.page_reason is None else None
            slots.append({
                "id": slot.id, "action": slot.action, "selector": slot.selector,
                "shown": shown.id if shown is not None else None,
                "control": bool(shown is not None and shown.control) or reason == "holdout",
                "reason": reason, "why": why(reason, slot, kept.get(slot.id)),
                "propensity": choice.propensity if choice is not None and work.page_reason is None else None,
                "variants": variants(slot),
            })
        # a slot the link forces that does not apply here (a link made elsewhere, or the marketer clicked on
        # from the page it opened): listed all the same, or the marketer sees no word of it
        listed = {slot["id"] for slot in slots}
        for slot in ruleset.slots:
            if slot.id in kept and slot.id not in listed:
                slots.append({
                    "id": slot.id, "action": slot.action, "selector": slot.selector, "shown": None, "control": False,
                    "reason": "pages", "why": f"forced to {kept[slot.id]} by this preview link, but {REASONS['pages']}",
                    "propensity": None, "variants": variants(slot),
                })
        return {
            "page": page,
            "mode": "off" if PreviewLinks.is_off(forced) else ("forced" if kept else "visitor"),
            "forced": kept,
            "slots": slots,
            "visitor_url": link({}),
            "off_url": link({"*": OFF}),
            "exit_url": f"{self.prefix}/preview/exit?to={quote(page, safe='')}",
            "css": f"{self.prefix}/preview.css",
        }

    def markup(self, flow: "Flow", work: "PageWork", forced: Mapping[str, str], nonce: str | None) -> str:
        nonce_attr = f' nonce="{html_lib.escape(nonce)}"' if nonce else ""
        return (f'<script type="application/json" id="{DATA_ID}">{json_for_html(self.data(flow, work, forced))}'
                f'</script><script src="{self.prefix}/preview.js" defer{nonce_attr}></script>')

    # -- its assets, for preview sessions only ---------------------------------
    def _in_preview(self, request: Request) -> bool:
        token = request.cookies.get(PREVIEW_COOKIE) or cookie_value(request.headers.get("cookie", ""), PREVIEW_COOKIE)
        return self.previews.read(token) is not None

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("js", "css") or not self._in_preview(request):
            return Response("not found\n", 404, media_type="text/plain", headers=ASSET_HEADERS)
        body = resources.files("slotwise.proxy.personalization").joinpath(f"preview_bar.{name}").read_bytes()
        media = "text/javascript" if name == "js" else "text/css"
        return Response(body, media_type=media, headers=ASSET_HEADERS)

    async def exit(self, request: Request) -> Response:
        """Ends the preview (drops its cookie) and goes back to the page, as a visitor."""
        target = request.query_params.get("to", "/")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"
        response = RedirectResponse(target, 303, headers={"cache-control": "no-store"})
        response.headers.append("set-cookie", f"{PREVIEW_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
        return response

    def routes(self) -> list[Route]:
        return [Route("/preview.{name}", self.asset, methods=["GET"]),
                Route("/preview/exit", self.exit, methods=["GET"])]
