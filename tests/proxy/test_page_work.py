"""Only a real parse hops to the page-work threads: cached work and small pages run on the event loop."""

from __future__ import annotations

import threading

import pytest

from slotwise.html import PageDigests, page_digest
from slotwise.proxy.personalization.page_work import DIGEST_INLINE_BYTES, INLINE_BYTES, digest_of, page_work

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def where() -> str:
    return threading.current_thread().name


async def test_cached_work_and_small_pages_stay_on_the_loop() -> None:
    loop_thread = where()
    assert await page_work(INLINE_BYTES, where) == loop_thread  # small page
    assert await page_work(INLINE_BYTES + 1, where, cached=True) == loop_thread  # kept work: no hop
    assert (await page_work(INLINE_BYTES + 1, where)).startswith("sw-page")  # a real parse: the pool


async def test_the_digest_of_a_huge_page_is_made_in_the_pool() -> None:
    seen: list[str] = []

    class Recording(PageDigests):
        def digest(self, html: bytes) -> bytes:
            seen.append(where())
            return super().digest(html)

    digests = Recording()
    small, huge = b"x" * 1000, b"y" * (DIGEST_INLINE_BYTES + 1)
    assert await digest_of(small, digests) == page_digest(small)
    assert await digest_of(huge, digests) == page_digest(huge)
    assert seen[0] == where() and seen[1].startswith("sw-page")


def test_has_targets_is_true_only_for_what_a_rewrite_kept() -> None:
    from slotwise.html import Edit, clear_cache, has_targets, rewrite

    clear_cache()
    page = b"<html><body><ul id=a><li data-category=x>x</li><li data-category=y>y</li></ul><p>t</p></body></html>"
    digest = page_digest(page)
    edits = [Edit("s", "#a", "reorder", order=("y", "x"))]
    assert not has_targets(digest, edits)
    first = rewrite(page, edits, digest=digest)
    assert has_targets(digest, edits) and not first.cached
    again = rewrite(page, edits, digest=digest)
    assert again.cached and again.body == first.body
    assert has_targets(digest, [Edit("s", "#a", "reorder", order=("x",), decision_id="d")])  # values: not in the key
    assert not has_targets(digest, [Edit("s", "p", "reorder", order=("y", "x"))])  # another selector
    assert not has_targets(digest, [Edit("s", "#a", "remove")])  # another action
    assert not has_targets(page_digest(page + b" "), edits)  # other bytes
    assert not has_targets(digest, edits, "latin-1")  # another codec
    assert not has_targets(digest, [*edits, Edit("t", "p", "remove")])  # another list of edits
