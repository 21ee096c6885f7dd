"""A ``request`` source's regex as the tag's JavaScript ``RegExp`` (tag-only mode), or a warning naming why not.

The tag matches the page's own requests in the browser with ``new RegExp(path, flags)``: what has a
JavaScript equivalent is translated (``slotwise.rules.js_regex``); a regex with a construct that has
none is not sent to the tag, and ``slotwise rules check`` warns at the construct's line:column (the
check cannot know whether serve will run ``--tag-only``: it warns of every such source). A lookbehind
is sent as it is, with a warning too: Safari before 16.4 cannot compile it (there the tag skips the
source). Chromium reads each translation as Python reads the regex, with the very ``RegExp`` call
tag.js makes.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from browser_fixtures import browser_fixture  # noqa: F401 (the fixture browser)

from slotwise.cli import main
from slotwise.rules.js_regex import JsRegex, NotJs, js_regex
from slotwise.rules.tag_config import tag_config
from slotwise.rules.testing import rules_from_text
from slotwise.tag import assets

TRANSLATED = {
    "(?i)^/cart/add": ("^/cart/add", "i"),
    r"\A/cart/(?P<what>add|change)\Z": ("^/cart/(?<what>add|change)$", ""),
    r"/(?P<x>\w+)/(?P=x)$": (r"/(?<x>\w+)/\k<x>$", ""),
    r"(?ms)\A/a.b\Z": (r"(?<![\s\S])/a.b(?![\s\S])", "ms"),  # with m, ^ and $ are a line's: \A is no ^
    r"(?a)/p/\w+": (r"/p/\w+", ""),  # a browser's pathname is percent-encoded ASCII
    r"(?u)/p/\d": (r"/p/\d", ""),
    r"/p/\d{,3}$": (r"/p/\d{0,3}$", ""),  # JavaScript reads {,3} as four characters
    "/a{,}b{}": ("/a{0,}b{}", ""),
    "[]x]": (r"[\]x]", ""),  # Python: ] first is a character; JavaScript: [] matches nothing
    "[^]x]+": (r"[^\]x]+", ""),  # JavaScript: [^] matches anything
    "/a(?#a comment)b": ("/ab", ""),
    r"/(?:a|b)+?(?=/)(?<=/a)(?<!c)(?!d)\0": (r"/(?:a|b)+?(?=/)(?<=/a)(?<!c)(?!d)\0", ""),
    r"(a)\1[(?P<]": (r"(a)\1[(?P<]", ""),  # no group inside a class
    "(?i)/x(?<!/api)/cart": ("/x(?<!/api)/cart", "i"),
}

NOT_JS = {
    "/cart/(?>add|change)": ("(?>", "an atomic group", 6),
    "/cart/a*+": ("*+", "a possessive quantifier", 7),
    "/p/[0-9]{2}+": ("{2}+", "a possessive quantifier", 8),
    "/(?i:cart)/add": ("(?i:", "an inline flag group", 1),
    "/(?-i:cart)": ("(?-i:", "an inline flag group", 1),
    "(?x) /cart /add": ("(?x)", "the verbose flag", 0),
    "(?ix)/cart": ("(?ix)", "the verbose flag", 0),
    r"/\N{DIGIT ONE}": (r"\N", "a named Unicode escape", 1),
    r"/\U0001F600": (r"\U", "an 8-digit Unicode escape", 1),
    r"/\a": (r"\a", "the bell escape", 1),
    r"/\012": (r"\012", "an octal escape or a back-reference past \\9", 1),
    r"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\10": (r"\10", "an octal escape or a back-reference past \\9", 30),
    r"(a)(?(1)b|c)": ("(?(", "a conditional group", 3),
}


LOOKBEHIND = {  # translated as they are, and named: Safari before 16.4 cannot compile them
    r"(?ms)\A/a.b\Z": ("\\A", "\\A with the m flag (a lookbehind in JavaScript)", 5),
    r"/(?:a|b)+?(?=/)(?<=/a)(?<!c)(?!d)\0": ("(?<=", "a lookbehind", 15),
    "(?i)/x(?<!/api)/cart": ("(?<!", "a negative lookbehind", 6),
}


@pytest.mark.parametrize("pattern", list(TRANSLATED), ids=[f"translated-{i}" for i in range(len(TRANSLATED))])
def test_what_javascript_has_is_translated(pattern: str) -> None:
    js = js_regex(pattern)
    assert isinstance(js, JsRegex) and (js.source, js.flags) == TRANSLATED[pattern]
    assert (js.safari is None) == (pattern not in LOOKBEHIND)


@pytest.mark.parametrize("pattern", list(LOOKBEHIND), ids=[f"lookbehind-{i}" for i in range(len(LOOKBEHIND))])
def test_a_lookbehind_is_named_with_its_place_for_safari_before_16_4(pattern: str) -> None:
    js = js_regex(pattern)
    assert isinstance(js, JsRegex) and js.safari is not None
    assert (js.safari.construct, js.safari.what, js.safari.offset) == LOOKBEHIND[pattern] and js.safari.hint
    assert pattern[js.safari.offset:].startswith(js.safari.construct)


@pytest.mark.parametrize("pattern", list(NOT_JS), ids=[f"not-js-{i}" for i in range(len(NOT_JS))])
def test_what_javascript_has_not_is_named_with_its_place(pattern: str) -> None:
    found = js_regex(pattern)
    assert isinstance(found, NotJs) and (found.construct, found.what, found.offset) == NOT_JS[pattern]
    assert pattern[found.offset:].startswith(found.construct) and found.hint


PATHS = ["/cart/add", "/CART/ADD", "/cart/change", "/x/ab/ab", "/ab/ab", "/a\nb", "/p/12", "/p/1234", "/p/x", "]", "x",
         "^", "/ab", "/aab", "/a{}", "/ab{}", "/aaab{}", "/b/a", "/a/", "/a\x00", "aa", "a(?P<"]
TAG_REGEXP = "new RegExp(r.path, r.flags).test(url.pathname)"
"""How tag.js matches a page's request with a source (``requests``)."""


@pytest.mark.browser
def test_chromium_matches_each_translation_as_python_matches_the_regex(browser: Any) -> None:
    assert TAG_REGEXP in (Path(assets.__file__).parent / "tag.js").read_text(encoding="utf-8")  # in its @requests region
    page = browser.new_page()
    try:
        sources = [[js.source, js.flags] for js in map(js_regex, TRANSLATED) if isinstance(js, JsRegex)]
        found = page.evaluate("([sources, paths]) => sources.map(([path, flags]) => paths.map("
                              "p => new RegExp(path, flags).test(p)))", [sources, PATHS])
    finally:
        page.close()
    expected = [[re.search(pattern, path) is not None for path in PATHS] for pattern in TRANSLATED]
    assert dict(zip(TRANSLATED, found)) == dict(zip(TRANSLATED, expected)), json.dumps(PATHS)


RULES = r"""capture:
  events:
    - id: add
      event: add_to_cart
      request: {method: POST, regex: "^/cart/(?>add|change)"}
      fields: {product: form.id}
    - id: add-any-case
      event: add_to_cart
      request:
        method: POST
        regex: '(?i)\A/cart/add\.js\Z'
      fields: {product: form.id}
    - id: change
      event: add_to_cart
      request: {method: POST, regex: '(?<!/api)/cart/change'}
      fields: {product: form.id}
    - id: note
      event: add_to_cart
      request:
        regex: >-
          ^/cart/note/
          (?P<id>\d+)/\N{DIGIT ONE}
      fields: {product: params.id}
slots: []
"""


def place(text: str, construct: str) -> str:
    """``line:column`` of ``construct`` in the file's text."""
    before = text[:text.index(construct)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def test_rules_check_warns_of_each_source_the_tag_cannot_observe_at_the_construct(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml")]) == 0  # a warning: the rules are valid
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if "WARNING" in line]
    assert warnings == [
        f"{tmp_path / 'rules.yaml'}:{place(RULES, '(?>')}: WARNING: request source 'add': in tag-only mode the tag "
        "cannot observe its requests: its regex has an atomic group, (?>, which JavaScript's RegExp has not (judged "
        "without a JavaScript engine, conservatively); write a plain group (?:...): it matches the same paths unless "
        "it backtracks into it. Behind the proxy it is read as ever",
        f"{tmp_path / 'rules.yaml'}:{place(RULES, '(?<!')}: WARNING: request source 'change': in tag-only mode "
        "the tag cannot observe its requests on Safari before 16.4 (macOS and iOS; other browsers do): its regex has "
        "a negative lookbehind, (?<!, which their RegExp cannot compile; write what it rules out as a class: "
        "(?<!x)/add as (?:^|[^x])/add. Behind the proxy it is read as ever",
        f"{tmp_path / 'rules.yaml'}:{place(RULES, chr(92) + 'N')}: WARNING: request source 'note': in tag-only mode "
        "the tag cannot observe its requests: its regex has a named Unicode escape, \\N, which JavaScript's RegExp "
        "has not (judged without a JavaScript engine, conservatively); write the character itself. Behind the proxy "
        "it is read as ever",
    ]


def test_the_tag_config_carries_the_translation_and_leaves_out_what_it_cannot_match(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rules = rules_from_text(tmp_path, RULES)
    with caplog.at_level(logging.WARNING, logger="slotwise.rules.tag_config"):
        config = tag_config(rules, tag_only=True)
    assert config["requests"] == [{"id": "add-any-case", "methods": ["POST"], "path": r"^/cart/add\.js$",
                                   "flags": "i", "keys": {"form": ["id"]}},
                                  {"id": "change", "methods": ["POST"], "path": "(?<!/api)/cart/change",
                                   "keys": {"form": ["id"]}}]  # a lookbehind: other browsers than old Safari observe it
    said = [r.getMessage() for r in caplog.records]
    assert [m.split("'")[1] for m in said] == ["add", "change", "note"]  # serve's log
    matched = rules.capture.requests[1].match("POST", "/CART/ADD.JS")
    assert matched == {}  # the server matches the tag's observation again: the same regex, the same case


def test_capture_md_shows_the_warning_as_rules_check_gives_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Docs are tested claims: each part of the warning docs/capture.md shows (between its elisions) is in
    the line ``rules check`` prints, and each construct it names is one the tag is not given."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "capture.md").read_text(encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml")]) == 0
    out = capsys.readouterr().out
    for source in ("add", "change"):  # a construct JavaScript has not; a lookbehind (Safari before 16.4)
        shown = re.search(rf"`rules\.yaml:\d+:\d+: (WARNING: request source '{source}'[^`]*)`", doc)
        assert shown is not None, f"docs/capture.md: the rules check warning of {source!r} is gone"
        line = next(line for line in out.splitlines() if f"request source '{source}'" in line)
        for part in re.split(r"\s*\(?…\)?\s*", " ".join(shown.group(1).split())):
            assert part in line, part
    named = {"(?>…)": "(?>a)", "*+": "a*+", "{2}+": "a{2}+", "(?i:…)": "(?i:a)", "(?x)": "(?x)a",
             "(?(1)…)": "(a)(?(1)b)", "\\N{…}": r"\N{DIGIT ONE}", "\\U…": r"\U00000041", "\\a": r"\a"}
    for written, example in named.items():
        assert f"`{written}`" in doc and isinstance(js_regex(example), NotJs), written


# -- the other regexes the tag runs: a slot key's match, the catalog's URL patterns ------------------------
KEY_RULES = r"""catalog:
  product_pages: "/p/{product}"
  category_pages: ["/c/{category:path}/", "/shop/**/x-{id:int}.html"]
slots:
  - id: size
    pages: "/p/*"
    selector: "select#size"
    action: select-option
    value: "'42'"
    key: {match: '(?i)\Asize:\s*(?P<size>\w+)\Z'}
  - id: sizes-atomic
    pages: "/p/*"
    selector: "select#size"
    action: select-option
    value: "'42'"
    key: {match: 'size: (?>\d+)'}
"""
KEY_TEXTS = ["Size: 42", "SIZE:m", "size 42", "Größe: 42", "Size: 42 EU", "size:"]
TAG_KEY_REGEXP = "new RegExp(k.match, k.flags).exec(v)"
"""How tag.js reads an item's key with a key's ``match`` (``keyOf``)."""


def _slot(tmp_path: Path, slot_id: str) -> Any:
    return next(slot for slot in rules_from_text(tmp_path, KEY_RULES).slots if slot.id == slot_id)


def test_a_keys_match_goes_to_the_tag_translated(tmp_path: Path) -> None:
    """The tag read ``(?i)``, ``\\A``, ``(?P<`` as no RegExp: every item's key was none, the option unselected."""
    key = _slot(tmp_path, "size").key
    assert key.to_json()["match"] == r"^size:\s*(?<size>\w+)$" and key.to_json()["flags"] == "i"
    assert _slot(tmp_path, "size").key_warning is None


@pytest.mark.browser
def test_chromium_reads_a_keys_match_as_python_does(tmp_path: Path, browser: Any) -> None:
    assert TAG_KEY_REGEXP in (Path(assets.__file__).parent / "tag.js").read_text(encoding="utf-8")
    key = _slot(tmp_path, "size").key
    page = browser.new_page()
    try:
        found = page.evaluate("([k, texts]) => texts.map(v => { const m = " + TAG_KEY_REGEXP
                              + "; return m ? (m[1] != null ? m[1] : m[0]) : null; })", [key.to_json(), KEY_TEXTS])
    finally:
        page.close()
    python = [(m.group(1) if m else None) for m in (re.search(key.match, text) for text in KEY_TEXTS)]
    assert found == python and python[:2] == ["42", "m"]


def test_rules_check_warns_of_a_keys_match_the_tag_cannot_run_at_the_construct(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules.yaml").write_text(KEY_RULES, encoding="utf-8")
    assert main(["rules", "check", str(tmp_path / "rules.yaml")]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if "WARNING" in line]
    assert warnings == [
        f"{tmp_path / 'rules.yaml'}:{place(KEY_RULES, '(?>')}: WARNING: slot 'sizes-atomic': in tag-only mode the tag "
        "cannot read its items' keys: its key's match has an atomic group, (?>, which JavaScript's RegExp has not "
        "(judged without a JavaScript engine, conservatively); write a plain group (?:...): it matches the same paths "
        "unless it backtracks into it. Behind the proxy it is read as ever"]
    assert _slot(tmp_path, "sizes-atomic").key.to_json()["match"] == r"size: (?>\d+)"  # as written: the tag's try/catch


def test_the_catalogs_url_patterns_go_to_the_tag_through_the_same_translation(tmp_path: Path) -> None:
    """A path pattern's JavaScript is ``js_regex``'s of its Python regex (one translation for every regex the
    tag runs); a path pattern writes nothing JavaScript lacks, every literal escaped."""
    rules = rules_from_text(tmp_path, KEY_RULES)
    sent = tag_config(rules)["patterns"]
    for kind, compiled in (("product", rules.catalog.patterns.product), ("category", rules.catalog.patterns.category)):
        assert sent[kind] == [getattr(js_regex(p.pattern), "source", None) for p in compiled]
    assert sent["category"] == [r"\/c\/(?<category>.+)\/", r"\/shop\/(?:.*/)?x\-(?<id>[0-9]+)\.html"]
