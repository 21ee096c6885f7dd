"""The tag goes before the page's last ``</body>``, found from the end of the page."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slotwise.proxy.personalization import inject
from slotwise.proxy.personalization.inject import inject_before_body_end

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def reference(html: bytes, snippet: bytes, not_before: int) -> bytes:
    """The definition: the last ``</body>`` (all of them scanned), else the first ``</head>``, else the end."""
    last = None
    for last in _BODY_END.finditer(html):
        pass
    if last is not None and last.start() >= not_before:
        return html[: last.start()] + snippet + html[last.start():]
    head = _HEAD_END.search(html) if last is None else None
    if head is not None and head.start() >= not_before:
        return html[: head.start()] + snippet + html[head.start():]
    return html + snippet


PIECES = [b"</body>", b"</BODY >", b"</Body\n\n>", b"</body", b"</bod", b"y>", b">", b" ", b"\t", b"</head>",
          b"<body>", b"<p>x</p>", b"</", b"body", b"x" * 7]


@given(pieces=st.lists(st.sampled_from(PIECES), max_size=30), not_before=st.integers(0, 60))
def test_the_tag_goes_where_the_definition_says(pieces: list[bytes], not_before: int) -> None:
    html = b"".join(pieces)
    assert inject_before_body_end(html, b"<S>", not_before=not_before) == reference(html, b"<S>", not_before)


@pytest.mark.parametrize("tail", [0, 1, 5, 9, 16])
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=30))
def test_the_backwards_search_finds_the_last_body_end(tail: int, pieces: list[bytes]) -> None:
    # a small tail puts every </body> on, before and across the boundary of the backwards search
    html = b"".join(pieces)
    found = inject.last_body_end(html, tail)
    expected = None
    for expected in _BODY_END.finditer(html):
        pass
    assert (found and found.span()) == (expected and expected.span())


def test_a_body_end_far_from_the_end_is_still_found() -> None:
    html = b"<html><body><p>x</p></body>" + b"<!-- trailing -->" * 1000 + b"</html>"
    out = inject_before_body_end(html, b"<S>")
    assert out == html.replace(b"</body>", b"<S></body>")


def test_the_kept_script_element_is_keyed_on_all_it_is_made_of() -> None:
    """The personalizer keeps the tag's script element: a different nonce, data or URL is another element."""
    from slotwise.proxy.personalization.personalize import _tag_script
    from slotwise.tag.assets import script_tag

    base = ("n1", (("pageview", "off"),), "/_sw/tag.a.js")
    variants = [base, ("n2", *base[1:]), (None, *base[1:]), (base[0], (("pageview", "off"), ("consent", "required")), base[2]),
                (*base[:2], "/_sw/tag.b.js")]
    made = [_tag_script(*v) for v in variants + variants]
    assert made == [script_tag(n, data=dict(d), src=s) for n, d, s in variants + variants]
    assert len(set(made)) == len(variants)
