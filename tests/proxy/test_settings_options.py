"""``OPTIONS`` (the flags, the environment, the help) is made from ``Settings``' fields.

When both listed every setting with its default, a setting added to one only crashed every worker at
start (``to_env`` reads each option's field) or had no flag.
"""

from __future__ import annotations

import dataclasses

from slotwise.proxy.config import OPTIONS, Settings


def test_every_option_is_a_field_with_the_same_default_and_type() -> None:
    fields = [f.name for f in dataclasses.fields(Settings) if f.name != "extra"]  # extra: what embedding code passes
    assert fields == [o.name for o in OPTIONS]  # the same settings, in the same order (the help's)
    defaults = Settings()
    for option in OPTIONS:
        assert getattr(defaults, option.name) == option.default, option.name
        assert isinstance(option.default, option.type), option.name


def test_the_environment_rebuilds_every_setting() -> None:
    changed = Settings.from_env({}, upstream="http://127.0.0.1:9", workers="3", page_client="aiohttp", access_log="1")
    assert Settings.from_env(changed.to_env()) == changed
