"""Reference evaluation of a bound tree over one row (a mapping of wide-frame column -> value).

A missing column or a None value is "absent": it satisfies IS NULL and nothing else (not even ``!=``).
A NaN metric satisfies ``!=`` and nothing else.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from views.filter._ast import And, Compare, Node
from views.filter._like import like_match

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
    if op == "IN":
        assert isinstance(target, tuple)
        return value in target
    if op == "NOT IN":
        assert isinstance(target, tuple)
        return value not in target
    if node.dtype == "str":
        assert isinstance(value, str) and isinstance(target, str)
        if op == "LIKE":
            return like_match(value, target, ascii_ignore_case=False)
        if op == "ILIKE":
            return like_match(value, target, ascii_ignore_case=True)
        return _ORDER[op](value, target)
    assert isinstance(value, (int, float)) and isinstance(target, (int, float))
    if isinstance(value, float) and math.isnan(value):
        return op == "!="
    return _ORDER[op](value, target)


def evaluate(node: Node, row: Mapping[str, object]) -> bool:
    if isinstance(node, Compare):
        return _compare(node, row.get(node.column))
    if isinstance(node, And):
        return all(evaluate(item, row) for item in node.items)
    return any(evaluate(item, row) for item in node.items)
