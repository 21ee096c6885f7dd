"""``response.json``: a request source that reads the store's JSON answer, through the real proxy.

Some stores answer an AJAX post 200 either way and say in the body whether
they took it: Magento's add to cart answers ``[]``, or ``{"backUrl": URL}``
when it refused (out of stock, a size not chosen). The tiny store below
answers so; the proxy in front of it must count only the adds it took, and
hand the visitor the very bytes the store sent — a gzipped answer, and one
past the 64 KB the proxy reads (then ``response.json`` is none) too. PHP
sends JSON a controller echoes without a type as ``text/html`` (PrestaShop's
cart answers): JSON under that type is read as JSON, an HTML page is not.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agents import DESKTOP_UA
from served_app import ServedApp
from shop_stack import ShopStack, open_stack

from slotwise.proxy.forwarding.answer_body import MAX_ANSWER

RULES = """
catalog:
  product_pages: "/p/{product}.html"
capture:
  events:
    - event: add_to_cart
      request: {path: "/cart/add"}
      fields: {product: form.product, qty: form.qty}
      success: response.ok and response.json is not none and 'backUrl' not in response.json
slots:
  - {id: title, pages: "/p/*", selector: h1, action: set-attribute, attributes: {class: sw}}
"""
STOCK = {"tee": 5, "cap": 0}
BIG = b'{"note": "' + b"x" * MAX_ANSWER + b'"}'


async def add(request: Request) -> Response:
    """As Magento's ``Checkout\\Controller\\Cart\\Add::goBack`` answers an AJAX add: 200, JSON either way."""
    form = await request.form()
    product, how = str(form.get("product")), request.query_params.get("as", "")
    body = b"[]" if STOCK.get(product) else json.dumps({"backUrl": f"http://shop.test/p/{product}.html"}).encode()
    if how == "big":
        body = BIG
    headers = {"content-type": "application/json"}
    if how == "untyped":  # PHP's default type: PrestaShop's Controller::ajaxRender names none
        headers["content-type"] = "text/html; charset=utf-8"
    if how == "page":  # a store that answers an add with a page: no JSON, whatever it says
        body, headers["content-type"] = b"<!doctype html><html><body><p>[]</p></body></html>", "text/html; charset=utf-8"
    if how == "gzip":
        body, headers["content-encoding"] = gzip.compress(body), "gzip"
    return Response(body, headers=headers)


async def product(request: Request) -> Response:
    return Response("<!doctype html><html><body><h1>Tee</h1></body></html>", media_type="text/html")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[ShopStack]:
    data = tmp_path_factory.mktemp("answer-json")
    rules = data / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    app = Starlette(routes=[Route("/cart/add", add, methods=["POST"]), Route("/p/{slug}.html", product)])
    with ServedApp(app, "the JSON-answer store") as shop, open_stack(shop, data, rules, uvicorn_runner) as s:
        yield s


@pytest.fixture
def client(stack: ShopStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as c:
        assert c.get("/p/tee.html").status_code == 200
        yield c


def added(stack: ShopStack, client: httpx.Client) -> list[tuple[str, int]]:
    visitor = str(client.cookies["sw_vid"]).split(".")[0]
    return [(e.data["props"]["product"], e.data["props"]["qty"]) for e in stack.events("add_to_cart", visitor)]


def test_only_the_adds_the_store_took_count(stack: ShopStack, client: httpx.Client) -> None:
    refused = client.post("/cart/add", data={"product": "cap", "qty": "1"})
    assert refused.status_code == 200 and "backUrl" in refused.json()
    took = client.post("/cart/add", data={"product": "tee", "qty": "2"})
    assert took.status_code == 200 and took.json() == []
    assert added(stack, client) == [("tee", 2)]


def test_a_gzipped_answer_is_read_and_passed_on_as_it_came(stack: ShopStack, client: httpx.Client) -> None:
    r = client.post("/cart/add?as=gzip", data={"product": "tee", "qty": "1"}, headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and r.json() == []
    r = client.post("/cart/add?as=gzip", data={"product": "cap", "qty": "1"}, headers={"accept-encoding": "gzip"})
    assert "backUrl" in r.json()
    assert added(stack, client) == [("tee", 1)]


def test_json_sent_as_text_html_is_read_as_json_and_a_page_is_not(stack: ShopStack, client: httpx.Client) -> None:
    r = client.post("/cart/add?as=untyped", data={"product": "tee", "qty": "3"})
    assert r.headers["content-type"].startswith("text/html") and r.content == b"[]"
    r = client.post("/cart/add?as=untyped", data={"product": "cap", "qty": "1"})
    assert "backUrl" in json.loads(r.content)
    page = client.post("/cart/add?as=page", data={"product": "tee", "qty": "1"})
    assert page.content == b"<!doctype html><html><body><p>[]</p></body></html>"  # untouched: no JSON in it
    assert added(stack, client) == [("tee", 3)]


def test_an_answer_past_the_limit_reaches_the_visitor_whole_and_counts_as_unread(
        stack: ShopStack, client: httpx.Client) -> None:
    r = client.post("/cart/add?as=big", data={"product": "tee", "qty": "1"})
    assert r.status_code == 200 and r.content == BIG
    assert added(stack, client) == []  # response.json is none: the rules' success says no


def test_the_example_rules_check_names_response_json(tmp_path: Path) -> None:
    """``response.json`` is a name the checker knows; a typo of it is refused at load."""
    from slotwise.cli import main

    (tmp_path / "ok.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "typo.yaml").write_text(RULES.replace("'backUrl' not in response.json", "response.jsn"),
                                        encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "ok.yaml")]) == 0
    assert main(["rules", "check", str(tmp_path / "typo.yaml")]) != 0


def test_in_tag_only_mode_the_answer_is_not_sent_so_such_a_source_counts_nothing(
        tmp_path: Path, uvicorn_runner: Any) -> None:
    """The tag sends a request's status and the headers the rules read, never its body: ``response.json`` is
    none there, and a ``success`` that needs it is false (the add is not counted, rather than every one);
    the same observation of a source that reads only the status counts."""
    from contextlib import closing

    from test_capture_observed_requests import client_of, observed
    from test_capture_tag import Stack, send

    from slotwise.proxy.app import create_app
    from slotwise.proxy.config import Settings
    from slotwise.proxy.personalization.personalize import SlotwisePersonalizer

    plain = """    - id: plain
      event: add_to_cart
      request: {path: "/cart/plain"}
      fields: {product: form.product, qty: form.qty}
      success: response.ok
"""
    (tmp_path / "rules.yaml").write_text(RULES.replace("slots:", plain + "slots:"), encoding="utf-8")
    config = Settings(rules=str(tmp_path / "rules.yaml"), data=str(tmp_path / "edge"), tag_only=True)
    personalizer = SlotwisePersonalizer(config)
    with uvicorn_runner(create_app(config, personalizer)) as server, closing(client_of(Stack(server, personalizer))) as browser:
        answer_source = personalizer.ruleset().capture.request_sources("POST", "/cart/add", "", [])[0][0].id
        said = {"product": "tee", "qty": "1"}
        assert send(browser, observed(answer_source, form=said))["stored"] == 0
        assert send(browser, observed("plain", path="/cart/plain", form=said))["stored"] == 1
