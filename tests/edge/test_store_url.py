"""A wrong ``--store`` Redis URL stops ``slotwise serve`` and ``slotwise learner`` at once, naming what is wrong.

It used to pass the check (only the scheme was looked at): with a port that is no number every
worker died at start and was started again for ever; with a misspelt parameter (``anon_tl``) or a
bad value the instance served pages unpersonalized, saying ``personalizer_failed`` until restarted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from slotwise.proxy.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("url", "says"), [
    ("redis://127.0.0.1:notaport/0", "Port could not be cast to integer value as 'notaport'"),
    ("redis://127.0.0.1:6379/0?anon_tl=30d", "unknown parameter 'anon_tl' (Slotwise's: anon_ttl,"),
    ("redis://127.0.0.1:6379/0?anon_ttl=30x", "anon_ttl='30x': not a duration"),
    ("redis://127.0.0.1:6379/0?timeout=abc", "timeout='abc'"),
    ("rediss://127.0.0.1:6379/0?ssl_cert_reqs=nonsense", "Invalid SSL Certificate Requirements Flag"),
])
def test_a_wrong_redis_url_is_a_config_error_naming_the_fault(tmp_path: Path, url: str, says: str) -> None:
    with pytest.raises(ConfigError, match="SLOTWISE_STORE / --store") as caught:
        Settings.from_env(store=url, data=str(tmp_path))
    assert says in str(caught.value)


@pytest.mark.parametrize("url", [
    "redis://127.0.0.1:6379/0", "redis://user:pw@127.0.0.1:6379/3?anon_ttl=30d&timeout=1&client_name=sw",
    "rediss://127.0.0.1:6380/0?ssl_cert_reqs=none", "unix:///run/redis.sock?db=1",
])
def test_good_redis_urls_pass(tmp_path: Path, url: str) -> None:
    Settings.from_env(store=url, data=str(tmp_path))


@pytest.mark.parametrize("command", [["serve", "--upstream", "http://127.0.0.1:9", "--port", "1"], ["learner"]])
def test_serve_and_learner_refuse_it_at_once_without_showing_the_password(tmp_path: Path, command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "slotwise.cli", *command, "--data", str(tmp_path),
         "--store", "redis://app:s3cret-pw@127.0.0.1:notaport/0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "SLOTWISE_STORE / --store: 'redis://app:***@127.0.0.1:notaport/0': Port could not" in done.stderr
    assert "s3cret-pw" not in done.stderr + done.stdout


@pytest.mark.parametrize("where", ["under-a-file", "a-directory", "empty"])
def test_an_sqlite_store_no_database_can_live_at_is_refused_before_the_start(tmp_path: Path, where: str) -> None:
    """``--store sqlite:notes.txt/slotwise.db`` started the server, whose every worker then failed
    (FileExistsError, then ``slotwise serve`` stopped with 1), and was a traceback in the one-shot commands:
    refused at once with status 2 and the setting's name, as ``--data`` that is a file is."""
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "codes.txt").write_text("SAVE-10-AAA\n")
    path = {"under-a-file": f"{tmp_path / 'notes.txt' / 'slotwise.db'}", "a-directory": str(tmp_path), "empty": ""}[where]
    says = {"under-a-file": f"is under {str(tmp_path / 'notes.txt')!r}, which is not a directory",
            "a-directory": f"is a directory: give the SQLite database file in it, e.g. sqlite:{tmp_path / 'slotwise.db'}",
            "empty": "names no file"}[where]
    for command in (["serve", "--upstream", "http://127.0.0.1:9", "--port", "1", "--workers", "2"],
                    ["import", "coupons", str(tmp_path / "codes.txt")]):
        done = subprocess.run(
            [sys.executable, "-m", "slotwise.cli", *command, "--data", str(tmp_path / "data"), "--store", f"sqlite:{path}"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert f"slotwise {command[0]}: SLOTWISE_STORE / --store: 'sqlite:{path}' {says}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and "could not start" not in done.stderr, done.stderr


def test_an_sqlite_store_in_a_directory_still_to_be_made_passes(tmp_path: Path) -> None:
    Settings.from_env(store=f"sqlite:{tmp_path / 'new' / 'dir' / 'slotwise.db'}", data=str(tmp_path))
    (tmp_path / "slotwise.db").write_text("")
    Settings.from_env(store=f"sqlite:{tmp_path / 'slotwise.db'}", data=str(tmp_path))


def test_serve_on_a_shared_store_without_secret_warns_that_cookies_are_this_machines(tmp_path: Path) -> None:
    """Instances on one Redis need one --secret (docs/scale-out.md); without it each signs with its own and a
    visitor the balancer moves is a new visitor, silently. Nothing listens on the Redis port: not needed."""
    from scale.scale_helpers import PYTHON, Proc, free_port

    logs = {}
    for name, extra in (("without", []), ("with", ["--secret", "one-for-all"])):
        port = free_port()
        serve = Proc(f"serve-{name}", [
            PYTHON, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--port", str(port),
            "--data", str(tmp_path / name), "--store", f"redis://127.0.0.1:{free_port()}/0", *extra,
        ], tmp_path, port)
        try:
            serve.start(wait=60)
        finally:
            serve.stop()
        logs[name] = serve.tail(10**6)
    assert "warning: no --secret (SLOTWISE_SECRET) with a shared store" in logs["without"], logs["without"]
    assert "no --secret" not in logs["with"], logs["with"]


def _store_flags(parser: argparse.ArgumentParser, *path: str) -> dict[str, str | None]:
    """The help of ``--data`` and ``--store`` of the sub-command at ``path``."""
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return {a.option_strings[0]: a.help for a in parser._actions if a.option_strings[:1] in (["--data"], ["--store"])}


def test_the_one_shot_commands_take_the_store_flags_alike() -> None:
    """import, visitor and report read ``--data``/``--store`` with one helper (commands/common.py):
    import and visitor had their own copies, worded otherwise."""
    from slotwise.cli import build_parser

    parser = build_parser()
    report = _store_flags(parser, "report")
    assert set(report) == {"--data", "--store"}
    for path in (("import", "purchases"), ("import", "customers"), ("import", "coupons"), ("import", "inventory"),
                 ("visitor", "export"), ("visitor", "erase")):
        assert _store_flags(parser, *path) == report, path
