"""The ``slotwise`` command: one sub-command per module in ``slotwise.commands``.

Each module exposes ``register(subparsers)`` which adds its parsers and sets
``func`` (taking the parsed arguments, returning the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import os
import select
import signal
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
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader gone (``| head``) shows here, not in the interpreter's flush at exit
        return status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise  # another pipe or socket: a fault to show
        return 128 + signal.SIGPIPE  # quietly, as a shell tool killed by SIGPIPE: what was read is what was wanted


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader closed it (``slotwise report | head``); then it is
    pointed at /dev/null, so nothing more (the interpreter's last flush included) writes a traceback."""
    try:
        fd = sys.stdout.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        gone = any(events & select.POLLERR for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no real stdout (captured), or a platform without poll
        return False
    if gone:
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    return gone


if __name__ == "__main__":
    sys.exit(main())
