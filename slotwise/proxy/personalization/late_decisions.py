"""Decisions on elements the store's own script renders after the page loads (a slot's ``wait``), behind the proxy.

The proxy edits the HTML the store sends, where such an element is not yet
(Magento's swatches built from ``jsonConfig``, a React rail). Such a slot's
decision is kept all the same, not logged with the page: the page carries it
to the browser in the script element the proxy adds after its tag (the
``late`` script: tag.js's own ``apply`` and watcher, ``slotwise.tag.assets``),
which applies it when the element appears. Each goes with its signed token,
as tag-only's ``/decide`` gives them (``tag_decide.choice_json``): it is
logged, with the propensity drawn here, only when the tag's ``applied`` event
brings the token back (``confirm_applied``), so a decision whose element
never comes is never logged nor learned from. A waiting slot whose element
*is* in the HTML is rewritten by the proxy and logged with the page, as any
slot; the page carries its decision too, marked as on the page already
(``on``, no token), so that the browser applies it again to an element the
store's script re-renders in its place (a framework's hydration), as the
tag-only tag does. A ``select-option`` slot with ``click`` that the proxy
chose in the HTML (the first paint shows the choice) goes along too, whether
it waits or not: the store's script never saw that choice, so once the page
has loaded the browser makes it again as a shopper would — the chosen
``<select>``'s or input's ``change``, a click on another item — and the
store's script acts on it (PrestaShop refreshes the combination, its prices
and URL, from its product controller). The decisions go in a ``data-``
attribute, escaped as every attribute the proxy writes (``script_tag``):
data, never code.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

from slotwise.proxy.personalization.choices import SlotChoice
from slotwise.proxy.personalization.tag_decide import choice_json
from slotwise.tag.assets import script_tag

if TYPE_CHECKING:
    from slotwise.proxy.personalization.personalize import SlotwisePersonalizer


def late_script(waiting: Sequence[SlotChoice], shown: Sequence[SlotChoice], p: "SlotwisePersonalizer",
                nonce: str | None) -> str:
    """The ``<script>`` element that applies ``waiting`` in the browser, and watches ``shown`` (rewritten by
    the proxy) for re-renders: the page's CSP nonce, as the tag's."""
    decisions = [choice_json(choice, p) for choice in waiting]
    decisions += [{**choice_json(choice, p, signed=False), "on": 1} for choice in shown]
    decisions_json = json.dumps(decisions, separators=(",", ":"), ensure_ascii=True)
    return script_tag(nonce, data={"decisions": decisions_json}, src=p.tag_api.assets.url(variant="late"))
