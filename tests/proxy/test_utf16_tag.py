"""The tag goes into a UTF-16 page in UTF-16: appended as ASCII bytes it corrupted the page. It carries
the page's CSP nonce, found in the page's text: a scan of its bytes as ASCII never found it, and a strict
``script-src 'nonce-…'`` blocked the tag."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sw_upstreams import RawUpstream, respond

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization import page_readings
from slotwise.proxy.personalization.inject import inject_before_body_end
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.rules.reading import bytes_to_read
from agents import DESKTOP_UA  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "bench" / "proxy" / "rules-3-slots.yaml"
TEXT = "<!doctype html><html><head><title>Caf\xe9</title></head><body><p>h\xe9llo</p></body></html>"
UA = {"User-Agent": DESKTOP_UA, "Accept-Encoding": "identity"}
NONCE = "r4nd0m+N0nce="
WITH_NONCE = TEXT.replace("</title>", f'</title><script nonce="{NONCE}">var shop = 1;</script>')
TAG = re.compile(r"<script [^>]*/_sw/[^>]*>")  # the tag's script element the proxy puts in


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-le", "utf-16-be"])
def test_inject_speaks_the_pages_encoding(charset: str) -> None:
    page = TEXT.encode(charset)
    out = inject_before_body_end(page, b"<script src=/t.js></script>", charset=charset)
    assert out.decode(charset) == TEXT.replace("</body>", "<script src=/t.js></script></body>")
    assert inject_before_body_end(page[:-1], b"<x>", charset=charset) == page[:-1]  # cut mid-character: untouched


@pytest.fixture(scope="module")
def origin() -> Iterator[RawUpstream]:
    async def handler(reader: Any, writer: Any, head: bytes) -> None:
        path = head.split(b" ", 2)[1].decode()
        headers = []
        if path.startswith("/csp/"):  # /csp/<charset>: a page with a nonce, under a strict CSP
            charset, text = path.removeprefix("/csp/"), WITH_NONCE
            headers.append(("Content-Security-Policy", f"script-src 'nonce-{NONCE}'"))
        else:
            charset, text = "utf-16", TEXT
        body = text.encode(charset)  # UTF-16 with its BOM
        writer.write(respond(b"HTTP/1.1 200 OK", [("Content-Type", f"text/html; charset={charset}"), *headers,
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


@pytest.mark.parametrize("charset", ["utf-16", "utf-16-le", "utf-8"])
def test_the_tag_carries_the_pages_csp_nonce(origin: RawUpstream, tmp_path: Path, asgi_server: Any,
                                             monkeypatch: pytest.MonkeyPatch, charset: str) -> None:
    copies: list[bool] = []  # per page read for its nonce: whether the page was transcoded for it

    def spied(html: bytes, page_charset: str) -> bytes:
        out = bytes_to_read(html, page_charset)
        copies.append(out is not html)
        return out

    monkeypatch.setattr(page_readings, "bytes_to_read", spied)
    settings = Settings(upstream=origin.url, data=str(tmp_path / "data"), rules=str(RULES), personalize_budget_ms=5000.0)
    edge = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    for _ in range(2):
        r = httpx.get(f"{edge.url}/csp/{charset}", headers=UA, trust_env=False)
        assert r.headers["content-security-policy"] == f"script-src 'nonce-{NONCE}'"
        text = r.content.decode(charset)  # strict: the page still decodes
        (tag,) = TAG.findall(text)
        assert f'nonce="{NONCE}"' in tag, tag  # the browser runs it under the page's CSP
    # a UTF-16 page is read in UTF-8 once (its nonce kept per page); a UTF-8 page is scanned as it is
    assert copies == ([] if charset == "utf-8" else [True])
