"""Tag-only mode: ``capture.cart``'s JSON answer (Magento's customer-data ``cart`` section), as the tag read it.

No proxy sees a tag-only store's answers, so the tag's ``answer`` script reads the one the rule names and posts
what the rule's key paths reach of it (``AnswerCart.reach``) as a ``capture`` with ``answer``. The server reads
it with the rule (``AnswerCart.read``, as the proxy reads the whole answer) and records a cart event only when
it changes the profile's cart (the proxy's check), as the browser's word. What the tag does in the browser is
tested in Chromium (tests/magento_store/test_magento_tag_only.py); here, the server, over HTTP.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import closing
from typing import Any, Iterator

import httpx
import pytest
from answer_cart_rules import RULES
from test_capture_observed_requests import client_of, serve
from test_capture_tag import Stack, send, vid

HOODIE = {"product_url": "https://shop.example/hero-hoodie.html", "qty": 2, "product_price_value": 54,
          "options": [{"label": "Size", "value": "M"}]}


def answered(answer: Any, source: str = "cart") -> dict[str, Any]:
    """A capture event as the tag's answer script sends one."""
    return {"type": "capture", "event_id": uuid.uuid4().hex, "ts": time.time(), "url": "http://shop.test/hero-hoodie.html",
            "props": {"source": source, "answer": answer}}


@pytest.fixture(scope="module")
def tag_only(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    yield from serve(tmp_path_factory.mktemp("answer-cart"), uvicorn_runner, RULES, tag_only=True)


@pytest.fixture
def browser(tag_only: Stack) -> Iterator[httpx.Client]:
    with closing(client_of(tag_only)) as client:
        yield client


def test_the_answer_read_by_the_tag_is_the_cart_once_per_change(tag_only: Stack, browser: httpx.Client) -> None:
    full = {"cart": {"summary_count": 2, "items": [HOODIE]}}
    assert send(browser, answered(full))["stored"] == 1
    assert send(browser, answered(full))["stored"] == 0  # the same cart again: nothing written
    (cart,) = tag_only.log("cart", vid(browser))
    assert cart.data["source"] == "tag" and cart.data["url"] == "http://shop.test/hero-hoodie.html"
    assert [(line["product"], line["size"], line["qty"], line["price"]) for line in cart.data["props"]["lines"]] == [
        ("hero-hoodie", "M", 2, 54.0)]
    assert send(browser, answered({"customer": {}}))["stored"] == 0  # other sections only: says nothing
    assert send(browser, answered({"cart": {"summary_count": 0, "items": []}}))["stored"] == 1  # emptied
    assert tag_only.profile(vid(browser)).cart == []


def test_an_answer_the_rules_do_not_read_records_nothing(tag_only: Stack, browser: httpx.Client,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    assert send(browser, answered({"cart": {"summary_count": 1, "items": [HOODIE]}}, source="add"))["stored"] == 0
    assert "the tag sent an answer the rules do not read" in caplog.text


def test_a_bad_answer_is_refused_naming_the_field(browser: httpx.Client) -> None:
    result = send(browser, answered("not a cart"))
    assert result["stored"] == 0 and "answer" in str(result["rejected"]), result


def test_behind_the_proxy_an_answer_the_tag_read_counts_nothing(tmp_path_factory: pytest.TempPathFactory,
                                                                uvicorn_runner: Any,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """The proxy reads the answer itself as it passes: a browser's copy would count it twice."""
    from starlette.applications import Starlette

    caplog.set_level(logging.WARNING, "slotwise.capture")
    with uvicorn_runner(Starlette()) as shop:
        for proxied in serve(tmp_path_factory.mktemp("answer-proxied"), uvicorn_runner, RULES, upstream=shop.url):
            with closing(client_of(proxied)) as client:
                assert send(client, answered({"cart": {"summary_count": 1, "items": [HOODIE]}}))["stored"] == 0
            assert "answers go through the proxy here" in caplog.text
