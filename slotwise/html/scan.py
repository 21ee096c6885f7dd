"""Byte-level HTML scanning: where tags are in the original bytes.

Lexbor tells us *which* elements match; it cannot tell us *where* they are in
the bytes the store sent. This module finds start/end tags in the original
(ASCII-compatible) bytes without a full tokenisation: one pass blanks out
comments, raw-text contents and bogus comments (so fake tags inside them are
invisible), then cheap regex searches find tags by name on that masked copy.
Offsets in the masked copy are offsets in the original bytes.
"""

from __future__ import annotations

import functools
import html as _html
import re
from html.entities import html5 as _HTML5

WS = rb"\t\n\f\r "
_NAME_END = rb"[\t\n\f\r />]"

# One attribute (or a run of separators), atomic so malformed input cannot backtrack.
_ATTR = (
    rb"(?>[\t\n\f\r /]+|[^\t\n\f\r />][^\t\n\f\r />=]*+"
    rb"(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >]*+))?)"
)
#: a complete start or end tag from its "<" (attributes may hold quoted ">").
TAG = re.compile(rb"</?[A-Za-z][^\t\n\f\r />]*+" + _ATTR + rb"*+>")
#: one attribute with its parts, for rewriting a start tag.
ATTR = re.compile(
    rb"([\t\n\f\r /]*)([^\t\n\f\r />][^\t\n\f\r />=]*)"
    rb"(?:([\t\n\f\r ]*=[\t\n\f\r ]*)(?:\"([^\"]*)\"|'([^']*)'|([^\t\n\f\r >]*)))?"
)

RAW_TEXT = frozenset(
    {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"}
)
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "param", "keygen", "basefont", "bgsound", "frame"}
)
#: elements the parser creates without a start tag in the source.
IMPLIED = frozenset({"html", "head", "body", "tbody", "colgroup"})

# Factored so the regex engine rejects most "<" after one byte (this pass dominates).
_OPENERS = re.compile(
    rb"<(?:!--(?:>|->|(?:[^-]++|-(?!-!?>))*+--!?>)?|!|[?]|s(?:cript|tyle)|t(?:e(?:xtarea|mplate)|itle)"
    rb"|xmp|iframe|no(?:embed|frames)|plaintext)"
)
_NAME_END_BYTES = frozenset(b"\t\n\f\r />")
#: the next tag-ish thing in a masked region: start tag, end tag.
TOKEN = re.compile(rb"<(/?)([a-z][^\t\n\f\r />]*)")


@functools.lru_cache(maxsize=256)
def name_pattern(name: str) -> re.Pattern[bytes]:
    """Regex finding ``<name`` start tags (lower-case, masked bytes)."""
    return re.compile(b"<" + re.escape(name.encode("utf-8")) + _NAME_END)


@functools.lru_cache(maxsize=256)
def _multi_pattern(alternatives: bytes) -> re.Pattern[bytes]:
    return re.compile(b"<(" + alternatives + b")" + _NAME_END)


@functools.lru_cache(maxsize=256)
def balance_pattern(name: str) -> re.Pattern[bytes]:
    """Regex finding ``<name`` and ``</name`` (group 1 is "/" for end tags)."""
    return re.compile(b"<(/?)" + re.escape(name.encode("utf-8")) + _NAME_END)


@functools.lru_cache(maxsize=256)
def _close_pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(b"</" + re.escape(name) + _NAME_END)


class Masked:
    """The lower-cased page with comments and raw-text contents blanked out.

    ``raw`` maps the start offset of each raw-text element (script, style,
    textarea, title, ...) to ``(content_end, end)`` so its extent is known
    without re-scanning. A ``<!--`` or ``<script`` inside an attribute value
    would be taken for the real thing here; :class:`~.locate.Locator` catches
    that by comparing each start tag it uses against the unmasked bytes.
    """

    __slots__ = ("data", "lower", "raw")

    def __init__(self, buf: bytes) -> None:
        lw = buf.lower()
        raw: dict[int, tuple[int, int]] = {}
        out: list[bytes] = []
        n = len(lw)
        pos = 0  # everything before pos is emitted
        find = lw.find
        for m in _OPENERS.finditer(lw):
            s = m.start()
            if s < pos:
                continue
            c = lw[s + 1]
            if c == 0x21:  # "!"
                if m.end() - s > 4:  # a complete comment, matched by the regex itself
                    end = m.end()
                elif lw.startswith(b"--", s + 2):
                    if lw.startswith(b">", s + 4):
                        end = s + 5
                    elif lw.startswith(b"->", s + 4):
                        end = s + 6
                    else:
                        e1 = find(b"-->", s + 4)
                        e2 = find(b"--!>", s + 4, n if e1 < 0 else e1)  # bounded: never quadratic
                        end = e2 + 4 if e2 >= 0 else e1 + 3 if e1 >= 0 else n
                elif lw.startswith(b"[cdata[", s + 2):
                    e = find(b"]]>", s + 9)
                    end = n if e < 0 else e + 3
                else:
                    e = find(b">", s + 2)
                    end = n if e < 0 else e + 1
            elif c == 0x3F:  # "?": bogus comment
                e = find(b">", s + 2)
                end = n if e < 0 else e + 1
            else:
                name = m.group()[1:]
                if s + len(name) + 1 >= n or lw[s + len(name) + 1] not in _NAME_END_BYTES:
                    continue
                t = TAG.match(lw, s)
                if t is None:  # EOF inside the start tag: the tokenizer drops the rest
                    out.append(lw[pos:s])
                    out.append(b" " * (n - s))
                    pos = n
                    break
                tag_end = t.end()
                if name == b"plaintext":
                    content_end = end = n
                else:
                    c2 = _close_pattern(name).search(lw, tag_end)
                    if c2 is None:
                        content_end = end = n
                    else:
                        content_end = c2.start()
                        e2m = TAG.match(lw, content_end)
                        if e2m is not None:
                            end = e2m.end()
                        else:
                            gt = find(b">", content_end)
                            end = n if gt < 0 else gt + 1
                raw[s] = (content_end, end)
                out.append(lw[pos:tag_end])
                out.append(b" " * (content_end - tag_end))
                pos = content_end
                continue
            out.append(lw[pos:s])
            out.append(b" " * (end - s))
            pos = end
        out.append(lw[pos:])
        self.data = b"".join(out)
        self.lower = lw
        self.raw = raw

    def start_tags_of(self, names: list[str]) -> dict[str, list[int]]:
        """Like :meth:`start_tags` for several names, in one pass."""
        out: dict[str, list[int]] = {n: [] for n in names}
        alt = b"|".join(re.escape(n.encode("utf-8")) for n in sorted(names, key=len, reverse=True))
        for m in _multi_pattern(alt).finditer(self.data):
            out[m.group(1).decode("utf-8")].append(m.start())
        return out

    def start_tags(self, name: str) -> list[int]:
        """Offsets of every ``<name`` start tag outside comments and raw text."""
        return [m.start() for m in name_pattern(name).finditer(self.data)]


def attr_unescape(value: str) -> str:
    """Decode character references as the HTML tokenizer does inside attribute values.

    Unlike :func:`html.unescape`, a legacy entity without ``;`` followed by
    ``=`` or an alphanumeric stays literal (``?a=1&copy=2`` keeps ``&copy``).
    """
    if "&" not in value:
        return value

    def repl(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref[0] != "#" and not ref.endswith(";"):
            for k in range(len(ref), 1, -1):
                if ref[:k] in _HTML5:
                    after = ref[k : k + 1] or value[m.end() : m.end() + 1]
                    if after == "=" or after.isalnum():
                        return m.group(0)
                    break
        return _html.unescape(m.group(0))

    return _CHARREF.sub(repl, value)


_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


def normalise_text(value: str) -> str:
    """What the input-stream preprocessing does to text: newlines and NULs."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    return value


def parse_attributes(buf: bytes, start: int, tag_end: int, encoding: str) -> dict[str, str | None]:
    """The attributes of the start tag at ``buf[start:tag_end]`` as Lexbor reports them."""
    out: dict[str, str | None] = {}
    i = start + 1
    # skip the tag name
    while i < tag_end and buf[i] not in b"\t\n\f\r />":
        i += 1
    stop = tag_end - 1
    while i < stop:
        m = ATTR.match(buf, i, stop)
        if m is None or m.end() == i:
            break
        i = m.end()
        if m.group(2) is None:
            continue
        name = normalise_text(m.group(2).decode(encoding, "replace").lower())
        if name in out:
            continue
        if m.group(3) is None:
            out[name] = None
        else:
            raw = m.group(4) if m.group(4) is not None else m.group(5) if m.group(5) is not None else m.group(6)
            out[name] = attr_unescape(normalise_text(raw.decode(encoding, "replace")))
    return out


def is_self_closing(buf: bytes, start: int, tag_end: int) -> bool:
    """Whether the start tag ends in a ``/`` separator (``<use/>``, not ``<a href=/>``)."""
    if buf[tag_end - 2 : tag_end - 1] != b"/":
        return False
    i = start + 1
    while i < tag_end and buf[i] not in b"\t\n\f\r />":
        i += 1
    stop = tag_end - 1
    last = i
    while i < stop:
        m = ATTR.match(buf, i, stop)
        if m is None or m.end() == i:
            break
        i = last = m.end()
    return b"/" in buf[last:stop]
