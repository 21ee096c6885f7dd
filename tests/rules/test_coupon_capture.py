"""What a purchase says of its coupon, from each source: page fields, GA4 and UA dataLayer pushes."""

from __future__ import annotations

from typing import Any

from slotwise.proxy.operations.learning import learner_record, redemption
from slotwise.rules.capture import DataLayer, build_event, coupon_props, datalayer_events
from slotwise.rules.catalog import CatalogSettings
from slotwise.store.base import LogRecord

LINE = {"product": "101", "qty": "1", "price": "80.00"}


def purchase(**fields: Any) -> dict[str, Any]:
    built = build_event("purchase", {"order_id": "o1", **fields}, [LINE], CatalogSettings())
    assert built is not None
    return dict(built["props"])


def test_a_page_that_names_the_coupon() -> None:
    props = purchase(total="80.00", coupon=" SW-AAA ", discount="€8.00")
    assert props["coupon"] == "SW-AAA" and props["discount"] == 8.0 and props["total"] == 80.0


def test_an_order_the_store_says_had_no_coupon() -> None:
    assert coupon_props({"coupon": None, "discount": "0.00"}) == {"coupon": ""}
    assert coupon_props({"coupon": "", "discount": "5"}) == {"coupon": ""}  # no code: no discount either


def test_a_source_that_reads_no_coupon_says_nothing() -> None:
    assert "coupon" not in purchase(total="80.00") and coupon_props({"order_id": "o1"}) == {}


def test_ga4_purchase_total_before_the_item_discounts() -> None:
    push = {"event": "purchase", "ecommerce": {
        "transaction_id": "T1", "value": 72.0, "currency": "EUR", "coupon": "SW-AAA",
        "items": [{"item_id": "101", "price": 36.0, "quantity": 2, "discount": 4.0}]}}
    settings = DataLayer(events=("purchase",))
    (event,) = datalayer_events(push, settings, CatalogSettings())
    assert event["props"]["coupon"] == "SW-AAA" and event["props"]["discount"] == 8.0
    assert event["props"]["total"] == 80.0  # GA4's value is after discounts; the margin subtracts them


def test_ga4_purchase_without_a_coupon_says_so() -> None:
    push = {"event": "purchase", "ecommerce": {"transaction_id": "T1", "value": 72.0,
                                               "items": [{"item_id": "101", "price": 72.0}]}}
    (event,) = datalayer_events(push, DataLayer(events=("purchase",)), CatalogSettings())
    assert event["props"]["coupon"] == "" and event["props"]["total"] == 72.0


def test_ua_purchase_coupon() -> None:
    push = {"ecommerce": {"purchase": {"actionField": {"id": "T2", "revenue": "50.00", "coupon": "SUMMER"},
                                       "products": [{"id": "101", "price": "50.00", "quantity": 1}]}}}
    (event,) = datalayer_events(push, DataLayer(events=("purchase",)), CatalogSettings())
    assert event["props"]["coupon"] == "SUMMER"


def test_the_learner_record_says_redeemed_and_what_it_took() -> None:
    assert redemption({"total": 80.0}) == {}
    assert redemption({"coupon": ""}) == {"redeemed": False}
    assert redemption({"coupon": "SW-AAA", "discount": 8.0}) == {"redeemed": True, "discount": 8.0}
    rec = LogRecord("event", "k", "v1", 10.0, {"type": "purchase", "props": {"order_id": "o1", "total": 80.0,
                                                                            "coupon": "SW-AAA", "discount": 8.0}})
    converted = learner_record(rec)
    assert converted is not None and converted["redeemed"] is True and converted["discount"] == 8.0
