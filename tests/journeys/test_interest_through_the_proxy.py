"""Interest-led content end to end: the home page's editorial block follows what the visitor is into."""

from __future__ import annotations

import contextlib
import io
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from journey_helpers import JOURNEYS, arm, login, tree, until_treated, wait_profile

from slotwise.cli import main
from slotwise.rules.interests import interests


def dog_person(client: Any) -> Any:
    for path in ("/c/dog-toys", "/p/901", "/p/902", "/c/running-shoes"):
        assert client.get(path).status_code == 200
    return client.get("/")


def test_a_dog_person_gets_the_dog_block(edge: Any, demo: Any) -> None:
    e = edge(JOURNEYS)
    client, page = until_treated(e.client, dog_person, "interest-hero", "store-hero")
    with contextlib.closing(client):
        profile = e.profile(client)
        got = arm(page, "interest-hero")
    assert list(interests(profile)) == ["dog-toys", "running-shoes"]  # 3 views against 1
    hero = tree(page).css_first("section.hero")
    assert hero is not None and "sw-interest-hero" in hero.attributes["class"]
    blocks = [b.attributes["data-category"] for b in hero.css(".sw-editorial")]
    assert blocks == (["dog-toys"] if got == "strongest" else ["dog-toys", "running-shoes"])
    first = hero.css_first(".sw-editorial")
    assert first is not None and first.css_first("h1").text() == "Good dogs deserve tough toys"
    assert first.attributes["data-interest"] == "0.75"
    assert hero.attributes.get("data-sw-slot") == "interest-hero"
    # only the hero changed: the store's category tiles and featured products are still there
    assert tree(page).css_first("section.featured") is not None
    assert "Made for moving." not in page.text and "Made for moving." in httpx.get(demo.url + "/").text


def test_interest_without_a_block_keeps_the_store_hero(edge: Any) -> None:
    e = edge(JOURNEYS)
    with e.client() as client:
        for path in ("/c/jeans", "/p/501", "/c/socks"):  # no editorial block for these
            client.get(path)
        page = client.get("/")
    assert arm(page, "interest-hero") is None  # `when` is false: no decision at all
    assert "Made for moving." in page.text and "sw-interest-hero" not in page.text


def test_an_in_store_purchase_import_turns_the_block(edge: Any, tmp_path: Path) -> None:
    """Interests come from imports too: a POS export of dog toys bought in the shop outweighs browsing."""
    e = edge(JOURNEYS)

    def runner_then_dog_toys_in_store(client: Any) -> Any:
        login(client)
        for path in ("/c/running-shoes", "/p/101"):
            client.get(path)
        wait_profile(e, client, lambda p: p.email_hash is not None or p.customer_id is not None)
        pos = tmp_path / f"pos-{uuid.uuid4().hex}.csv"
        today = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        pos.write_text("order_id,email,ts,product,category,qty,price,channel\n"
                       f"POS-{pos.stem},demo@example.com,{today},903,Dog Toys,1,9.90,store\n")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["import", "purchases", str(pos), "--data", e.settings.data, "--quiet"]) == 0
        return client.get("/")

    client, page = until_treated(e.client, runner_then_dog_toys_in_store, "interest-hero", "store-hero")
    with contextlib.closing(client):
        profile = e.profile(client)
    assert any(line["channel"] == "store" and line["category"] == "dog-toys" for line in profile.purchases)
    assert next(iter(interests(profile))) == "dog-toys"  # one purchase (5) against two views (2)
    hero = tree(page).css_first("section.sw-interest-hero")
    assert hero is not None
    assert [b.attributes["data-category"] for b in hero.css(".sw-editorial")][0] == "dog-toys"
