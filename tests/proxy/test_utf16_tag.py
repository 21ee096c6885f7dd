"""The tag goes into a UTF-16 page in UTF-16: appended as ASCII bytes it corrupted the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sw_upstreams import RawUpstream, respond

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.inject import inject_before_body_end
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from agents import DESKTOP_UA  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "bench" / "proxy" / "rules-3-slots.yaml"
TEXT = "<!doctype html><html><head><title>Caf\xe9</title></head><body><p>h\xe9llo</p></body></html>"
UA = {"User-Agent": DESKTOP_UA, "Accept-Encoding": "identity"}


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-le", "utf-16-be"])
def test_inject_speaks_the_pages_encoding(charset: str) -> None:
    page = TEXT.encode(charset)
    out = inject_before_body_end(page, b"<script src=/t.js></script>", charset=charset)
    assert out.decode(charset) == TEXT.replace("</body>", "<script src=/t.js></script></body>")
    assert inject_before_body_end(page[:-1], b"<x>", charset=charset) == page[:-1]  # cut mid-character: untouched


@pytest.fixture(scope="module")
def origin() -> Iterator[RawUpstream]:
    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        body = TEXT.encode("utf-16")  # with its BOM
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", "text/html; charset=utf-16"),
                                                  ("Content-Length", str(len(body)))], body))
        await writer.drain()

    with RawUpstream(handler) as up:
        yield up


def test_a_utf16_page_gets_the_tag_in_utf16(origin: RawUpstream, tmp_path: Path, asgi_server: Any) -> None:
    settings = Settings(upstream=origin.url, data=str(tmp_path / "data"), rules=str(RULES), personalize_budget_ms=5000.0)
    edge = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    r = httpx.get(edge.url + "/", headers=UA, trust_env=False)
    text = r.content.decode("utf-16")  # strict: the page still decodes
    assert "<p>h\xe9llo</p>" in text and "/_sw/" in text
    assert text.index("/_sw/") < text.index("</body>")
