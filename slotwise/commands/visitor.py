"""``slotwise visitor export|erase ID``: everything held about a person, out or gone.

``ID`` is a visitor id (the cookie's), an alias (``customer:C42``,
``email:<sha256>``) or an e-mail address. Output is JSON on stdout. Exit
status: 0 done, 1 nothing held about that id (export), 2 bad options, 3 the
store failed (unreachable): nothing done.
"""

from __future__ import annotations

import argparse
import json
import sys

from slotwise.commands.common import add_store_arguments, missing_store, run_on_store, store_from_args


async def _run(args: argparse.Namespace) -> int:
    from slotwise.tag.admin import erase_person, export_person

    missing = missing_store(args)
    if missing:  # not "no data held about this id": the data may well be held, elsewhere
        print(f"slotwise visitor {args.action}: {missing}", file=sys.stderr)
        return 2
    _, store = store_from_args(args)
    try:
        if args.action == "export":
            data = await export_person(store, args.id)
            if data is None:
                print(json.dumps({"id": args.id, "error": "no data held about this id"}))
                return 1
            print(json.dumps({"id": args.id, **data}, indent=2))
        else:
            found = await erase_person(store, args.id)
            print(json.dumps({"id": args.id, "erased": found}))
        return 0
    finally:
        await store.close()


def run_visitor(args: argparse.Namespace) -> int:
    done = "erased" if args.action == "erase" else "exported"  # an erase that did not happen must not look done
    return run_on_store("visitor", _run(args), failed=f"slotwise visitor {args.action}",
                        after=f"nothing was {done}: run it again once the store is back")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("visitor", help="export or erase everything held about a person (GDPR)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    for action, text in (("export", "print everything held about the person as JSON"),
                         ("erase", "delete the profile, aliases, events, decisions, outbox messages; idempotent")):
        p = actions.add_parser(action, help=text, description=text)
        p.add_argument("id", help="visitor id, customer:ID, email:HASH or an e-mail address "
                               "(an id that starts with '-' goes after '--': slotwise visitor export -- -AbC...)")
        add_store_arguments(p)
        p.set_defaults(func=run_visitor)
