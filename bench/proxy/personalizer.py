"""A stand-in personalizer for the benchmark: 3 selectolax edits per page (until the real rules exist).

``--rules FILE`` in ``bench.proxy.run`` switches to the real personalizer
(``slotwise.proxy.personalize.build_personalizer``) through the normal factory.
"""

from __future__ import annotations

from typing import Any, Sequence

from selectolax.lexbor import LexborHTMLParser

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.flow import Flow
from slotwise.proxy.server import tune_malloc

RECS = "".join(
    f'<article class="product-card" data-product-id="r{i}"><a href="/p/r{i}"><h3>Pick {i}</h3></a></article>' for i in range(4)
)


class ThreeSlots:
    """Reorder the category nav, fill the related block, set a badge in the header."""

    def routes(self) -> Sequence[Any]:
        return ()

    async def on_request(self, flow: Flow) -> None:
        return None

    def wants_body(self, flow: Flow) -> bool:
        return True

    async def on_html(self, flow: Flow, html: bytes) -> bytes | None:
        tree = LexborHTMLParser(html)
        nav = tree.css_first("nav.category-nav ul")
        if nav is not None:
            items = list(nav.iter())
            if len(items) > 1:
                items[0].insert_before(items[-1])  # "last browsed first"
        related = tree.css_first("section.related")
        if related is not None:
            related.insert_child(LexborHTMLParser(f"<div class=recs>{RECS}</div>").css_first("div.recs"))
        count = tree.css_first(".cart-count")
        if count is not None:
            count.replace_with("1")
        return (tree.html or "").encode()

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...


def create_app_three_slots() -> Any:
    tune_malloc()
    return create_app(Settings.from_env(), ThreeSlots())


def create_app_passthrough() -> Any:
    """The forwarding layer alone (NullPersonalizer): the pass-through case."""
    tune_malloc()
    return create_app(Settings.from_env(), None)
