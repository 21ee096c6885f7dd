"""Where each character of a YAML string value sits in the file it was read from.

A template or expression written in the rules file is a YAML scalar, and YAML
changes the text on the way in: a block scalar (``|``, ``>``) drops its
indentation, ``>`` and the flow styles (plain, ``'...'``, ``"..."``) fold line
breaks into spaces, quotes are doubled or escaped. An error at line 3,
column 9 of the template must still land on the file's character that became
it, so the value is walked against the file's text: each value character is
matched to the next file character it can come from, skipping what YAML
dropped (indentation, a stripped space, a doubled quote) and reading a
double-quoted escape (``\\n``, ``\\"``, ``\\x41``) as the one character it makes.
"""

from __future__ import annotations

from yaml.nodes import ScalarNode

_HEX_DIGITS = {"x": 2, "u": 4, "U": 8}
_BLOCK = ("|", ">")


def _block_indent(text: str, start: int, end: int, value: str) -> int:
    """The spaces a block scalar's lines lose: its first non-blank line's, less what the value keeps."""
    kept = next((len(line) - len(line.lstrip(" ")) for line in value.split("\n") if line.strip()), 0)
    for line in text[start:end].split("\n"):
        if line.strip():
            return max(len(line) - len(line.lstrip(" ")) - kept, 0)
    return 0


def value_offsets(text: str, node: ScalarNode) -> list[int]:
    """For each character of ``node.value`` its offset in ``text`` (the file ``node`` was composed
    from), and one more entry: where the value ends."""
    value, style = node.value, node.style
    end = min(node.end_mark.index, len(text))
    j = node.start_mark.index
    indent = 0
    if style in _BLOCK:  # the text starts on the line after the indicator (and any comment)
        newline = text.find("\n", j, end)
        j = end if newline < 0 else newline + 1
        indent = _block_indent(text, j, end, value)
    elif style in ("'", '"'):
        j += 1
    offsets: list[int] = []
    line_start = style in _BLOCK
    k = 0
    while k < len(value) and j < end:
        if line_start:  # a block scalar's indentation is not part of its value
            skip = 0
            while skip < indent and j < end and text[j] == " ":
                j, skip = j + 1, skip + 1
            line_start = False
            continue
        c, ch = text[j], value[k]
        if style == '"' and c == "\\" and j + 1 < end:
            after = text[j + 1]
            if after in "\r\n":  # an escaped line break joins the lines: no character of its own
                j += 2 + (text[j + 1:j + 3] == "\r\n")
                while j < end and text[j] in " \t":
                    j += 1
                continue
            offsets.append(j)  # the escape makes one character
            k += 1
            j += 2 + _HEX_DIGITS.get(after, 0)
            continue
        if c == ch or (c == "\n" and ch == " " and style != "|"):  # itself, or a line break folded into a space
            offsets.append(j)
            k += 1
        line_start = c == "\n" and style in _BLOCK
        j += 1
    last = offsets[-1] + 1 if offsets else j
    offsets += [min(last, end)] * (len(value) - len(offsets) + 1)  # a value longer than its match: its end
    return offsets


def offset_place(text: str, offset: int) -> tuple[int, int]:
    """The 1-based (line, column) of an offset in ``text``."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1
