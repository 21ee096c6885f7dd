"""``slotwise import inventory``: the CSV parser (properties) and the command (all or nothing, idempotent)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slotwise.cli import main
from slotwise.keys import product_key, size_key, store_key
from slotwise.store.base import InventoryRow
from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.inventory_import import InventoryRowError, import_inventory_file, parse_inventory_row

NOW = 1_800_000_000.0

names = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(lambda s: store_key(s))
ids = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zs")), min_size=1, max_size=12).filter(lambda s: product_key(s))
sizes = st.sampled_from(["", "S", "m", "L", "42", "W32", "One size"])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(names, ids, sizes, st.integers(min_value=0, max_value=10_000_000))
def test_a_valid_row_reads_as_its_keys(store: str, product: str, size: str, qty: int) -> None:
    row, name, label = parse_inventory_row({"store": store, "sku": product, "size": size, "quantity": str(qty)})
    assert row == InventoryRow(store_key(store), product_key(product), size_key(size), qty)
    assert name is None and label == store.strip()


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.text(max_size=12).filter(lambda s: not s.strip().isdigit() and s.strip() not in ("0.0",) and
                                     not _is_whole(s)))
def test_a_bad_quantity_names_its_column(raw: str) -> None:
    with pytest.raises(InventoryRowError, match=r"^stock: "):
        parse_inventory_row({"store": "ams", "product": "p1", "stock": raw})


def _is_whole(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return value == value and value not in (float("inf"), float("-inf")) and value.is_integer() and 0 <= value <= 10_000_000


@pytest.mark.parametrize("row, message", [
    ({"store": " ", "product": "p", "quantity": "1"}, "store: empty"),
    ({"store": "a", "product": "", "quantity": "1"}, "product: empty"),
    ({"store": "a", "sku": "p\x1f", "quantity": "1"}, "sku: control characters are not allowed"),
    ({"store": "a", "product": "p", "qty": "-1"}, "qty: '-1' must be a whole number from 0 to 10000000"),
    ({"store": "a", "product": "p", "quantity": "2.5"}, "quantity: '2.5' must be a whole number"),
])
def test_bad_rows_say_which_field(row: dict, message: str) -> None:
    with pytest.raises(InventoryRowError) as info:
        parse_inventory_row(row)
    assert str(info.value).startswith(message)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


stock_rows = st.lists(st.tuples(st.sampled_from(["Amsterdam", "Berlin Mitte", "Oslo"]), st.sampled_from(["p1", "p2", "p3"]),
                                sizes, st.integers(min_value=0, max_value=50)),
                      unique_by=lambda r: (store_key(r[0]), r[1], size_key(r[2]) or ""), max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=stock_rows, second=stock_rows)
def test_an_import_leaves_exactly_the_files_stock_for_the_stores_it_names(tmp_path: Path, first: list, second: list) -> None:
    async def run() -> None:
        store = SQLiteStore(tmp_path / f"s{abs(hash((tuple(first), tuple(second))))}.db")
        try:
            for rows in (first, second):
                path = write_csv(tmp_path / "stock.csv", ["store", "product", "size", "quantity"], [list(r) for r in rows])
                report = await import_inventory_file(store, path, NOW)
                assert report.applied and report.rejected_count == 0
                again = await import_inventory_file(store, path, NOW + 1)
                assert again.change.added == again.change.changed == again.change.removed == 0  # idempotent
            named = {store_key(r[0]) for r in second}
            expected = {(store_key(s), p, size_key(z)): q for s, p, z, q in second}
            expected.update({(store_key(s), p, size_key(z)): q for s, p, z, q in first if store_key(s) not in named})
            got = {(r.store, r.product, r.size): r.qty for r in await store.store_stock(["p1", "p2", "p3"])}
            assert got == expected
        finally:
            await store.close()

    asyncio.run(run())


def test_the_command_rejects_the_whole_file_for_one_bad_row_and_keeps_the_last_good_stock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    good = write_csv(tmp_path / "good.csv", ["Store", "SKU", "Size", "Quantity", "store_name"],
                     [["AMS", "p1", "M", 3, "Amsterdam Centraal"], ["AMS", "p1", "L", 0, ""], ["BER", "p2", "", 1, ""]])
    assert main(["import", "inventory", str(good), "--data", str(data), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["applied"], summary["added"], summary["stores"]) == (True, 3, 2)
    assert main(["import", "inventory", str(good), "--data", str(data), "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 3  # the same file again changes nothing

    bad = write_csv(tmp_path / "bad.csv", ["store", "sku", "size", "quantity"],
                    [["AMS", "p1", "M", 9], ["AMS", "p1", "XL", "lots"], ["AMS", "p1", "m", 1]])
    assert main(["import", "inventory", str(bad), "--data", str(data), "--quiet"]) == 2
    out = capsys.readouterr()
    assert f"{bad}:3: quantity: 'lots' is not a whole number" in out.err
    assert f"{bad}:4: duplicate of line 2 (store 'ams', product 'p1', size 'M')" in out.err
    assert "nothing imported" in out.err and json.loads(out.out)["applied"] is False

    async def stock() -> list[InventoryRow]:
        store = SQLiteStore(data / "slotwise.db")
        try:
            return await store.store_stock(["p1", "p2"])
        finally:
            await store.close()

    assert asyncio.run(stock()) == [InventoryRow("ams", "p1", "L", 0), InventoryRow("ams", "p1", "M", 3),
                                    InventoryRow("ber", "p2", None, 1)]  # the last good stock


def test_missing_columns_reject_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "x.csv", ["store", "size", "quantity"], [["a", "M", 1]])
    assert main(["import", "inventory", str(path), "--data", str(tmp_path / "d"), "--quiet"]) == 2
    assert "missing column(s): product or product_id or sku" in capsys.readouterr().err


def test_a_size_the_rules_say_is_none_is_imported_as_stock_without_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A Shopify product without options is one variant, ``Default Title``: a child row learned before the rules
    said it is no size (its SKU in the ERP's export), or the export's own size column, would be stock for that
    size. With the rules the server runs (``--rules``, else ``SLOTWISE_RULES``) it is the product's stock."""
    data = tmp_path / "data"

    async def catalog() -> None:
        store = SQLiteStore(data / "slotwise.db")
        try:
            await store.upsert_products([{"id": "pocket-tee", "name": "Pocket Tee"},
                                         {"id": "pocket-tee-1", "parent": "pocket-tee", "size": "Default Title"},
                                         {"id": "tee", "name": "Tee"},
                                         {"id": "tee-m", "parent": "tee", "size": "M"}], NOW)
        finally:
            await store.close()

    async def stock() -> list[InventoryRow]:
        store = SQLiteStore(data / "slotwise.db")
        try:
            return await store.store_stock(["pocket-tee", "tee", "mug"])
        finally:
            await store.close()

    data.mkdir()
    asyncio.run(catalog())
    path = write_csv(tmp_path / "stock.csv", ["store", "sku", "size", "quantity"],
                     [["AMS", "pocket-tee-1", "", 4], ["AMS", "tee-m", "", 2], ["AMS", "mug", "default title", 7]])
    rules = tmp_path / "rules.yaml"
    rules.write_text('catalog:\n  not_sizes: ["Default Title"]\nslots: []\n')
    assert main(["import", "inventory", str(path), "--data", str(data), "--quiet"]) == 0  # sizes as stored
    assert asyncio.run(stock()) == [InventoryRow("ams", "mug", "default title", 7),
                                    InventoryRow("ams", "pocket-tee", "Default Title", 4),
                                    InventoryRow("ams", "tee", "M", 2)]
    capsys.readouterr()
    assert main(["import", "inventory", str(path), "--data", str(data), "--quiet", "--rules", str(rules)]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 2  # the file replaces the store's stock whole
    expected = [InventoryRow("ams", "mug", None, 7), InventoryRow("ams", "pocket-tee", None, 4),
                InventoryRow("ams", "tee", "M", 2)]
    assert asyncio.run(stock()) == expected
    monkeypatch.setenv("SLOTWISE_RULES", str(rules))
    assert main(["import", "inventory", str(path), "--data", str(data), "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["unchanged"] == 3 and asyncio.run(stock()) == expected

    rules.write_text("catalog:\n  not_sizes: []\nslots: []\n")
    assert main(["import", "inventory", str(path), "--data", str(data), "--quiet"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "slotwise import inventory: --rules: 1 error in rules:",
        f"{rules}:2:14: 'catalog.not_sizes' must list at least one value (\"Default Title\")"]
    assert asyncio.run(stock()) == expected  # nothing imported
