"""The preferred store and "your size at your store" as pure facts (rules/inventory.py)."""

from __future__ import annotations

from pathlib import Path

from slotwise.profile import Profile, import_purchase_lines
from slotwise.rules.inventory import availability, preferred_store
from slotwise.rules.journey_facts import JourneyData
from slotwise.rules.testing import rules_from_text
from slotwise.rules.visitor import VisitorView
from slotwise.store.base import InventoryRow


def shopper(*stores: str) -> Profile:
    p = Profile.new("v", 0.0)
    for n, store in enumerate(stores):
        import_purchase_lines(p, f"o{n}", [{"product": "p", "qty": 1, "ts": float(n), "store": store}], float(n))
    return p


def test_the_store_of_most_orders_then_the_latest_and_a_choice_wins() -> None:
    assert preferred_store(Profile.new("v", 0.0)) is None
    assert preferred_store(shopper("ams", "ber", "ams")) == ("ams", "purchases")
    assert preferred_store(shopper("ams", "ber")) == ("ber", "purchases")  # a tie: the latest
    p = shopper("ams")
    p.chosen_store = {"id": "osl", "ts": 5.0}
    assert preferred_store(p) == ("osl", "chosen")


ROWS = [InventoryRow("ams", "p", "M", 1), InventoryRow("ams", "p", "L", 0), InventoryRow("ber", "p", "M", 4),
        InventoryRow("osl", "p", "M", 7), InventoryRow("ams", "q", "M", 9)]


def test_availability_of_the_size_at_the_store_with_the_others_that_have_it() -> None:
    got = availability(ROWS, "p", "m", "ams", {"ams": "Amsterdam"}, {"ber": "Berlin"}, low_stock=2)
    assert got == {"store": "ams", "name": "Amsterdam", "size": "M", "qty": 1, "in_stock": True, "low": True,
                   "elsewhere": [{"store": "osl", "name": "osl", "qty": 7}, {"store": "ber", "name": "Berlin", "qty": 4}]}
    assert availability(ROWS, "p", "L", "ams", {}, {}, 2)["in_stock"] is False
    assert availability(ROWS, "p", "M", "zrh", {}, {}, 2) is None  # no import covers that store: no claim
    assert availability(ROWS, "p", None, "ams", {}, {}, 2)["qty"] == 1  # no size known: every size there


def test_your_size_at_your_store_skips_a_size_the_rules_say_is_none(tmp_path: Path) -> None:
    """Bought twice as ``Default Title`` (a product without options) before the rules said it is no size:
    the size read for the store's stock is still the one bought, and the history stays as it was."""
    rules = rules_from_text(tmp_path, 'catalog:\n  not_sizes: ["Default Title"]\nslots: []\n')
    p = Profile.new("v", 0.0)
    for n, size in enumerate(["M", "Default Title", "Default Title"]):
        import_purchase_lines(p, f"o{n}", [{"product": "p", "category": "tees", "size": size, "qty": 1,
                                            "ts": float(n), "store": "ams"}], float(n))
    journeys = JourneyData(now=10.0, settings=rules.journeys, stock=ROWS, page_product="p", page_category="tees",
                           sizes=rules.catalog.size_vocabulary)
    view = VisitorView(p, signals=rules.signals, journeys=journeys)
    assert view["preferred_size"] == {"tees": "M"}
    assert view["size_in_store"]["size"] == "M" and view["size_in_store"]["qty"] == 1
    assert p.preferred_sizes == {"tees": "Default Title"}  # as recorded


def test_your_size_at_your_store_reads_both_by_size_names(tmp_path: Path) -> None:
    """Bought as ``Medium`` and counted in stock as ``Med`` (a POS that spells it so, imported before the rules'
    ``catalog.size_names`` said both are ``M``): one size, ``M``; the rows and the history stay as they were."""
    rules = rules_from_text(tmp_path, "catalog:\n  size_names: {M: [Medium, Med]}\nslots: []\n")
    p = Profile.new("v", 0.0)
    for n, size in enumerate(["Medium", "L", "Medium"]):
        import_purchase_lines(p, f"o{n}", [{"product": "p", "category": "tees", "size": size, "qty": 1,
                                            "ts": float(n), "store": "ams"}], float(n))
    rows = [InventoryRow("ams", "p", "MED", 3), InventoryRow("ams", "p", "L", 0), InventoryRow("ber", "p", "Medium", 4)]
    journeys = JourneyData(now=10.0, settings=rules.journeys, stock=rows, page_product="p", page_category="tees",
                           sizes=rules.catalog.size_vocabulary)
    view = VisitorView(p, signals=rules.signals, journeys=journeys)
    assert view["preferred_size"] == {"tees": "M"}
    here = view["size_in_store"]
    assert (here["store"], here["size"], here["qty"], here["in_stock"]) == ("ams", "M", 3, True)
    assert [dict(e) for e in here["elsewhere"]] == [{"store": "ber", "name": "ber", "qty": 4}]
    assert p.preferred_sizes == {"tees": "Medium"}  # as recorded
