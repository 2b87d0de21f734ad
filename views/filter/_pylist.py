"""The value list of ``IN (...)`` / ``NOT IN (...)``.

MLflow evaluates the parenthesised text of an IN list as a Python literal, so the list items follow
Python's string-literal rules rather than SQL's: backslash escapes are decoded (``'a\\nb'`` holds a
newline), adjacent literals concatenate (``('a' 'b')`` and ``('it''s')`` are one item each), single and
double quotes, triple quotes and ``r``/``u`` prefixes work, a trailing comma is allowed and redundant
parentheses around an item or around the whole list are ignored. This module is a small hand-written
reader for exactly that subset of Python literal syntax (strings, numbers, ``True``/``False``/``None``
and tuples); nothing is ever evaluated.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["ListSyntaxError", "PyList", "read_list"]


class ListSyntaxError(Exception):
    """The text is not a Python literal this reader understands (MLflow: an ill-formed list)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class PyList:
    """What a parenthesised list evaluates to, MLflow-style: always a tuple (a lone item is wrapped)."""

    items: tuple[object, ...]
    start: int
    end: int  # offset just past the closing parenthesis


_WS = re.compile(r"(?:[ \t\f\r\n]|\\\r?\n)*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)")
_NAME = re.compile(r"[^\W\d]\w*")
_PREFIX = re.compile(r"([rRuUbBfF]{0,2})(?='|\")")
_SIMPLE_ESCAPES = {
    "\n": "",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_MAX_DEPTH = 64


class _Other:
    """A literal that is not a string (number, bool, None, bytes): MLflow reports its repr."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


class _Reader:
    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos
        self.depth = 0

    def fail(self, message: str) -> ListSyntaxError:
        return ListSyntaxError(message, self.pos)

    def ws(self) -> None:
        m = _WS.match(self.text, self.pos)
        assert m is not None
        self.pos = m.end()
        if self.text.startswith("#", self.pos):
            raise self.fail("comments are not allowed inside a list")

    def expr(self) -> object:
        """One expression: a parenthesised group/tuple, strings, a number or a name."""
        self.ws()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.fail("the list is not closed")
        if text[pos] == "(":
            return self.group()
        m = _PREFIX.match(text, pos)
        if m is not None:
            return self.strings()
        m = _NUMBER.match(text, pos)
        if m is not None and not _NAME.match(text, m.end()):
            self.pos = m.end()
            lexeme = m.group()
            value: object = float(lexeme) if any(c in lexeme for c in ".eE") else int(lexeme)
            return _Other(value)
        m = _NAME.match(text, pos)
        if m is not None and m.group() in ("True", "False", "None"):
            self.pos = m.end()
            return _Other({"True": True, "False": False, "None": None}[m.group()])
        raise self.fail(f"unexpected {text[pos]!r} in a list")

    def group(self) -> object:
        """``( ... )``: a tuple when it holds a comma or nothing, else the grouped expression."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail("too many nested parentheses in a list")
        self.pos += 1
        items: list[object] = []
        saw_comma = False
        while True:
            self.ws()
            if self.text.startswith(")", self.pos):
                self.pos += 1
                break
            items.append(self.expr())
            self.ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                saw_comma = True
                continue
            if self.text.startswith(")", self.pos):
                self.pos += 1
                break
            if self.pos >= len(self.text):
                raise self.fail("the list is not closed")
            raise self.fail(f"expected ',' or ')' but found {self.text[self.pos]!r}")
        self.depth -= 1
        if len(items) == 1 and not saw_comma:
            return items[0]
        return tuple(items)

    def strings(self) -> object:
        """One or more adjacent string literals (implicitly concatenated)."""
        parts: list[str] = []
        is_bytes = False
        while True:
            m = _PREFIX.match(self.text, self.pos)
            if m is None:
                break
            prefix = m.group(1).lower()
            if "f" in prefix or (len(prefix) == 2 and prefix not in ("rb", "br")):
                raise self.fail(f"unsupported string prefix {m.group(1)!r}")
            self.pos = m.end()
            is_bytes = is_bytes or "b" in prefix
            parts.append(self.one_string(raw="r" in prefix))
            self.ws()
        if is_bytes:
            return _Other(b"".join(p.encode("latin-1", "backslashreplace") for p in parts))
        return "".join(parts)

    def one_string(self, *, raw: bool) -> str:
        text = self.text
        quote = text[self.pos]
        triple = text.startswith(quote * 3, self.pos)
        delim = quote * 3 if triple else quote
        self.pos += len(delim)
        out: list[str] = []
        while True:
            if self.pos >= len(text):
                raise self.fail("unterminated string literal in a list")
            if text.startswith(delim, self.pos):
                self.pos += len(delim)
                return "".join(out)
            c = text[self.pos]
            if c in "\r\n" and not triple:
                raise self.fail("unterminated string literal in a list")
            if c != "\\":
                out.append(c)
                self.pos += 1
                continue
            if self.pos + 1 >= len(text):
                raise self.fail("unterminated string literal in a list")
            nxt = text[self.pos + 1]
            if raw:
                out.append(c + nxt)
                self.pos += 2
                continue
            out.append(self.escape())

    def escape(self) -> str:
        text = self.text
        start = self.pos
        nxt = text[start + 1]
        if nxt == "\r" and text.startswith("\n", start + 2):
            self.pos = start + 3
            return ""
        if nxt in _SIMPLE_ESCAPES:
            self.pos = start + 2
            return _SIMPLE_ESCAPES[nxt]
        if nxt in _OCT:
            end = start + 2
            while end < start + 4 and end < len(text) and text[end] in _OCT:
                end += 1
            self.pos = end
            return chr(int(text[start + 1 : end], 8))
        if nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = text[start + 2 : start + 2 + width]
            if len(digits) != width or not set(digits) <= _HEX:
                raise self.fail(f"truncated \\{nxt} escape in a list")
            code = int(digits, 16)
            if code > 0x10FFFF:
                raise self.fail("illegal Unicode character in a list")
            self.pos = start + 2 + width
            return chr(code)
        if nxt == "N":
            close = text.find("}", start)
            if not text.startswith("{", start + 2) or close < 0:
                raise self.fail("malformed \\N character escape in a list")
            try:
                char = unicodedata.lookup(text[start + 3 : close])
            except KeyError:
                raise self.fail("unknown Unicode character name in a list") from None
            self.pos = close + 1
            return char
        # Python keeps unknown escapes as they are (with a warning).
        self.pos = start + 2
        return "\\" + nxt


def read_list(text: str, pos: int) -> PyList:
    """Read the parenthesised literal that starts at ``text[pos] == "("``."""
    reader = _Reader(text, pos)
    value = reader.group()
    items = value if isinstance(value, tuple) else (value,)
    return PyList(items, pos, reader.pos)
