"""The preferred store and "your size at your store" as pure facts (rules/inventory.py)."""

from __future__ import annotations

from slotwise.profile import Profile, import_purchase_lines
from slotwise.rules.inventory import availability, preferred_store
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
