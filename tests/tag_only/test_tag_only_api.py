"""`/decide` and the visitor's identity over HTTP, through the store's nginx (no browser).

What the browser tests rely on, one rule at a time: the answer's shape
(``complete``, ``visitor``), crawlers left alone, one nonce one visitor,
first-time visitors rate-limited by their own address behind the store's
proxy, the cookie's ``Secure`` flag behind TLS, and the page's referrer (not
the ``/decide`` request's) in the request facts.
"""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
from tag_only_helpers import DESKTOP_UA, Stack

from slotwise.proxy.personalization.identity import VisitorCookies
from slotwise.proxy.personalization.tag_decide import page_headers
from slotwise.rules import request_facts


def nonce(ms: float | None = None) -> str:
    """A nonce as the snippet makes it: milliseconds in base 36, a dot, random base-36 digits."""
    value, digits = int(time.time() * 1000 if ms is None else ms), ""
    while value:
        value, r = divmod(value, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return f"{digits}.{uuid.uuid4().hex}"


def decide(stack: Stack, path: str, user_agent: str = DESKTOP_UA, nonce: str | None = None,
           **params: str) -> httpx.Response:
    """``GET /decide`` as the snippet sends it: the nonce, when there is one, in ``X-Slotwise-Nonce``."""
    headers = {"user-agent": user_agent, **({"x-slotwise-nonce": nonce} if nonce else {})}
    return httpx.get(stack.url("main", "/_sw/decide"), params={"url": stack.url("main", path), **params},
                     headers=headers, timeout=10)


def test_an_unknown_product_page_is_incomplete_until_the_page_is_read(stack: Stack) -> None:
    answer = decide(stack, "/p/999")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-store"
    assert answer.json() == {"decisions": [], "complete": False, "cookie": False, "visitor": "new"}
    assert answer.headers["x-slotwise-visitor"] == "new" and "sw_vid=" in answer.headers["set-cookie"]
    home = decide(stack, "/")  # no product to know about: complete, and decided at once
    assert home.json()["complete"] is True and [d["slot"] for d in home.json()["decisions"]] == ["home-categories"]


def test_crawlers_that_run_the_tag_are_left_alone(stack: Stack) -> None:
    """As behind the proxy: a bot gets the store's page (Googlebot renders JavaScript)."""
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    assert decide(stack, "/", user_agent=bot).json()["decisions"] == []
    assert decide(stack, "/").json()["decisions"]


def test_crawlers_events_are_not_stored(stack: Stack) -> None:
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    event = {"type": "page_view", "event_id": uuid.uuid4().hex, "props": {"url": stack.url("main", "/c/hats")}}
    answer = httpx.post(stack.url("main", "/_sw/events"), json={"events": [event]}, headers={"user-agent": bot},
                        timeout=10)
    assert answer.status_code == 200 and answer.json()["stored"] == 0


def test_one_nonce_is_one_visitor_and_a_cookie_wins(stack: Stack) -> None:
    n = nonce()
    first, second = decide(stack, "/", nonce=n), decide(stack, "/c/hats", nonce=n)
    assert first.json()["visitor"] == second.json()["visitor"] == "nonce"
    assert first.cookies["sw_vid"] == second.cookies["sw_vid"]
    old_snippet = decide(stack, "/", n=n)  # a snippet pasted before the nonce moved to a header: still one visitor
    assert old_snippet.json()["visitor"] == "nonce" and old_snippet.cookies["sw_vid"] == first.cookies["sw_vid"]
    known = httpx.get(stack.url("main", "/_sw/decide"), params={"url": stack.url("main", "/")},
                      cookies={"sw_vid": first.cookies["sw_vid"]},
                      headers={"user-agent": DESKTOP_UA, "x-slotwise-nonce": nonce()}, timeout=10)
    assert known.json()["visitor"] == "cookie" and "set-cookie" not in known.headers
    stale = decide(stack, "/", nonce=nonce((time.time() - 2 * 86400) * 1000))
    assert stale.json()["visitor"] == "new"  # the tag makes a new nonce on that answer


def test_a_nonce_from_a_clock_hours_off_still_counts() -> None:
    """A browser clock set to the wrong time zone is hours off: its racing requests are still one visitor."""
    cookies, now = VisitorCookies(b"k"), time.time()
    for skew in (-5 * 3600, 9 * 3600):
        n = nonce((now + skew) * 1000)
        assert cookies.from_nonce(n, now) is not None and cookies.from_nonce(n, now) == cookies.from_nonce(n, now + 60)
    assert cookies.from_nonce(nonce((now + 2 * 86400) * 1000), now) is None


def test_first_time_visitors_are_rate_limited_by_their_own_address(stack: Stack) -> None:
    """Every browser reaches Slotwise through the store's nginx: its X-Forwarded-For names each one. nginx
    passes a visitor's own RFC 7239 ``Forwarded`` on untouched: it is not read (``--trusted-proxy-headers``
    is ``x-forwarded`` by default), so a new ``for=`` on every request does not make a new visitor."""
    def burst(address: str, rfc: str = "") -> int:
        events = [{"type": "custom", "event_id": uuid.uuid4().hex, "props": {"name": "burst"}} for _ in range(100)]
        return httpx.post(stack.url("main", "/_sw/events"), json={"events": events}, timeout=10,
                          headers={"x-forwarded-for": address, **({"forwarded": rfc} if rfc else {})}).status_code

    assert [burst("203.0.113.5") for _ in range(3)] == [200, 200, 429]  # a burst of 200 events per address
    assert burst("203.0.113.6") == 200  # another visitor is not held back by the first
    assert [burst("203.0.113.7", f"for=198.51.100.{n}") for n in range(3)] == [200, 200, 429]


def test_the_cookie_is_secure_behind_a_tls_proxy(stack: Stack) -> None:
    direct = stack.direct("/_sw/decide")
    plain = httpx.get(direct, params={"url": "https://shop.example/"}, timeout=10)
    tls = httpx.get(direct, params={"url": "https://shop.example/"}, headers={"x-forwarded-proto": "https"}, timeout=10)
    assert "Secure" not in plain.headers["set-cookie"] and "Secure" in tls.headers["set-cookie"]
    own = httpx.get(direct, params={"url": "https://shop.example/"}, headers={"forwarded": "proto=https"}, timeout=10)
    assert "Secure" not in own.headers["set-cookie"]  # not a header the store's nginx sets: not read


def test_the_request_facts_name_the_pages_referrer() -> None:
    def request(referrer: str | None) -> Any:
        headers = {"referer": "https://shop.example/p/1", "user-agent": "x"}
        return SimpleNamespace(headers=httpx.Headers(headers), state=SimpleNamespace(sw_referrer=referrer))

    assert request_facts(page_headers(request("https://www.google.com/")), "").referrer_host == "www.google.com"
    assert request_facts(page_headers(request("")), "").referrer is None  # typed in, or a bookmark
