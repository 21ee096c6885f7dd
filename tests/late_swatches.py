"""What the late fixture's product page (tests/tag_only/site/late/p/tee.html: Magento-like swatches a script
builds 300 ms after DOMContentLoaded) shows of a size preset, for the tag-only and the proxied tests alike."""

from __future__ import annotations

from typing import Any

PICKED = "[...document.querySelectorAll('.swatch-option[aria-checked=true]')].map(e => e.dataset.optionLabel)"


def size_chosen_before_paint(page: Any, size: str) -> None:
    """The swatches came with ``size`` chosen, and the first frame that painted them showed it chosen; then
    the page is left past the reviews widget's wait (600 ms), which never comes."""
    page.wait_for_selector(".swatch-attribute.size .swatch-attribute-options[data-sw-decision]")
    assert page.evaluate(PICKED) == [size]
    page.wait_for_function("window.firstFrame !== undefined")
    assert page.evaluate("window.firstFrame") == size, "the swatches were painted before the size was chosen"
    page.wait_for_timeout(800)
