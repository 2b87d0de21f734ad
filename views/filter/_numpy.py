"""Vectorised evaluation of bound filters and sort keys with numpy, over dictionary-encoded columns.

Used by the in-memory search (``views._memory``): a Polars query has a fixed cost of about half a
millisecond however small the frame, more than a whole search of ten thousand runs should take, while
numpy works on the arrays directly. Text columns are dictionary-encoded (codes into the column's sorted
distinct values), so a text comparison is decided once per distinct value — by the reference
evaluator itself (``_eval``), hence with exactly its semantics — and then broadcast to the rows with
one gather. Numbers are compared in numpy, whose NaN rules (a NaN satisfies ``!=`` and nothing else)
are MLflow's. An absent value satisfies IS NULL and nothing else.

A comparison this module cannot decide exactly (a text operator on a numeric column) raises
``Unsupported``; the caller then evaluates the filter with Polars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from eventlog.views.filter._ast import And, Compare, Node
from eventlog.views.filter._eval import _compare as reference_compare
from eventlog.views.filter._order import OrderKey

__all__ = ["Column", "NumberColumn", "TextColumn", "Unsupported", "evaluate", "sort_rows", "text_column"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class Unsupported(Exception):
    """This filter or ordering needs the Polars evaluation."""


@dataclass(frozen=True)
class NumberColumn:
    """``values`` (float64 or int64; anything where absent) and ``present`` (bool), one per row."""

    values: np.ndarray
    present: np.ndarray


@dataclass(frozen=True)
class TextColumn:
    """``codes`` (int32, -1 where absent) into ``dictionary`` (distinct values in code-point order, so
    comparing codes compares the strings)."""

    codes: np.ndarray
    dictionary: list[str]
    lookup: dict[str, int] = field(default_factory=dict)


Column = NumberColumn | TextColumn


def text_column(codes: np.ndarray, dictionary: list[str]) -> TextColumn:
    return TextColumn(codes, dictionary, {value: code for code, value in enumerate(dictionary)})


def _text(node: Compare, column: TextColumn) -> np.ndarray:
    codes = column.codes
    op = node.op
    if op == "IS NULL":
        return codes < 0
    if op == "IS NOT NULL":
        return codes >= 0
    if node.dtype == "str" and op == "=" and isinstance(node.value, str):
        code = column.lookup.get(node.value)
        return codes == code if code is not None else np.zeros(len(codes), dtype=bool)
    if node.dtype == "str" and op in ("IN", "NOT IN") and isinstance(node.value, tuple):
        wanted = [column.lookup[v] for v in node.value if isinstance(v, str) and v in column.lookup]
        member = np.isin(codes, np.asarray(wanted, dtype=codes.dtype))
        return member if op == "IN" else (codes >= 0) & ~member
    # Decide each distinct value once with the reference semantics; the extra False at the end is what
    # code -1 (absent) picks up.
    decided = [reference_compare(node, value) for value in column.dictionary]
    return np.asarray([*decided, False], dtype=bool)[codes]


def _number(node: Compare, column: NumberColumn) -> np.ndarray:
    values, present = column.values, column.present
    op, target = node.op, node.value
    if op == "IS NULL":
        return ~present
    if op == "IS NOT NULL":
        return present.copy()
    if node.dtype == "str":
        raise Unsupported(f"text comparison on numeric column {node.column}")
    if op in ("IN", "NOT IN"):
        assert isinstance(target, tuple)
        member = _member(values, target)
        return present & (member if op == "IN" else ~member)
    assert isinstance(target, (int, float))
    if isinstance(target, int) and not _INT64_MIN <= target <= _INT64_MAX:
        target = float(target)
    with np.errstate(invalid="ignore"):
        if op == "=":
            result = values == target
        elif op == "!=":
            result = values != target
        elif op == "<":
            result = values < target
        elif op == "<=":
            result = values <= target
        elif op == ">":
            result = values > target
        elif op == ">=":
            result = values >= target
        else:
            raise Unsupported(f"operator {op} on numeric column {node.column}")
    return present & result


def _member(values: np.ndarray, targets: tuple[object, ...]) -> np.ndarray:
    """``values`` IN ``targets``, exactly: integers are compared as integers (as floats, 2**53 + 1 would
    equal 2**53), anything else as a float."""
    numbers = [t for t in targets if isinstance(t, (int, float)) and not isinstance(t, bool)]
    exact = [t for t in numbers if isinstance(t, int) and _INT64_MIN <= t <= _INT64_MAX]
    inexact = [float(t) for t in numbers if not isinstance(t, int)]
    huge = [float(t) for t in numbers if isinstance(t, int) and not _INT64_MIN <= t <= _INT64_MAX]
    if values.dtype.kind == "f":
        return np.isin(values, np.asarray([float(t) for t in numbers], dtype=np.float64))
    member = np.isin(values, np.asarray(exact, dtype=np.int64))
    if inexact or huge:
        member |= np.isin(values.astype(np.float64), np.asarray(inexact + huge, dtype=np.float64))
    return member


def evaluate(node: Node, column: Callable[[str], Column], size: int) -> np.ndarray:
    """A bool per row: does the row satisfy ``node``?"""
    if isinstance(node, Compare):
        found = column(node.column)
        return _text(node, found) if isinstance(found, TextColumn) else _number(node, found)
    if not node.items:
        return np.ones(size, dtype=bool)
    parts = [evaluate(item, column, size) for item in node.items]
    reduce = np.logical_and.reduce if isinstance(node, And) else np.logical_or.reduce
    return np.asarray(reduce(parts), dtype=bool)


def sort_rows(rows: np.ndarray, keys: Sequence[OrderKey], column: Callable[[str], Column]) -> np.ndarray:
    """``rows`` in the order of ``keys`` (tie-breakers included), with the placement rules of
    ``order_by_exprs``: per key a rank (present, then NaN for metrics, then absent) and the value in the
    requested direction. Stable, like Polars' sort with maintain_order."""
    sort_keys: list[np.ndarray] = []
    for key in keys:
        found = column(key.column)
        if isinstance(found, TextColumn):
            codes = found.codes[rows]
            rank = (codes < 0).astype(np.int8)
            value = np.where(codes < 0, 0, codes).astype(np.int64)
        else:
            present = found.present[rows]
            value = found.values[rows]
            if value.dtype.kind == "f":
                nan = np.isnan(value)
                rank = np.where(present, nan.astype(np.int8), np.int8(2))
                value = np.where(present & ~nan, value, 0.0)
            else:
                rank = (~present).astype(np.int8)
                value = np.where(present, value, 0)
        sort_keys += [rank, -value if key.descending else value]
    if not sort_keys:
        return rows
    # np.lexsort sorts by its last key first.
    return rows[np.lexsort(sort_keys[::-1])]
