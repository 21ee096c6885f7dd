"""Tag-only mode: the store's own requests, as the tag observed them, read by the rules' ``request`` sources.

No proxy sees a tag-only store's requests, so the tag observes the page's own ``fetch`` and
``XMLHttpRequest`` calls to a source's path and posts what it saw (the body keys the rules read,
the answer's status) as a ``capture`` event with ``request``. The server reads it with the source's
own ``fields`` and ``success``, as the proxy reads a request (one ``RequestSource.event_of``) — as the
browser's word: a login so observed is a claim, never a merge. What the tag does in the browser is
tested in Chromium (tests/shopify_store/test_shopify_tag_only.py); here, the server, over HTTP.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from test_capture_tag import UA, Stack, a_known_person, send, vid

from slotwise.profile import hash_email
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.rules.testing import rules_from_text
from slotwise.rules.tag_config import tag_config
from slotwise.tag.testing import sync

RULES = r"""
catalog:
  product_pages: "/p/{product}/"
capture:
  events:
    - id: add
      event: add_to_cart
      request: {method: POST, path: "/cart/add*"}
      fields:
        product: form.id or json['items'][0].id
        qty: form.quantity
      success: response.ok
    - id: sign-in
      event: login
      request: {path: "/account/login", headers: {X-Requested-With: true}}
      fields: {email: "form['customer[email]']"}
      success: response.redirect and response.location == '/account/'
    - id: sign-out
      event: logout
      request: {method: GET, path: "/account/logout"}
slots: []
"""


def observed(source: str, **request: Any) -> dict[str, Any]:
    """A capture event as the tag sends one for a request it observed."""
    seen = {"method": "POST", "path": "/cart/add", "status": 200, **request}
    return {"type": "capture", "event_id": uuid.uuid4().hex, "ts": time.time(), "url": "http://shop.test/p/1/",
            "props": {"source": source, "request": seen}}


def serve(tmp: Any, uvicorn_runner: Any, rules: str = RULES, **settings: Any) -> Iterator[Stack]:
    (tmp / "rules.yaml").write_text(rules, encoding="utf-8")
    config = Settings(rules=str(tmp / "rules.yaml"), data=str(tmp / "edge"), **settings)
    personalizer = SlotwisePersonalizer(config)
    with uvicorn_runner(create_app(config, personalizer)) as server:
        yield Stack(server, personalizer)


@pytest.fixture(scope="module")
def tag_only(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[Stack]:
    yield from serve(tmp_path_factory.mktemp("observed"), uvicorn_runner, tag_only=True)


def client_of(stack: Stack) -> httpx.Client:
    """A browser with its visitor cookie (a tag-only server serves no page that would give it)."""
    client = httpx.Client(base_url=stack.proxy.url, headers=UA, timeout=10)
    client.post("/_sw/events", content='{"events": []}')
    return client


@pytest.fixture
def browser(tag_only: Stack) -> Iterator[httpx.Client]:
    with closing(client_of(tag_only)) as client:
        yield client


def test_the_tag_config_names_the_sources_and_only_the_keys_they_read(tmp_path: Any) -> None:
    rules = rules_from_text(tmp_path, RULES)
    assert "requests" not in tag_config(rules)  # behind the proxy: the proxy sees the requests
    assert tag_config(rules, tag_only=True)["requests"] == [  # no logout: a browser stays one visitor
        {"id": "add", "methods": ["POST"], "path": "^(?:\\/cart\\/add[^/]*)$",
         "keys": {"form": ["id", "quantity"], "json": ["items"]}},
        {"id": "sign-in", "methods": ["POST"], "path": "^(?:\\/account\\/login)$",
         "keys": {"form": ["customer[email]"], "headers": ["x-requested-with"]}},
    ]


def test_an_observed_add_is_recorded_and_a_refused_one_is_not(tag_only: Stack, browser: httpx.Client) -> None:
    send(browser, observed("add", status=422, form={"id": "7", "quantity": "1"}))
    send(browser, observed("add", path="/cart/add.js", json={"items": [{"id": 1005, "quantity": 5}]}))
    send(browser, observed("add", form={"id": "1006", "quantity": "2", "password": "never-read"}))
    events = tag_only.log("add_to_cart", vid(browser))
    assert [(e.data["props"]["product"], e.data["props"]["qty"], e.data["source"]) for e in events] == [
        ("1005", 1, "tag"), ("1006", 2, "tag")]  # qty reads form.quantity only


def test_an_observed_login_is_a_claim(tag_only: Stack, browser: httpx.Client) -> None:
    """The store's redirect says the password was right, but only the browser says the store said so."""
    owner = a_known_person(tag_only, "owner-observed@example.com")
    send(browser, observed("sign-in", path="/account/login", form={"customer[email]": "owner-observed@example.com"},
                           headers={"X-Requested-With": "XMLHttpRequest"}, redirected=True, location="/account/"))
    (said,) = tag_only.log("identify", vid(browser))
    assert said.data["source"] == "tag"
    mine = tag_only.profile(vid(browser))
    assert mine is None or (mine.id != owner and mine.email_hash is None)  # never merged into the address's person
    assert sync(tag_only.store.resolve(f"email:{hash_email('owner-observed@example.com')}")) == owner
    assert vid(browser) not in (tag_only.profile(owner).anonymous_ids if tag_only.profile(owner) else [])


@pytest.mark.parametrize("event, reason", [
    (observed("add", path="/basket/add", form={"id": "1"}), "does not match"),
    (observed("sign-in", path="/account/login", form={"customer[email]": "a@example.com"}, redirected=True,
              location="/account/"), "does not match"),  # the source's header condition: not met
    (observed("sign-out", method="GET", path="/account/logout"), "do not observe"),
    (observed("add", form={"quantity": "1"}), "no product"),
], ids=["another-path", "no-header", "logout", "no-product"])
def test_an_observation_the_rules_do_not_take_records_nothing(tag_only: Stack, browser: httpx.Client,
                                                              caplog: pytest.LogCaptureFixture,
                                                              event: dict[str, Any], reason: str) -> None:
    caplog.set_level(logging.WARNING, "slotwise.capture")
    before = len(tag_only.log())
    assert send(browser, event)["stored"] == 0
    assert len(tag_only.log()) == before
    assert any(reason in r.getMessage() for r in caplog.records if r.name == "slotwise.capture"), caplog.text


def test_a_bad_observation_is_refused_naming_the_field(browser: httpx.Client) -> None:
    result = send(browser, observed("add", status=42, form={"id": "1"}))
    assert result["stored"] == 0 and "status" in str(result["rejected"]), result


def test_behind_the_proxy_an_observation_counts_nothing(tmp_path_factory: pytest.TempPathFactory,
                                                        uvicorn_runner: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The proxy reads the request itself: a browser's observation would count it twice."""
    from starlette.applications import Starlette

    caplog.set_level(logging.WARNING, "slotwise.capture")
    with uvicorn_runner(Starlette()) as shop:
        for proxied in serve(tmp_path_factory.mktemp("proxied"), uvicorn_runner, upstream=shop.url):
            with closing(client_of(proxied)) as client:
                assert send(client, observed("add", form={"id": "1005"}))["stored"] == 0
            assert "requests go through the proxy here" in caplog.text


def test_capture_md_shows_the_shipped_shopify_source() -> None:
    """Docs are tested claims: the add to cart docs/capture.md shows is the example's, line for line."""
    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "capture.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Requests in tag-only mode"):doc.index("### Pages")]
    shown = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert shown is not None, "docs/capture.md: the tag-only request example is gone"
    example = (root / "slotwise" / "rules" / "examples" / "shopify-capture.yaml").read_text(encoding="utf-8")

    def code(text: str) -> list[str]:
        return [line.split(" #")[0].strip() for line in text.splitlines() if line.split(" #")[0].strip()]

    lines = code(example)
    start = lines.index(code(shown.group(1))[0])
    assert lines[start:start + len(code(shown.group(1)))] == code(shown.group(1))
