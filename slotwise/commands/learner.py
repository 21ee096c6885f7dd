"""``slotwise learner``: the separate learner for several proxy instances sharing Redis."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys

from slotwise.proxy.config import ConfigError, Settings
from slotwise.proxy.operations.log_retention import DEFAULT_RETENTION, LogTrimmer, parse_retention


async def _run(args: argparse.Namespace) -> int:
    from slotwise.proxy.operations.learner_process import StreamLearner
    from slotwise.store import open_store

    settings = Settings.from_env(store=args.store)
    if not settings.store.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("--store (or SLOTWISE_STORE) must be a redis:// URL: the embedded store learns in-process")
    store = open_store(settings.store, settings.data)
    slots = None
    holder = None
    rules_path = args.rules or settings.rules
    if rules_path:
        from slotwise.proxy.personalization.choices import slot_configs
        from slotwise.proxy.operations.rules_watch import RulesHolder
        from slotwise.rules import load_rules

        holder = RulesHolder(rules_path, load_rules, files_of=lambda rs: [str(f) for f in rs.files])
        if holder.reload() and holder.current is not None:
            slots = slot_configs(holder.current)
    text = args.log_retention or os.environ.get("SLOTWISE_LOG_RETENTION") or DEFAULT_RETENTION
    try:
        retention = parse_retention(text)
    except ValueError as exc:
        raise ConfigError(f"--log-retention: {exc}") from None
    learner = StreamLearner(
        store, group=args.group, consumer=args.consumer, slots=slots, snapshot_every_s=args.snapshot_every,
        trimmer=LogTrimmer(store, retention, every_s=args.trim_every),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if holder is not None:
        async def watch_rules() -> None:
            version = holder.status.version
            while not stop.is_set():
                await asyncio.sleep(1.0)
                if holder.changed():
                    holder.reload()
                if holder.status.version != version and holder.current is not None:
                    version = holder.status.version
                    learner.configure(slot_configs(holder.current))

        loop.create_task(watch_rules())
    print(f"slotwise learner: consuming {settings.store} as {args.group}/{args.consumer}", file=sys.stderr, flush=True)
    try:
        await learner.run(stop)
    finally:
        await store.close()
    return 0


def run_learner(args: argparse.Namespace) -> int:
    from slotwise.logsetup import configure_logging

    configure_logging(os.environ.get("SLOTWISE_LOG_LEVEL", "info"))
    try:
        return asyncio.run(_run(args))
    except ConfigError as exc:
        print(f"slotwise learner: {exc}", file=sys.stderr)
        return 2


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "learner",
        help="consume the Redis event stream, update the bandit models and publish snapshots",
    )
    parser.add_argument("--store", default=None, help="redis://host:port/db (env SLOTWISE_STORE)")
    parser.add_argument("--rules", default=None, help="the rules file the proxies serve (optional; env SLOTWISE_RULES)")
    parser.add_argument("--group", default="learner", help="consumer group (default: learner)")
    parser.add_argument("--consumer", default=f"learner-{socket.gethostname()}", help="consumer name (stable across restarts)")
    parser.add_argument("--snapshot-every", type=float, default=1.0, help="seconds between snapshots (default 1)")
    parser.add_argument("--log-retention", default=None,
                        help="keep log entries this long for reports and replay (30d, 12h, 0 = only what the last "
                             "snapshot lacks, off = forever); never trims past the last saved snapshot "
                             f"(env SLOTWISE_LOG_RETENTION, default {DEFAULT_RETENTION})")
    parser.add_argument("--trim-every", type=float, default=60.0, help="seconds between log trims (default 60)")
    parser.set_defaults(func=run_learner)
