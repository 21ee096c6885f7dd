"""Where in a template (or expression) a Jinja syntax error, or a node a check names, is, to the column.

Jinja's errors carry a line only, and its tokens know their line but not their
column, so "line 3" of a line holding three ``{% %}`` tags leaves a marketer
guessing. To find the token at fault, the text is lexed once more keeping each
token's offset, then parsed with each token's line number replaced by its index
in that list: the error the parser raises then names the token (see
``error_place``). An error at the end of the text is placed at what is left
open — the ``{{``, ``{%`` or bracket never closed, else the innermost
``{% if %}``-like block never ended — since that is what needs the fix. A text
that parses is parsed the same way for the checks that name a node (an unknown
name, fact or filter: ``node_places``), so each node's line number is its token.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from jinja2 import TemplateSyntaxError
from jinja2.environment import Environment
from jinja2.lexer import TOKEN_EOF, TokenStream, newline_re
from jinja2.nodes import Node
from jinja2.parser import Parser

from slotwise.rules.scalar_places import offset_place

_OPENERS = ("variable_begin", "block_begin", "comment_begin", "raw_begin")
_CLOSERS = {"variable_begin": "variable_end", "block_begin": "block_end"}
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
T = TypeVar("T")


class _Tracking(Parser):
    """A parser that remembers which statements it is inside (their tag names' token indices)."""

    def __init__(self, environment: Environment, stream: TokenStream) -> None:
        super().__init__(environment, "")
        self.stream = stream
        self.open: list[int] = []

    def parse_statement(self) -> Node | list[Node]:
        self.open.append(self.stream.current.lineno)
        node = super().parse_statement()
        self.open.pop()  # on an error it stays: the block the text ended inside
        return node


def _tokens(env: Environment, text: str, state: str | None) -> tuple[list[tuple[int, str, str]], bool]:
    """The lexer's tokens as (offset, type, value), and whether the lexer itself stopped on an error."""
    tokens: list[tuple[int, str, str]] = []
    pos = 0
    try:
        for _, kind, value in env.lexer.tokeniter(text, None, state=state):
            at = text.find(value, pos) if value else pos  # skips only what ``-`` stripped (whitespace)
            if at < 0:  # never seen: a token that is not the text's own (then: where reading stopped)
                tokens.append((pos, "error", ""))
                return tokens, True
            tokens.append((at, kind, value))
            pos = at + len(value)
    except TemplateSyntaxError:
        tokens.append((pos, "error", ""))  # the lexer stops where the text it cannot read begins
        return tokens, True
    return tokens, False


def _left_open(tokens: list[tuple[int, str, str]]) -> int | None:
    """The offset of the innermost ``{{``, ``{%`` or bracket the text ends inside, if any."""
    stack: list[tuple[int, str]] = []  # (offset, what closes it)
    for offset, kind, value in tokens:
        if kind in _CLOSERS:
            stack = [(offset, _CLOSERS[kind])]  # a tag is never inside another
        elif kind in _CLOSERS.values():
            stack = []
        elif kind == "operator" and value in _BRACKETS:
            stack.append((offset, _BRACKETS[value]))
        elif kind == "operator" and stack and value == stack[-1][1]:
            stack.pop()
    return stack[-1][0] if stack else None


def _tag_start(tokens: list[tuple[int, str, str]], index: int) -> int:
    """The offset of the ``{%`` that token ``index`` (a tag's name) follows."""
    for offset, kind, _ in reversed(tokens[:index]):
        if kind == "block_begin":
            return offset
    return tokens[index][0]


def _numbered(env: Environment, tokens: list[tuple[int, str, str]]) -> _Tracking:
    """A parser over ``tokens`` whose "line numbers" are each token's index in the list, plus one."""
    numbered = ((index + 1, kind, value) for index, (_, kind, value) in enumerate(tokens))
    return _Tracking(env, TokenStream(env.lexer.wrap(numbered), None, None))


def error_offset(env: Environment, text: str, parse: Callable[[Parser], object], state: str | None = None) -> int | None:
    """The offset in ``text`` (newlines normalized) of what its syntax error is about, or None
    when it parses (or the error cannot be placed)."""
    tokens, lexer_failed = _tokens(env, text, state)
    if lexer_failed:
        offset, kind, _ = tokens[-1]
        before = tokens[-2] if kind == "error" and len(tokens) > 1 else None
        if before is not None and before[1] in _OPENERS:  # an unclosed comment or raw block: where it opens
            return before[0]
        return offset
    parser = _numbered(env, tokens)
    try:
        parse(parser)
    except TemplateSyntaxError as exc:
        if parser.stream.current.type == TOKEN_EOF:
            unclosed = _left_open(tokens)
            if unclosed is not None:
                return unclosed
            if parser.open:
                return _tag_start(tokens, parser.open[-1] - 1)
        index = (exc.lineno or 1) - 1
        return tokens[index][0] if 0 <= index < len(tokens) else None
    return None


def _as_lexed(source: str) -> str:
    return "\n".join(newline_re.split(source)[::2])  # as Jinja's lexer reads it: lines stay, columns stay


def error_place(env: Environment, source: str, parse: Callable[[Parser], object],
                state: str | None = None) -> tuple[int, int] | None:
    """(line, column), 1-based, of what the syntax error in ``source`` is about; None when there is none."""
    text = _as_lexed(source)
    offset = error_offset(env, text, parse, state)
    return None if offset is None else offset_place(text, offset)


def node_places(env: Environment, source: str, parse: Callable[[Parser], T],
                state: str | None = None) -> tuple[T, Callable[[int], tuple[int, int]]] | None:
    """``source`` parsed with each node's ``lineno`` the index (1-based) of the token it starts at, and
    what turns such a number into the (line, column) of that token: the checks that name a node (an
    unknown name, fact or filter) then point at it as the syntax errors do. None when it does not parse."""
    text = _as_lexed(source)
    tokens, lexer_failed = _tokens(env, text, state)
    if lexer_failed or not tokens:
        return None
    try:
        tree = parse(_numbered(env, tokens))
    except TemplateSyntaxError:
        return None

    def place(number: int) -> tuple[int, int]:
        return offset_place(text, tokens[min(max(number, 1), len(tokens)) - 1][0])

    return tree, place
