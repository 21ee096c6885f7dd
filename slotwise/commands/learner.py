"""``slotwise learner``: the separate learner for several proxy instances sharing Redis.

With the embedded SQLite store it is the dedicated learner ``slotwise serve``
starts beside its workers (``learner_supervisor``): it takes the learner lock
from whichever worker holds it (``learner_lock``) and learns, so the workers
hold no pending decision.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from typing import Any, Callable

from slotwise.proxy.config import ConfigError, Settings
from slotwise.proxy.operations.log_retention import DEFAULT_RETENTION, LogTrimmer, parse_retention

# what a rejected rules file means for this learner, logged with it (``RulesHolder.meaning``): after good
# rules, or with none loaded yet (Redis: the stream learner; SQLite: the one ``slotwise serve`` starts)
KEPT = "the learner keeps learning the slots of the last good rules"
MEANING_STREAM = (KEPT, "until it is fixed the learner learns every slot its decisions name, as without --rules")
MEANING_EMBEDDED = (KEPT, "until it is fixed the learner keeps the slots it has learned and learns them on")


async def _run(args: argparse.Namespace) -> int:
    from slotwise.proxy.operations.learner_process import StreamLearner
    from slotwise.store import open_store

    settings = Settings.from_env(store=args.store, data=args.data, learner_max_pending=args.learner_max_pending)
    embedded = not settings.store.startswith(("redis://", "rediss://", "unix://"))
    holder, slots = _rules(args.rules or settings.rules, MEANING_EMBEDDED if embedded else MEANING_STREAM)
    if embedded:
        return await _run_embedded(settings, holder, slots, exit_with_parent=args.exit_with_parent)
    store = open_store(settings.store, settings.data)
    text = args.log_retention or os.environ.get("SLOTWISE_LOG_RETENTION") or DEFAULT_RETENTION
    try:
        retention = parse_retention(text)
    except ValueError as exc:
        raise ConfigError(f"--log-retention: {exc}") from None
    learner = StreamLearner(
        store, group=args.group, consumer=args.consumer, slots=slots, snapshot_every_s=args.snapshot_every,
        trimmer=LogTrimmer(store, retention, every_s=args.trim_every), max_pending=settings.learner_max_pending,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if holder is not None:
        loop.create_task(_watch_rules(holder, stop, learner.configure))
    print(f"slotwise learner: consuming {settings.store} as {args.group}/{args.consumer}", file=sys.stderr, flush=True)
    try:
        await learner.run(stop)
    finally:
        await store.close()
    return 0


def _rules(path: str, meaning: tuple[str, str]) -> tuple[Any, dict[str, Any] | None]:
    """The rules holder (None without a rules file) and the slots the rules define now (None: not loaded)."""
    if not path:
        return None, None
    from slotwise.proxy.operations.rules_watch import ruleset_holder
    from slotwise.proxy.personalization.choices import slot_configs

    holder = ruleset_holder(path, meaning=meaning, secrets=False)  # it learns; the workers check signatures
    if holder.reload() and holder.current is not None:
        return holder, slot_configs(holder.current)
    return holder, None


async def _watch_rules(holder: Any, stop: asyncio.Event, configure: Callable[[Any], None]) -> None:
    """New rules on disk: the learner configures their slots (arms that stay keep their statistics)."""
    from slotwise.proxy.personalization.choices import slot_configs

    version = holder.status.version
    while not stop.is_set():
        await asyncio.sleep(1.0)
        if holder.changed():
            holder.reload()
        if holder.status.version != version and holder.current is not None:
            version = holder.status.version
            configure(slot_configs(holder.current))


async def _run_embedded(settings: Settings, holder: Any, slots: dict[str, Any] | None, *,
                        exit_with_parent: bool) -> int:
    """The SQLite store's dedicated learner: want the lock, learn once it is ours, until SIGTERM. ``slots``
    None: the rules did not load; the models keep theirs until they do (``LearningLoop.start``)."""
    from slotwise.proxy.operations.learning import LearningLoop
    from slotwise.store import open_store

    if holder is None:
        raise ConfigError("--rules (or SLOTWISE_RULES) is required with the embedded store: the slots to learn")
    store = open_store(settings.store, settings.data)
    # the workers see a new model within poll_s + publish_every_s + their own 0.5 s poll: ~1.25 s at worst,
    # no later than the Redis layout (a learner snapshot a second, instances polling every 0.5 s)
    learning = LearningLoop(store, dedicated=True, poll_s=0.25, publish_every_s=0.5,
                            max_pending=settings.learner_max_pending)
    if learning.lock is None:
        await store.close()
        raise ConfigError(f"cannot create the learner lock beside the store in {settings.data}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()
    if exit_with_parent:  # started by ``slotwise serve``: never outlive it, even if it is killed
        async def watch_parent() -> None:
            while os.getppid() == parent:
                await asyncio.sleep(1.0)
            stop.set()

        loop.create_task(watch_parent())
    lock = learning.lock
    lock.want()  # a worker holding the lock hands over at its next step
    try:
        while not lock.try_acquire():
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
                await store.close()
                return 0
            except TimeoutError:
                pass
        await learning.start(slots)
    finally:
        lock.unwant()
    if holder is not None:
        loop.create_task(_watch_rules(holder, stop, learning.configure))
    print(f"slotwise learner: learning from {store.path} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await learning.stop(within_s=settings.worker_stop_budget)  # serve kills it --stop-timeout after the stop
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
        help="consume the Redis event stream (or the SQLite log, for serve's workers), update the bandit models "
             "and publish snapshots",
    )
    parser.add_argument("--store", default=None, help="redis://host:port/db (env SLOTWISE_STORE); empty: the SQLite "
                        "store under --data (what ``slotwise serve --workers N`` starts by itself)")
    parser.add_argument("--data", default=None, help="directory of the embedded SQLite store (env SLOTWISE_DATA)")
    parser.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rules", default=None, help="the rules file the proxies serve (optional; env SLOTWISE_RULES)")
    parser.add_argument("--group", default="learner", help="consumer group (default: learner)")
    parser.add_argument("--consumer", default=f"learner-{socket.gethostname()}", help="consumer name (stable across restarts)")
    parser.add_argument("--snapshot-every", type=float, default=1.0, help="seconds between snapshots (default 1)")
    parser.add_argument("--log-retention", default=None,
                        help="keep log entries this long for reports and replay (30d, 12h, 0 = only what the last "
                             "snapshot lacks, off = forever); never trims past the last saved snapshot "
                             f"(env SLOTWISE_LOG_RETENTION, default {DEFAULT_RETENTION})")
    parser.add_argument("--learner-max-pending", type=int, default=None,
                        help="decisions held while their reward window is open (~640 bytes each); one beyond it is "
                             "not learned from, counted as not_held (env SLOTWISE_LEARNER_MAX_PENDING, default 100000)")
    parser.add_argument("--trim-every", type=float, default=60.0, help="seconds between log trims (default 60)")
    parser.set_defaults(func=run_learner)
