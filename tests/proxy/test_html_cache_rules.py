"""The rules' ``cache`` section: who is logged in (never served from the shared HTML cache) and which
page types are the same for everyone. Bad values are rejected with file, line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotwise.rules import load_rules
from slotwise.rules.cache import CacheSettings
from slotwise.rules.loader import check_rules

SLOT = """
slots:
  - id: hello
    pages: "/"
    selector: h1
    action: replace
    html: "<h1>Hi</h1>"
"""


def issues(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "rules.yaml"
    path.write_text(text + SLOT)
    ruleset, found = check_rules(path)
    assert (ruleset is None) == bool(found)
    return [f"{i.line}:{i.column}: {i.message}" for i in found]


def test_the_section_compiles(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("cache:\n  login_cookies: [sessionid, 'wp_logged_in_*']\n  same_for_everyone: [home, category]\n" + SLOT)
    cache = load_rules(path).cache
    assert cache == CacheSettings(("sessionid", "wp_logged_in_*"), frozenset({"home", "category"}))
    path.write_text("cache:\n  login_cookies: sessionid\n  same_for_everyone: other\n" + SLOT)
    assert load_rules(path).cache == CacheSettings(("sessionid",), frozenset({"other"}))
    path.write_text(SLOT)
    assert load_rules(path).cache == CacheSettings()


@pytest.mark.parametrize("text, expected", [
    ("cache:\n  same_for_everyone: [home, homepage]\n",
     "3:29: 'cache.same_for_everyone' (page types) must be one of home, category, product, other, got a string "
     "('homepage') (did you mean 'home'?)"),
    ("cache:\n  same_for_everyone: []\n",
     "3:22: 'cache.same_for_everyone' must list at least one page type (home, category, product, other)"),
    ("cache:\n  login_cookies: [\"my session\"]\n",
     "3:19: 'cache.login_cookies': 'my session' is not a cookie name"),
    ("cache:\n  login_cookies: [12]\n", "3:19: 'cache.login_cookies' must be a string, got a number"),
    ("cache:\n  login_cookie: [sid]\n", "3:3: unknown key 'login_cookie' in 'cache'"),
    ("cache: yes\n", "2:8: 'cache' must be a mapping"),
])
def test_bad_values_are_named_with_their_place(tmp_path: Path, text: str, expected: str) -> None:
    found = issues(tmp_path, "\n" + text)
    assert any(f.startswith(expected) for f in found), found


def test_only_the_main_file_may_set_it(tmp_path: Path) -> None:
    (tmp_path / "more.yaml").write_text("cache:\n  login_cookies: [sid]\nslots: []\n")
    (tmp_path / "rules.yaml").write_text("include: more.yaml\n" + SLOT)
    _, problems = check_rules(tmp_path / "rules.yaml")
    assert any(p.file.endswith("more.yaml") and "global setting" in p.message for p in problems), problems


@pytest.mark.parametrize("headers, logged_in", [
    (["sessionid=abc"], True),
    (["a=1; sessionid=abc; b=2"], True),
    (["a=1", "wp_logged_in_5f=x"], True),
    (["sessionidx=abc"], False),  # a name, not a prefix
    (["SESSIONID=abc"], False),  # cookie names are case-sensitive
    (["sw_vid=123"], False),
    ([], False),
    (["=sessionid"], False),
])
def test_login_cookies_are_matched_by_name(headers: list[str], logged_in: bool) -> None:
    assert CacheSettings(("sessionid", "wp_logged_in_*")).logged_in(headers) is logged_in


@given(st.lists(st.tuples(st.text("abcdefgh_-", min_size=1, max_size=8), st.text("xyz=;", max_size=5)), max_size=5))
def test_without_login_cookies_nobody_is_logged_in(pairs: list[tuple[str, str]]) -> None:
    header = "; ".join(f"{k}={v}" for k, v in pairs)
    assert CacheSettings().logged_in([header]) is False
    names = {k for k, _ in pairs}
    assert CacheSettings(("sessionid",)).logged_in([header]) is ("sessionid" in names)
