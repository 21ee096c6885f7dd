"""Tag-only mode: the page's slot decisions as JSON edits the browser applies.

The same steps as a proxied page. Page facts come from the URL patterns and
what the catalog already knows about the page's product; when that is not
enough (a product nobody has viewed yet, a product page whose URL names no
product, a page no pattern claims, a page whose type only its markup says:
``catalog.page_types``) the answer
is ``complete: false`` with no decisions, and the tag asks again with the
page's extract — the very fields the proxy would read from the HTML, so the
facts are the proxy's (``tests/tag_only`` compares them); a product page that
names no category takes the catalog's, as behind the proxy
(``catalog_category``). Decisions are
returned with signed tokens and logged only when the tag reports them
applied (``decision_tokens``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import parse_qsl, urlsplit

from slotwise.client_origin import origin_of
from slotwise.html.edits import Edit, ItemKey
from slotwise.proxy.personalization.bots import is_bot
from slotwise.proxy.flow import Flow, Visitor
from slotwise.rules import page_facts, request_facts
from slotwise.rules.reading import PageReading, read_extract

from slotwise.proxy.personalization.choices import PageWork, SlotChoice

if TYPE_CHECKING:  # the personalizer calls in; a type, not an import at run time
    from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
    from slotwise.rules.pages import Query
    from slotwise.rules.ruleset import RuleSet


def page_headers(request: Any) -> list[tuple[str, str]]:
    """The request's headers as the page's own request had them: its Referer is the page's referrer.

    ``/decide`` is fetched by the page, so its Referer names the page itself;
    the tag sends the page's ``document.referrer`` (already trimmed by the
    browser's referrer policy, like the header the proxy would see).
    """
    referrer = getattr(request.state, "sw_referrer", "") if hasattr(request, "state") else ""
    headers = [(k.lower(), v) for k, v in request.headers.items() if k.lower() != "referer"]
    return headers + [("referer", referrer)] if referrer else headers


async def decide_for_url(p: "SlotwisePersonalizer", request: Any, visitor_id: str, url: str,
                         extract: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"decisions": [edit + token...], "complete": bool}`` for the page at ``url`` (and ``login: false`` where
    a signed customer's POST could change nothing: ``signs_in``)."""
    empty: dict[str, Any] = {"decisions": [], "complete": True}
    ruleset = p.ruleset()
    if ruleset is None or is_bot(request.headers.get("user-agent")):  # crawlers run the tag too: left alone
        return empty
    parts = urlsplit(url)
    path = parts.path or "/"
    headers = page_headers(request)
    flow = Flow(
        method="GET", path=path, query_string=parts.query, headers=headers,
        client_ip=origin_of(request, p.settings.proxy_trust).address, scheme=parts.scheme or "http",
        public_host=parts.netloc or request.headers.get("host", ""),
    )
    flow.visitor = Visitor(visitor_id, False)
    query = parse_qsl(parts.query, keep_blank_values=True)
    req = request_facts(headers, query)
    if req.gpc:
        return empty
    profile = await p.store.get_profile(visitor_id)
    if ruleset.consent == "required" and (profile is None or profile.consent != "granted"):
        return empty
    slots = ruleset.slots_for(path, query, headers)
    if not slots:
        return {**empty, "login": False}
    url_type = ruleset.catalog.url_type(path)
    if extract is None and (ruleset.catalog.page_currency is not None or url_type.open):
        # only the page says its currency, or its type (catalog.page_types): the tag sends its extract
        return {"decisions": [], "complete": False}
    if extract is not None:
        groups = ruleset.catalog.page_groups(url_type)
        reading = read_extract(extract, ruleset.catalog, groups)
    else:
        reading, complete = await _catalog_reading(p, url_type.kind, url_type.params)
        if not complete:  # decisions on facts known to be partial could contradict the page: ask for it
            return {"decisions": [], "complete": False}
    page = await p.categories.of(page_facts(path, query, None, ruleset, url=url, reading=reading))
    work = PageWork(ruleset, profile)
    now = p.clock()
    await p._decide_step(flow, work, page, req, now, None)
    answer: dict[str, Any] = {"decisions": [choice_json(choice, p) for choice in work.choices], "complete": True}
    if not signs_in(ruleset, path, query):
        answer["login"] = False
    return answer


def signs_in(ruleset: "RuleSet", path: str, query: "Query") -> bool:
    """Whether a signed customer this page names could be linked here before deciding (``TagAPI._login``): the
    rules check signatures (``capture.identity``) and their customer source reads this page. Where it could not,
    or where no slot applies (nothing to decide), the answer says ``login: false``: the tag then skips the POST it
    would send for the page right after a login, which would answer the same."""
    source = ruleset.capture.customer
    return source is not None and ruleset.capture.identity is not None and source.applies(path, query)


async def _catalog_reading(p: "SlotwisePersonalizer", kind: str, params: Mapping[str, str]) -> tuple[PageReading, bool]:
    """What the catalog knows about the URL's product (the proxy would read it from the page)."""
    if kind == "other":
        return PageReading(), False  # only the page can say whether it shows a product
    if kind != "product":
        return PageReading(), True
    if not params.get("product"):  # a product page whose URL names no product (/coat/{slug}: a variant's page)
        return PageReading(), False  # only the page can say which: its JSON-LD, its selectors
    from slotwise.keys import product_key

    product_id = product_key(params["product"]) or ""
    found = (await p.store.get_products([product_id])).get(product_id)
    if not found:
        return PageReading(), False
    return PageReading(structured=found, declared=True), True


def choice_json(choice: SlotChoice, p: "SlotwisePersonalizer", *, signed: bool = True) -> dict[str, Any]:
    """A decision as the tag applies it (``apply``, and ``watch`` for a slot with ``wait``), with the signed
    token of a new one (unless not ``signed``: logged already): tag-only's ``/decide`` and the proxy's
    waiting decisions (``late_decisions``)."""
    assert choice.edit is not None, "a decided choice has its edit (``mark_only`` when it shows nothing)"
    out = edit_json(choice.edit)  # the holdout's and a control's too: applied, so counted, only where the slot is
    if choice.slot.wait_ms:  # its element comes from the store's script: the tag watches for it this long
        out["wait"] = choice.slot.wait_ms
    if choice.slot.click:  # select-option: the chosen item is clicked, as a shopper would (Magento's swatches)
        out["click"] = True
    if signed and choice.record is not None:  # a new decision: logged when the tag says it is on the page
        out["token"] = p.tokens.sign(choice.record)
    return out


def edit_json(edit: Edit) -> dict[str, Any]:
    """An ``Edit`` as the tag's ``apply`` reads it."""
    key: Any = edit.key.to_json() if isinstance(edit.key, ItemKey) else edit.key
    return {
        "slot": edit.slot, "selector": edit.selector, "action": edit.action, "html": edit.html,
        "value": edit.value, "order": list(edit.order), "key": key, "items": edit.items,
        "attributes": dict(edit.attributes), "decision_id": edit.decision_id, "limit": edit.limit,
        **({"names": list(edit.names)} if edit.names else {}),
    }
