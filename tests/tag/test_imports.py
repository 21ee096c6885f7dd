"""``slotwise import``: broken files report exact lines, good rows load, re-import changes nothing."""

from __future__ import annotations

import concurrent.futures
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest

from slotwise.cli import main
from slotwise.profile import hash_email
from slotwise.store.sqlite import SQLiteStore
from slotwise.tag.testing import sync

ROOT = Path(__file__).resolve().parents[2]

PURCHASES = (
    "order_id,customer_id,email,ts,product,category,size,qty,price,channel\n"  # line 1
    "o1,c1,,2024-03-01,p1,Running Shoes,42,1,89.90,\n"  # 2 ok (store)
    "o1,c1,,2024-03-01T10:00:00+01:00,p2,Socks,M,2,5,\n"  # 3 ok, same order, second line
    "o2,,ann@example.com,2024-03-02 12:00,p3,Hats,L,1,20,online\n"  # 4 ok, by e-mail
).encode() + (
    "o3,c2,,2024-03-0X,p1,Shoes,42,1,10,\n"  # 5 bad date
    "o4,c2,,2024-03-03,p1,Shoes,42,two,10,\n"  # 6 bad qty
    "o5,c2,,2024-03-03,p1,Shoes,42,1,1O.5,\n"  # 7 bad price
).encode() + "o6,c3,,2024-03-03,Caf\u00e9,Shoes,42,1,10,\n".encode("latin-1") + (  # 8 bad encoding
    "o7,,,2024-03-03,p1,Shoes,42,1,10,\n"  # 9 nobody
    "o8,c4,,2024-03-03,p1,Shoes,42,1,10,pigeon\n"  # 10 bad channel
    "o9,c4,,2024-03-03,p1\n"  # 11 too few fields
    "o10,c4,,2024-03-04,p4,Shoes,43,1,99,\n"  # 12 ok
).encode()


def run(capsys: Any, *argv: str) -> tuple[int, dict[str, Any] | None, list[str]]:
    # in a thread: the CLI calls asyncio.run, and Playwright's loop may be running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        status = pool.submit(main, list(argv)).result()
    out, err = capsys.readouterr()
    return status, (json.loads(out) if out.strip() else None), [line for line in err.splitlines() if ":" in line]


def new_store(kind: str, data: Path) -> str:
    """What an import into a directory holding no store yet says first (a mistyped --data imported silently)."""
    return (f"slotwise import {kind}: --data {data} holds no store yet: a new one is made there (the server reads "
            "the one its --data names)")


def test_broken_purchases_file(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "pos.csv"
    path.write_bytes(PURCHASES)
    status, summary, errors = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert status == 1
    lines = {int(e.split(":")[1]): e.split(": ", 1)[1] for e in errors if e.startswith(str(path))}
    assert sorted(lines) == [5, 6, 7, 8, 9, 10, 11]
    assert "ts: '2024-03-0X'" in lines[5] and "qty: 'two'" in lines[6] and "price: '1O.5'" in lines[7]
    assert "not valid UTF-8 (byte 0xe9 in column 'product')" in lines[8]
    assert "customer_id or an email" in lines[9] and "channel" in lines[10] and "fields" in lines[11]
    assert summary is not None and summary["loaded"] == 4 and summary["new"] == 4 and summary["rejected_count"] == 7

    store = SQLiteStore(tmp_path / "slotwise.db")
    c1 = sync(store.get_profile("customer:c1"))
    assert [(p["order_id"], p["product"], p["category"], p["channel"]) for p in c1.purchases] == [
        ("o1", "p1", "running-shoes", "store"), ("o1", "p2", "socks", "store")]
    assert c1.preferred_sizes == {"running-shoes": "42", "socks": "M"}
    ann = sync(store.get_profile(f"email:{hash_email('ann@example.com')}"))
    assert ann.purchases[0]["channel"] == "online" and ann.purchases[0]["ts"] == 1709380800.0
    sync(store.close())

    # idempotent: a second import adds nothing
    status, summary, _ = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert summary is not None and summary["new"] == 0 and summary["loaded"] == 4


def test_a_purchases_currency_is_read_as_an_orders_and_a_row_naming_none_is_rejected(tmp_path: Path,
                                                                                      capsys: Any) -> None:
    """The same reading as the tag's and the webhook's orders (a code or its symbol); a row whose currency
    names none is rejected whole, with its line, field, value and what is taken; the others load."""
    path = tmp_path / "pos.csv"
    path.write_text("order_id,customer_id,ts,product,qty,price,currency\n"
                    "o1,c1,2024-03-01,p1,1,85,GBP\n"
                    "o1,c1,2024-03-01,p2,1,5,£\n"
                    "o2,c1,2024-03-02,p3,1,20,Pounds\n"
                    "o3,c1,2024-03-03,p4,1,20,\n", encoding="utf-8")
    status, summary, errors = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert status == 1 and summary is not None and (summary["loaded"], summary["rejected_count"]) == (3, 1)
    assert errors[1:] == [f"{path}:4: currency: not a currency: 'Pounds' (a three-letter code like EUR, or its symbol)"]
    store = SQLiteStore(tmp_path / "slotwise.db")
    assert [p["product"] for p in sync(store.get_profile("customer:c1")).purchases] == ["p1", "p2", "p4"]
    sync(store.close())


def test_missing_columns_is_one_clear_error(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "pos.csv"
    path.write_text("order,when,product\n1,2024-01-01,p\n")
    status, summary, errors = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert status == 2 and summary is None
    assert len(errors) == 2 and errors[0] == new_store("purchases", tmp_path)
    assert "missing column(s): order_id, ts, qty, price, customer_id or email" in errors[1]


def test_an_excel_export_with_semicolons_and_decimal_commas_loads(tmp_path: Path, capsys: Any) -> None:
    """Excel where the comma is the decimal mark writes `;` between fields (and a BOM, CRLF)."""
    path = tmp_path / "pos.csv"
    path.write_bytes("\ufeffOrder_ID;Customer_ID;TS;Product;Category;Size;Qty;Price;Note\r\n"
                     "S1;c1;2024-03-01 10:00;p1;T-Shirts;m;2;19,90;\"two\r\nlines\"\r\n"
                     "S1;c1;2024-03-01 10:00;p2;Shoes;42;1;89,5;\r\n"
                     "S2;c1;2024-03-02;p3;Shoes;42;1;1,000;\r\n".encode())
    status, summary, errors = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert status == 1 and summary is not None and summary["loaded"] == 2
    assert errors == [new_store("purchases", tmp_path),
                      f"{path}:5: price: '1,000' is not a number; write 1000 or 1000.00, without a thousands separator"]
    store = SQLiteStore(tmp_path / "slotwise.db")
    c1 = sync(store.get_profile("customer:c1"))
    assert [(p["product"], p["size"], p["price"]) for p in c1.purchases] == [("p1", "M", 19.9), ("p2", "42", 89.5)]
    sync(store.close())


def test_a_size_the_rules_say_is_none_is_imported_without_one(tmp_path: Path, capsys: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A POS export of a Shopify store names a product without options by its variant ``Default Title``:
    with the rules the server runs (``--rules``, else ``SLOTWISE_RULES``) it is no size, and its ``Medium``
    the size key ``M`` (``catalog.size_names``)."""
    path = tmp_path / "pos.csv"
    path.write_text("order_id,customer_id,ts,product,category,size,qty,price\n"
                    "S1,c1,2024-03-01,tee,T-Shirts,M,1,20\n"
                    "S2,c1,2024-03-02,pocket-tee,T-Shirts,Default Title,1,20\n"
                    "S3,c1,2024-03-03,pocket-tee,T-Shirts,default title,1,20\n"
                    "S4,c1,2024-03-04,tee,T-Shirts,Medium,1,20\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text('catalog:\n  not_sizes: ["Default Title"]\n  size_names: {M: [Medium]}\nslots: []\n')
    status, summary, _ = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert status == 0 and summary is not None and summary["new"] == 4  # without the rules: sizes as written
    monkeypatch.setenv("SLOTWISE_RULES", str(rules))
    status, summary, _ = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert status == 0 and summary is not None and summary["new"] == 0  # the same lines: not added again
    fresh = tmp_path / "fresh"
    status, summary, _ = run(capsys, "import", "purchases", str(path), "--data", str(fresh), "--quiet")
    assert status == 0 and summary is not None and summary["new"] == 4
    store = SQLiteStore(fresh / "slotwise.db")
    c1 = sync(store.get_profile("customer:c1"))
    assert [(p["order_id"], p["size"]) for p in c1.purchases] == [("S1", "M"), ("S2", None), ("S3", None), ("S4", "M")]
    sync(store.close())
    rules.write_text("catalog:\n  not_sizes: []\nslots: []\n")
    status, summary, errors = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet",
                                  "--rules", str(rules))
    assert status == 2 and summary is None
    assert errors == ["slotwise import purchases: --rules: 1 error in rules:",
                      f"{rules}:2:14: 'catalog.not_sizes' must list at least one value (\"Default Title\")"]


def test_a_quote_left_open_names_the_lines_it_swallowed(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "pos.csv"
    rows = [f"o{i},c{i},2024-03-01,p1,{quote if i == 2 else ''}Shoes,1,10\n" for i, quote in zip(range(1, 6), '"' * 5)]
    path.write_text("order_id,customer_id,ts,product,category,qty,price\n" + "".join(rows))
    status, summary, errors = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert status == 1 and summary is not None and summary["loaded"] == 1
    assert errors == [new_store("purchases", tmp_path),
                      f"{path}:3: expected 7 fields, found 5 (the row runs from line 3 to line 6: a quote left "
                      "open? none of these lines is imported)"]


def test_numbers_that_are_not_finite_say_so(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "pos.csv"
    path.write_text("order_id,customer_id,ts,product,qty,price\no1,c1,2024-03-01,p1,1,1e999\n")
    _, _, errors = run(capsys, "import", "purchases", str(path), "--data", str(tmp_path), "--quiet")
    assert errors == [new_store("purchases", tmp_path), f"{path}:2: price: '1e999' is not a finite number"]


def test_a_visitor_who_logs_in_merges_into_the_imported_customer(tmp_path: Path, capsys: Any) -> None:
    customers = tmp_path / "crm.csv"
    customers.write_text("customer_id,email,name,subscribed,consent\nc9,Zoe@Example.com,Zoe,yes,granted\nc10,,Bob,maybe,\n")
    status, summary, errors = run(capsys, "import", "customers", str(customers), "--data", str(tmp_path), "--quiet")
    assert status == 1 and summary is not None and summary["loaded"] == 1
    assert errors[0] == new_store("customers", tmp_path) and "subscribed" in errors[1]
    pos = tmp_path / "pos.csv"
    pos.write_text("order_id,email,ts,product,category,size,qty,price\nS1,zoe@example.com,2024-01-01,p1,Shoes,38,1,50\n")
    assert run(capsys, "import", "purchases", str(pos), "--data", str(tmp_path), "--quiet")[0] == 0
    store = SQLiteStore(tmp_path / "slotwise.db")
    profile = sync(store.link_identity("browser-visitor-0001", "customer:c9", 1.0))
    assert profile.subscribed and profile.consent == "granted" and profile.preferred_sizes == {"shoes": "38"}
    assert sync(store.resolve("browser-visitor-0001")) == profile.id
    sync(store.close())


def test_coupon_pool_import(tmp_path: Path, capsys: Any) -> None:
    plain = tmp_path / "codes.txt"
    plain.write_text("SAVE-10-AAA\nSAVE-10-BBB\n\nbad code!\nSAVE-10-AAA\n")
    status, summary, errors = run(capsys, "import", "coupons", str(plain), "--data", str(tmp_path))
    assert status == 1 and summary is not None and summary["new"] == 2
    assert errors[0] == new_store("coupons", tmp_path) and ":4:" in errors[1]
    table = tmp_path / "codes.csv"
    table.write_text("campaign,code\nspring,SAVE-10-CCC\nspring,SAVE-10-BBB\n")
    status, summary, _ = run(capsys, "import", "coupons", str(table), "--data", str(tmp_path))
    assert status == 0 and summary is not None and summary["new"] == 1 and summary["loaded"] == 2


def test_visitor_export_and_erase_cli(tmp_path: Path, capsys: Any) -> None:
    customers = tmp_path / "crm.csv"
    customers.write_text("customer_id,email\nc1,x@example.com\n")
    run(capsys, "import", "customers", str(customers), "--data", str(tmp_path), "--quiet")
    status, data, _ = run(capsys, "visitor", "export", "x@example.com", "--data", str(tmp_path))
    assert status == 0 and data is not None and data["profile"]["customer_id"] == "c1"
    assert sorted(data["aliases"]) == sorted(["customer:c1", f"email:{hash_email('x@example.com')}"])
    status, data, _ = run(capsys, "visitor", "erase", "customer:c1", "--data", str(tmp_path))
    assert status == 0 and data == {"id": "customer:c1", "erased": True}
    assert run(capsys, "visitor", "erase", "customer:c1", "--data", str(tmp_path))[1] == {"id": "customer:c1", "erased": False}
    assert run(capsys, "visitor", "export", "customer:c1", "--data", str(tmp_path))[0] == 1


def test_visitor_commands_on_a_data_directory_without_a_store_say_so(tmp_path: Path, capsys: Any) -> None:
    """A mistyped --data answered a person's export request with "no data held about this id" (and an
    erasure with "erased": false) from an empty store it had just created there."""
    typo = tmp_path / "slotwsie"
    for action in ("export", "erase"):
        status, data, errors = run(capsys, "visitor", action, "x@example.com", "--data", str(typo))
        assert status == 2 and data is None
        assert errors == [f"slotwise visitor {action}: no Slotwise data at {typo / 'slotwise.db'} (--data / "
                          "SLOTWISE_DATA, or --store; the directory `slotwise serve` or `slotwise demo` runs with, "
                          ".slotwise by default)"]
    assert not typo.exists()


def intervals_written(store: SQLiteStore) -> list[dict[str, Any]]:
    """Each ``set_reorder_intervals`` call's argument, from now on (the call still writes)."""
    written: list[dict[str, Any]] = []
    real = store.set_reorder_intervals

    async def spy(by_person: Any) -> None:
        written.append(dict(by_person))
        await real(by_person)

    store.set_reorder_intervals = spy  # type: ignore[method-assign]
    return written


def test_a_reimport_that_adds_nothing_rewrites_no_profile_and_no_reorder_interval(tmp_path: Path) -> None:
    """A buyer whose history an import changed is written (a new version: every worker reads it again)
    and their intervals worked out; one it left as it was keeps its row, its version and its intervals."""
    from slotwise.tag.imports import import_people_file

    first = tmp_path / "pos.csv"
    first.write_text("order_id,customer_id,email,ts,product,category,size,qty,price,channel\n"
                     "o1,c1,,2024-01-01,dog-food,Dog Food,,1,30,\n"
                     "o2,c1,,2024-01-31,dog-food,Dog Food,,1,30,\n"
                     "o3,c2,,2024-01-05,hat,Hats,M,1,20,\n")
    more = tmp_path / "more.csv"
    more.write_text("order_id,customer_id,email,ts,product,category,size,qty,price,channel\n"
                    "o4,c1,,2024-03-31,dog-food,Dog Food,,1,30,\n")
    store = SQLiteStore(tmp_path / "slotwise.db")
    written = intervals_written(store)
    assert sync(import_people_file(store, first, "purchases", 1e9)).new == 3
    c1 = sync(store.get_profile("customer:c1"))
    assert written == [{c1.id: {"category:dog-food": 30.0, "product:dog-food": 30.0}}]
    versions = {c: store.profile_head(f"customer:{c}")[1] for c in ("c1", "c2")}
    again = sync(import_people_file(store, first, "purchases", 1e9))
    assert (again.new, again.profiles) == (0, 0)  # the summary's profiles_written says so too
    assert len(written) == 1  # nothing new: nothing computed, nothing written
    assert {c: store.profile_head(f"customer:{c}")[1] for c in ("c1", "c2")} == versions
    assert sync(store.reorder_intervals(["category:dog-food"])) == {"category:dog-food": [30.0]}
    assert vars(sync(import_people_file(store, more, "purchases", 1e9)))["profiles"] == 1
    assert written[1] == {c1.id: {"category:dog-food": 45.0, "product:dog-food": 45.0}}  # median of 30 and 60
    assert store.profile_head("customer:c1")[1] != versions["c1"]
    assert store.profile_head("customer:c2")[1] == versions["c2"]
    assert [p["order_id"] for p in sync(store.get_profile("customer:c1")).purchases] == ["o1", "o2", "o4"]
    sync(store.close())


def test_a_buyer_spread_over_many_batches_has_their_intervals_worked_out_once_from_it_all(tmp_path: Path) -> None:
    from slotwise.tag.imports import import_people_file

    pos = tmp_path / "pos.csv"
    pos.write_text("order_id,customer_id,email,ts,product,category,size,qty,price,channel\n"
                   "o1,c1,,2024-01-01,dog-food,Dog Food,,1,30,\n"
                   "o2,c2,,2024-01-05,hat,Hats,M,1,20,\n"
                   "o3,c1,,2024-01-31,dog-food,Dog Food,,1,30,\n"
                   "o4,c2,,2024-02-05,hat,Hats,M,1,20,\n"
                   "o5,c1,,2024-03-31,dog-food,Dog Food,,1,30,\n")
    store = SQLiteStore(tmp_path / "slotwise.db")
    written = intervals_written(store)
    report = sync(import_people_file(store, pos, "purchases", 1e9, batch_rows=1))  # a batch a row
    assert report.new == 5 and report.profiles == 5
    c1, c2 = (sync(store.get_profile(f"customer:{c}")) for c in ("c1", "c2"))
    assert written == [{c1.id: {"category:dog-food": 45.0, "product:dog-food": 45.0},  # 30 and 60 days: all of it
                        c2.id: {"category:hats": 31.0, "product:hat": 31.0}}]
    assert sync(store.reorder_intervals(["category:dog-food", "category:hats"])) == {
        "category:dog-food": [45.0], "category:hats": [31.0]}
    sync(store.close())


class RetryingStore:
    """The SQLite store, whose every bulk write first loses a compare-and-set, as a Redis chunk does
    on a conflict: each row's update runs on a profile read that is then thrown away, and again on
    the re-read one."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def bulk_update(self, items: Any, now: float) -> int:
        for aliases, update in items:
            lost = await self.store.get_profile(aliases[0])
            if lost is not None:
                update(lost)  # the attempt whose write lost
        return await self.store.bulk_update(items, now)


def test_an_update_a_store_runs_again_after_a_conflict_is_counted_once(tmp_path: Path) -> None:
    from slotwise.tag.imports import import_people_file

    pos = tmp_path / "pos.csv"
    pos.write_text("order_id,customer_id,email,ts,product,category,size,qty,price,channel\n"
                   "o1,c1,,2024-01-01,dog-food,Dog Food,,1,30,\n"
                   "o2,c1,,2024-01-31,dog-food,Dog Food,,1,30,\n")
    store = SQLiteStore(tmp_path / "slotwise.db")
    sync(store.link_identity("customer:c1", "customer:c1", 1e9))  # the person exists: the lost attempt reads them
    retrying = RetryingStore(store)
    report = sync(import_people_file(retrying, pos, "purchases", 1e9))  # type: ignore[arg-type]
    assert report.new == 2 and report.loaded == 2
    assert [p["order_id"] for p in sync(store.get_profile("customer:c1")).purchases] == ["o1", "o2"]
    assert sync(import_people_file(retrying, pos, "purchases", 1e9)).new == 0  # type: ignore[arg-type]
    sync(store.close())


def test_an_unreachable_store_is_a_failure_not_a_partial_import(tmp_path: Path, capsys: Any) -> None:
    """Exit 1 means "some rows rejected, the rest loaded", 1 for export "nothing held": neither may stand
    for a store that could not be reached. The nightly job and the erase request must see a failure."""
    from ports import free_port

    store = f"redis://127.0.0.1:{free_port()}/0?timeout=1&connect_timeout=1"  # nothing listens there
    path = tmp_path / "pos.csv"
    path.write_text("order_id,customer_id,ts,product,qty,price\no1,c1,2024-03-01,p1,1,10\n")
    status, summary, errors = run(capsys, "import", "purchases", str(path), "--store", store, "--quiet")
    assert status == 3 and summary is None
    assert any("the store failed" in e and "import the file again" in e for e in errors)
    assert not any("Traceback" in e for e in errors)
    for action in ("export", "erase"):
        status, _, errors = run(capsys, "visitor", action, "customer:c1", "--store", store)
        assert status == 3 and any(f"slotwise visitor {action}: the store failed" in e for e in errors)


def test_a_csv_without_a_code_column_is_not_imported_as_coupon_codes(tmp_path: Path, capsys: Any) -> None:
    """The demo store's catalog.csv given to ``import coupons`` loaded 4,561 "codes" — its header's
    ``sku`` and every row's first column — where it should have been refused as the wrong file."""
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,product_id,size,store,stock\n101-38-01,101,38,Amsterdam Centraal,0\n")
    status, summary, errors = run(capsys, "import", "coupons", str(catalog), "--data", str(tmp_path))
    assert status == 2 and summary is None
    assert errors == [new_store("coupons", tmp_path),
                      f"slotwise import coupons: {catalog}: line 1 is a CSV header without a 'code' column "
                      "(found: sku, product_id, size, store, stock); give one code per line, or a CSV whose "
                      "header names the 'code' column"]
    trailing = tmp_path / "codes.csv"
    trailing.write_text("sku,\n101-38-01,\n")  # one code per line, a spreadsheet's empty second column
    status, summary, _ = run(capsys, "import", "coupons", str(trailing), "--data", str(tmp_path))
    assert status == 0 and summary is not None and summary["new"] == 2  # new: the refused file loaded neither


def test_a_batch_of_no_rows_is_refused(tmp_path: Path, capsys: Any) -> None:
    """``--batch 0`` (or -3) was taken, and wrote one transaction per row."""
    import pytest

    for value in ("0", "-3", "lots"):
        with pytest.raises(SystemExit) as stop:
            main(["import", "purchases", str(tmp_path / "pos.csv"), "--data", str(tmp_path), "--batch", value])
        assert stop.value.code == 2
        assert f"argument --batch: {value!r} is not a whole number of at least 1" in capsys.readouterr().err
    assert not (tmp_path / "slotwise.db").exists()


def _import_process(tmp_path: Path, kind: str, text: str, stderr: Any,
                    data: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``slotwise import KIND`` in its own process, stderr as given (a pipe, a terminal); no --quiet. The file
    is written in ``tmp_path``, the data directory is ``data`` (default ``tmp_path`` too)."""
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "slotwise", "import", kind, str(path), "--data",
                           str(data or tmp_path)],
                          stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, timeout=120)


def test_an_import_into_a_directory_without_a_store_says_it_makes_one(tmp_path: Path) -> None:
    """A mistyped --data imported into a new, empty store without a word: the engineer believed the running
    server had the rows. It still imports (a first import on a fresh machine is one), and says so."""
    served = tmp_path / "served"
    assert _import_process(tmp_path, "customers", "customer_id\nc0\n", subprocess.PIPE, served).returncode == 0
    typo = tmp_path / "srevde"
    first = _import_process(tmp_path, "customers", "customer_id,name\nc1,Ann\n", subprocess.PIPE, typo)
    assert first.returncode == 0 and json.loads(first.stdout)["loaded"] == 1
    assert first.stderr == new_store("customers", typo) + "\n"
    store = SQLiteStore(typo / "slotwise.db")
    assert sync(store.get_profile("customer:c1")) is not None  # imported all the same, where it said
    sync(store.close())
    for data in (typo, served):  # a directory holding a store: nothing to say
        again = _import_process(tmp_path, "customers", "customer_id,name\nc1,Ann\n", subprocess.PIPE, data)
        assert again.returncode == 0 and again.stderr == ""


def test_an_import_into_a_data_path_that_is_a_file_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """--data naming a file: one clear line, status 2, the file untouched and nothing written beside it."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a directory")
    done = _import_process(tmp_path, "customers", "customer_id\nc1\n", subprocess.PIPE, notes)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"slotwise import: SLOTWISE_DATA / --data: {str(notes)!r} is not a directory: give the "
                           "directory that holds (or will hold) the embedded store and the signing key\n")
    assert notes.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "notes.txt"]


IMPORTS = {"purchases": "order_id,customer_id,ts,product,category,size,qty,price\n"
                        + "".join(f"o{i},c{i % 7},2024-03-01,p{i % 3},Shoes,42,1,10\n" for i in range(200)),
           "inventory": "store,product,size,quantity\n" + "".join(f"s1,p{i},42,{i % 5}\n" for i in range(200))}


@pytest.mark.parametrize("kind", sorted(IMPORTS))
def test_the_progress_bar_is_drawn_on_a_terminal_only(tmp_path: Path, kind: str) -> None:
    """A nightly job's log (stderr a file or a pipe) got the bar's carriage-return frames, left behind
    since nothing there erases them; it gets only the summary line. A terminal still gets the bar."""
    for place in ("piped", "tty"):
        (tmp_path / place).mkdir()
    piped = _import_process(tmp_path / "piped", kind, IMPORTS[kind], subprocess.PIPE)
    assert piped.returncode == 0 and piped.stderr == new_store(kind, tmp_path / "piped") + "\n"
    assert json.loads(piped.stdout)["rows"] == 200  # the summary line stays

    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 0 columns: no bar to draw
    try:
        on_tty = _import_process(tmp_path / "tty", kind, IMPORTS[kind], terminal)
        drawn = b""
        while select.select([main_fd], [], [], 0)[0]:  # what the process left on the terminal
            drawn += os.read(main_fd, 65536)
    finally:
        os.close(terminal)
        os.close(main_fd)
    assert on_tty.returncode == 0 and json.loads(on_tty.stdout)["rows"] == 200
    assert f"{kind}.csv:".encode() in drawn and b"\r" in drawn  # the bar, named after the file
