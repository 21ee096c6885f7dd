"""Stages and interests on a store unlike the demo (Fjell Outdoor, tests/fixture_store): no data-* hooks,
no JSON-LD, categories only in URLs and breadcrumbs, sizes as child products. Everything the journeys
read comes from events the proxy captured with the store's own rules file — nothing store-specific in
Slotwise."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from journey_helpers import arm, tree

FIXTURE_STORE = Path(__file__).resolve().parents[1] / "fixture_store"
sys.path.insert(0, str(FIXTURE_STORE))  # the fixture store's own modules import each other by name

from fjell_stack import DESKTOP_UA, FJELL, FjellStack, open_fjell  # noqa: E402

from slotwise.rules.interests import interests  # noqa: E402
from slotwise.rules.stage import stages  # noqa: E402

RIDGE = "/shop/product/1005-ridge-runner/"
TRAIL = "/shop/category/trail-shoes-3/"

JOURNEY_SLOTS = """
  - id: stage-banner
    pages: "/shop/category/**"
    selector: "p.result-count"
    action: after
    when: visitor.stage[page.category] in ["decision", "evaluation"]
    goal: purchase
    html: '<p class="sw-stage" data-sw-stage="{{ visitor.stage[page.category] }}">{{ page.category }}</p>'
    variants:
      - id: banner

  - id: interest-note
    pages: "/"
    selector: "main h1, h1"
    action: after
    when: visitor.interest['trail-shoes'] > 0.5
    goal: click
    html: '<p class="sw-interest">{{ visitor.interests | join(",") }}</p>'
    variants:
      - id: note
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, uvicorn_runner: Any) -> Iterator[FjellStack]:
    rules = tmp_path_factory.mktemp("fjell-journeys") / "fjell-journeys.yaml"
    text = FJELL.read_text().replace("include: ", "include: " + str(FJELL.parent) + "/")
    rules.write_text(text.rstrip() + "\n" + JOURNEY_SLOTS)
    for name in ("cards.html", "popup.html"):  # the templates the store's slots name, beside the copy
        (rules.parent / name).write_text((FJELL.parent / name).read_text())
    with open_fjell(rules.parent, rules, uvicorn_runner) as s:
        yield s


def add_size(client: httpx.Client, path: str, variant: str) -> httpx.Response:
    node = tree(client.get(path)).css_first("input[name=token]")
    assert node is not None
    return client.post("/basket/add/", data={"token": str(node.attributes["value"]), "quantity": "1",
                                             "product": path.split("/")[3].split("-")[0], "variant": variant})


def test_a_captured_add_to_cart_puts_the_category_in_decision(stack: FjellStack) -> None:
    with httpx.Client(base_url=stack.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as client:
        client.get("/")
        client.get(TRAIL)
        before = client.get(TRAIL)
        assert arm(before, "stage-banner") is None  # two views: consideration at most
        assert add_size(client, RIDGE, "2011").status_code in (200, 303)  # size 42, a child product
        page = client.get(TRAIL)
        visitor = str(client.cookies["sw_vid"]).split(".")[0]
    profile = stack.profile(visitor)
    assert [line["category"] for line in profile.cart] == ["trail-shoes"]  # the child's parent's category
    assert stages(profile)["trail-shoes"] == "decision"
    banner = tree(page).css_first("p.sw-stage")
    assert banner is not None and banner.attributes["data-sw-stage"] == "decision"
    assert arm(page, "stage-banner") == "banner"


def test_interest_from_captured_browsing_turns_on_the_note(stack: FjellStack) -> None:
    with httpx.Client(base_url=stack.url, headers={"user-agent": DESKTOP_UA}, timeout=10) as client:
        assert "sw-interest" not in client.get("/").text
        for path in (TRAIL, RIDGE, "/shop/product/1006-scree-grip/", "/shop/category/jackets-1/"):
            assert client.get(path).status_code == 200
        page = client.get("/")
        visitor = str(client.cookies["sw_vid"]).split(".")[0]
    shares = interests(stack.profile(visitor))
    assert list(shares) == ["trail-shoes", "jackets"] and shares["trail-shoes"] == 0.75
    note = tree(page).css_first("p.sw-interest")
    assert note is not None and note.text() == "trail-shoes,jackets"
