"""The default (info) log holds no query strings (reset tokens, e-mails) and no per-request httpx lines.

The proxy's workers are started by ``create_app_from_env``; it sets up
logging. A real httpx request to a real local server is made afterwards,
with the log captured at the root handler, as the service's output would be.
"""

from __future__ import annotations

import io
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterator

import httpx
import pytest

from hypothesis import given
from hypothesis import strategies as st

from slotwise.logsetup import configure_logging, strip_queries


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """The root logger's output, set up as a fresh process would have it."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    root.handlers.clear()
    stream = io.StringIO()
    try:
        configure_logging("info", stream=stream)
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(saved[2])


def test_httpx_requests_are_not_logged_at_info(server: str, output: io.StringIO) -> None:
    with httpx.Client() as client:
        assert client.get(f"{server}/account/reset?token=s3cret-reset&email=ann@example.com").status_code == 200
    text = output.getvalue()
    assert "s3cret-reset" not in text and "ann@example.com" not in text and "HTTP Request" not in text


def test_urls_in_slotwise_log_lines_lose_their_query(output: io.StringIO) -> None:
    log = logging.getLogger("slotwise.tag")
    log.info("decide failed for %s", "https://shop.test/account/reset?token=s3cret-reset&email=ann%40example.com")
    log.warning("upstream %s answered %d", "/checkout/confirm?order=1&key=s3cret-key", 502)
    text = output.getvalue()
    assert "s3cret" not in text and "ann%40example.com" not in text
    assert "https://shop.test/account/reset?…" in text and "/checkout/confirm?… answered 502" in text


def test_a_cut_query_leaves_the_sentence_around_it(output: io.StringIO) -> None:
    """A feed's error named its page as ``page 1 (/products.json?page=1&limit=250): ...``: the cut took the
    ``):`` with the query, and the log read ``page 1 (/products.json?… /products.json?… is a path``."""
    logging.getLogger("slotwise.catalog").warning(
        "product feed %s not loaded: %s", "/products.json",
        "page 1 (/products.json?page=1&limit=250): /products.json?page=1&limit=250 is a path on the storefront; "
        "see https://shop.test/a?key=s3cret-key, or /b?x=s3cret.")
    text = output.getvalue()
    assert "s3cret" not in text and "limit=250" not in text
    assert ("product feed /products.json not loaded: page 1 (/products.json?…): /products.json?… is a path on the "
            "storefront; see https://shop.test/a?…, or /b?….") in text


def test_debug_keeps_the_http_client_lines(server: str) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    root.handlers.clear()
    stream = io.StringIO()
    try:
        configure_logging("debug", stream=stream)
        with httpx.Client() as client:
            client.get(f"{server}/x?token=abc")
        assert "HTTP Request" in stream.getvalue() and "token=abc" not in stream.getvalue()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(saved[2])


def test_the_service_workers_set_it_up(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """``create_app_from_env`` (what every server worker runs) configures the log this way."""
    from slotwise.logsetup import NoQueries
    from slotwise.proxy.app import create_app_from_env

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    root.handlers.clear()
    monkeypatch.setenv("SLOTWISE_UPSTREAM", "http://127.0.0.1:9")
    monkeypatch.setenv("SLOTWISE_DATA", str(tmp_path))
    monkeypatch.setenv("SLOTWISE_LOG_LEVEL", "info")
    try:
        create_app_from_env()
        assert logging.getLogger("httpx").level == logging.WARNING
        assert root.handlers and all(any(isinstance(f, NoQueries) for f in h.filters) for h in root.handlers)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(saved[2])


def test_urls_in_log_lines_lose_their_credentials(output: io.StringIO) -> None:
    """A feed behind an API key (``https://key:secret@shop.test/feed``) or a password-protected Redis
    (``redis://:pw@host``) named in any line: the scheme and host stay, the credentials do not; an e-mail
    address in a sentence (no ``://`` before it) is not a URL's and stays as it was written."""
    logging.getLogger("slotwise.catalog").warning(
        "product feed %s not loaded: %s", "https://ck_live:s3cret-key@shop.test/wp-json/wc/v3/products?page=2",
        "HTTP 401")
    logging.getLogger("slotwise.store").error("state store redis://:s3cret-pw@10.0.0.5:6379/0 unreachable")
    logging.getLogger("slotwise").info("mail to ops@shop.test bounced")
    text = output.getvalue()
    assert "s3cret" not in text and "ck_live" not in text
    assert "product feed https://shop.test/wp-json/wc/v3/products?… not loaded: HTTP 401" in text
    assert "state store redis://10.0.0.5:6379/0 unreachable" in text and "mail to ops@shop.test bounced" in text


@given(user=st.text(st.characters(blacklist_characters="/?#@\"'<>", blacklist_categories=("Zs", "Zl", "Zp", "Cc")), min_size=1),
       scheme=st.sampled_from(["http", "https", "redis", "rediss", "postgres+psycopg"]),
       tail=st.sampled_from(["", "/feed", "/feed?page=2", ":6379/0", "#x"]))
def test_no_credentials_survive_the_cut(user: str, scheme: str, tail: str) -> None:
    """Whatever a URL's ``user:password@`` holds, the line keeps its scheme and host and none of it."""
    line = strip_queries(f"read {scheme}://{user}@host.test{tail} failed")
    assert line == f"read {scheme}://host.test{tail.replace('?page=2', '?…')} failed"
