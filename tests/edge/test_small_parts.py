"""Bots, tag injection, preview tokens and rules reload: the small steps of the edge."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from slotwise.proxy.personalization.bots import is_bot
from slotwise.proxy.personalization.inject import inject_before_body_end
from slotwise.proxy.personalization.preview import PreviewLinks
from slotwise.proxy.operations.rules_watch import RulesHolder
from agents import DESKTOP_UA  # noqa: E402


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "python-httpx/0.28.1",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
        "",
        None,
    ],
)
def test_bots_are_recognised(ua: str | None) -> None:
    assert is_bot(ua)


@pytest.mark.parametrize(
    "ua",
    [
        DESKTOP_UA,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ],
)
def test_browsers_are_not_bots(ua: str) -> None:
    assert not is_bot(ua)


def test_injection_goes_before_the_last_body_end() -> None:
    html = b"<html><body><script>var s='</body>';</script><p>x</p></BODY ></html>"
    out = inject_before_body_end(html, b"<script src=t></script>")
    assert out == b"<html><body><script>var s='</body>';</script><p>x</p><script src=t></script></BODY ></html>"


def test_injection_without_body_falls_back() -> None:
    assert inject_before_body_end(b"<head></head>x", b"S") == b"<head>S</head>x"
    assert inject_before_body_end(b"<p>fragment", b"S") == b"<p>fragmentS"


def test_preview_tokens_are_signed() -> None:
    links = PreviewLinks(b"k")
    token = links.token({"home": "b"})
    assert links.read(token) == {"home": "b"}
    assert links.read(token[:-2] + "xx") is None
    assert links.read(PreviewLinks(b"other").token({"home": "b"})) is None
    assert links.is_off(links.read(links.token({"*": "off"})) or {})
    assert links.read(None) is None and links.read("x" * 5000) is None


def _load(path: Path) -> dict[str, str]:
    text = path.read_text()
    if "broken" in text:
        raise ValueError(f"{path}:1:1: broken rules")
    return {"text": text}


def test_rules_reload_keeps_last_good_and_reports_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("good one")
    holder = RulesHolder(str(rules), _load)
    assert holder.reload() and holder.current == {"text": "good one"}
    assert not holder.changed()

    rules.write_text("broken now")
    os.utime(rules, (time.time() + 5, time.time() + 5))
    assert holder.changed()
    assert not holder.reload()
    assert holder.current == {"text": "good one"}
    assert holder.status.error and "broken rules" in holder.status.error
    assert not holder.changed()  # the broken version is not retried until it changes again

    rules.write_text("good two")
    os.utime(rules, (time.time() + 10, time.time() + 10))
    assert holder.changed() and holder.reload()
    assert holder.current == {"text": "good two"} and holder.status.error is None
    assert holder.status.version == 2


@pytest.mark.parametrize("announce", [True, False])
def test_a_silent_rules_holder_loads_and_rejects_without_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                                      announce: bool) -> None:
    """``serve``'s own process reads the rules only to see whether they name a river model: the workers
    already log each load and rejection, and a second copy of each line would only confuse."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("good one")
    holder = RulesHolder(str(rules), _load, announce=announce)
    with caplog.at_level("INFO", logger="slotwise.rules"):
        assert holder.reload()
        rules.write_text("broken now")
        assert not holder.reload() and holder.status.error  # the status still says what is wrong
    logged = [r.getMessage() for r in caplog.records if r.name == "slotwise.rules"]
    assert (len(logged) == 2) if announce else (logged == [])


def test_rules_rejected_at_start_say_that_nothing_serves(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A typo'd --rules path or a broken file at start: no "last good rules" exist to keep serving."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("broken from the start")
    holder = RulesHolder(str(rules), _load)
    with caplog.at_level("INFO", logger="slotwise.rules"):
        assert not holder.reload() and holder.current is None
        rules.write_text("good one")
        os.utime(rules, (time.time() + 5, time.time() + 5))
        assert holder.reload()
        rules.write_text("broken now")
        os.utime(rules, (time.time() + 10, time.time() + 10))
        assert not holder.reload()
    first, _, later = [r.getMessage() for r in caplog.records if r.name == "slotwise.rules"]
    assert "no rules serve (pages pass through unchanged) until it is fixed" in first
    assert "last good" not in first
    assert "the last good rules keep serving" in later
