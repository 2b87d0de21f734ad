"""Tokenizer of the filter and order_by languages.

MLflow hands filter strings to the ``sqlparse`` SQL lexer, so what counts as one token there decides
which filters MLflow accepts (``metrics.1loss`` is a key, ``metrics.12loss`` is not; ``'a''b'`` is one
string; ``IS NOT  NULL`` with two spaces is rejected ...). This lexer reproduces those token boundaries
for every token that can occur in an accepted filter, in the same priority order, and reports anything
else as an ERROR token that the parser rejects with a positional message.

Lexing is position-driven (``Lexer.at(pos)``) rather than a stream: the parser switches to a different
scanner inside ``IN (...)`` lists, whose contents MLflow reads as a Python literal.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["Kind", "Lexer", "Token"]


class Kind(enum.Enum):
    WS = "whitespace"
    NAME = "name"  # a bare word usable as (part of) an identifier
    BQ = "backtick-quoted name"
    DQ = "double-quoted string"
    STRING = "single-quoted string"
    NUMBER = "number"
    HEX = "hexadecimal number"
    COMP = "comparison operator"
    STAR = "'*'"
    DOT = "'.'"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    SEMI = "';'"
    KW = "keyword"
    NOTNULL = "'NOT NULL'"
    ORDER = "sort direction"
    ERROR = "unexpected character"
    EOF = "end of input"


@dataclass(frozen=True)
class Token:
    kind: Kind
    start: int
    end: int
    text: str
    # NUMBER: "int" | "float"; KW: the upper-cased keyword; NAME: "func" when directly followed by "(";
    # ERROR: a short description of what was found.
    sub: str = ""


_FLAGS = re.IGNORECASE | re.UNICODE
# sqlparse matches "letters" as [A-ZÀ-Ü] under IGNORECASE; the same class is used here on purpose.
_L = "[A-ZÀ-Ü]"

#: The words the filter grammar gives a meaning to when they stand alone.
KEYWORDS = frozenset({"AND", "OR", "NOT", "IS", "NULL"})


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _FLAGS)


# (regex, kind, sub) in sqlparse's priority order. ``None`` as kind means "decided by a function below".
_RULES: list[tuple[re.Pattern[str], Kind | None, str]] = [
    (_rx(r"(--|# ).*?(\r\n|\r|\n|$)"), Kind.ERROR, "a SQL comment"),
    (_rx(r"/\*"), Kind.ERROR, "a SQL comment"),
    (_rx(r"\s+"), Kind.WS, ""),
    (_rx(r":=|::"), Kind.ERROR, "an assignment or cast operator"),
    (_rx(r"\*"), Kind.STAR, ""),
    (_rx(r"`(``|[^`])*`"), Kind.BQ, ""),
    (_rx(r"´(´´|[^´])*´"), Kind.NAME, ""),
    (_rx(r"\?"), Kind.NAME, ""),
    (_rx(r"%(\(\w+\))?s"), Kind.NAME, ""),
    (_rx(r"(?<!\w)[$:?]\w+"), Kind.NAME, ""),
    (_rx(r"\\\w+"), Kind.ERROR, "a backslash command"),
    (_rx(r"(CASE|IN|VALUES|USING|FROM|AS)\b"), None, "sqlkw"),
    (_rx(r"(@|##|#)" + _L + r"\w+"), Kind.NAME, ""),
    (_rx(_L + r"\w*(?=\s*\.(?!\d))"), Kind.NAME, ""),
    (_rx(r"(?<=\.)" + _L + r"\w*"), Kind.NAME, ""),
    (_rx(_L + r"\w*(?=\()"), None, "func"),
    (_rx(r"-?0x[\dA-F]+"), Kind.HEX, ""),
    (_rx(r"-?\d+(\.\d+)?E-?\d+"), Kind.NUMBER, "float"),
    (_rx(r"(?!" + _L[:-1] + r"_])-?(\d+(\.\d*)|\.\d+)(?!" + _L[:-1] + r"_])"), Kind.NUMBER, "float"),
    (_rx(r"(?!" + _L[:-1] + r"_])-?\d+(?!" + _L[:-1] + r"_])"), Kind.NUMBER, "int"),
    (_rx(r"'(''|\\'|[^'])*'"), Kind.STRING, ""),
    (_rx(r'"(""|\\"|[^"])*"'), Kind.DQ, ""),
    (_rx(r'(""|".*?[^\\]")'), Kind.DQ, ""),
    (_rx(r"(?<![\w\])])(\[[^\]\[]+\])"), Kind.NAME, ""),
    (_rx(r"NOT\s+NULL\b"), Kind.NOTNULL, ""),
    (_rx(r"(ASC|DESC)(\s+NULLS\s+(FIRST|LAST))?\b"), Kind.ORDER, ""),
    (_rx(r"(NOT\s+)?(LIKE|ILIKE|RLIKE)\b"), Kind.COMP, ""),
    (_rx(r"(NOT\s+)?(REGEXP)(\s+(BINARY))?\b"), Kind.COMP, ""),
    (_rx(r"\w[$#\w]*"), None, "word"),
    (_rx(r"\("), Kind.LPAREN, ""),
    (_rx(r"\)"), Kind.RPAREN, ""),
    (_rx(r","), Kind.COMMA, ""),
    (_rx(r"\."), Kind.DOT, ""),
    (_rx(r";"), Kind.SEMI, ""),
    (_rx(r"[:\[\]]"), Kind.ERROR, "a punctuation character"),
    (_rx(r"(\->>?|#>>?|@>|<@|\?\|?|\?&|\-|#\-)"), Kind.ERROR, "an arithmetic or JSON operator"),
    (_rx(r"[<>=~!]+"), Kind.COMP, ""),
    (_rx(r"[+/@#%^&|^-]+"), Kind.ERROR, "an arithmetic operator"),
]


class Lexer:
    """Tokens of one input string, computed on demand at any character position and cached."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._cache: dict[int, Token] = {}

    def at(self, pos: int) -> Token:
        """The token that starts at ``pos`` (EOF at or past the end)."""
        tok = self._cache.get(pos)
        if tok is None:
            tok = self._lex(pos)
            self._cache[pos] = tok
        return tok

    def skip_ws(self, pos: int) -> int:
        tok = self.at(pos)
        return tok.end if tok.kind is Kind.WS else pos

    def next(self, pos: int) -> Token:
        """The first non-whitespace token at or after ``pos``."""
        return self.at(self.skip_ws(pos))

    def tokens(self) -> list[Token]:
        """All tokens of the text in order (whitespace included, EOF excluded)."""
        out: list[Token] = []
        pos = 0
        while True:
            tok = self.at(pos)
            if tok.kind is Kind.EOF:
                return out
            out.append(tok)
            pos = tok.end

    def _lex(self, pos: int) -> Token:
        text = self.text
        if pos >= len(text):
            return Token(Kind.EOF, len(text), len(text), "")
        for rx, kind, sub in _RULES:
            m = rx.match(text, pos)
            if m is None or m.end() == pos:
                continue
            word = m.group()
            if kind is None:
                upper = word.upper()
                if sub == "sqlkw":
                    return Token(Kind.KW, pos, m.end(), word, upper)
                if upper in KEYWORDS:
                    return Token(Kind.KW, pos, m.end(), word, upper)
                return Token(Kind.NAME, pos, m.end(), word, "func" if sub == "func" else "")
            return Token(kind, pos, m.end(), word, sub)
        return Token(Kind.ERROR, pos, pos + 1, text[pos], "an unexpected character")
