"""``slotwise preview`` checks names against the rules and signs with the running server's key, or asks it.

A real proxy (uvicorn thread, SQLite under its own data directory) in front of a tiny origin; the CLI is
run in-process (``slotwise.cli.main``) from another working directory, as a person would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from slotwise.cli import main
from slotwise.proxy.app import create_app
from slotwise.proxy.config import Settings
from slotwise.proxy.personalization.personalize import SlotwisePersonalizer
from agents import DESKTOP_UA  # noqa: E402

TOKEN = "tok-preview-admin-789"
UA = {"user-agent": DESKTOP_UA}
RULES = """
slots:
  - id: home-categories
    pages: "/"
    selector: ".cats"
    action: replace
    variants:
      - {id: alpha, html: "<ul class=cats>ALPHA</ul>"}
      - {id: recent, html: "<ul class=cats>RECENT</ul>"}
"""


@pytest.fixture
def server(asgi_server: Any, tmp_path: Path) -> Any:
    origin = asgi_server(Starlette(routes=[
        Route("/", lambda r: HTMLResponse("<body><ul class=cats>x</ul></body>")),
        Route("/start", lambda r: RedirectResponse("/", status_code=302)),  # a store's home that redirects
    ]))
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    data = tmp_path / "server-data"
    # a budget a loaded CI machine cannot run past: this file tests the link, not the budget (whose
    # preview-bar message test_admin_pages covers)
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(data), admin_token=TOKEN,
                        personalize_budget_ms=5000.0)
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    proxy.rules, proxy.data = rules, data
    return proxy


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another working directory, with none of the server's settings in the environment."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name in ("SLOTWISE_DATA", "SLOTWISE_SECRET", "SLOTWISE_RULES", "SLOTWISE_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return cwd


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["preview", *args])
    out, err = capsys.readouterr()
    return status, out.strip(), err.strip()


def test_from_another_directory_it_never_makes_a_key(server: Any, elsewhere: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, server.url + "/", "--force", "home-categories=recent", "--rules", str(server.rules))
    assert status == 2 and out == ""
    assert "no signing key: .slotwise/secret does not exist" in err and "--admin-token" in err
    assert not (elsewhere / ".slotwise").exists()


def test_unknown_names_are_refused_with_the_known_ones(server: Any, elsewhere: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    base = [server.url + "/", "--rules", str(server.rules), "--data", str(server.data)]
    status, _, err = run(capsys, *base, "--force", "home-categorie=recent")
    assert status == 2
    assert err == ("slotwise preview: unknown slot 'home-categorie' (did you mean 'home-categories'?); "
                   f"the rules have: home-categories (in {server.rules})")
    status, _, err = run(capsys, *base, "--force", "home-categories=recnt")
    assert status == 2 and "slot 'home-categories' has no variant 'recnt' (did you mean 'recent'?); " \
                           "its variants: alpha, recent" in err
    status, _, err = run(capsys, server.url + "/", "--data", str(server.data), "--force", "home-categories=recent")
    assert status == 2 and "give --rules FILE" in err


def test_signed_with_the_servers_key_the_link_forces_the_variant(server: Any, elsewhere: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    status, link, err = run(capsys, server.url + "/", "--rules", str(server.rules), "--data", str(server.data),
                            "--force", "home-categories=recent")
    assert status == 0, err
    page = httpx.get(link, headers=UA, timeout=20)
    assert page.headers["x-slotwise-preview"] == "on" and "RECENT" in page.text


def test_a_link_to_a_page_that_redirects_is_taken(server: Any, elsewhere: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Many stores' home redirects (a locale, a catalogue): the server takes the link on the redirect itself,
    and the preview follows the visitor to the page it leads to."""
    status, link, err = run(capsys, server.url + "/start", "--rules", str(server.rules), "--data", str(server.data),
                            "--force", "home-categories=recent")
    assert status == 0 and err == ""
    with httpx.Client(headers=UA, timeout=20) as browser:
        first = browser.get(link)
        assert first.status_code == 302 and first.headers["x-slotwise-preview"] == "on"
        page = browser.get(server.url + first.headers["location"])
    assert page.headers["x-slotwise-preview"] == "on" and "RECENT" in page.text
    assert "x-slotwise-preview" not in httpx.get(server.url + "/", headers=UA, timeout=20).headers


def test_a_key_the_server_does_not_have_is_caught(server: Any, elsewhere: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, server.url + "/", "--rules", str(server.rules), "--secret", "not-the-servers",
                           "--force", "home-categories=recent")
    assert status == 2 and out == ""
    assert "the server at this URL ignored the link: it signs with another key" in err


def test_the_running_server_checks_and_signs_with_the_admin_token(server: Any, elsewhere: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, link, err = run(capsys, server.url + "/", "--admin-token", TOKEN, "--force", "home-categories=alpha")
    assert status == 0, err
    assert "ALPHA" in httpx.get(link, headers=UA, timeout=20).text
    status, _, err = run(capsys, server.url + "/", "--admin-token", TOKEN, "--force", "home-categorie=alpha")
    assert status == 2 and "did you mean 'home-categories'?" in err
    status, _, err = run(capsys, server.url + "/", "--admin-token", "wrong", "--off")
    assert status == 2 and "refused the admin token" in err
    status, _, err = run(capsys, "http://127.0.0.1:9/", "--admin-token", TOKEN, "--off")
    assert status == 2 and "cannot reach the server at http://127.0.0.1:9" in err


@pytest.mark.parametrize("ask", [["--off"], []], ids=["off", "as-the-rules-decide"])
def test_a_link_that_forces_nothing_needs_no_rules(server: Any, elsewhere: Path, capsys: pytest.CaptureFixture[str],
                                                    ask: list[str]) -> None:
    """admin.md: only slot and variant names are checked against --rules; --off and the page as the rules
    decide name none, so the server's --data is enough (it once asked for --rules all the same)."""
    status, link, err = run(capsys, server.url + "/", "--data", str(server.data), *ask)
    assert status == 0 and err == "", err
    page = httpx.get(link, headers=UA, timeout=20)
    assert page.headers["x-slotwise-preview"] == "on"
    if ask == ["--off"]:
        assert "RECENT" not in page.text and "ALPHA" not in page.text


TARGETED = """
slots:
  - id: mobile-welcome
    pages: "/"
    selector: ".cats"
    action: replace
    when: visitor.is_returning and request.device == 'mobile'
    variants:
      - {id: welcome-back, html: "<ul class=cats>WELCOME BACK</ul>"}
      - {id: plain, control: true}
"""
NOTE = ("slotwise preview: note: slot 'mobile-welcome' has when: visitor.is_returning and request.device == 'mobile'; "
        "a forced variant still shows only where its 'when' holds, so open this link as such a visitor would "
        "(on their device, after their visits)")


def test_a_forced_slot_with_a_when_is_noted_both_ways(asgi_server: Any, tmp_path: Path, elsewhere: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Found on the demo: a banner for returning mobile visitors, forced from a desktop, showed nothing and the
    link's maker had no word of why. The note goes to stderr; the link alone to stdout, for scripts."""
    origin = asgi_server(Starlette(routes=[Route("/", lambda r: HTMLResponse("<body><ul class=cats>x</ul></body>"))]))
    rules = tmp_path / "targeted.yaml"
    rules.write_text(TARGETED)
    settings = Settings(upstream=origin.url, rules=str(rules), data=str(tmp_path / "targeted-data"),
                        admin_token=TOKEN, personalize_budget_ms=5000.0)
    proxy = asgi_server(create_app(settings, SlotwisePersonalizer(settings)))
    httpx.get(proxy.url + "/", headers=UA, timeout=20)  # the server has made its key
    for how in (["--admin-token", TOKEN], ["--rules", str(rules), "--data", str(tmp_path / "targeted-data")]):
        status, link, err = run(capsys, proxy.url + "/", *how, "--force", "mobile-welcome=welcome-back")
        assert status == 0 and link.startswith(proxy.url + "/?sw_preview="), (how, err)
        assert err == NOTE, how
        page = httpx.get(link, headers=UA, timeout=20).text
        assert "WELCOME BACK" not in page  # a first visit on a desktop: as the note says
    status, link, err = run(capsys, proxy.url + "/", "--admin-token", TOKEN, "--off")
    assert status == 0 and err == ""  # nothing forced: nothing to note
