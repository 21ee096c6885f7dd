"""How much of a page still arriving may go out before the personalizer has seen it (``stream_guard``)."""

from __future__ import annotations

from slotwise.proxy.forwarding.documents import fragment_request, is_document
from slotwise.proxy.forwarding.stream_guard import StreamGuard

HEAD = (b"<!doctype html><html><head><title>Shop</title>"
        b"<script>if (a<b) document.write('<section class=\"related\">')</script>"
        b"<style>/* <div id=hero> */</style><!-- <section class=related> --></head>")
PAGE = HEAD + b'<body><header class="top">Logo</header><section class="related x">R</section></body></html>'


def fed(selectors: list[str], page: bytes, step: int) -> tuple[int, StreamGuard]:
    """The guard fed ``page`` ``step`` bytes at a time: the safe length never goes backwards."""
    guard, last = StreamGuard(selectors), 0
    for end in range(step, len(page) + step, step):
        safe = guard.advance(page[:end])
        assert last <= safe <= min(end, len(page))
        last = safe
    return last, guard


def test_stops_at_the_first_element_a_selector_could_match_whatever_the_pieces() -> None:
    at = PAGE.index(b'<section class="related x">')
    for step in (1, 7, 64, len(PAGE)):
        safe, guard = fed(["main > section.related"], PAGE, step)
        assert safe == at and guard.document  # markup inside script, style and comments is not taken for an element


def test_attribute_and_id_selectors_and_the_end_of_body() -> None:
    assert fed(["header[class]"], PAGE, 5)[0] == PAGE.index(b"<header")
    assert fed(["#hero"], PAGE, 5)[0] == PAGE.index(b"</body>")  # no element with that id: up to the tag's place
    assert fed(["*"], PAGE, 5)[0] == PAGE.index(b"<html>")  # cannot be narrowed: stop at the first element
    assert fed(["section.related > h2"], PAGE, 5)[0] == PAGE.index(b"</body>")  # the edited element is the h2


def test_a_fragment_is_not_a_document() -> None:
    safe, guard = fed(["p.price"], b'<li class="cart-line">Socks</li>', 3)
    assert not guard.document
    assert not is_document(b"") and not is_document(b"  \n") and not is_document(b"<li>Socks</li>")
    assert is_document(PAGE) and is_document(b"<BODY class=x>hi")


class _Req:
    def __init__(self, **headers: str) -> None:
        self.headers = {k.replace("_", "-"): v for k, v in headers.items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


def test_fragment_requests() -> None:
    assert fragment_request(_Req()) is None
    assert fragment_request(_Req(sec_fetch_dest="document")) is None
    assert fragment_request(_Req(x_requested_with="XMLHttpRequest")) == "x-requested-with"
    assert fragment_request(_Req(hx_request="true")) == "hx-request"
    assert fragment_request(_Req(sec_fetch_dest="empty")) == "sec-fetch-dest: empty"


def test_a_kept_stop_is_per_selector_set_and_per_head() -> None:
    """Where the scan stopped is kept for the next page with the same selectors that starts with the very
    bytes it read; a different selector set or a head differing anywhere before the stop is scanned."""
    from slotwise.proxy.forwarding import stream_guard

    stream_guard._KEPT.clear()
    first = fed(["section.related"], PAGE, 11)[0]
    assert first == PAGE.index(b'<section class="related x">')
    scanned = []
    real = StreamGuard._scan

    def counting(self: StreamGuard, buf: bytes | bytearray) -> int:
        scanned.append(len(buf))
        return real(self, buf)

    StreamGuard._scan = counting  # type: ignore[method-assign]
    try:
        other_tail = PAGE[:first] + b'<section class="related x">Other</section><p>more</p></body></html>'
        guard = StreamGuard(["section.related"])
        assert guard.advance(other_tail) == first and guard.document and not scanned  # kept: no scan
        assert guard.advance(other_tail + b"<p>") == first  # and it never goes backwards
        # another head (the comment's text differs): scanned, and its own answer
        moved = PAGE.replace(b"<!-- <section class=related> -->", b"<!-- x --><section class=related>")
        guard = StreamGuard(["section.related"])
        assert guard.advance(moved) == moved.index(b"<section class=related>") and scanned
        # another selector set on the first page: scanned, its own answer
        scanned.clear()
        guard = StreamGuard(["header.top"])
        assert guard.advance(PAGE) == PAGE.index(b"<header") and scanned
        # a page cut before the kept stop's tag closes: scanned, held, not stopped
        scanned.clear()
        guard = StreamGuard(["section.related"])
        assert guard.advance(PAGE[: first + 5]) == first and guard.stop is None and scanned
    finally:
        StreamGuard._scan = real  # type: ignore[method-assign]
    # whatever page was kept before, each page gets the answer a fresh scan gives
    pages = (PAGE, moved, other_tail, PAGE.replace(b"<title>Shop", b"<title>Shop 2"))
    for selectors in (["section.related"], ["header.top"], ["#hero"], ["*"]):
        fresh = []
        for page in pages:
            stream_guard._KEPT.clear()
            guard = StreamGuard(selectors)
            fresh.append((guard.advance(page), guard.document))
        for before in pages:
            stream_guard._KEPT.clear()
            StreamGuard(selectors).advance(before)
            for page, answer in zip(pages, fresh):
                guard = StreamGuard(selectors)
                assert (guard.advance(page), guard.document) == answer
