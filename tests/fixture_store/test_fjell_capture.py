"""Every capture of ``rules/fjell.yaml`` against the real fixture store, over HTTP through the proxy (no browser).

Fjell's forms fail the way real shops' do — a sold-out size redirects back to
the product, an expired token too, a wrong password shows the form again, a
removal always redirects and says on the next page whether it worked — so
these tests check that the one rules file turns exactly the store's
successes into events, and nothing else.
"""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest
from fjell_stack import DESKTOP_UA, FJELL, JANE, JANE_PASSWORD, FjellStack, open_fjell
from selectolax.lexbor import LexborHTMLParser

from slotwise.profile import hash_email

RIDGE = "/shop/product/1005-ridge-runner/"
VEST = "/shop/product/1015-turbo-running-vest-12/"  # sold out


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[FjellStack]:
    with open_fjell(tmp_path_factory.mktemp("fjell-capture"), FJELL, uvicorn_runner) as s:
        yield s


@pytest.fixture
def client(stack: FjellStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, headers={"user-agent": DESKTOP_UA}, follow_redirects=False, timeout=10) as c:
        c.get("/")
        yield c


def vid(client: httpx.Client) -> str:
    return str(client.cookies["sw_vid"]).split(".")[0]


def token(client: httpx.Client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    node = LexborHTMLParser(r.text).css_first("input[name=token]")
    assert node is not None
    return str(node.attributes["value"])


def add(client: httpx.Client, path: str, **form: str) -> httpx.Response:
    return client.post("/basket/add/", data={"token": token(client, path), "quantity": "1", **form})


def kinds(stack: FjellStack, visitor: str) -> list[str]:
    return [r.data["type"] for r in stack.log() if r.kind == "event" and r.visitor == visitor
            and r.data["type"] in ("add_to_cart", "remove_from_cart", "cart", "purchase", "identify", "signup")]


def test_only_adds_the_store_accepted_are_events(stack: FjellStack, client: httpx.Client) -> None:
    v = vid(client)
    refused = [
        add(client, RIDGE, product="1005"),  # no size chosen
        add(client, RIDGE, product="1005", variant="2012"),  # 43 is sold out
        add(client, VEST, product="1015"),  # sold out
        client.post("/basket/add/", data={"token": "forged", "product": "1005", "variant": "2011"}),  # expired token
        client.post("/api/basket/lines", json={"product": 2012}),  # sold-out size, JSON
    ]
    assert [r.status_code for r in refused] == [303, 303, 303, 303, 422]
    client.get(RIDGE)  # the page after says why (flash-error); the mini basket says: empty
    assert kinds(stack, v) == []
    assert stack.profile(v).cart == []
    assert add(client, RIDGE, product="1005", variant="2011").headers["location"] == "/basket/"
    client.get("/basket/")
    (first,) = stack.events("add_to_cart", v)
    assert (first.data["props"]["product"], first.data["props"]["size"]) == ("1005", "42")  # child 2011, via the catalog
    assert kinds(stack, v).count("cart") == 0  # the mini basket agreed with what the add said
    # a quick add (JSON) of a size of a product whose page nobody opened yet: the catalog cannot name it,
    # the mini basket on the next page can
    assert client.post("/api/basket/lines", json={"product": "2030", "quantity": 2}).status_code == 201
    assert len(stack.events("add_to_cart", v)) == 2
    client.get("/basket/")
    assert sorted((line["product"], line["size"], line["qty"]) for line in stack.profile(v).cart) == [
        ("1005", "42", 1), ("1006", "42", 2)]


def test_a_removal_counts_once_the_basket_page_confirms_it(stack: FjellStack, client: httpx.Client) -> None:
    v = vid(client)
    add(client, "/shop/product/1013-hytte-daypack-22/", product="1013")
    add(client, RIDGE, product="1005", variant="2013")
    client.get("/basket/")
    r = client.post("/basket/remove/", data={"token": token(client, "/basket/"), "line": "9999"})  # not in the basket
    assert r.headers["location"] == "/basket/"
    client.get("/basket/")  # flash-error
    assert stack.events("remove_from_cart", v) == []
    client.post("/basket/remove/", data={"token": token(client, "/basket/"), "line": "2013"})
    client.get("/basket/")  # flash-ok
    (removed,) = stack.events("remove_from_cart", v)
    assert removed.data["props"] == {"product": "1005", "size": "44"}
    assert [line["product"] for line in stack.profile(v).cart] == ["1013"]


def test_login_logout_and_the_account_page(stack: FjellStack, client: httpx.Client) -> None:
    v = vid(client)
    r = client.post("/account/login/", data={"token": token(client, "/account/login/"), "username": JANE,
                                             "password": "wrong"})
    assert r.status_code == 200 and stack.events("identify", v) == []
    r = client.post("/account/login/", data={"token": token(client, "/account/login/"), "username": JANE,
                                             "password": JANE_PASSWORD})
    assert r.headers["location"] == "/account/"
    assert stack.profile(v).email_hash == hash_email(JANE)
    client.get("/account/")  # names Jane: nothing new to say
    assert len(stack.events("identify", v)) == 1
    r = client.post("/account/logout/", data={"token": token(client, "/account/")})
    assert r.headers["location"] == "/"
    assert vid(client) != v  # whoever uses this browser next is not Jane
    client.get("/")
    assert stack.profile(vid(client)).email_hash is None


def test_registration_and_the_newsletter(stack: FjellStack, client: httpx.Client) -> None:
    v = vid(client)
    form = {"email": "new-hiker@example.com", "name": "New Hiker", "password": "short"}
    client.post("/account/register/", data={"token": token(client, "/account/register/"), **form})  # too short
    assert stack.events("signup", v) == []
    form["password"] = "long-enough-1"
    r = client.post("/account/register/", data={"token": token(client, "/account/register/"), **form})
    assert r.status_code == 303
    assert [s.data["props"]["source"] for s in stack.events("signup", v)] == ["signup"]
    client.post("/newsletter/", data={"email": "nope", "next": "/"})
    client.get("/")
    client.post("/newsletter/", data={"email": "new-hiker@example.com", "next": "/"})
    client.get("/")
    assert [s.data["props"]["source"] for s in stack.events("signup", v)] == ["signup", "newsletter"]
    assert stack.profile(v).subscribed is True
