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
