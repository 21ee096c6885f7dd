"""``slotwise serve``: run the proxy in front of a storefront."""

from __future__ import annotations

import argparse
import sys

from slotwise.commands.ports import PortBusy, check_port_free
from slotwise.proxy.config import OPTIONS, ConfigError, Settings


def add_settings_arguments(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    """One flag per setting; unset flags fall back to ``SLOTWISE_*`` variables, then defaults."""
    for option in OPTIONS:
        if option.name in skip:
            continue
        if option.type is bool:
            parser.add_argument(option.flag, dest=option.name, action="store_const", const=True, default=None,
                                help=f"{option.help} (env {option.env}=1)")
            continue
        parser.add_argument(
            option.flag,
            dest=option.name,
            type=option.type,
            default=None,
            help=f"{option.help} (env {option.env}, default {option.default!r})",
        )


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {o.name: getattr(args, o.name, None) for o in OPTIONS}
    return Settings.from_env(**overrides)


def run_serve(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        if not settings.upstream and not settings.tag_only:
            raise ConfigError("--upstream (or SLOTWISE_UPSTREAM) is required: the URL of the storefront "
                              "(or --tag-only, to serve only the tag and its API for a store that embeds the tag)")
        check_port_free(settings.host, settings.port)  # granian would share a busy port (SO_REUSEPORT)
    except (ConfigError, PortBusy) as exc:
        print(f"slotwise serve: {exc}", file=sys.stderr)
        return 2
    if settings.store.startswith(("redis://", "rediss://", "unix://")) and not settings.secret:
        # each machine would sign cookies with a key of its own: a visitor passed to another instance is a new one
        print(f"slotwise serve: warning: no --secret (SLOTWISE_SECRET) with a shared store: cookies are signed with "
              f"{settings.data_dir / 'secret'}, this machine's own; give every instance the same --secret "
              "(docs/scale-out.md)", file=sys.stderr)
    from slotwise.proxy.operations.learner_supervisor import (LearnerSupervisor, RiverRulesWatch,
                                                              may_want_learner_process, wants_learner_process)
    from slotwise.proxy.server import run

    supervisor, watch = None, None
    if wants_learner_process(settings):  # SQLite with several workers, or river models: one learner beside them
        supervisor = LearnerSupervisor(settings)
        supervisor.start()
    elif may_want_learner_process(settings):  # one worker: until the rules name a river model, it learns itself
        supervisor = LearnerSupervisor(settings)
        watch = RiverRulesWatch(settings.rules, supervisor)
        watch.start()
    try:
        run(settings)
    finally:
        if watch is not None:
            watch.stop()
        if supervisor is not None:  # after the workers (their last decisions reach it), within its own stop timeout
            supervisor.stop(settings.stop_timeout)
    from slotwise.proxy.operations.orphans import worker_failed

    return 1 if worker_failed() else 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the proxy in front of a storefront",
        description="Run the Slotwise proxy. Without --rules it is a transparent reverse proxy.",
    )
    add_settings_arguments(parser)
    parser.set_defaults(func=run_serve)
