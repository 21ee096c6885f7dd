"""Admin logins are throttled per client; preview links expire; /_sw/decide is rate limited.

The real proxy app (``create_app`` with the real personalizer) served by
uvicorn on a local port, in front of a tiny origin; requests over HTTP.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from slotwise.proxy.personalization.preview import PreviewLinks
from agents import DESKTOP_UA  # noqa: E402

TOKEN = "tok-admin-123-hardening"
RULES = """
slots:
  - id: hero
    pages: "/"
    selector: ".hero"
    action: replace
    policy: uniform
    variants:
      - {id: a, html: "<b>A</b>"}
      - {id: b, html: "<b>B</b>"}
"""


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def proxy(asgi_server: Any, tmp_path: Path, clock: Clock) -> Callable[..., Any]:
    def start(**options: Any) -> Any:
        origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse("<html><body><div class=hero>x</div></body></html>"))]))
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES)
        settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path), admin_token=TOKEN,
                            trusted_proxies="127.0.0.1", personalize_budget_ms=5000.0, **options)
        return asgi_server(create_app(settings, SlotwisePersonalizer(settings, clock=clock)))

    return start


def as_client(ip: str) -> dict[str, str]:
    return {"x-forwarded-for": ip}


def test_wrong_admin_tokens_are_throttled_per_client(proxy: Callable[..., Any]) -> None:
    server = proxy()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        statuses = []
        for n in range(300):
            path = ("/_sw/admin/api/status", "/_sw/admin/api/visitors/someone", "/_sw/admin")[n % 3]
            headers = {**as_client("203.0.113.7"), "authorization": f"Bearer guess-{n}"}
            statuses.append(http.get(path, headers=headers).status_code)
        assert statuses.count(401) <= 10 and statuses.count(429) >= 290, statuses[:20]
        # while throttled, even the right token gets no answer from that client (no oracle)
        limited = http.get("/_sw/admin/api/status", headers={**as_client("203.0.113.7"), "authorization": f"Bearer {TOKEN}"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert "too many failed admin logins" in limited.json()["error"]
        # the ?token= login of the admin page counts too
        assert http.get("/_sw/admin", params={"token": "wrong"}, headers=as_client("203.0.113.7")).status_code == 429
        # another client is not affected
        ok = http.get("/_sw/admin/api/status", headers={**as_client("198.51.100.2"), "authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200


def test_guesses_sent_at_once_are_throttled_too(proxy: Callable[..., Any]) -> None:
    """A hundred wrong tokens on a hundred connections at once: each holds a try while it runs, so at most
    the ten tries get an answer, not every guess that started before the first 401 was counted."""
    import asyncio
    from collections import Counter

    server = proxy()

    async def burst() -> Counter[int]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as http:
            answers = await asyncio.gather(*[
                http.post("/_sw/admin/login", data={"token": f"guess-{n}"}, headers=as_client("203.0.113.8"))
                for n in range(100)])
        return Counter(r.status_code for r in answers)

    statuses = asyncio.run(burst())
    assert statuses[401] <= 10 and statuses[429] >= 90, statuses
    with httpx.Client(base_url=server.url, timeout=10) as http:  # another client, the right token: signed in
        ok = http.post("/_sw/admin/login", data={"token": TOKEN}, headers=as_client("203.0.113.9"))
        assert ok.status_code == 303


def test_an_ipv6_guesser_is_one_client_per_64(proxy: Callable[..., Any]) -> None:
    """One subscriber holds a whole IPv6 /64: a new address for every guess is still the same client."""
    server = proxy()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        statuses = [http.post("/_sw/admin/login", data={"token": f"guess-{n}"},
                              headers=as_client(f"2001:db8:1:2::{n:x}")).status_code for n in range(30)]
        assert statuses.count(401) == 10 and statuses.count(429) == 20, statuses
        other = http.post("/_sw/admin/login", data={"token": TOKEN}, headers=as_client("2001:db8:1:3::1"))
        assert other.status_code == 303  # the next /64 is someone else


def test_a_few_mistakes_are_not_throttled(proxy: Callable[..., Any]) -> None:
    server = proxy()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for n in range(5):
            assert http.get("/_sw/admin/api/status", headers={"authorization": f"Bearer typo-{n}"}).status_code == 401
        assert http.get("/_sw/admin/api/status", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_signed_out_session_cookie_is_not_a_guess_at_the_token(proxy: Callable[..., Any]) -> None:
    """An admin page left open after signing out (or a copy of its cookie) kept asking the API: each refusal
    cost one of the client's 10 tries, as a wrong token does, until the right token got a 429 too. A
    signed-out session guesses nothing: its 401 says so and costs nothing; a wrong token beside it still counts."""
    server = proxy()
    client = as_client("203.0.113.20")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/_sw/admin/login", data={"token": TOKEN}, headers=client).status_code == 303
        csrf = re.search(r'name=csrf value="([0-9a-f]{64})"', http.get("/_sw/admin", headers=client).text)
        assert csrf is not None
        ended = http.cookies["sw_admin"]
        assert http.post("/_sw/admin/logout", data={"csrf": csrf.group(1)}, headers=client).status_code == 303
    cookie = {**client, "cookie": f"sw_admin={ended}"}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(15):
            refused = http.get("/_sw/admin/api/status", headers=cookie)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"] == "this admin session was signed out: sign in again at /_sw/admin"
        assert http.post("/_sw/admin/switch", data={"name": "hero", "off": "1"}, headers=cookie).status_code == 401
        assert http.get("/_sw/admin/api/status", headers={**client, "authorization": f"Bearer {TOKEN}"}).status_code == 200
        guesses = [http.get("/_sw/admin/api/status", headers={**cookie, "authorization": f"Bearer guess-{n}"}).status_code
                   for n in range(12)]
        assert guesses.count(401) == 10 and guesses.count(429) == 2, guesses


def test_a_session_cookie_sent_to_the_bearer_only_visitor_api_is_not_a_guess(proxy: Callable[..., Any]) -> None:
    """A signed-in browser sends ``sw_admin`` to ``/_sw/admin/api/visitors/...`` too (same path prefix); that
    API takes only the bearer token, and each of its 401s cost one of the client's 10 tries until the right
    token got a 429. No bearer token tried is no guess: the 401 says what the API takes and costs nothing;
    wrong bearer tokens still count."""
    server = proxy()
    client = as_client("203.0.113.21")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.post("/_sw/admin/login", data={"token": TOKEN}, headers=client).status_code == 303
        assert "sw_admin" in http.cookies
        for _ in range(15):
            refused = http.get("/_sw/admin/api/visitors/someone", headers=client)
            assert refused.status_code == 401, refused.text
            assert "Authorization: Bearer TOKEN" in refused.json()["error"]
            assert http.delete("/_sw/admin/api/visitors/someone", headers=client).status_code == 401
        held = http.get("/_sw/admin/api/visitors/someone", headers={**client, "authorization": f"Bearer {TOKEN}"})
        assert held.status_code == 404 and held.json()["error"] == "no data held about this id"
        guesses = [http.get("/_sw/admin/api/visitors/someone",
                            headers={**client, "authorization": f"Bearer guess-{n}"}).status_code for n in range(12)]
        assert guesses.count(401) == 10 and guesses.count(429) == 2, guesses


def test_no_credentials_at_all_are_not_a_guess(proxy: Callable[..., Any]) -> None:
    """A script started without its token, or a browser that was never signed in, tries no token."""
    server = proxy()
    client = as_client("203.0.113.23")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(15):
            assert http.get("/_sw/admin/api/status", headers=client).status_code == 401
            assert http.get("/_sw/admin/api/visitors/someone", headers=client).status_code == 401
        assert http.get("/_sw/admin/api/status", headers={**client, "authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_an_expired_session_cookie_is_not_a_guess_and_says_so(proxy: Callable[..., Any]) -> None:
    """A cookie this deployment signed, past its 12 hours (a tab left open overnight): refused with a 401
    that says the session expired, costing no try; a wrong bearer token beside it still counts."""
    from slotwise.tag.admin_session import SESSION_TTL_S, AdminSessions

    secret = "hardening-secret-0123456789abcdef"
    server = proxy(secret=secret)
    sessions = AdminSessions(TOKEN, None, secret.encode())
    sessions._signer.get_timestamp = lambda: int(time.time()) - SESSION_TTL_S - 60  # type: ignore[method-assign]
    cookie = {**as_client("203.0.113.22"), "cookie": f"sw_admin={sessions.issue()}"}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for _ in range(15):
            refused = http.get("/_sw/admin/api/status", headers=cookie)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"] == "this admin session expired: sign in again at /_sw/admin"
        page = http.get("/_sw/admin", headers=cookie)
        assert page.status_code == 200 and "session expired: sign in again" in page.text
        assert http.get("/_sw/admin/api/status", headers={**cookie, "authorization": f"Bearer {TOKEN}"}).status_code == 200
        guesses = [http.get("/_sw/admin/api/status", headers={**cookie, "authorization": f"Bearer guess-{n}"}).status_code
                   for n in range(12)]
        assert guesses.count(401) == 10 and guesses.count(429) == 2, guesses


def test_the_session_cookie_is_secure_behind_a_tls_terminating_trusted_proxy(proxy: Callable[..., Any]) -> None:
    """nginx speaks https to the browser and http to us: its X-Forwarded-Proto makes ``sw_admin`` Secure, as
    it makes the visitor cookie (``--trusted-proxies`` is 127.0.0.1 here)."""
    server = proxy()
    with httpx.Client(base_url=server.url, timeout=10) as http:
        behind_tls = http.post("/_sw/admin/login", data={"token": TOKEN}, headers={"x-forwarded-proto": "https"})
        assert behind_tls.status_code == 303 and "secure" in behind_tls.headers["set-cookie"].lower()
        plain = http.post("/_sw/admin/login", data={"token": TOKEN})
        assert plain.status_code == 303 and "secure" not in plain.headers["set-cookie"].lower()
        own = http.post("/_sw/admin/login", data={"token": TOKEN}, headers={"forwarded": "proto=https"})
        assert "secure" not in own.headers["set-cookie"].lower()  # not a header nginx sets: not read


def test_behind_a_balancer_that_says_forwarded_guesses_count_per_visitor(proxy: Callable[..., Any]) -> None:
    """The balancer (127.0.0.1, trusted, ``--trusted-proxy-headers forwarded``) names the visitor in RFC 7239
    ``Forwarded``: its address is the rightmost ``for=`` that is no trusted proxy, so a guesser that writes
    its own element each time is still one client, and another visitor is not held back by it; its
    ``proto=https`` makes the session cookie Secure."""
    server = proxy(trusted_proxy_headers="forwarded")
    with httpx.Client(base_url=server.url, timeout=10) as http:
        rfc = http.post("/_sw/admin/login", data={"token": TOKEN}, headers={"forwarded": "for=203.0.113.7;proto=https"})
        assert rfc.status_code == 303 and "secure" in rfc.headers["set-cookie"].lower()
        statuses = [http.post("/_sw/admin/login", data={"token": f"guess-{n}"},
                              headers={"forwarded": f"for=198.51.100.{n}, for=203.0.113.30"}).status_code
                    for n in range(20)]
        assert statuses.count(401) == 10 and statuses.count(429) == 10, statuses
        other = http.post("/_sw/admin/login", data={"token": TOKEN}, headers={"forwarded": "for=203.0.113.31"})
        assert other.status_code == 303


def test_preview_links_expire_and_say_so(proxy: Callable[..., Any], clock: Clock) -> None:
    server = proxy(preview_ttl=3600.0)
    with httpx.Client(base_url=server.url, timeout=10, headers={"user-agent": DESKTOP_UA}) as http:
        link = http.get("/_sw/admin/api/preview-link", params={"slot": "hero", "variant": "b"},
                        headers={"authorization": f"Bearer {TOKEN}"}).json()["url"]
        fresh = http.get(link)
        assert fresh.headers.get("x-slotwise-preview") == "on" and ">B</b>" in fresh.text
        http.cookies.clear()
        clock.offset = 3601.0
        late = http.get(link)
        assert late.status_code == 200
        # the page as a visitor sees it: the uniform policy's own draw, no longer always the forced b
        shown = {">B</b>" in late.text}
        for _ in range(15):
            http.cookies.clear()
            shown.add(">B</b>" in http.get(link).text)
        assert False in shown
        assert late.headers.get("x-slotwise-preview", "").startswith("expired")
        assert "sw_preview" not in late.headers.get("set-cookie", "") or "Max-Age=0" in late.headers.get("set-cookie", "")


def test_preview_links_last_a_day_by_default() -> None:
    now = [1_700_000_000.0]
    links = PreviewLinks(b"k", clock=lambda: now[0])
    token = links.token({"hero": "b"})
    now[0] += 23 * 3600
    assert links.read(token) == {"hero": "b"}
    now[0] += 2 * 3600
    assert links.read(token) is None and links.expired(token)
    assert not links.expired("garbage") and not links.expired(PreviewLinks(b"other").token({"hero": "b"}))
