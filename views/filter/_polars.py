"""Polars expressions for bound filters and sort keys (the only module of the package importing polars)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

import polars as pl
from eventlog.views.filter._ast import And, Compare, DType, Node
from eventlog.views.filter._like import like_regex, literal_shape
from eventlog.views.filter._order import OrderKey

__all__ = ["SortSpec", "filter_expr", "order_by_exprs"]

_POLARS_TYPE: dict[DType, type[pl.DataType]] = {"float": pl.Float64, "int": pl.Int64, "str": pl.String}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _column(name: str, dtype: DType, available: Collection[str] | None) -> pl.Expr:
    polars_type = _POLARS_TYPE[dtype]
    if available is not None and name not in available:
        return pl.lit(None, dtype=polars_type)
    return pl.col(name).cast(polars_type, strict=False)


def _number(value: object) -> pl.Expr:
    if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        return pl.lit(value, dtype=pl.Int64)
    assert isinstance(value, (int, float))
    return pl.lit(float(value), dtype=pl.Float64)


def _ordered(col: pl.Expr, op: str, rhs: pl.Expr | str) -> pl.Expr:
    if op == "=":
        return col == rhs
    if op == "!=":
        return col != rhs
    if op == "<":
        return col < rhs
    if op == "<=":
        return col <= rhs
    if op == ">":
        return col > rhs
    if op == ">=":
        return col >= rhs
    raise AssertionError(op)


def _like(col: pl.Expr, pattern: str, *, ignore_case: bool) -> pl.Expr:
    shape = None if ignore_case else literal_shape(pattern)
    if shape is not None:
        kind, text = shape
        if kind == "equals":
            return col == text
        if kind == "prefix":
            return col.str.starts_with(text)
        if kind == "suffix":
            return col.str.ends_with(text)
        return col.str.contains(text, literal=True)
    return col.str.contains(like_regex(pattern, ascii_ignore_case=ignore_case))


def _compare(node: Compare, available: Collection[str] | None) -> pl.Expr:
    col = _column(node.column, node.dtype, available)
    op, value = node.op, node.value
    if op == "IS NULL":
        return col.is_null()
    if op == "IS NOT NULL":
        return col.is_not_null()
    if op in ("IN", "NOT IN"):
        assert isinstance(value, tuple)
        member = col.is_in(list(value))
        return member if op == "IN" else ~member
    if node.dtype == "str":
        assert isinstance(value, str)
        if op == "LIKE":
            return _like(col, value, ignore_case=False)
        if op == "ILIKE":
            return _like(col, value, ignore_case=True)
        return _ordered(col, op, pl.lit(value, dtype=pl.String))
    result = _ordered(col, op, _number(value))
    if node.dtype == "float":
        # Polars treats NaN as equal to itself and greater than everything; MLflow's NaN only satisfies !=.
        result = (result | col.is_nan()) if op == "!=" else (result & col.is_not_nan())
    return result


def _expr(node: Node, available: Collection[str] | None) -> pl.Expr:
    if isinstance(node, Compare):
        return _compare(node, available).fill_null(False)
    parts = [_expr(item, available) for item in node.items]
    if isinstance(node, And):
        if not parts:
            return pl.lit(True)
        return parts[0] if len(parts) == 1 else pl.all_horizontal(parts)
    return parts[0] if len(parts) == 1 else pl.any_horizontal(parts)


def filter_expr(node: Node, available: Collection[str] | None = None) -> pl.Expr:
    """A boolean expression that is never null; columns not in ``available`` (when given) count as absent."""
    return _expr(node, available).fill_null(False)


class SortSpec(NamedTuple):
    """Arguments for ``DataFrame.sort(by, descending=..., nulls_last=..., maintain_order=True)``."""

    by: list[pl.Expr]
    descending: list[bool]
    nulls_last: list[bool]


def _sort_dtype(key: OrderKey) -> DType:
    if key.entity == "metric":
        return "float"
    if key.entity == "attribute" and key.column in (
        "attributes.start_time",
        "attributes.end_time",
        "attributes.experiment_id",
        "attributes.creation_time",
        "attributes.last_update_time",
    ):
        return "int"
    return "str"


def order_by_exprs(keys: Sequence[OrderKey], available: Collection[str] | None = None) -> SortSpec:
    """Sort expressions with MLflow's placement rules, two per key: a rank, then the value.

    Metrics: real values first in the requested direction, then NaN, then missing (for ASC and DESC).
    Everything else: present values in the requested direction, then missing. Strings compare by code
    point. Append tie-breaker keys (see ``with_tiebreakers``) before calling.
    """
    by: list[pl.Expr] = []
    descending: list[bool] = []
    for i, key in enumerate(keys):
        if available is not None and key.column not in available:
            continue  # an absent column is null everywhere: all ties, nothing to sort by
        dtype = _sort_dtype(key)
        col = _column(key.column, dtype, available)
        if dtype == "float":
            # Typed literals: Polars' lazy sort rejects untyped ("dyn int") key columns.
            rank = (
                pl.when(col.is_null())
                .then(pl.lit(2, pl.Int8))
                .when(col.is_nan())
                .then(pl.lit(1, pl.Int8))
                .otherwise(pl.lit(0, pl.Int8))
            )
        else:
            rank = col.is_null().cast(pl.Int8)
        by += [rank.alias(f"__order_rank_{i}"), col.alias(f"__order_value_{i}")]
        descending += [False, key.descending]
    return SortSpec(by, descending, [True] * len(by))
