"""``slotwise rules check --url`` fetches the page from a real HTTP server on 127.0.0.1.

What only the real fetch does: redirects followed and said, cookies, headers
and its User-Agent sent, a compressed page read decoded, a non-UTF-8 page's
bytes kept as sent and read in its charset (from its Content-Type, as the
proxy reads it), a page over ``MAX_PAGE_BYTES`` read up to it (and said),
a compression bomb cut there without inflating it in memory, a page the
proxy would pass through unchanged (over ``--max-html-bytes`` or a bound of
``slotwise.html.bounds``, or a fragment) said so, a ``Cookie`` header kept to
the store's host like ``--cookie``, error statuses described with a warning,
and a store that refuses, never answers, trickles its headers or its page
past the overall deadline, answers with no HTML (JSON, an image, a PDF) or is
no http(s) URL at all: exit 2 with one line, never a traceback.
"""

from __future__ import annotations

import gzip
import os
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import brotli
import ports
import pytest
import zstandard
from page_server import Page, Silent

from slotwise.cli import main
from slotwise.commands import page_fetch
from slotwise.html import bounds
from slotwise.proxy.config import Settings

RULES = """
catalog: {product_pages: "/p/{product}"}
slots:
  - {id: note, pages: "/**", selector: textarea.note, action: set-value, value: "'hi'"}
"""
PAGE = b'<html><body><form><textarea class="note"></textarea></form></body></html>'


@pytest.fixture
def rules(tmp_path: Path) -> str:
    (tmp_path / "rules.yaml").write_text(RULES)
    return str(tmp_path / "rules.yaml")


def check(rules: str, url: str, *args: str) -> int:
    return main(["rules", "check", rules, "--url", url, *args])


def test_a_redirect_is_followed_and_said(rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shop = page_server({"/old": Page(b"", 302, (("location", "/new"),)), "/new": PAGE})
    assert check(rules, shop.url + "/old") == 0
    out = capsys.readouterr().out
    assert f"{shop.url}/old redirects to {shop.url}/new (shown below;" in out
    assert f"{shop.url}/new: HTTP 200, {len(PAGE)} bytes; page type other" in out
    assert "note: page matches; 1 element matches 'textarea.note'" in out
    assert [r.path for r in shop.requests] == ["/old", "/new"]


def test_a_url_the_client_only_percent_encodes_is_no_redirect(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A slug with an umlaut or a space, as a browser's address bar shows it, is sent percent-encoded;
    the store answered that URL itself, so nothing redirected."""
    shop = page_server({"/k/gr%C3%B6%C3%9Fe%20m": PAGE})
    assert check(rules, shop.url + "/k/größe m") == 0
    out = capsys.readouterr().out
    assert "redirects to" not in out
    assert f"{shop.url}/k/gr%C3%B6%C3%9Fe%20m: HTTP 200" in out
    assert [r.path for r in shop.requests] == ["/k/gr%C3%B6%C3%9Fe%20m"]


def test_cookies_headers_and_the_user_agent_reach_the_store_after_a_redirect_too(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = page_server({"/basket": Page(b"", 302, (("location", "/basket/"),)), "/basket/": PAGE})
    assert check(rules, shop.url + "/basket", "--cookie", "sid=s3cr=t", "--cookie", "lang = de",
                 "--header", "Accept-Language: de-CH", "--header", "X-Preview:1") == 0
    assert len(shop.requests) == 2
    for seen in shop.requests:
        assert seen.cookies == {"sid": "s3cr=t", "lang": "de"}
        assert seen.headers["accept-language"] == "de-CH" and seen.headers["x-preview"] == "1"
        assert seen.headers["user-agent"] == "slotwise-rules-check/1"
        assert seen.headers["accept"] == "text/html"
    capsys.readouterr()
    assert check(rules, shop.url + "/basket/", "--header", "User-Agent: Mozilla/5.0 (X11)") == 0
    assert shop.requests[-1].headers["user-agent"] == "Mozilla/5.0 (X11)"  # a store that serves bots less


def test_the_cookies_stay_with_the_store_when_it_redirects_to_another_site(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A browser holds the store's session for the store's host: a redirect to a payment page or a CDN
    must not carry it there (curl strips them too). The headers go along, as with curl."""
    other = page_server({"/pay": PAGE})
    elsewhere = other.url.replace("127.0.0.1", "localhost") + "/pay"
    shop = page_server({"/checkout": Page(b"", 302, (("location", elsewhere),))})
    assert check(rules, shop.url + "/checkout", "--cookie", "sid=s3cret", "--header", "Accept-Language: de") == 0
    assert f"{shop.url}/checkout redirects to {elsewhere}" in capsys.readouterr().out
    assert shop.requests[0].cookies == {"sid": "s3cret"}
    assert [r.path for r in other.requests] == ["/pay"]
    assert other.requests[0].cookies == {} and other.requests[0].headers["accept-language"] == "de"


def test_a_cookie_header_is_held_for_the_store_like_cookie(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--header 'Cookie: …'`` (pasted from a browser's devtools) goes into the same jar as ``--cookie``:
    to the store's host after its own redirect, never to another site it redirects to; a ``--cookie``
    of the same name wins."""
    other = page_server({"/pay": PAGE})
    elsewhere = other.url.replace("127.0.0.1", "localhost") + "/pay"
    shop = page_server({"/basket": Page(b"", 302, (("location", "/checkout"),)),
                        "/checkout": Page(b"", 302, (("location", elsewhere),))})
    assert check(rules, shop.url + "/basket", "--header", "Cookie: sid=s3cr=t; lang=de", "--header", "cookie: ab=1",
                 "--cookie", "lang=fr") == 0
    assert f"{shop.url}/basket redirects to {elsewhere}" in capsys.readouterr().out
    assert [r.path for r in shop.requests] == ["/basket", "/checkout"]
    for seen in shop.requests:
        assert seen.cookies == {"sid": "s3cr=t", "lang": "fr", "ab": "1"}
    assert other.requests[0].cookies == {} and "cookie" not in other.requests[0].headers


def test_a_cookie_header_that_is_no_name_value_list_exits_2(rules: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(rules, "http://127.0.0.1:9/", "--header", "Cookie: sid=1; junk") == 2
    assert _one_line_of(capsys) == ("slotwise rules check: --header 'Cookie: sid=1; junk': 'junk' is not NAME=VALUE "
                                    "(or give each cookie as --cookie NAME=VALUE)")


def test_authorization_goes_to_the_stores_origin_only(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """httpx drops ``Authorization`` on a redirect to another origin (scheme, host or port), as curl does;
    a redirect within the store's origin keeps it (a staging store behind basic auth)."""
    other = page_server({"/pay": PAGE})
    elsewhere = other.url.replace("127.0.0.1", "localhost") + "/pay"
    shop = page_server({"/basket": Page(b"", 302, (("location", "/checkout"),)),
                        "/checkout": Page(b"", 302, (("location", elsewhere),))})
    assert check(rules, shop.url + "/basket", "--header", "Authorization: Basic c3RhZ2U6cHc=",
                 "--header", "X-Preview: 1") == 0
    capsys.readouterr()
    assert [r.headers.get("authorization") for r in shop.requests] == ["Basic c3RhZ2U6cHc="] * 2
    assert "authorization" not in other.requests[0].headers
    assert other.requests[0].headers["x-preview"] == "1"  # any other header goes along


@pytest.mark.parametrize(("coding", "body"), [  # ids by coding, gzip with no time in it: pytest-xdist's workers
    ("gzip", gzip.compress(PAGE, mtime=0)),      # collect apart and must name the same tests
    ("br", brotli.compress(PAGE)),
    ("deflate, gzip", gzip.compress(zlib.compress(PAGE), mtime=0)),  # two in a row: undone whole (``decode``)
], ids=["gzip", "br", "deflate-gzip"])
def test_a_compressed_page_is_read_decoded(
    coding: str, body: bytes, rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = page_server({"/": Page(body, 200, (("content-type", "text/html"), ("content-encoding", coding)))})
    assert check(rules, shop.url + "/") == 0
    out = capsys.readouterr().out
    assert f"{shop.url}/: HTTP 200, {len(PAGE)} bytes" in out
    assert "note: page matches; 1 element matches 'textarea.note'" in out
    assert "gzip" in shop.requests[0].headers["accept-encoding"]


def test_a_non_utf8_page_is_read_as_the_store_sent_it(rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A windows-1252 page arrives byte for byte (no decoding on the way, as behind the proxy)."""
    html = ('<html><head><meta charset="windows-1252"><script type="application/ld+json">{"@type": "Product", '
            '"sku": "7", "name": "Caf\u00e9", "offers": {"price": "9.50", "priceCurrency": "EUR"}}</script></head>'
            '<body><textarea class="note">\u00a3 \u20ac</textarea></body></html>').encode("cp1252")
    shop = page_server({"/p/7": Page(html, 200, (("content-type", "text/html; charset=windows-1252"),))})
    assert check(rules, shop.url + "/p/7") == 0
    out = capsys.readouterr().out
    assert f"{shop.url}/p/7: HTTP 200, {len(html)} bytes; page type product" in out
    assert "product '7': " in out and "price 9.50 EUR" in out
    assert "note: page matches; 1 element matches 'textarea.note'" in out


CHARSET_RULES = """
catalog:
  product_pages: "/p/{product}"
  selectors: {category: "main @data-category"}
slots:
  - {id: kitchen, pages: "/**", selector: 'main[data-category="K\u00fcche"] h1', action: append, html: "<b>x</b>"}
"""


@pytest.mark.parametrize(("header", "said"), [
    ("text/html; charset=windows-1252", "charset cp1252"),
    ("text/html", "charset cp1252"),  # from its <meta charset>
    ("text/html; charset=ISO-8859-1", "charset iso8859-1, read as cp1252 (as browsers read it)"),
])
def test_a_windows_1252_page_is_read_in_its_charset_as_the_proxy_reads_it(
    tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str], header: str, said: str
) -> None:
    """Its charset from the Content-Type (or, without one there, its ``<meta charset>``), as the proxy
    sniffs it: the name, the category key and a selector naming "Küche" read as on the page."""
    meta = "" if "charset" in header else '<meta charset="windows-1252">'
    html = (f'<html><head>{meta}<script type="application/ld+json">{{"@type": "Product", "name": "Caf\u00e9 Cr\u00e8me", '
            '"offers": {"price": "4.50", "priceCurrency": "EUR"}}</script></head>'
            '<body><main data-category="K\u00fcche"><h1>Caf\u00e9</h1></main></body></html>').encode("cp1252")
    (tmp_path / "rules.yaml").write_text(CHARSET_RULES, encoding="utf-8")
    shop = page_server({"/p/7": Page(html, 200, (("content-type", header),))})
    assert check(str(tmp_path / "rules.yaml"), shop.url + "/p/7") == 0
    out = capsys.readouterr().out
    assert f"{shop.url}/p/7: HTTP 200, {len(html)} bytes; page type product, category 'k\u00fcche'" in out
    assert f"\n  {said}\n" in out
    assert "product '7': 'Caf\u00e9 Cr\u00e8me', price 4.50 EUR" in out
    assert "category 'k\u00fcche'" in out and "\ufffd" not in out
    assert "kitchen: page matches; 1 element matches" in out


def test_a_page_over_the_cap_is_read_up_to_it_and_says_so(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The element past the cap is not counted, and the author is told why it may be missing."""
    cap = 100_000
    monkeypatch.setattr(page_fetch, "MAX_PAGE_BYTES", cap)
    head = b"<html><body>" + PAGE
    html = head + b"<p>filler</p>" * (cap // 13) + b'<textarea class="note"></textarea></body></html>'
    exact = head.ljust(cap, b" ")
    shop = page_server({"/long": html, "/exact": exact})
    assert check(rules, shop.url + "/long") == 0
    out = capsys.readouterr().out
    assert f"{shop.url}/long: HTTP 200, {cap} bytes; page type other" in out
    assert f"  only the first {cap} bytes read: the page is longer (what comes after is not shown)" in out
    assert "note: page matches; 1 element matches 'textarea.note'" in out
    assert check(rules, shop.url + "/exact") == 0
    out = capsys.readouterr().out
    assert f"HTTP 200, {cap} bytes" in out and "only the first" not in out


def _bomb(coding: str, size: int) -> bytes:
    """``size`` bytes of one page that compress to almost nothing, made without holding them."""
    piece = b"<html><body>" + b" " * (1024 * 1024 - 12)
    if coding == "gzip":
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        return b"".join(z.compress(piece) for _ in range(size // len(piece))) + z.flush()
    if coding == "br":
        b = brotli.Compressor(quality=5)
        return b"".join(b.process(piece) for _ in range(size // len(piece))) + b.finish()
    z = zstandard.ZstdCompressor().compressobj()
    return b"".join(z.compress(piece) for _ in range(size // len(piece))) + z.flush()


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_a_compression_bomb_is_cut_at_the_cap_without_inflating_it(
    coding: str, rules: str, page_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """64 MiB that arrive as a few KB: decoded piece by piece with the proxy's ``Decoder`` and cut at the
    cap, never more than about the cap in memory (httpx's own decoders inflate a whole chunk at once)."""
    cap = 100_000
    monkeypatch.setattr(page_fetch, "MAX_PAGE_BYTES", cap)
    body = _bomb(coding, 64 * 1024 * 1024)
    shop = page_server({"/": Page(body, 200, (("content-type", "text/html"), ("content-encoding", coding))),
                        "/small": Page(_bomb(coding, 1024 * 1024), 200, (("content-type", "text/html"),
                                                                          ("content-encoding", coding)))})
    assert check(rules, shop.url + "/small") == 0  # what a first run imports is not the page's
    capsys.readouterr()
    tracemalloc.start()
    try:
        assert check(rules, shop.url + "/") == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out = capsys.readouterr().out
    assert f"{shop.url}/: HTTP 200, {cap} bytes" in out
    assert f"  only the first {cap} bytes read: the page is longer" in out
    assert peak < 4 * 1024 * 1024, peak


def test_a_page_that_does_not_decode_exits_2_with_one_line(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cut gzip stream (as the proxy finds it: ``finish``), a coding nobody can undo, or two codings in
    a row (undone whole) of more than the cap."""
    cap = 10_000
    monkeypatch.setattr(page_fetch, "MAX_PAGE_BYTES", cap)
    cut = gzip.compress(PAGE)[:-12]
    twice = gzip.compress(zlib.compress(PAGE + os.urandom(2 * cap), 0), 0)  # more than the cap as sent
    shop = page_server({"/cut": Page(cut, 200, (("content-type", "text/html"), ("content-encoding", "gzip"))),
                        "/odd": Page(PAGE, 200, (("content-type", "text/html"), ("content-encoding", "compress"))),
                        "/twice": Page(twice, 200, (("content-type", "text/html"), ("content-encoding", "deflate, gzip")))})
    assert check(rules, shop.url + "/cut") == 2
    assert _one_line_of(capsys) == (f"slotwise rules check: --url: cannot read {shop.url}/cut: it does not decode as "
                                    "its Content-Encoding 'gzip' says (gzip: truncated stream); the proxy passes "
                                    "such a page through unchanged")
    assert check(rules, shop.url + "/odd") == 2
    assert "(unsupported content-encoding 'compress')" in _one_line_of(capsys)
    assert check(rules, shop.url + "/twice") == 2
    assert _one_line_of(capsys) == (f"slotwise rules check: --url: cannot read {shop.url}/twice: more than {cap} bytes "
                                    "as sent, in codings ('deflate, gzip') that are only undone whole")


PASSES = "  the proxy would pass this page through unchanged: "


def test_a_page_over_max_html_bytes_is_said_to_pass_through(
    rules: str, page_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read as serve reads it: ``--max-html-bytes``, else ``SLOTWISE_MAX_HTML_BYTES``, else its default; the
    page as sent (a plain one) or decoded (a gzip one) over it."""
    big = PAGE + b" " * 2000
    shop = page_server({"/": big, "/gz": Page(gzip.compress(big), 200, (("content-type", "text/html"),
                                                                        ("content-encoding", "gzip")))})
    assert check(rules, shop.url + "/") == 0
    assert "pass this page through" not in capsys.readouterr().out  # 4 MiB by default
    monkeypatch.setenv("SLOTWISE_MAX_HTML_BYTES", "1000")
    assert check(rules, shop.url + "/") == 0
    out = capsys.readouterr().out
    assert (f"{PASSES}it is {len(big)} bytes, over --max-html-bytes 1000 (SLOTWISE_MAX_HTML_BYTES): "
            "no slot changes it") in out.splitlines()
    assert "note: page matches; 1 element matches 'textarea.note'" in out  # still shown: what the rules read
    assert check(rules, shop.url + "/gz") == 0
    assert f"{PASSES}it is {len(big)} bytes decoded, over --max-html-bytes 1000" in capsys.readouterr().out
    assert check(rules, shop.url + "/", "--max-html-bytes", str(len(big))) == 0  # the flag wins; not over it
    assert "pass this page through" not in capsys.readouterr().out
    assert check(rules, shop.url + "/", "--max-html-bytes", "-1") == 2
    assert _one_line_of(capsys) == "slotwise rules check: SLOTWISE_MAX_HTML_BYTES: must not be negative"


def test_a_page_over_a_bound_of_the_rewriter_is_said_to_pass_through(
    tmp_path: Path, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The proxy's own checks (``slotwise.html.bounds``): nesting, and the matches of all edits."""
    (tmp_path / "rules.yaml").write_text(RULES + '  - {id: items, pages: "/**", selector: li, action: append, '
                                                 'html: "<b>x</b>"}\n')
    deep = b"<html><body>" + b"<div>" * bounds.MAX_DEPTH + PAGE + b"</div>" * bounds.MAX_DEPTH + b"</body></html>"
    many = b"<html><body><ul>" + b"<li>x" * bounds.MAX_MATCHES + b"</ul>" + PAGE + b"</body></html>"
    enough = b"<html><body><ul>" + b"<li>x" * (bounds.MAX_MATCHES - 1) + b"</ul>" + PAGE + b"</body></html>"
    shop = page_server({"/deep": deep, "/many": many, "/enough": enough})
    rules = str(tmp_path / "rules.yaml")
    assert check(rules, shop.url + "/deep") == 0
    assert f"{PASSES}page nested deeper than {bounds.MAX_DEPTH} elements: no slot changes it" in capsys.readouterr().out
    assert check(rules, shop.url + "/many") == 0
    out = capsys.readouterr().out
    assert f"{PASSES}edits matched more than {bounds.MAX_MATCHES} elements of one page: no slot changes it" in out
    assert f"items: page matches; {bounds.MAX_MATCHES} elements match 'li'" in out
    assert check(rules, shop.url + "/enough") == 0
    assert "pass this page through" not in capsys.readouterr().out


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (500, "Internal Server Error"), (599, "")])
def test_an_error_page_is_described_with_its_status_and_a_warning(
    status: int, reason: str, rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The proxy personalizes a store's error page as any page; the author is told it is one (a product
    that is gone, a typo'd URL), not left to read its slots as the product page's."""
    shop = page_server({"/p/9": Page(PAGE, status), "/p/1": PAGE})
    assert check(rules, shop.url + "/p/9") == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index(f"{shop.url}/p/9: HTTP {status}, {len(PAGE)} bytes; page type product")
    assert lines[at + 1] == (f"  WARNING: HTTP {status} {reason}: the store's error page, not the page itself "
                             "(what follows is read from it)")
    assert "    note: page matches; 1 element matches 'textarea.note'" in lines
    assert check(rules, shop.url + "/p/1") == 0
    assert "WARNING" not in capsys.readouterr().out


@pytest.mark.parametrize(("body", "ctype"), [
    (b'{"id": 1}', "application/json"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-1.7\n", "application/pdf"),
    (PAGE, None),  # no Content-Type: the proxy does not take it for HTML either
], ids=["json", "png", "pdf", "none"])
def test_an_answer_that_is_not_html_is_said_to_pass_through_and_not_read(
    body: bytes, ctype: str | None, rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the proxy streams through untouched (``documents.is_html``) is no page for the rules: one line
    naming its type (and the final URL after a redirect, a login page's too), exit 2."""
    headers = (("content-type", ctype),) if ctype else ()
    shop = page_server({"/p/1": Page(body, 200, headers), "/p/2": Page(b"", 302, (("location", "/p/1"),)),
                        "/gone": Page(body, 404, headers)})
    said = f"Content-Type {ctype}" if ctype else "no Content-Type"
    assert check(rules, shop.url + "/p/1") == 2
    assert _one_line_of(capsys) == (f"slotwise rules check: --url: {shop.url}/p/1 is not an HTML page (HTTP 200, "
                                    f"{said}): the proxy passes it through untouched")
    assert check(rules, shop.url + "/p/2") == 2
    assert _one_line_of(capsys) == (f"slotwise rules check: --url: {shop.url}/p/2 redirects to {shop.url}/p/1, "
                                    f"which is not an HTML page (HTTP 200, {said}): the proxy passes it through "
                                    "untouched")
    assert check(rules, shop.url + "/gone") == 2
    assert f"is not an HTML page (HTTP 404, {said})" in _one_line_of(capsys)


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "application/xhtml+xml", "TEXT/HTML"])
def test_an_html_type_is_read_as_the_proxy_reads_it(
    ctype: str, rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = page_server({"/": Page(PAGE, 200, (("content-type", ctype),))})
    assert check(rules, shop.url + "/") == 0
    assert "note: page matches; 1 element matches 'textarea.note'" in capsys.readouterr().out


@pytest.mark.parametrize("body", [b"", b'<div class="mini-cart"><textarea class="note"></textarea></div>'],
                         ids=["empty", "fragment"])
def test_a_fragment_is_said_to_pass_through(
    body: bytes, rules: str, page_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """HTML that is no full document (``documents.is_document``: a mini basket a script fetches) is not
    personalized: said like a page over a bound, its reading shown all the same."""
    shop = page_server({"/cart/mini": body, "/cart": PAGE})
    assert check(rules, shop.url + "/cart/mini") == 0
    out = capsys.readouterr().out
    assert (f"{PASSES}it is no full document (empty, or no <html>, <body> or doctype: a fragment): "
            "no slot changes it") in out.splitlines()
    assert check(rules, shop.url + "/cart") == 0
    assert "no full document" not in capsys.readouterr().out


def _one_line_of(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1].startswith("  soft navigations: ")  # the rules' part: nothing of a page
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


def test_a_refused_connection_exits_2_with_one_line(rules: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{ports.free_port()}/"
    assert check(rules, url) == 2
    assert _one_line_of(capsys).startswith(f"slotwise rules check: --url: cannot fetch {url}: ConnectError: ")


def test_a_store_that_never_answers_exits_2_after_the_timeout(
    rules: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_fetch, "FETCH_TIMEOUT_S", 0.2)
    with Silent() as store:
        assert check(rules, store.url + "/p/1") == 2
    assert _one_line_of(capsys) == (f"slotwise rules check: --url: cannot fetch {store.url}/p/1: the store sent "
                                    "nothing for 0.2 s (ReadTimeout, while waiting for its answer's status and "
                                    "headers)")


@pytest.mark.parametrize(("page", "waiting"), [
    (Page(PAGE, trickle=0.05), "its page"),
    (Page(PAGE, trickle_head=0.05), "its answer's status and headers"),
], ids=["page", "headers"])
def test_a_store_that_trickles_is_cut_off_at_the_deadline_on_the_clock(
    page: Page, waiting: str, rules: str, page_server: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A byte every 50 ms never lets a read time out (1 s here), its headers' bytes neither: the whole fetch
    has a deadline on the clock (a check between reads waited for all of the headers, some 8 s here)."""
    monkeypatch.setattr(page_fetch, "FETCH_TIMEOUT_S", 1.0)
    monkeypatch.setattr(page_fetch, "FETCH_DEADLINE_S", 0.5)
    shop = page_server({"/p/1": page})
    started = time.monotonic()
    assert check(rules, shop.url + "/p/1") == 2
    assert time.monotonic() - started < 1.5
    assert _one_line_of(capsys) == (f"slotwise rules check: --url: cannot fetch {shop.url}/p/1: gave up after 0.5 s, "
                                    f"the whole fetch's deadline (the store was still sending {waiting})")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/p/1", "file:///etc/passwd", "http:///p/1"])
def test_a_url_that_is_not_http_exits_2(url: str, rules: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(rules, url) == 2
    assert _one_line_of(capsys) == f"slotwise rules check: --url {url!r} is not an http(s) URL"


def test_the_docs_say_what_the_fetch_does() -> None:
    """docs/capture.md's numbers and quoted words are the command's."""
    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "capture.md").read_text().split())
    assert "`User-Agent: slotwise-rules-check/1`" in text
    assert page_fetch.MAX_PAGE_BYTES == 10 * 1024 * 1024 and "up to 10 MiB" in text
    assert f"(`only the first {page_fetch.MAX_PAGE_BYTES} bytes read: the page is longer`)" in text
    assert page_fetch.FETCH_TIMEOUT_S == 15 and "sends nothing for 15 s" in text
    assert page_fetch.FETCH_DEADLINE_S == 60 and "has not sent the whole page after 60 s" in text
    assert "(`gave up after 60 s, the whole fetch's deadline`), its headers included" in text
    assert ("`not an HTML page (HTTP 200, Content-Type application/json): the proxy passes it through "
            "untouched`") in text
    assert "`WARNING: HTTP 404 Not Found: the store's error page, not the page itself`" in text
    assert "`it is no full document (empty, or no <html>, <body> or doctype: a fragment)`" in text
    default = Settings().max_html_bytes
    assert (f"`the proxy would pass this page through unchanged: it is N bytes, over --max-html-bytes {default} "
            "(SLOTWISE_MAX_HTML_BYTES): no slot changes it`") in text
    assert default == 4 * 1024 * 1024 and "`SLOTWISE_MAX_HTML_BYTES`, else 4 MiB" in text
    assert f"deeper than {bounds.MAX_DEPTH:,} elements, or more than {bounds.MAX_MATCHES} elements matched" in text
    assert "(`charset cp1252`; `charset iso8859-1, read as cp1252 (as browsers read it)`)" in text
