"""Reference evaluation of a bound tree over one row (a mapping of wide-frame column -> value).

A missing column or a None value is "absent": it satisfies IS NULL and nothing else (not even ``!=``).
A NaN metric satisfies ``!=`` and nothing else.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from eventlog.views.filter._ast import And, Compare, Node
from eventlog.views.filter._like import like_match

__all__ = ["evaluate"]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(node: Compare, value: object) -> bool:
    op = node.op
    if op == "IS NULL":
        return value is None
    if op == "IS NOT NULL":
        return value is not None
    if value is None:
        return False
    target = node.value
    if op in ("IN", "NOT IN"):
        assert isinstance(target, tuple)
        if node.dtype == "str" and not isinstance(value, str):
            value = str(value)
        return (value in target) == (op == "IN")
    if node.dtype == "str":
        assert isinstance(target, str)
        value = value if isinstance(value, str) else str(value)
        if op == "LIKE":
            return like_match(value, target, ascii_ignore_case=False)
        if op == "ILIKE":
            return like_match(value, target, ascii_ignore_case=True)
        return _ORDER[op](value, target)
    assert isinstance(target, (int, float))
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        value = _as_number(value)
        if value is None:  # not a number: like Polars' non-strict cast, it counts as absent
            return False
    if isinstance(value, float) and math.isnan(value):
        return op == "!="
    return _ORDER[op](value, target)


def _as_number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def evaluate(node: Node, row: Mapping[str, object]) -> bool:
    if isinstance(node, Compare):
        return _compare(node, row.get(node.column))
    if isinstance(node, And):
        return all(evaluate(item, row) for item in node.items)
    return any(evaluate(item, row) for item in node.items)
