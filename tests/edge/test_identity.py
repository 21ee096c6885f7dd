"""The signed visitor cookie: forged, truncated or oversized cookies start a fresh visitor."""

from __future__ import annotations

from hypothesis import given, strategies as st

from slotwise.proxy.personalization.identity import VisitorCookies, cookie_value

COOKIES = VisitorCookies(b"test-key")


def test_signed_id_round_trips() -> None:
    vid = COOKIES.new_id()
    assert COOKIES.verify(COOKIES.sign(vid)) == vid
    assert COOKIES.read([f"a=1; sw_vid={COOKIES.sign(vid)}; b=2"]) == vid


def test_ids_are_unique_and_unguessable() -> None:
    ids = {COOKIES.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) >= 22 for i in ids)


def test_forged_truncated_and_foreign_key_cookies_are_rejected() -> None:
    vid = COOKIES.new_id()
    signed = COOKIES.sign(vid)
    assert COOKIES.verify(signed[:-1]) is None
    assert COOKIES.verify(vid) is None
    assert COOKIES.verify(VisitorCookies(b"other-key").sign(vid)) is None
    other = COOKIES.new_id()
    assert COOKIES.verify(other + "." + signed.split(".")[1]) is None


def test_oversized_cookie_is_ignored() -> None:
    assert COOKIES.verify("a" * 5000 + ".x") is None
    assert COOKIES.read(["sw_vid=" + "a" * 20000]) is None


@given(st.text(max_size=300))
def test_any_cookie_text_never_raises(value: str) -> None:
    assert COOKIES.verify(value) is None  # random text is never a validly signed id
    assert COOKIES.read([value]) is None
    found = cookie_value(value, "sw_vid")
    if "sw_vid=" not in value:
        assert found is None  # no such cookie, whatever the junk around it
    else:
        assert isinstance(found, str) and found in value


def test_set_cookie_attributes() -> None:
    header = COOKIES.set_cookie("abcdefghijklmnopqrstuv", secure=True)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header
    assert "Max-Age=31536000" in header and "Path=/" in header
    assert "Secure" not in COOKIES.set_cookie("abcdefghijklmnopqrstuv", secure=False)


def test_verified_values_are_kept_per_key_and_forgeries_never_are() -> None:
    """A value this signer verified is kept (no HMAC next time), for this signer's key only: another
    key's signer still refuses it, and a forged value stays refused however often it comes back."""
    import dataclasses

    mine = VisitorCookies(b"key-one")
    vid = mine.new_id()
    signed = mine.sign(vid)
    forged = vid + "." + VisitorCookies(b"key-two").sign(vid).split(".")[1]
    for _ in range(3):
        assert mine.verify(signed) == vid
        assert mine.verify(forged) is None
    assert signed in mine._verified and forged not in mine._verified
    other = dataclasses.replace(mine, key=b"key-two")  # the store's key changed: nothing kept carries over
    assert other.verify(signed) is None and other.verify(forged) == vid
    assert VisitorCookies(b"key-two").verify(signed) is None
