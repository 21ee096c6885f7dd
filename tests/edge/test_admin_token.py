"""A short admin token is refused at start, naming the setting and how to make a good one.

Ten guesses per client per 30 s (``admin_throttle``) bound one client, not an attacker with many
addresses: a 4-character token was accepted and would fall to them. No token still means no admin page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slotwise.proxy.config import MIN_ADMIN_TOKEN, ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("token", ["abcd", "x" * (MIN_ADMIN_TOKEN - 1)])
def test_a_short_admin_token_is_a_config_error_saying_how_to_make_one(tmp_path: Path, token: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({}, admin_token=token, data=str(tmp_path))
    said = str(caught.value)
    assert said.startswith("SLOTWISE_ADMIN_TOKEN / --admin-token: ") and f"at least {MIN_ADMIN_TOKEN}" in said
    assert "openssl rand -hex 16" in said and token not in said  # not even a short token is echoed


def test_no_token_disables_the_admin_page_and_a_long_one_is_taken(tmp_path: Path) -> None:
    assert Settings.from_env({}, data=str(tmp_path)).admin_token == ""
    good = "k" * MIN_ADMIN_TOKEN
    assert Settings.from_env({"SLOTWISE_ADMIN_TOKEN": good}, data=str(tmp_path)).admin_token == good


def test_a_token_with_white_space_around_it_is_refused(tmp_path: Path) -> None:
    """The sign-in form strips what is pasted: such a token could never sign anyone in."""
    with pytest.raises(ConfigError, match="starts or ends with white space"):
        Settings.from_env({}, admin_token="0123456789abcdef0123\n", data=str(tmp_path))


def test_serve_refuses_to_start_with_a_short_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTWISE_")}
    done = subprocess.run(
        [sys.executable, "-m", "slotwise.cli", "serve", "--upstream", "http://127.0.0.1:9", "--port", "1",
         "--data", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env={**env, "SLOTWISE_ADMIN_TOKEN": "1234"},
    )
    assert done.returncode == 2, done.stderr
    assert "slotwise serve: SLOTWISE_ADMIN_TOKEN / --admin-token: 4 characters is too short" in done.stderr
