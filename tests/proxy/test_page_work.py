"""Only a real parse hops to the page-work threads: cached work and small pages run on the event loop."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from slotwise.html import PageDigests, page_digest
from slotwise.proxy.personalization.page_work import DIGEST_INLINE_BYTES, INLINE_BYTES, digest_of, page_work
from agents import DESKTOP_UA  # noqa: E402

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


SLOW_S = 1.0
PAD = b"<p>" + b"padding " * 2_500 + b"</p>"  # past INLINE_BYTES: a new page's reading goes to the pool
PAGES = {
    "/p/slow": b"<!doctype html><html><head><title>slow</title></head><body><!-- slow-page -->" + PAD + b"</body></html>",
    "/p/kept": b"<!doctype html><html><head><title>kept</title></head><body>" + PAD + b"</body></html>",
}


def test_one_slow_new_page_does_not_hold_a_kept_page_or_health(tmp_path: Any, asgi_server: Any,
                                                                monkeypatch: Any) -> None:
    """The real personalizer in front of a real origin: while a new page's reading is slow in a page-work
    thread (a parse holds no interpreter: ``time.sleep`` stands for it), a page whose reading is kept, which
    runs on the event loop, and ``/_sw/health`` are answered at once."""
    from pathlib import Path

    import httpx
    from sw_upstreams import RawUpstream, respond

    import slotwise.proxy.personalization.personalize as personalize
    from slotwise.proxy.app import create_app
    from slotwise.proxy.config import Settings

    read_html = personalize.read_html
    read_in: list[str] = []

    def slow_read(html: bytes, *args: Any, **kwargs: Any) -> Any:
        read_in.append(where())
        if b"slow-page" in html:
            time.sleep(SLOW_S)
        return read_html(html, *args, **kwargs)

    monkeypatch.setattr(personalize, "read_html", slow_read)

    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        body = PAGES.get(head.split(b" ")[1].decode(), PAGES["/p/kept"])
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                  ("Cache-Control", "no-store"),
                                                  ("Content-Length", str(len(body)))], body))
        await writer.drain()

    rules = Path(__file__).resolve().parents[2] / "bench" / "proxy" / "rules-4-slots.yaml"
    ua = {"User-Agent": DESKTOP_UA, "Accept-Encoding": "identity"}
    with RawUpstream(handler) as origin:
        settings = Settings(upstream=origin.url, data=str(tmp_path / "data"), rules=str(rules),
                            personalize_budget_ms=10_000.0, html_hold_ms=-1)
        edge = asgi_server(create_app(settings, personalize.SlotwisePersonalizer(settings)))
        with httpx.Client(base_url=edge.url, trust_env=False, timeout=30, headers=ua) as c:
            assert b"/_sw/" in c.get("/p/kept").content  # read once (in the pool): kept from now on
            assert read_in and read_in[-1].startswith("sw-page")
            slow: list[httpx.Response] = []
            thread = threading.Thread(target=lambda: slow.append(c.get("/p/slow")))
            started = time.perf_counter()
            thread.start()
            while len(read_in) < 2:  # the slow page's reading has begun
                time.sleep(0.005)
            with httpx.Client(base_url=edge.url, trust_env=False, timeout=30, headers=ua) as other:
                kept = other.get("/p/kept")
                kept_s = time.perf_counter() - started
                assert other.get("/_sw/health").status_code == 200
                health_s = time.perf_counter() - started
            thread.join()
            slow_s = time.perf_counter() - started
    assert kept.status_code == 200 and b"/_sw/" in kept.content  # personalized (tagged), not failed open
    assert len(read_in) == 2  # the kept page was not read again
    assert slow[0].status_code == 200 and b"/_sw/" in slow[0].content
    assert slow_s >= SLOW_S
    assert kept_s < SLOW_S / 2 and health_s < SLOW_S / 2, (kept_s, health_s)
