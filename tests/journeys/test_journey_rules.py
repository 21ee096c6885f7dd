"""The journey sections of a rules file, their errors, the store's cart form, and the shipped
journey files (each checked by ``slotwise rules check``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slotwise.cli import main
from slotwise.rules import RulesError, load_rules

EXAMPLES = Path(__file__).resolve().parents[2] / "slotwise" / "rules" / "examples"
JOURNEY_FILES = ("demo-reorder.yaml", "demo-cart-waits.yaml", "demo-nearby-store.yaml")


@pytest.mark.parametrize("name", JOURNEY_FILES)
def test_each_journey_file_passes_rules_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(EXAMPLES / name)]) == 0
    assert "OK," in capsys.readouterr().out


def test_the_demo_rules_carry_the_journeys_settings_and_read_the_store_form() -> None:
    rules = load_rules(EXAMPLES / "demo.yaml")
    j = rules.journeys
    assert j.replenish.enabled and j.replenish.categories == {"socks", "dog-toys"} and j.replenish.due_within_days == 5
    assert (j.replenish.min_days, j.replenish.max_days, j.replenish.min_buyers) == (7, 180, 3)
    assert (j.reminders.low_stock, j.reminders.min_price_drop, j.reminders.max_age_days) == (3, 0.05, 30)
    assert j.stores.low_stock == 2
    assert j.cart_form.as_dict() == {"action": "/cart/add", "method": "POST", "product": "product_id", "size": "size",
                                     "qty": "qty"}
    assert rules.slot("reorder").reads == {"due_for_reorder"}
    assert rules.slot("cart-waits").reads == {"waiting_cart"}
    assert rules.slot("home-categories").reads == frozenset()  # nothing to load for the other slots


def errors(tmp_path: Path, text: str, **files: str) -> list[str]:
    """``FILE:LINE:COL: message`` with the file's name only."""
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(RulesError) as info:
        load_rules(tmp_path / "rules.yaml")
    return [str(i).replace(f"{tmp_path}/", "") for i in info.value.issues]


def test_bad_journey_settings_are_located(tmp_path: Path) -> None:
    got = errors(tmp_path, """\
replenish:
  categories: []
  per: sku
  due_within: soon
  interval: {min: 30d, max: 7d}
reminders: {low_stock: -1, min_price_drop: 150%, colour: red}
stores: {names: [a, b]}
""")
    assert [g.removeprefix("rules.yaml:") for g in got] == [
        "2:15: 'replenish.categories' must not be an empty list",
        "3:8: 'replenish.per' must be one of category, product, got a string ('sku')",
        "4:15: 'replenish.due_within' must be a duration like '12h', '3d' or '2w', got a string ('soon')",
        "5:13: 'replenish.interval.min' is longer than 'max'",
        "6:24: 'reminders.low_stock' must be a whole number from 0 to 1000, got a number (-1)",
        "6:44: 'reminders.min_price_drop' must be a share from 0 to below 1 (like 0.05 or '5%'), got a string ('150%')",
        "6:50: unknown key 'colour' in 'reminders'",
        "7:17: 'stores.names' must be a mapping of store id to name, got a list",
    ]


def test_a_section_may_be_set_in_one_file_only(tmp_path: Path) -> None:
    got = errors(tmp_path, "include: more.yaml\nreminders: {low_stock: 2}\n", **{"more.yaml": "reminders: {low_stock: 4}\n"})
    assert got == ["more.yaml:1:1: 'reminders' is set in more than one file"]


def test_no_cart_form_without_a_literal_add_to_cart_request(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("""\
capture:
  events:
    - event: add_to_cart
      request: {method: POST, path: "/cart/*/add"}
      fields: {product: form.id}
""", encoding="utf-8")
    assert load_rules(tmp_path / "r.yaml").journeys.cart_form is None


def test_the_journeys_yaml_examples_in_the_docs_load(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    section = docs.split("### Time to reorder", 1)[1].split("\n## ", 1)[0]  # replenishment .. nearby store
    blocks = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:]]
    assert len(blocks) == 3
    for template in ("reorder.html", "cart-waits.html"):
        (tmp_path / template).write_text((EXAMPLES / template).read_text(encoding="utf-8"), encoding="utf-8")
    for n, block in enumerate(blocks):
        path = tmp_path / f"doc{n}.yaml"
        path.write_text(block, encoding="utf-8")
        rules = load_rules(path)
        assert rules.slots and rules.slots[0].reads  # each example's slot reads its journey's facts
