"""The ``slotwise`` command: one sub-command per module in ``slotwise.commands``.

Each module exposes ``register(subparsers)`` which adds its parsers and sets
``func`` (taking the parsed arguments, returning the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

COMMAND_MODULES = (
    "serve",
    "demo",
    "rules",
    "imports",
    "visitor",
    "report",
    "replay",
    "learner",
    "preview",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slotwise",
        description="Slotwise: an on-site personalization edge for online stores.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"slotwise.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"slotwise.commands.{name}":
                continue  # a command not (yet) shipped
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
