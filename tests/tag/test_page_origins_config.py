"""``--page-origins`` at the start: what is refused (and why it says so), what is kept, and the snippet it needs.

The CORS rules themselves are tested over HTTP and in Chromium against a running
Slotwise (tests/tag_only/test_page_origins.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from slotwise.proxy.config import ConfigError, Settings
from slotwise.tag import assets, page_origins
from slotwise.tag.page_origins import same_site


def settings(tmp_path: Any, **values: Any) -> Settings:
    return Settings.from_mapping({"tag_only": True, "data": str(tmp_path), **values})


def test_origins_are_kept_as_the_browser_names_them(tmp_path: Any) -> None:
    given = " https://Shop.Example:443/ , https://www.shop.example,https://shop.example , http://localhost:8080"
    assert settings(tmp_path, page_origins=given).page_origin_list == (
        "https://shop.example", "https://www.shop.example", "http://localhost:8080")
    assert settings(tmp_path).page_origin_list == ()  # the default: /_sw/ routed on the pages' own origin


@pytest.mark.parametrize(("given", "says"), [
    ("*", "no wildcards"),
    ("https://*.shop.example", "no wildcards"),
    ("http://shop.example", "over https"),
    ("https://shop.example/shop", "no path"),
    ("shop.example", "is not an origin"),
    ("https://user@shop.example", "is not an origin"),
    ("https://shop.example:99999", "no valid port"),
    ("https://bücher.example", "xn--"),
], ids=["star", "star-subdomain", "http", "path", "no-scheme", "userinfo", "port", "unicode"])
def test_a_bad_origin_is_refused_saying_why(tmp_path: Any, given: str, says: str) -> None:
    with pytest.raises(ConfigError, match="--page-origins") as refused:
        settings(tmp_path, page_origins=f"https://shop.example,{given}")
    assert says in str(refused.value)


def test_an_origin_of_another_site_than_the_public_url_is_refused(tmp_path: Any) -> None:
    ok = settings(tmp_path, public_url="https://shop.example", page_origins="https://shop.example,https://www.shop.example")
    assert ok.page_origin_list == ("https://shop.example", "https://www.shop.example")
    with pytest.raises(ConfigError, match="not of the same site as --public-url https://shop.example") as refused:
        settings(tmp_path, public_url="https://shop.example", page_origins="https://shop.example,https://other.example")
    assert "first party" in str(refused.value)


def test_page_origins_are_for_tag_only(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="is for --tag-only"):
        Settings.from_mapping({"upstream": "https://shop.example", "data": str(tmp_path),
                               "page_origins": "https://shop.example"})


def test_same_site() -> None:
    assert same_site("sw.shop.example", "www.shop.example") and same_site("shop.example", "sw.shop.example")
    assert not same_site("shop.example", "shop.other") and not same_site("example", "sw.example")
    assert not same_site("127.0.0.1", "localhost") and same_site("localhost", "LOCALHOST")
    assert not same_site("127.0.0.1", "127.0.0.2") and not same_site("sw.localhost", "localhost")


@pytest.mark.parametrize(("a", "b", "same"), [
    ("sw.shop.co.uk", "www.shop.co.uk", True),
    ("shop.co.uk", "sw.shop.co.uk", True),
    ("a.co.uk", "b.co.uk", False),  # co.uk is a public suffix: two shops, two sites
    ("co.uk", "sw.co.uk", False),
    ("sw.shop.com.au", "shop.com.au", True),
    ("shop-a.github.io", "shop-b.github.io", False),  # the list's private section: each user's site its own
    ("sw.ridge.myshopify.com", "ridge.myshopify.com", True),
    ("ridge.myshopify.com", "other.myshopify.com", False),
], ids=["co-uk-subdomains", "co-uk-parent", "co-uk-two-shops", "co-uk-itself", "com-au", "github-io",
        "myshopify-subdomain", "myshopify-two-shops"])
def test_same_site_follows_the_public_suffix_list(a: str, b: str, same: bool) -> None:
    assert same_site(a, b) is same and same_site(b, a) is same


def test_a_shop_under_another_shops_public_suffix_is_refused(tmp_path: Any) -> None:
    ok = settings(tmp_path, public_url="https://shop.co.uk", page_origins="https://www.shop.co.uk")
    assert ok.page_origin_list == ("https://www.shop.co.uk",)
    with pytest.raises(ConfigError, match="https://other.co.uk is not of the same site"):
        settings(tmp_path, public_url="https://sw.shop.co.uk", page_origins="https://other.co.uk")
    with pytest.raises(ConfigError, match="https://other.github.io is not of the same site"):
        settings(tmp_path, public_url="https://shop.github.io", page_origins="https://other.github.io")


def test_the_snippet_sends_the_cookie_to_an_endpoint_on_another_origin() -> None:
    assert "credentials:'include'" in assets.embed_snippet("https://sw.shop.example/_sw")
    assert "credentials:'same-origin'" in assets.embed_snippet()  # a path: as it always was


def test_tag_md_says_what_the_endpoints_answer() -> None:
    """docs/tag.md's table of the CORS answers is the code's (a tested claim)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "tag.md").read_text()
    section = doc[doc.index("### The endpoint on a subdomain"):doc.index("### Configuration (data attributes")]
    for path in sorted(page_origins.TAG_PATHS):
        assert f"`{path}`" in section
    for said in (page_origins.ALLOW_METHODS, page_origins.ALLOW_HEADERS, page_origins.EXPOSE_HEADERS):
        assert said.decode() in section
    assert f"Access-Control-Max-Age: {page_origins.MAX_AGE.decode()}" in section
