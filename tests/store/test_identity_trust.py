"""A browser's claim on an identity never beats a trusted link (SQLite and Redis alike).

The attack: a browser claims ``customer:C1`` (or an e-mail nobody holds yet)
before the real customer shows up. When the customer then logs in through
the store's page, an order webhook or a POS import names them, the trusted
link must win: the claimant loses the alias and nothing of the customer's
ever reaches the claimant's profile or export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slotwise.profile import hash_email, record_purchase, record_view
from slotwise.tag.events import parse_event
from slotwise.tag.imports import import_people_file
from slotwise.tag.recorder import EventRecorder, Incoming

pytestmark = pytest.mark.anyio

NOW = 1_700_000_000.0
EMAIL = "victim@example.com"
EMAIL_ALIAS = f"email:{hash_email(EMAIL)}"


def identify(event_id: str, **props: Any) -> Incoming:
    event, errors = parse_event(0, {"type": "identify", "event_id": event_id, "ts": NOW, "props": props})
    assert event is not None, errors
    return Incoming(event, NOW, event_id)


def victim_history(p: Any) -> None:
    record_view(p, NOW, category="dresses", product="d1")
    record_purchase(p, "o-victim", [{"product": "d1", "category": "dresses", "size": "38"}], NOW)


async def assert_claimant_holds_nothing_of_the_victim(store: Any, claimant: str, aliases: list[str]) -> None:
    mine = await store.get_profile(claimant)
    assert mine is not None and mine.id == claimant
    assert "dresses" not in mine.categories and not mine.purchases
    assert mine.customer_id is None and mine.email_hash is None
    export = await store.export_profile(claimant)
    assert not set(aliases) & set(export["aliases"])
    assert "dresses" not in str(export) and "o-victim" not in str(export)
    for alias in aliases:
        assert await store.resolve(alias) != claimant


async def test_login_through_the_store_takes_a_claimed_customer_id(store: Any) -> None:
    recorder = EventRecorder(store)
    await store.update_profile("attacker", lambda p: record_view(p, NOW, category="socks"), NOW)
    await recorder.record("attacker", [identify("claim0001", customer_id="C1")], NOW, trusted=False)
    assert (await store.get_profile("attacker")).customer_id == "C1"  # the claim was attached: nobody held it

    await store.update_profile("victim", victim_history, NOW)
    await recorder.record("victim", [identify("login0001", customer_id="C1")], NOW + 1, trusted=True)

    assert await store.resolve("customer:C1") == "victim"
    victim = await store.get_profile("victim")
    assert victim.id == "victim" and victim.customer_id == "C1" and "dresses" in victim.categories
    await assert_claimant_holds_nothing_of_the_victim(store, "attacker", ["customer:C1"])
    # and the claimant cannot take it back by claiming again
    await recorder.record("attacker", [identify("claim0002", customer_id="C1")], NOW + 2, trusted=False)
    assert await store.resolve("customer:C1") == "victim"
    await assert_claimant_holds_nothing_of_the_victim(store, "attacker", ["customer:C1"])


async def test_order_webhook_style_link_takes_a_claimed_email(store: Any) -> None:
    """A webhook links ``customer:C7`` to the order's e-mail: the e-mail's claimant loses it."""
    recorder = EventRecorder(store)
    await store.update_profile("attacker", lambda p: record_view(p, NOW, category="socks"), NOW)
    await recorder.record("attacker", [identify("claim0003", email=EMAIL)], NOW, trusted=False)
    assert await store.resolve(EMAIL_ALIAS) == "attacker"

    for alias in ("customer:C7", EMAIL_ALIAS):
        await store.link_identity("customer:C7", alias, NOW + 1, merge=True)
    await store.update_profile("customer:C7", victim_history, NOW + 1)

    assert await store.resolve(EMAIL_ALIAS) == await store.resolve("customer:C7") != "attacker"
    await assert_claimant_holds_nothing_of_the_victim(store, "attacker", ["customer:C7", EMAIL_ALIAS])


async def test_trusted_links_still_merge_a_known_person(store: Any) -> None:
    """The fix does not cost the golden record: trusted over trusted merges as before."""
    await store.update_profile("phone", victim_history, NOW)
    await store.link_identity("phone", "customer:C2", NOW, merge=True)
    await store.update_profile("laptop", lambda p: record_view(p, NOW, category="shoes"), NOW)
    merged = await store.link_identity("laptop", "customer:C2", NOW + 1, merge=True)
    assert merged.id == "phone" and {"dresses", "shoes"} <= set(merged.categories)
    assert await store.resolve("laptop") == "phone"


async def test_import_row_takes_a_claimed_email(store: Any, tmp_path: Path) -> None:
    recorder = EventRecorder(store)
    await store.update_profile("attacker", lambda p: record_view(p, NOW, category="socks"), NOW)
    await recorder.record("attacker", [identify("claim0004", email=EMAIL)], NOW, trusted=False)

    csv = tmp_path / "purchases.csv"
    csv.write_text("order_id,ts,product,qty,price,email,category\n"
                   f"o-victim,2023-11-01,d1,1,80,{EMAIL},dresses\n")
    report = await import_people_file(store, csv, "purchases", NOW + 1)
    assert report.loaded == 1 and report.rejected_count == 0

    owner = await store.resolve(EMAIL_ALIAS)
    assert owner != "attacker"
    assert [p["order_id"] for p in (await store.get_profile(owner)).purchases] == ["o-victim"]
    await assert_claimant_holds_nothing_of_the_victim(store, "attacker", [EMAIL_ALIAS])


async def test_a_coupon_issued_to_a_claimed_email_stays_with_the_claimant(store: Any) -> None:
    """The real person who later signs up gets a code of their own, never the claimant's."""
    await store.link_identity("attacker", EMAIL_ALIAS, NOW, merge=False)
    codes = iter(f"SW-{n:04d}" for n in range(10))
    mine, fresh = await store.claim_coupon(EMAIL_ALIAS, NOW, lambda: next(codes))
    assert fresh

    await store.link_identity("victim", EMAIL_ALIAS, NOW + 1, merge=True)
    theirs, fresh = await store.claim_coupon(EMAIL_ALIAS, NOW + 2, lambda: next(codes))
    assert fresh and theirs != mine
    assert await store.claim_coupon("profile:attacker", NOW + 3, lambda: next(codes)) == (mine, False)
    victim_export = await store.export_profile("victim")
    assert mine not in str(victim_export)


async def test_an_import_leaves_a_persons_own_claim_with_them(store: Any, tmp_path: Path) -> None:
    """The customer's own profile claimed its address (the popup); an import naming both keeps it theirs."""
    await store.update_profile("phone", lambda p: record_view(p, NOW, category="socks"), NOW)
    await store.link_identity("phone", "customer:C9", NOW, merge=True)
    recorder = EventRecorder(store)
    await recorder.record("phone", [identify("claim0009", email=EMAIL)], NOW, trusted=False)
    assert await store.resolve(EMAIL_ALIAS) == "phone"

    csv = tmp_path / "purchases.csv"
    csv.write_text("order_id,ts,product,qty,price,customer_id,email\n"
                   f"o-9,2023-11-01,d1,1,80,C9,{EMAIL}\n")
    assert (await import_people_file(store, csv, "purchases", NOW + 1)).loaded == 1
    profile = await store.get_profile("phone")
    assert await store.resolve(EMAIL_ALIAS) == profile.id == await store.resolve("customer:C9")
    assert profile.email_hash == hash_email(EMAIL) and [p["order_id"] for p in profile.purchases] == ["o-9"]


@pytest.mark.parametrize("kind", ["customers", "purchases"])
async def test_an_import_confirms_a_persons_own_claim(store: Any, tmp_path: Path, kind: str) -> None:
    """The customer's own profile claimed its address (the popup); an import naming the customer and the
    address is the store's word: the address is theirs by trust, so their other device that logs in with it
    merges with them instead of taking it from them."""
    await store.update_profile("phone", lambda p: record_view(p, NOW, category="socks"), NOW)
    recorder = EventRecorder(store)
    await recorder.record("phone", [identify("login0009", customer_id="C9")], NOW, trusted=True)  # a login
    await recorder.record("phone", [identify("claim0010", email=EMAIL)], NOW, trusted=False)

    csv = tmp_path / f"{kind}.csv"
    csv.write_text("customer_id,email\nC9,victim@example.com\n" if kind == "customers" else
                   f"order_id,ts,product,qty,price,customer_id,email\no-10,2023-11-01,d1,1,80,C9,{EMAIL}\n")
    assert (await import_people_file(store, csv, kind, NOW + 1)).loaded == 1
    profile = await store.get_profile("phone")

    await store.update_profile("laptop", victim_history, NOW + 2)
    await recorder.record("laptop", [identify("login0010", email=EMAIL)], NOW + 2, trusted=True)
    merged = await store.get_profile("laptop")
    assert merged.id == profile.id == await store.resolve(EMAIL_ALIAS) == await store.resolve("customer:C9")
    assert merged.email_hash == hash_email(EMAIL) and {"socks", "dresses"} <= set(merged.categories)
    assert merged.email_trusted and merged.customer_trusted  # held by trust: their pages write no link again


@pytest.mark.parametrize("kind", ["purchases", "customers"])
async def test_an_import_names_the_person_and_an_erase_by_address_finds_them(store: Any, tmp_path: Path,
                                                                            kind: str) -> None:
    """A purchases row names its buyer as a customers row does: the profile holds the customer id and address,
    by trust, where it held none or only a claim; an address held by trust stays (a person may have two: the
    CRM's does not overwrite the one the store's page named). A person known only from the import is found by
    their address and erased whole."""
    from slotwise.tag.admin import erase_person, export_person

    recorder = EventRecorder(store)
    await recorder.record("phone", [identify("login0011", customer_id="C11")], NOW, trusted=True)
    await recorder.record("phone", [identify("claim0011", email="old@example.com")], NOW, trusted=False)
    await recorder.record("laptop", [identify("login0012", customer_id="C12", email="first@example.com")], NOW,
                          trusted=True)
    order = "order_id,ts,product,qty,price," if kind == "purchases" else ""
    line = "o-{},2023-11-01,d1,1,80,".format if kind == "purchases" else "".format
    csv = tmp_path / f"{kind}.csv"
    csv.write_text(f"{order}customer_id,email\n"
                   f"{line(1)},{EMAIL}\n"  # known from this file alone
                   f"{line(2)}C11,new@example.com\n"  # the phone's claimed address gives way
                   f"{line(3)}C12,second@example.com\n")  # the laptop's trusted one stays
    assert (await import_people_file(store, csv, kind, NOW + 1)).loaded == 3

    buyer = await store.get_profile(EMAIL_ALIAS)
    assert (buyer.customer_id, buyer.email_hash, buyer.email_trusted) == (None, hash_email(EMAIL), True)
    phone = await store.get_profile("phone")
    assert (phone.customer_id, phone.email_hash) == ("C11", hash_email("new@example.com"))
    assert phone.customer_trusted and phone.email_trusted
    laptop = await store.get_profile("laptop")
    assert laptop.email_hash == hash_email("first@example.com") and laptop.email_trusted
    assert await store.resolve(f"email:{hash_email('second@example.com')}") == laptop.id  # linked all the same

    assert (await export_person(store, EMAIL))["profile"]["email_hash"] == hash_email(EMAIL)
    assert await erase_person(store, EMAIL) is True
    assert await export_person(store, EMAIL) is None and await store.get_profile(EMAIL_ALIAS) is None
