"""``slotwise import purchases|customers|coupons|inventory FILE``: load POS/CRM exports, coupon codes
and the physical stores' stock.

Rejected rows go to stderr as ``FILE:LINE: reason``; a JSON summary goes to
stdout. Exit status: 0 all rows loaded, 1 some rows rejected (the good ones
are loaded), 2 the file could not be imported at all — for ``inventory``
any rejected row rejects the whole file (nothing is written) — and 3 the
store failed (unreachable) during the import.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from slotwise.commands.common import add_store_arguments, new_store, positive_int, run_on_store, store_from_args

if TYPE_CHECKING:
    from slotwise.rules.size_vocabulary import SizeVocabulary


async def _run(args: argparse.Namespace) -> int:
    from slotwise.tag.imports import ImportFileError, import_coupons_file, import_people_file

    sizes = _sizes(args)
    if sizes is None:
        return 2
    where = new_store(args)
    if where is not None:
        print(f"slotwise import {args.kind}: {where} holds no store yet: a new one is made there (the server "
              "reads the one its --data names)", file=sys.stderr)
    _, store = store_from_args(args)
    try:
        if args.kind == "inventory":
            from slotwise.tag.inventory_import import import_inventory_file

            report = await import_inventory_file(store, args.file, time.time(), progress=not args.quiet,
                                                 sizes=sizes)
        elif args.kind == "coupons":
            report = await import_coupons_file(store, args.file, time.time())
        else:
            report = await import_people_file(
                store, args.file, args.kind, time.time(), batch_rows=args.batch, progress=not args.quiet,
                sizes=sizes,
            )
    except ImportFileError as exc:
        print(f"slotwise import {args.kind}: {exc}", file=sys.stderr)
        return 2
    finally:
        await store.close()
    for rejected in report.rejected:
        print(f"{report.file}:{rejected.line}: {rejected.reason}", file=sys.stderr)
    if report.rejected_count > len(report.rejected):
        print(f"... and {report.rejected_count - len(report.rejected)} more rejected rows", file=sys.stderr)
    summary = report.to_dict()
    del summary["rejected"]  # already on stderr, one per line
    print(json.dumps(summary))
    if args.kind == "inventory" and report.rejected_count:
        print(f"slotwise import inventory: {report.file}: nothing imported (fix the rows above; the stock "
              "imported before stays)", file=sys.stderr)
        return 2
    return 1 if report.rejected_count else 0


RULES_KINDS = ("purchases", "inventory")
"""The imports a size enters by: they read the rules' size vocabulary (``catalog.not_sizes``, ``catalog.size_names``;
``--rules``, env ``SLOTWISE_RULES``)."""


def _sizes(args: argparse.Namespace) -> "SizeVocabulary | None":
    """The rules' size vocabulary for ``RULES_KINDS`` (``--rules``, env ``SLOTWISE_RULES``): a size one of
    ``catalog.not_sizes`` names is imported as no size, a name of one in ``catalog.size_names`` as its key.
    None (said on stderr) when the rules cannot be read."""
    from slotwise.rules.size_vocabulary import PLAIN_SIZES

    if args.kind not in RULES_KINDS:  # customers and coupons hold no size: a broken rules file is not theirs
        return PLAIN_SIZES
    rules = getattr(args, "rules", None) or os.environ.get("SLOTWISE_RULES")
    if not rules:
        return PLAIN_SIZES
    from slotwise.rules import load_rules
    from slotwise.rules.errors import RulesError

    try:
        return load_rules(rules, secrets=False).catalog.size_vocabulary
    except (RulesError, OSError) as exc:
        print(f"slotwise import {args.kind}: --rules: {exc}", file=sys.stderr)
        return None


def run_import(args: argparse.Namespace) -> int:
    return run_on_store("import", _run(args), failed=f"slotwise import {args.kind}: {args.file}",
                        after="the batches written before it stay, the rest is not imported: import the file "
                              "again once the store is back (nothing is counted twice)")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import",
        help="load purchases (POS), customers (CRM), coupon codes or stores' stock",
        description="Load a CSV export into the store. Columns: docs/imports.md.",
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    helps = {
        "purchases": "order lines: order_id, customer_id or email, ts, product, category, size, qty, price, channel, store",
        "customers": "customers: customer_id and/or email, name, subscribed, consent",
        "coupons": "coupon codes: one per line, or a CSV with a 'code' column",
        "inventory": "stock per physical store: store, product (or sku), size, quantity[, store_name];"
                     " replaces the stock of the stores the file names, all or nothing",
    }
    for kind, text in helps.items():
        p = kinds.add_parser(kind, help=text, description=text)
        p.add_argument("file", help="the CSV file (UTF-8)")
        add_store_arguments(p)
        if kind in RULES_KINDS:
            p.add_argument("--rules", default=None, help="the rules file the server runs with (env SLOTWISE_RULES): "
                           "a size its catalog.not_sizes names is imported as no size, a name of one in "
                           "catalog.size_names as that size")
        if kind != "inventory":  # one transaction, all or nothing
            p.add_argument("--batch", type=positive_int, default=20_000, help="rows per transaction (default 20000)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.set_defaults(func=run_import)
