"""The features a page view decides on are those of its visitor context, read without a deep copy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slotwise.rules import build_context, page_facts, request_facts
from slotwise.rules.testing import make_profile

UAS = ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148", "Mozilla/5.0 (X11; Linux x86_64)",
       "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X)", ""]


@given(
    views=st.lists(st.tuples(st.sampled_from(["socks", "Bags & more", None]), st.sampled_from(["p1", "p2", None])),
                   max_size=6),
    visits=st.integers(0, 12),
    cart=st.booleans(),
    ua=st.sampled_from(UAS),
    referrer=st.sampled_from(["", "https://www.google.com/", "https://shop.example/c/x", "https://t.co/x"]),
    medium=st.sampled_from(["", "cpc", "email"]),
    known=st.booleans(),
)
def test_features_are_the_visitor_contexts(views: list, visits: int, cart: bool, ua: str, referrer: str, medium: str,
                                           known: bool) -> None:
    profile = make_profile(views=views, visits=visits,
                           cart=[{"product": "p9", "qty": 1}] if cart else ()) if known else None
    headers = [("user-agent", ua)] + ([("referer", referrer)] if referrer else [])
    query = [("utm_medium", medium)] if medium else []
    ctx = build_context(profile, page_facts("/p/p1", query, None), request_facts(headers, query), "v1")
    assert ctx.features("shop.example") == ctx.visitor_context("shop.example").features()


def test_device_class_is_the_same_kept_or_not() -> None:
    from slotwise.rules.facts import device_class

    for ua in UAS + ["Mozilla/5.0 (Linux; Android 14; Pixel 8)", "Mozilla/5.0 (Linux; Android 14) Mobile"]:
        padded = ua + " " * 600  # past what is kept: computed each time
        assert device_class(ua) == device_class(ua) == device_class(padded)
    assert device_class(UAS[1], "?1") == "mobile"  # the client hint wins, kept or not
    assert [device_class(ua) for ua in UAS] == ["mobile", "desktop", "tablet", "desktop"]


def _reference_request_facts(headers: list[tuple[str, str]], query: list[tuple[str, str]]) -> object:
    """``request_facts`` as it was written before it kept its answers: header by header."""
    from types import MappingProxyType
    from urllib.parse import urlsplit

    from slotwise.rules.facts import _COUNTRY_RE, UTM_KEYS, RequestFacts, device_class, preferred_language
    from slotwise.rules.pages import header, normalize_query

    q = normalize_query(query)
    referrer = header(headers, "referer") or None
    try:
        host = urlsplit(referrer).hostname if referrer else None
    except ValueError:
        host = None
    country = header(headers, "cf-ipcountry") or header(headers, "x-country")
    country = country.strip().upper() if country and _COUNTRY_RE.match(country.strip()) else None
    return RequestFacts(
        device=device_class(header(headers, "user-agent"), header(headers, "sec-ch-ua-mobile")),
        referrer=referrer, referrer_host=host,
        utm=MappingProxyType({k: (str(q[f"utm_{k}"]) if q.get(f"utm_{k}") is not None else None) for k in UTM_KEYS}),
        country=None if country == "XX" else country,
        language=preferred_language(header(headers, "accept-language")),
        gpc=(header(headers, "sec-gpc") or "").strip() == "1",
    )


NAMES = ["Referer", "referer", "CF-IPCountry", "x-country", "User-Agent", "sec-ch-ua-mobile", "Accept-Language",
         "sec-gpc", "cookie", "accept"]
VALUES = ["", " de ", "XX", "fr", "?1", "1", " 1 ", "https://www.google.com/x", "http://[bad", "de-CH,de;q=0.9,en;q=0.8",
          *UAS, "x" * 3000]


@given(headers=st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(VALUES)), max_size=8),
       query=st.lists(st.tuples(st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "q", "utm_term"]),
                                st.sampled_from(["", "mail", "cpc", "x" * 2100])), max_size=4))
def test_kept_request_facts_are_those_of_each_request(headers: list, query: list) -> None:
    """Facts are kept per the values they are made of: a request gets the facts a fresh reading gives,
    first header of a name winning, whatever came before it (and the shared object is read-only)."""
    facts = request_facts(headers, query)
    assert facts == _reference_request_facts(headers, query)
    assert request_facts(list(headers), list(query)) == facts  # from the cache, or beyond its bound
    assert request_facts(tuple(headers), query) == facts  # a tuple of pairs reads the same
    assert request_facts(headers, None) == request_facts(headers, "") == _reference_request_facts(headers, [])

