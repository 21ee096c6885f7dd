"""Tag-only mode: a customer id the store signed is trusted (merges devices); any other stays a claim.

The store's template prints, for the logged-in customer, an HMAC-SHA256 of the id with a secret it shares
with Slotwise (``capture.customer.signature``, checked with ``secret_env``'s secrets). Here the server, over
HTTP, as the tag talks to it: the page view's extract (what the tag read from the page) and the tag's
``identify``, on SQLite and on a real redis-server (the merge is each store's ``link_identity``). Headless Chromium through the real ``slotwise serve --tag-only``:
tests/shopify_store/test_shopify_tag_only.py.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextlib import ExitStack, closing
from typing import Any, Iterator

import httpx
import pytest
from real_parts import state_store
from store_calls import calls_naming, store_calls
from test_capture_observed_requests import client_of
from test_capture_tag import Stack, send, vid

from slotwise.profile import hash_email
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.rules.signed_identity import OUTCOMES, sign
from slotwise.tag.testing import sync

SECRET, OLD_SECRET = "the-store-s-identity-secret", "last-year-s-secret"
RULES = r"""
catalog:
  product_pages: "/p/{product}/"
capture:
  customer:
    id: "#me @data-id"
    signature: "#me @data-signature"
    secret_env: [SW_TEST_IDENTITY, SW_TEST_IDENTITY_OLD]
slots:
  - id: welcome
    pages: "/account"
    selector: "h1"
    action: replace
    when: visitor.logged_in
    goal: purchase
    html: "<h1>Welcome back</h1>"
holdout: 0
"""


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def tag_only(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             uvicorn_runner: Any) -> Iterator[Stack]:
    """The tag-only server on SQLite, or on a real redis-server of its own."""
    tmp = tmp_path_factory.mktemp("signed")
    (tmp / "rules.yaml").write_text(RULES, encoding="utf-8")
    with ExitStack() as running, pytest.MonkeyPatch.context() as env:
        store = state_store(request.param, running)
        env.setenv("SW_TEST_IDENTITY", SECRET)
        env.setenv("SW_TEST_IDENTITY_OLD", OLD_SECRET)
        config = Settings(rules=str(tmp / "rules.yaml"), data=str(tmp / "edge"), tag_only=True, store=store)
        personalizer = SlotwisePersonalizer(config)
        server = running.enter_context(uvicorn_runner(create_app(config, personalizer)))
        yield Stack(server, personalizer)


@pytest.fixture
def device(tag_only: Stack) -> Iterator[httpx.Client]:
    with closing(client_of(tag_only)) as client:
        yield client


def page_view(customer: Any = None, signature: str | None = None, path: str = "/account") -> dict[str, Any]:
    """A page view as the tag sends it on a page that prints ``<i id=me data-id data-signature>``."""
    fields = {"id": None if customer is None else str(customer), "signature": signature}
    values = {"customer": {"present": True, "fields": fields}} if customer is not None else {}
    return {"type": "page_view", "event_id": uuid.uuid4().hex, "ts": time.time(),
            "props": {"url": f"http://shop.test{path}", "extract": {"values": values}}}


def identify(**props: Any) -> dict[str, Any]:
    """``slotwise.identify({customerId, signature})`` as the tag sends it."""
    return {"type": "identify", "event_id": uuid.uuid4().hex, "ts": time.time(), "props": props}


def person(stack: Stack, customer: str) -> str | None:
    return sync(stack.store.resolve(f"customer:{customer}"))


def outcomes(stack: Stack) -> dict[str, float]:
    """``slotwise_signed_identity_total`` by outcome, scraped from ``/_sw/metrics``."""
    text = httpx.get(stack.proxy.url + "/_sw/metrics", timeout=10).text
    found = re.findall(r'^slotwise_signed_identity_total\{outcome="(\w+)"\} (\S+)$', text, re.M)
    return {o: 0.0 for o in OUTCOMES} | {m[0]: float(m[1]) for m in found}


def counted(stack: Stack, before: dict[str, float], **delta: int) -> None:
    now = outcomes(stack)
    assert {k: now[k] - before[k] for k in now if now[k] != before[k]} == delta


def test_two_devices_with_the_signed_id_are_one_person(tag_only: Stack) -> None:
    customer = f"c{uuid.uuid4().hex[:8]}"
    before = outcomes(tag_only)
    with closing(client_of(tag_only)) as phone, closing(client_of(tag_only)) as laptop:
        send(phone, page_view(path="/p/boots/"), page_view(customer, sign(SECRET, customer)))
        send(laptop, page_view(path="/p/hat/"), page_view(f"  {customer} ", sign(SECRET, customer).upper()))
        owner = person(tag_only, customer)
        assert owner is not None and tag_only.store is not None
        assert sync(tag_only.store.resolve(vid(phone))) == sync(tag_only.store.resolve(vid(laptop))) == owner
        merged = tag_only.profile(vid(laptop))
        assert merged.customer_id == customer and {vid(phone), vid(laptop)} <= {merged.id, *merged.anonymous_ids}
        assert {"boots", "hat"} <= set(merged.products)  # both devices' history: one profile
    counted(tag_only, before, verified=2)
    said = tag_only.log("identify")
    assert said and not any("signature" in r.data["props"] for r in said)  # it vouches forever: never stored


def test_an_email_sent_with_a_signed_id_stays_a_claim(tag_only: Stack, device: httpx.Client) -> None:
    """The signature vouches for the customer id only: an e-mail sent beside it (``identify({customerId,
    signature, email})``) is a claim, as without one, and never merges into the person who holds the address."""
    customer, email = f"c{uuid.uuid4().hex[:8]}", f"{uuid.uuid4().hex[:8]}@example.com"
    holder = f"imported-{customer}"
    sync(tag_only.store.link_identity(holder, f"email:{hash_email(email)}", time.time()))  # someone's, imported
    send(device, page_view(path="/p/boots/"), identify(customerId=customer, signature=sign(SECRET, customer),
                                                      email=email))
    mine = tag_only.profile(vid(device))
    assert person(tag_only, customer) == mine.id  # the signed id: trusted
    assert sync(tag_only.store.resolve(f"email:{hash_email(email)}")) == sync(tag_only.store.resolve(holder)) != mine.id
    assert mine.email_hash is None and "boots" not in tag_only.profile(holder).products


def decided(device: httpx.Client, view: dict[str, Any]) -> list[str]:
    """The slots the tag's ``POST /decide`` gets for the page ``view`` is of, with its extract."""
    answer = device.post("/_sw/decide", json={"url": view["props"]["url"], "extract": view["props"]["extract"]})
    assert answer.status_code == 200 and answer.json()["complete"] is True, answer.text
    return [decision["slot"] for decision in answer.json()["decisions"]]


def test_the_page_right_after_login_is_decided_on_the_customer(tag_only: Stack, device: httpx.Client) -> None:
    """docs/tag.md, "The page right after login": the tag's ``POST /decide`` carries the page's extract, signed
    id and all; a valid signature links the browser to the customer before the page is decided (as the page
    view would), so that first page is already the customer's one profile, their phone's history with it. The
    page view that follows names nothing new: no store call names the customer."""
    customer = f"c{uuid.uuid4().hex[:8]}"
    signed = page_view(customer, sign(SECRET, customer))
    with closing(client_of(tag_only)) as phone:
        send(phone, page_view(path="/p/boots/"), signed)  # the customer, known from their phone
    asked = device.get("/_sw/decide", params={"url": signed["props"]["url"]})  # the snippet's, before the page
    assert (asked.json()["decisions"], asked.json()["complete"]) == ([], False)  # no pattern claims the page
    before = outcomes(tag_only)
    assert decided(device, signed) == ["welcome"]  # the first page after login: the customer's profile
    mine = tag_only.profile(vid(device))
    assert person(tag_only, customer) == mine.id and "boots" in mine.products and mine.customer_trusted
    counted(tag_only, before, verified=1)  # the id ``/decide`` checked: counted as a page view's is
    with calls_naming(tag_only, f"customer:{customer}") as calls:
        send(device, signed)  # that page's page view
    assert calls == [], calls
    counted(tag_only, before, verified=2)  # each id the tag sent: with ``/decide``, then with the page view


def test_another_customer_signing_in_on_decide_gets_a_fresh_visitor(tag_only: Stack, device: httpx.Client) -> None:
    """A shared browser: the page after the second customer's login is decided, and the cookie set, for a fresh
    visitor linked to that customer, as the page view would do it; the first customer keeps the old one."""
    first, second = (f"c{uuid.uuid4().hex[:8]}" for _ in range(2))
    send(device, page_view(path="/p/boots/"), page_view(first, sign(SECRET, first)))
    shared = vid(device)
    assert decided(device, page_view(second, sign(SECRET, second))) == ["welcome"]
    assert vid(device) != shared  # the answer's cookie: as after a logout
    assert person(tag_only, second) == sync(tag_only.store.resolve(vid(device))) != person(tag_only, first)
    assert person(tag_only, first) == sync(tag_only.store.resolve(shared))
    assert "boots" not in tag_only.profile(vid(device)).products


def test_a_forged_signature_never_merges(tag_only: Stack, device: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    customer = f"c{uuid.uuid4().hex[:8]}"
    with closing(client_of(tag_only)) as owner_device:
        send(owner_device, page_view(customer, sign(SECRET, customer)))
        owner = person(tag_only, customer)
    before = outcomes(tag_only)
    forged = sign("a-guess", customer)
    with caplog.at_level(logging.WARNING, logger="slotwise.capture"):
        send(device, page_view(path="/p/boots/"), page_view(customer, forged),
             identify(customerId=customer, signature=sign(SECRET, customer + "x")))
    assert person(tag_only, customer) == owner  # still the real customer's
    mine = tag_only.profile(vid(device))
    assert mine.id != owner and mine.customer_id is None and "boots" not in tag_only.profile(owner).products
    counted(tag_only, before, forged=2)
    logged = caplog.text
    assert "matches no secret" in logged and customer not in logged and forged not in logged


@pytest.mark.parametrize("signature", ["none", "forged"])
def test_an_unsigned_id_on_decide_is_no_login(tag_only: Stack, device: httpx.Client, signature: str) -> None:
    """``/decide`` trusts nothing less than a valid signature, and claims nothing either: a page whose id is
    unsigned (or wrongly signed) is decided on the browser's profile, no store call names the customer, and its
    page view makes the claim it always was (attached only if nobody holds the id)."""
    customer = f"c{uuid.uuid4().hex[:8]}"
    with closing(client_of(tag_only)) as phone:
        send(phone, page_view(customer, sign(SECRET, customer)))
    owner = person(tag_only, customer)
    claimed = page_view(customer, None if signature == "none" else sign("a-guess", customer))
    before = outcomes(tag_only)
    with calls_naming(tag_only, f"customer:{customer}") as calls:
        assert decided(device, claimed) == []
    assert calls == [], calls
    counted(tag_only, before, **{"missing" if signature == "none" else "forged": 1})  # counted as a page view's
    send(device, claimed)
    assert person(tag_only, customer) == owner != tag_only.profile(vid(device)).id


def test_an_id_nobody_holds_with_a_wrong_or_no_signature_is_a_claim_as_before(tag_only: Stack,
                                                                             device: httpx.Client) -> None:
    customer = f"c{uuid.uuid4().hex[:8]}"
    before = outcomes(tag_only)
    send(device, page_view(customer))  # no signature: attached (nobody holds it), marked claimed
    assert person(tag_only, customer) == tag_only.profile(vid(device)).id
    with closing(client_of(tag_only)) as real:  # the real customer, signed: takes the id back
        send(real, page_view(customer, sign(SECRET, customer)))
        assert person(tag_only, customer) == tag_only.profile(vid(real)).id != tag_only.profile(vid(device)).id
    assert tag_only.profile(vid(device)).customer_id is None
    counted(tag_only, before, missing=1, verified=1)


def test_a_number_id_and_the_old_secret_during_a_rotation(tag_only: Stack, device: httpx.Client) -> None:
    customer = 7000 + int(uuid.uuid4().int % 100_000)
    before = outcomes(tag_only)
    send(device, identify(customerId=customer, signature=sign(OLD_SECRET, str(customer))))
    with closing(client_of(tag_only)) as other:
        send(other, identify(customer_id=float(customer), signature=sign(SECRET, customer)))
        assert sync(tag_only.store.resolve(vid(other))) == sync(tag_only.store.resolve(vid(device)))
    assert tag_only.profile(vid(device)).customer_id == str(customer)
    counted(tag_only, before, verified=2)


def test_another_customer_signed_in_on_a_shared_browser_gets_a_fresh_visitor(tag_only: Stack,
                                                                            device: httpx.Client) -> None:
    first, second = (f"c{uuid.uuid4().hex[:8]}" for _ in range(2))
    send(device, page_view(path="/p/boots/"), page_view(first, sign(SECRET, first)))
    shared = vid(device)
    send(device, page_view(second, sign(SECRET, second)))
    assert vid(device) != shared  # as after a logout: the cookie names a new visitor
    assert person(tag_only, first) == sync(tag_only.store.resolve(shared))
    assert person(tag_only, second) == sync(tag_only.store.resolve(vid(device))) != person(tag_only, first)
    assert "boots" not in tag_only.profile(vid(device)).products


def test_a_signed_device_joins_the_imported_customer(tag_only: Stack, device: httpx.Client) -> None:
    """docs/imports.md: in tag-only mode only a signed customer id joins a browser to an imported profile."""
    customer = f"c{uuid.uuid4().hex[:8]}"
    imported = f"imported-{customer}"
    sync(tag_only.store.link_identity(imported, f"customer:{customer}", time.time()))  # as `slotwise import customers`
    send(device, page_view(customer))
    assert sync(tag_only.store.resolve(vid(device))) != person(tag_only, customer)  # a claim: not joined
    send(device, page_view(customer, sign(SECRET, customer)))
    assert sync(tag_only.store.resolve(vid(device))) == person(tag_only, customer) == sync(tag_only.store.resolve(imported))


@pytest.mark.parametrize("claim", ["unsigned", "forged"])
def test_a_signed_in_customers_next_page_views_write_no_link(tag_only: Stack, device: httpx.Client,
                                                             claim: str) -> None:
    """The tag sends the signed customer with every page view. Once the browser's profile holds the customer
    by trust (the profile the request reads says so), a page view names nothing new: no store call names
    ``customer:ID``. A browser that only claimed the id (a page without a signature, or a wrong one: the same
    event id as the valid one's) is linked by trust once."""
    customer = f"c{uuid.uuid4().hex[:8]}"
    alias, signature = f"customer:{customer}", sign(SECRET, customer)
    before = outcomes(tag_only)
    send(device, page_view(customer, None if claim == "unsigned" else sign("a-guess", customer)))  # a claim
    with calls_naming(tag_only, alias) as claimed_then_signed:
        send(device, page_view(customer, signature))
    assert claimed_then_signed  # the claim becomes a trusted link: written once
    for path in ("/p/boots/", "/p/hat/"):
        with calls_naming(tag_only, alias) as calls:
            send(device, page_view(customer, signature, path=path))
        assert calls == [], calls
    mine = tag_only.profile(vid(device))
    assert person(tag_only, customer) == mine.id and {"boots", "hat"} <= set(mine.products)  # the views recorded
    counted(tag_only, before, **{"missing" if claim == "unsigned" else "forged": 1},
            verified=3)  # each id the tag sent still checked and counted
    with closing(client_of(tag_only)) as laptop:  # trusted, not a claim: another device merges, takes nothing
        send(laptop, page_view(customer, signature))
        assert sync(tag_only.store.resolve(vid(laptop))) == mine.id
    assert tag_only.profile(vid(device)).customer_id == customer


@pytest.mark.parametrize("claimed", ["customer", "email", "customer+email", "forged"])
def test_a_repeated_claim_writes_nothing(tag_only: Stack, device: httpx.Client, claimed: str) -> None:
    """docs/tag.md, "Identity trust": a page's script that calls ``slotwise.identify`` on every page without a
    signature (a claim) links what nobody holds the first time; the same claim again, held by the browser's
    profile already (the profile the request reads says so), costs no store write: not the event, not a link,
    not the profile. Another browser's same claim still takes nothing from it."""
    customer, email = f"c{uuid.uuid4().hex[:8]}", f"{uuid.uuid4().hex[:8]}@example.com"
    props: dict[str, Any] = {
        "customer": {"customerId": customer}, "email": {"email": email},
        "customer+email": {"customerId": customer, "email": email},
        "forged": {"customerId": customer, "signature": sign("a-guess", customer)},
    }[claimed]
    aliases = [f"customer:{customer}"] * ("customerId" in props) + [f"email:{hash_email(email)}"] * ("email" in props)
    send(device, identify(**props))
    mine = tag_only.profile(vid(device))
    assert all(sync(tag_only.store.resolve(alias)) == mine.id for alias in aliases)  # attached: nobody held them
    for _ in range(2):  # the next pages' calls
        with store_calls(tag_only) as calls:
            send(device, identify(**props))
        named = [call for call, writes in calls if writes and any(n in call for n in (mine.id, vid(device), *aliases))]
        assert named == [], named
    with closing(client_of(tag_only)) as other:  # the same claim from another browser: still not theirs
        send(other, page_view(path="/p/boots/"), identify(**props))
        theirs = tag_only.profile(vid(other))
        assert theirs.id != mine.id and theirs.customer_id is None and theirs.email_hash is None
    assert all(sync(tag_only.store.resolve(alias)) == mine.id for alias in aliases)
    assert tag_only.profile(vid(device)).customer_id == (customer if "customerId" in props else None)


@pytest.mark.parametrize("claimed", ["customer", "email", "customer+email", "forged", "page"])
def test_a_repeated_claim_of_another_profiles_alias_writes_nothing(tag_only: Stack, device: httpx.Client,
                                                                  claimed: str) -> None:
    """docs/tag.md, "Identity trust": a claim of a customer id or address another profile holds attaches nothing;
    the first is logged (its ``identify``) and noted refused in the browser's profile, so the same claim on the
    next pages (a script's ``identify`` on every page, an unsigned id in every page view's extract) costs no
    store call naming the alias, and no event. The trust rules stand: the holder keeps the alias, and the
    customer's valid signature still merges the browser into them."""
    customer, email = f"c{uuid.uuid4().hex[:8]}", f"{uuid.uuid4().hex[:8]}@example.com"
    holder = f"imported-{customer}"
    for alias in (f"customer:{customer}", f"email:{hash_email(email)}"):
        sync(tag_only.store.link_identity(holder, alias, time.time()))  # someone's, imported
    props: dict[str, Any] = {
        "customer": {"customerId": customer}, "email": {"email": email},
        "customer+email": {"customerId": customer, "email": email},
        "forged": {"customerId": customer, "signature": sign("a-guess", customer)}, "page": {"customerId": customer},
    }[claimed]
    aliases = [f"customer:{customer}"] * ("customerId" in props) + [f"email:{hash_email(email)}"] * ("email" in props)
    claim = (lambda: page_view(customer, path="/p/boots/")) if claimed == "page" else (lambda: identify(**props))
    send(device, page_view(path="/p/hat/"), claim())
    assert len(tag_only.log("identify", vid(device))) == 1  # the first claim: logged, as before
    for _ in range(2):  # the next pages' claims
        with store_calls(tag_only) as calls:
            send(device, claim())
        named = [call for call, writes in calls if any(alias in call for alias in aliases)
                 or (writes and claimed != "page" and vid(device) in call)]
        assert named == [], named
    assert len(tag_only.log("identify", vid(device))) == 1
    mine = tag_only.profile(vid(device))
    assert mine.id != holder and mine.customer_id is None and mine.email_hash is None
    assert all(sync(tag_only.store.resolve(alias)) == holder for alias in aliases)
    send(device, page_view(customer, sign(SECRET, customer)))  # the store's signature: trusted, merges as before
    assert sync(tag_only.store.resolve(vid(device))) == holder
    assert {"hat", "boots"} & set(tag_only.profile(holder).products)


def test_a_server_started_without_the_secret_says_which_variable(tmp_path: Any, uvicorn_runner: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules are rejected at start as any invalid rules are (the store served unchanged), and health says
    where and what: not a server whose every login is silently a claim."""
    monkeypatch.delenv("SW_TEST_IDENTITY", raising=False)
    monkeypatch.setenv("SW_TEST_IDENTITY_OLD", OLD_SECRET)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    config = Settings(rules=str(rules), data=str(tmp_path / "edge"), tag_only=True)
    with uvicorn_runner(create_app(config, SlotwisePersonalizer(config))) as server:
        health = httpx.get(server.url + "/_sw/health", timeout=20).json()
    assert health["reasons"] == ["rules_invalid"], health
    assert health["details"]["rules_invalid"].startswith(
        f"1 error in rules; first: {rules}:8:18: 'capture.customer.secret_env': the environment variable "
        "SW_TEST_IDENTITY is not set"), health


def test_decide_says_where_a_signed_customer_could_change_nothing(tag_only: Stack, device: httpx.Client) -> None:
    """The snippet's ``GET /decide`` answers ``login: false`` where the tag's ``POST`` for the page right after a
    login would answer the same: no slot applies to the page (nothing to decide); the tag then skips it (Chromium:
    tests/shopify_store/test_shopify_tag_only.py). A page with a slot says nothing of it."""
    nothing = device.get("/_sw/decide", params={"url": "http://shop.test/p/boots/"}).json()
    assert (nothing["decisions"], nothing["complete"], nothing["login"]) == ([], True, False)
    assert "login" not in device.get("/_sw/decide", params={"url": "http://shop.test/account"}).json()


@pytest.mark.parametrize(("pages", "url", "signs"), [
    (None, "/account", True), ("/account", "/account", True), ("/account", "/p/boots/", False),
    ({"path": "/account", "query": {"from": "login"}}, "/account", False),
], ids=["every-page", "its-page", "not-its-page", "not-its-query"])
def test_a_signed_customer_is_linked_only_where_the_customer_source_reads_the_page(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, pages: Any, url: str, signs: bool) -> None:
    """``signs_in``: where ``capture.customer.pages`` leaves the page out, ``POST /decide`` could link no one
    (``Capture.signed_login`` reads the same source), so the answer says ``login: false`` there too; and
    nowhere when the rules check no signature."""
    import yaml

    from slotwise.proxy.personalization.tag_decide import signs_in
    from slotwise.rules import load_rules

    monkeypatch.setenv("SW_TEST_IDENTITY", SECRET)
    monkeypatch.setenv("SW_TEST_IDENTITY_OLD", OLD_SECRET)
    rules = yaml.safe_load(RULES)
    if pages is not None:
        rules["capture"]["customer"]["pages"] = pages
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    assert signs_in(load_rules(tmp_path / "rules.yaml"), url, []) is signs
    del rules["capture"]["customer"]["signature"], rules["capture"]["customer"]["secret_env"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    assert signs_in(load_rules(tmp_path / "rules.yaml"), url, []) is False
