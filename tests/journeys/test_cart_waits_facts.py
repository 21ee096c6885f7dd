"""The cart that waits as pure facts (rules/waiting_cart.py): what waits, and scarcity only from the
store's own count."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from slotwise.profile import Profile, add_to_cart, merge, record_purchase, record_view, set_cart
from slotwise.rules.journey_facts import JourneyData
from slotwise.rules.journey_settings import ReminderSettings
from slotwise.rules.replenish import ReplenishSettings
from slotwise.rules.testing import rules_from_text
from slotwise.rules.visitor import VisitorView
from slotwise.rules.shown_on import ShownOn
from slotwise.rules.waiting_cart import back_in_stock, card, price_dropped, waiting_cart

T0 = 1_800_000_000.0
SETTINGS = ReminderSettings(low_stock=3, min_price_drop=0.05, max_age_days=30)


def cart_left_yesterday() -> Profile:
    p = Profile.new("v", T0)
    record_view(p, T0)
    add_to_cart(p, {"product": "a", "size": "M", "qty": 1, "price": 20.0, "added": T0})
    record_view(p, T0 + 86_400)  # the next day: a new visit
    return p


def test_only_lines_from_an_earlier_visit_wait() -> None:
    p = cart_left_yesterday()
    add_to_cart(p, {"product": "b", "qty": 1, "price": 5.0, "added": T0 + 86_400 + 5})  # added this visit
    assert [i["product"] for i in waiting_cart(p, {}, SETTINGS, T0 + 86_400 + 10)] == ["a"]
    assert waiting_cart(p, {}, SETTINGS, T0 + 40 * 86_400) == []  # older than max_age: no longer waits


def test_another_devices_empty_basket_does_not_forget_it_but_a_purchase_does() -> None:
    phone = cart_left_yesterday()
    laptop = Profile.new("laptop", T0 + 90_000)
    record_view(laptop, T0 + 90_000)
    merged = merge(phone, laptop)
    set_cart(merged, [], count=0)  # the laptop's mini basket: empty
    assert [i["product"] for i in waiting_cart(merged, {}, SETTINGS, T0 + 90_001)] == ["a"]
    record_purchase(merged, "o1", [{"product": "a", "qty": 1, "price": 20.0}], T0 + 90_002)
    assert waiting_cart(merged, {}, SETTINGS, T0 + 90_003) == []


def test_current_price_and_stock_from_the_catalog() -> None:
    p = cart_left_yesterday()
    (item,) = waiting_cart(p, {"a": {"name": "A", "price": 15.0, "currency": "EUR", "in_stock": True, "stock": 2}},
                           SETTINGS, T0 + 86_401)
    assert (item["price"], item["price_was"], item["price_dropped"]) == (15.0, 20.0, True)
    assert item["scarce"] and item["stock"] == 2 and item["qty"] == 1 and item["size"] == "M"


offers = st.fixed_dictionaries({}, optional={
    "price": st.one_of(st.none(), st.floats(min_value=0, max_value=1e5, allow_nan=False)),
    "in_stock": st.one_of(st.none(), st.booleans()),
    "stock": st.one_of(st.none(), st.integers(min_value=-5, max_value=50), st.text(max_size=3), st.booleans()),
    "stock_by_size": st.dictionaries(st.sampled_from(["M", "L"]), st.integers(min_value=0, max_value=9), max_size=2),
})


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded machine: speed lives in bench/
@given(offers, st.sampled_from([None, "M", "L", "S"]), st.integers(min_value=0, max_value=10))
def test_scarcity_is_never_invented(entry: dict, size: str | None, low: int) -> None:
    item = card("a", {"a": entry}, low, size)
    by_size = entry.get("stock_by_size") or {}
    published = by_size.get(size) if size in by_size else entry.get("stock")
    if item["scarce"]:
        assert isinstance(published, int) and not isinstance(published, bool) and 0 < published <= low
        assert item["stock"] == published
    if not isinstance(published, int) or isinstance(published, bool) or published < 0:
        assert item["stock"] is None and not item["scarce"]


def test_viewed_earlier_back_in_stock_or_cheaper_and_not_when_bought() -> None:
    p = Profile.new("v", T0)
    record_view(p, T0, product="x", offer={"price": 50.0, "in_stock": False})
    record_view(p, T0 + 1, product="y", offer={"price": 40.0, "in_stock": True})
    record_view(p, T0 + 2, product="z", offer={"price": 40.0, "in_stock": True})
    catalog = {"x": {"price": 50.0, "in_stock": True}, "y": {"price": 39.0, "in_stock": True},
               "z": {"price": 30.0, "in_stock": False}}
    assert [i["product"] for i in back_in_stock(p, catalog, SETTINGS)] == ["x"]
    assert price_dropped(p, catalog, SETTINGS) == []  # y: 2.5% off is below min_price_drop; z: cheaper but sold out
    catalog["y"]["price"] = 30.0
    assert [i["product"] for i in price_dropped(p, catalog, SETTINGS)] == ["y"]
    record_purchase(p, "o1", [{"product": "y", "qty": 1}], T0 + 3)
    assert price_dropped(p, catalog, SETTINGS) == []  # bought it: no news


def test_a_price_seen_in_one_currency_is_compared_only_in_it() -> None:
    p = Profile.new("v", T0)
    record_view(p, T0, product="x", offer={"price": 50.0, "in_stock": True, "currency": "EUR"})
    record_view(p, T0 + 1, product="y", offer={"price": 50.0, "in_stock": True})  # before views kept a currency
    catalog = {pid: {"price": 50.0, "currency": "EUR", "prices": {"GBP": 43.0}, "in_stock": True} for pid in "xy"}
    assert price_dropped(p, catalog, SETTINGS, ShownOn("EUR")) == []
    assert price_dropped(p, catalog, SETTINGS, ShownOn("GBP")) == []  # 43 GBP is no drop from 50 EUR (y: the row's own)
    catalog["x"]["prices"] = {"GBP": 43.0, "USD": 40.0}
    assert price_dropped(p, catalog, SETTINGS, ShownOn("USD")) == []
    catalog["x"]["price"] = 40.0
    assert [(i["product"], i["price"], i["price_was"], i["currency"])
            for i in price_dropped(p, catalog, SETTINGS, ShownOn("EUR"))] == [("x", 40.0, 50.0, "EUR")]


def test_a_waiting_line_shows_the_pages_currency_or_no_price() -> None:
    p = cart_left_yesterday()  # a line at 20.00, in the row's own currency
    catalog = {"a": {"name": "A", "price": 20.0, "currency": "EUR", "prices": {"GBP": 15.0}, "in_stock": True}}
    (eur,) = waiting_cart(p, catalog, SETTINGS, T0 + 86_401, shown=ShownOn("EUR"))
    (gbp,) = waiting_cart(p, catalog, SETTINGS, T0 + 86_401, shown=ShownOn("GBP"))
    (usd,) = waiting_cart(p, catalog, SETTINGS, T0 + 86_401, shown=ShownOn("USD"))
    assert (eur["price"], eur["currency"], eur["price_dropped"]) == (20.0, "EUR", False)
    assert (gbp["price"], gbp["currency"], gbp["price_dropped"], gbp["price_was"]) == (15.0, "GBP", False, None)
    assert (usd["price"], usd["currency"], usd["price_dropped"]) == (None, "USD", False)  # none, not 20.00 EUR


def test_merged_devices_keep_what_the_latest_view_saw() -> None:
    phone, laptop = Profile.new("phone", T0), Profile.new("laptop", T0)
    record_view(phone, T0, product="x", offer={"price": 50.0, "in_stock": False})
    record_view(laptop, T0 + 60, product="x", offer={"price": 45.0, "in_stock": True})
    for known, other in ((phone, laptop), (laptop, phone)):
        assert merge(known, other).products["x"]["seen"] == {"price": 45.0, "in_stock": True}


def test_a_size_kept_from_before_the_rules_said_it_is_none_is_no_size_on_the_cards(tmp_path: Path) -> None:
    """``Default Title`` (Shopify's one variant of a product without options) in a cart line and in the
    purchases from before ``catalog.not_sizes`` listed it: the waiting cart's and the reorder's cards
    show no size, and the profile keeps what it holds."""
    rules = rules_from_text(tmp_path, 'catalog:\n  not_sizes: ["Default Title"]\nslots: []\n')
    p = Profile.new("v", T0 - 60 * 86_400)
    for n, days in enumerate((58, 30)):
        record_purchase(p, f"o{n}", [{"product": "df1", "category": "dog-food", "size": "Default Title", "qty": 1,
                                      "price": 10.0, "ts": T0 - days * 86_400}], T0 - days * 86_400)
    record_view(p, T0)
    add_to_cart(p, {"product": "a", "size": "Default Title", "qty": 1, "price": 20.0, "added": T0})
    record_view(p, T0 + 86_400)
    settings = replace(rules.journeys, replenish=ReplenishSettings(categories=frozenset({"dog-food"}), enabled=True))
    journeys = JourneyData(now=T0 + 86_400 + 10, settings=settings, sizes=rules.catalog.size_vocabulary)
    view = VisitorView(p, signals=rules.signals, journeys=journeys)
    assert [(i["product"], i["size"]) for i in view["waiting_cart"]] == [("a", None)]
    assert [(i["product"], i["size"]) for i in view["due_for_reorder"]] == [("df1", None)]
    assert p.cart[0]["size"] == "Default Title" and {x["size"] for x in p.purchases} == {"Default Title"}


def test_a_size_kept_as_another_name_is_its_key_on_the_cards(tmp_path: Path) -> None:
    """A cart line and purchases kept as ``Med`` and ``Medium`` from before ``catalog.size_names`` said they
    are ``M``: the cards show ``M``, and a feed's stock of its ``Medium`` is that size's; the profile keeps
    what it holds."""
    rules = rules_from_text(tmp_path, "catalog:\n  size_names: {M: [Medium, Med]}\nslots: []\n")
    p = Profile.new("v", T0 - 60 * 86_400)
    for n, days in enumerate((58, 30)):
        record_purchase(p, f"o{n}", [{"product": "df1", "category": "dog-food", "size": "Medium", "qty": 1,
                                      "price": 10.0, "ts": T0 - days * 86_400}], T0 - days * 86_400)
    record_view(p, T0)
    add_to_cart(p, {"product": "a", "size": "Med", "qty": 1, "price": 20.0, "added": T0})
    record_view(p, T0 + 86_400)
    settings = replace(rules.journeys, replenish=ReplenishSettings(categories=frozenset({"dog-food"}), enabled=True))
    catalog = {"a": {"id": "a", "price": 20.0, "stock_by_size": {"Medium": 1, "L": 9}}}
    journeys = JourneyData(now=T0 + 86_400 + 10, settings=settings, catalog=catalog,
                           sizes=rules.catalog.size_vocabulary)
    view = VisitorView(p, signals=rules.signals, journeys=journeys)
    assert [(i["product"], i["size"], i["stock"], i["scarce"]) for i in view["waiting_cart"]] == [("a", "M", 1, True)]
    assert [(i["product"], i["size"]) for i in view["due_for_reorder"]] == [("df1", "M")]
    assert p.cart[0]["size"] == "Med" and {x["size"] for x in p.purchases} == {"Medium"}
