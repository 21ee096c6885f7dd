"""A profile's stored JSON (``slotwise.store.profile_json``): the values ``json`` wrote and read, in any row.

The codec writes msgspec's text for plain data and the standard library's for
anything else, and reads with msgspec unless it refuses the text. These tests
hold it to ``json``'s values (compared as ``json.dumps`` text, which tells NaN,
-0.0, 1 and 1.0 apart) for old rows, for the edges JSON cannot carry, and for
any value hypothesis makes.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slotwise.profile import Profile, record_view
from slotwise.store.profile_json import decode_profile, encode_profile, loads

NOW = 1_700_000_000.0


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included (NaN equals NaN, -0.0 is not 0.0, 1 is not 1.0)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def old_text(profile: Profile) -> str:
    """What every store wrote before the codec: ``json.dumps`` with compact separators."""
    return json.dumps(profile.to_dict(), separators=(",", ":"))


def edges(odd: str = "\ud800") -> Profile:
    """A profile with what JSON text cannot carry plainly: non-ASCII, a line separator, a lone
    surrogate (``odd``), NaN and infinity, -0.0, 1e16, an integer beyond 64 bits."""
    profile = Profile.new("v", NOW)
    record_view(profile, NOW + 0.123456789, category="chaussures-été", product="p1",
                offer={"price": math.inf, "in_stock": None})
    profile.products["p1"]["seen"]["was"] = math.nan
    profile.cart = [{"product": "p\u2028" + odd, "qty": 2**70, "price": 1e16, "added": -0.0}]
    return profile


def test_a_plain_profile_is_written_by_msgspec_and_reads_back_equal() -> None:
    profile = Profile.new("v", NOW)
    record_view(profile, NOW + 0.5, category="chaussures-été", product="p1", offer={"price": 12.5, "in_stock": True})
    text = encode_profile(profile)
    assert "été" in text and "\\u00e9" not in text  # the stored text's one change: UTF-8, not escapes
    assert json.loads(text) == profile.to_dict()
    assert decode_profile(text) == profile


def test_a_row_written_before_reads_as_json_read_it() -> None:
    plain = Profile.new("v", NOW)
    record_view(plain, NOW, category="chaussures-été", product="p1")
    for profile in (plain, edges()):
        text = old_text(profile)
        assert "\\u00e9" in text  # escaped, as json.dumps wrote it
        assert same(decode_profile(text).to_dict(), json.loads(text))


def test_nan_and_infinity_are_kept_not_written_as_null() -> None:
    """msgspec writes NaN and ±infinity as null: such a profile is written the standard library's way."""
    profile = edges()
    text = encode_profile(profile)
    assert text == old_text(profile)  # NaN, Infinity: the text json.dumps wrote, read back by json.loads
    back = decode_profile(text)
    assert back.products["p1"]["seen"]["price"] == math.inf
    assert math.isnan(back.products["p1"]["seen"]["was"])
    assert back.cart[0]["qty"] == 2**70 and math.copysign(1.0, back.cart[0]["added"]) == -1.0
    assert same(back.to_dict(), profile.to_dict())


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_one_non_finite_number_anywhere_takes_the_standard_librarys_way(value: float) -> None:
    profile = Profile.new("v", NOW)
    profile.pending = [{"event": {"items": [{"price": 1.0}, {"price": value}]}}]
    back = decode_profile(encode_profile(profile))
    assert same(back.to_dict(), profile.to_dict())


@pytest.mark.parametrize("value", [1e305, -1.7e308, 0xCB7F, 0xCBFF, -(2**63), 2**64 - 1, 5e-324])
def test_numbers_the_screen_flags_or_nearly_flags_are_written_exactly(value: float) -> None:
    """The msgpack screen (``_NON_FINITE``) also flags huge floats and some integers' bytes: exact all the same."""
    profile = Profile.new("v", NOW)
    profile.cart = [{"product": "p1", "qty": 1, "price": value}]
    text = encode_profile(profile)
    assert same(json.loads(text), profile.to_dict()) and same(decode_profile(text).to_dict(), profile.to_dict())


def test_what_json_refuses_is_still_refused() -> None:
    profile = Profile.new("v", NOW)
    profile.pending = [{"at": object()}]
    with pytest.raises(TypeError):
        encode_profile(profile)


def test_keys_json_turns_into_strings_are_strings() -> None:
    profile = Profile.new("v", NOW)
    profile.popups = {True: {"shown": 1}, 3: {"shown": 2}}  # type: ignore[dict-item]
    assert json.loads(encode_profile(profile))["popups"] == {"true": {"shown": 1}, "3": {"shown": 2}}


def test_a_row_missing_a_field_gets_its_default_and_extra_fields_are_ignored() -> None:
    data = Profile.new("v", NOW).to_dict()
    del data["saved_cart"]
    data["retired_field"] = 1
    profile = decode_profile(json.dumps(data))
    assert profile.saved_cart == [] and not hasattr(profile, "retired_field")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_any_value_reads_back_as_json_wrote_and_read_it(value: Any) -> None:
    profile = Profile.new("v", NOW)
    profile.pending = [{"value": value}]
    profile.categories = {"c": {"count": 1, "last": NOW, "value": value}}
    expected = json.loads(old_text(profile))
    assert same(decode_profile(encode_profile(profile)).to_dict(), expected)  # written now
    assert same(decode_profile(old_text(profile)).to_dict(), expected)  # written before


@given(json_values)
def test_loads_reads_any_text_json_wrote_as_json_loads(value: Any) -> None:
    text = json.dumps(value)
    assert same(loads(text), json.loads(text))


# -- through the stores: a row written by the old encoder --------------------------------------------------


async def _put_raw(store: Any, profile_id: str, text: str) -> None:
    if hasattr(store, "db"):  # SQLite
        from slotwise.store.sqlite.profiles import write_profile

        with store.db.transaction() as cur:
            write_profile(cur, profile_id, text, NOW)
    else:  # Redis
        await store.redis.set(store.key("p", profile_id), text)


@pytest.mark.anyio
async def test_a_stored_old_row_reads_updates_and_exports(store: Any) -> None:
    profile = edges(odd="")  # a lone surrogate's escape: Redis's scripts (cjson) refuse it, as they did
    await _put_raw(store, "v", old_text(profile))
    got = await store.get_profile("v")
    assert got is not None and same(got.to_dict(), profile.to_dict())
    updated = await store.update_profile("v", lambda p: record_view(p, NOW + 1, category="chaussures-été"), NOW + 1)
    assert updated.categories["chaussures-été"]["count"] == 2
    again = await store.get_profile("v")
    assert again is not None and same(again.to_dict(), updated.to_dict())
    assert again.products["p1"]["seen"]["price"] == math.inf and again.cart[0]["qty"] == 2**70
    exported = await store.export_profile("v")
    assert exported is not None and same(exported["profile"], updated.to_dict())


def test_from_dict_keeps_none_of_the_callers_dict() -> None:
    """The fast path (every field, nothing else) copies the top level as ``__init__`` did."""
    data = Profile.new("v", NOW).to_dict()
    profile = Profile.from_dict(data)
    data["visits"] = 99
    data["id"] = "other"
    assert profile.visits == 0 and profile.id == "v" and profile == Profile.new("v", NOW)
