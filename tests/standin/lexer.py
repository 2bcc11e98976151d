"""Tokens of the Wyn subset, and the diagnostic every stage raises."""

from __future__ import annotations

import re
from typing import NamedTuple


class WynError(Exception):
    """A diagnostic. ``checker`` errors use the stderr form without a file name."""

    def __init__(self, msg: str, line: int, col: int = 1, checker: bool = False):
        super().__init__(msg)
        self.msg, self.line, self.col, self.checker = msg, line, col, checker


TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<linecomment>//[^\n]*|\#[^\n]*)
  | (?P<blockcomment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<int>\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>->|==|!=|<=|>=|&&|\|\||::|[-+*/%<>=!(){}\[\],:.;])
    """,
    re.VERBOSE | re.DOTALL,
)


class Tok(NamedTuple):
    kind: str
    text: str
    line: int
    col: int


def lex(src: str) -> list[Tok]:
    toks: list[Tok] = []
    pos, line, line_start = 0, 1, 0
    if src.startswith("\ufeff"):  # Wyn's lexer skips a UTF-8 byte order mark (src/lexer.c)
        pos = line_start = 1
    while pos < len(src):
        m = TOKEN_RE.match(src, pos)
        if not m:
            if src[pos] == '"':
                raise WynError("Unterminated string literal", line, pos - line_start + 1)
            raise WynError(f"Unexpected character '{src[pos]}'", line, pos - line_start + 1)
        kind = m.lastgroup or ""
        text = m.group()
        if kind not in ("ws", "linecomment", "blockcomment"):
            toks.append(Tok(kind, text, line, pos - line_start + 1))
        nl = text.count("\n")
        if nl:
            line += nl
            line_start = pos + text.rindex("\n") + 1
        pos = m.end()
    toks.append(Tok("eof", "", line, pos - line_start + 1))
    return toks
