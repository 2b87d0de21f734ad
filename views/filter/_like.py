"""SQL LIKE patterns: ``%`` = any sequence, ``_`` = exactly one character, anchored, no escape character.

Case rules are those of MLflow's default (sqlite) store: LIKE is case-sensitive; ILIKE is
``lower(x) LIKE lower(pattern)`` where sqlite's ``lower`` folds ASCII letters only, so ``'É' ILIKE 'é'``
is false while ``'E' ILIKE 'e'`` is true.

Two independent implementations: a regular expression for Polars (Rust ``regex`` syntax) and a
non-backtracking matcher for the pure-Python reference evaluation (so a pattern like ``%a%a%a%b``
cannot make it take exponential time).
"""

from __future__ import annotations

__all__ = ["ascii_fold", "like_match", "like_regex", "literal_shape"]

# Characters with a meaning in a Rust (and Python) regex; everything else is literal there.
_META = frozenset("\\.+*?()|[]{}^$#&-~")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_fold(text: str) -> str:
    return text.translate(_ASCII_LOWER)


def like_regex(pattern: str, *, ascii_ignore_case: bool) -> str:
    """An anchored regular expression equivalent to the LIKE pattern (valid in Rust and Python)."""
    out = ["(?s)^(?:"]
    for c in pattern:
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif ascii_ignore_case and c.isascii() and c.isalpha():
            out.append(f"[{c.lower()}{c.upper()}]")
        elif c in _META:
            out.append("\\" + c)
        else:
            out.append(c)
    out.append(")$")
    return "".join(out)


def literal_shape(pattern: str) -> tuple[str, str] | None:
    """For a case-sensitive pattern that is a literal with at most a leading and a trailing ``%``:
    ``(shape, literal)`` with shape ``equals|prefix|suffix|contains``; else None."""
    body = pattern
    lead = body.startswith("%")
    if lead:
        body = body[1:]
    trail = body.endswith("%")
    if trail:
        body = body[:-1]
    if "%" in body or "_" in body:
        return None
    if lead and trail:
        return "contains", body
    if lead:
        return "suffix", body
    if trail:
        return "prefix", body
    return "equals", body


def _seg_at(text: str, at: int, seg: str) -> bool:
    if at < 0 or at + len(seg) > len(text):
        return False
    for k, c in enumerate(seg):
        if c != "_" and text[at + k] != c:
            return False
    return True


def like_match(text: str, pattern: str, *, ascii_ignore_case: bool) -> bool:
    """Whether ``text`` matches the LIKE ``pattern`` (greedy leftmost segment matching, O(n*m))."""
    if ascii_ignore_case:
        text, pattern = ascii_fold(text), ascii_fold(pattern)
    segments = pattern.split("%")
    if len(segments) == 1:
        return len(text) == len(pattern) and _seg_at(text, 0, pattern)
    first, last = segments[0], segments[-1]
    if len(first) + len(last) > len(text):
        return False
    if not _seg_at(text, 0, first) or not _seg_at(text, len(text) - len(last), last):
        return False
    pos, end = len(first), len(text) - len(last)
    for seg in segments[1:-1]:
        if not seg:
            continue
        at = pos
        while at + len(seg) <= end and not _seg_at(text, at, seg):
            at += 1
        if at + len(seg) > end:
            return False
        pos = at + len(seg)
    return True
