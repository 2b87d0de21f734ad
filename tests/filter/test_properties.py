"""Hypothesis properties: rendering round-trips, Polars == reference evaluation, AND binds tighter than OR."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import polars as pl
from eventlog.views.filter import And, Compare, Filter, Or, parse_experiment_filter, parse_search_filter
from eventlog.views.filter._ast import Node, conj, disj
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FLOAT_COLUMNS = ["metrics.m", "metrics.n k"]
INT_COLUMNS = ["attributes.start_time", "attributes.end_time"]
NULLABLE_STR_COLUMNS = [
    "params.p",
    "params.a.b",
    "params.x`y",
    "tags.t",
    "tags.q'uote",
    'tags.a"b`c',
    "tags.É",
]
ATTR_STR_COLUMNS = ["attributes.status", "attributes.run_name", "attributes.run_id", "attributes.user_id"]
STR_COLUMNS = NULLABLE_STR_COLUMNS + ATTR_STR_COLUMNS
ALL_COLUMNS = FLOAT_COLUMNS + INT_COLUMNS + STR_COLUMNS

CELL_ALPHABET = "aAbB%_ '\"\\\n.é日É"
PATTERN_ALPHABET = CELL_ALPHABET + "%%__"

cell_text = st.text(CELL_ALPHABET, max_size=4)
# a string literal for = / != / LIKE must be expressible with one pair of quotes
quotable = st.text(PATTERN_ALPHABET, max_size=4).filter(
    lambda v: not ("'" in v and '"' in v) and not v.endswith("\\")
)
special_floats = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, math.inf, -math.inf, 1e308])
literal_floats = special_floats | st.floats(-3, 3, allow_nan=False)
cell_floats = special_floats | st.floats(-3, 3, allow_nan=False) | st.just(math.nan)


@st.composite
def compares(draw: Any, columns: list[str] = ALL_COLUMNS) -> Compare:
    column = draw(st.sampled_from(columns))
    if column in FLOAT_COLUMNS:
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return Compare(column, op, draw(literal_floats), "float")
    if column in INT_COLUMNS:
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        value = draw(st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False))
        return Compare(column, op, value, "int")
    ops = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]
    if column in NULLABLE_STR_COLUMNS:
        ops += ["IS NULL", "IS NOT NULL"]
    op = draw(st.sampled_from(ops))
    if op in ("IS NULL", "IS NOT NULL"):
        return Compare(column, op, None, "str")
    if op in ("IN", "NOT IN"):
        return Compare(column, op, tuple(draw(st.lists(cell_text, min_size=1, max_size=3))), "str")
    return Compare(column, op, draw(quotable), "str")


def trees(leaves: st.SearchStrategy[Compare]) -> st.SearchStrategy[Node]:
    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        groups = st.lists(children, min_size=2, max_size=3)
        return groups.map(conj) | groups.map(disj)

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def frames(draw: Any) -> tuple[pl.DataFrame, list[dict[str, object]]]:
    n = draw(st.integers(0, 6))
    data: dict[str, list[object]] = {}
    for column in ALL_COLUMNS:
        if column in FLOAT_COLUMNS:
            cells: st.SearchStrategy[object] = st.none() | cell_floats
        elif column in INT_COLUMNS:
            cells = st.none() | st.integers(-5, 5)
        elif column == "attributes.run_id":
            cells = cell_text
        else:
            cells = st.none() | cell_text
        data[column] = draw(st.lists(cells, min_size=n, max_size=n))
    schema = {
        c: pl.Float64 if c in FLOAT_COLUMNS else pl.Int64 if c in INT_COLUMNS else pl.String
        for c in ALL_COLUMNS
    }
    frame = pl.DataFrame(data, schema=schema)
    rows = [{c: data[c][i] for c in ALL_COLUMNS if data[c][i] is not None} for i in range(n)]
    return frame, rows


FAST = settings(max_examples=200, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(trees(compares()))
def test_render_then_parse_is_identity(node: Node) -> None:
    text = Filter(node).to_string()
    assert parse_search_filter(text).node == node, text


@FAST
@given(trees(compares()), frames())
def test_polars_agrees_with_reference(
    node: Node, frame_rows: tuple[pl.DataFrame, list[dict[str, object]]]
) -> None:
    frame, rows = frame_rows
    flt = Filter(node)
    mask = frame.select(flt.to_polars().alias("m"))["m"]
    if mask.len() == 1 and frame.height != 1:  # a constant expression broadcasts
        mask = pl.Series([mask[0]] * frame.height, dtype=pl.Boolean)
    assert mask.null_count() == 0
    assert mask.to_list() == [flt.matches(row) for row in rows]


@FAST
@given(compares(), compares(), compares(), frames())
def test_and_binds_tighter_than_or(
    a: Compare, b: Compare, c: Compare, frame_rows: tuple[pl.DataFrame, list[dict[str, object]]]
) -> None:
    ra, rb, rc = (Filter(x).to_string() for x in (a, b, c))
    left = parse_search_filter(f"{ra} OR {rb} AND {rc}")
    right = parse_search_filter(f"{ra} AND {rb} OR {rc}")
    assert left.node == disj([a, conj([b, c])])
    assert right.node == disj([conj([a, b]), c])
    _, rows = frame_rows
    one = Filter(a).matches
    two = Filter(b).matches
    three = Filter(c).matches
    for row in rows:
        assert left.matches(row) == (one(row) or (two(row) and three(row)))
        assert right.matches(row) == ((one(row) and two(row)) or three(row))


EXPERIMENT_COLUMNS = ["attributes.name", "tags.team", "tags.a b"]


@st.composite
def experiment_compares(draw: Any) -> Compare:
    column = draw(
        st.sampled_from([*EXPERIMENT_COLUMNS, "attributes.experiment_id", "attributes.creation_time"])
    )
    if column == "attributes.experiment_id":
        op = draw(st.sampled_from(["=", "!=", "IN", "NOT IN"]))
        if op in ("IN", "NOT IN"):
            return Compare(
                column, op, tuple(draw(st.lists(st.integers(0, 9), min_size=1, max_size=3))), "int"
            )
        return Compare(column, op, draw(st.integers(-3, 9)), "int")
    if column == "attributes.creation_time":
        return Compare(column, draw(st.sampled_from(["=", "!=", "<", ">="])), draw(st.integers(-3, 9)), "int")
    if column == "attributes.name":
        op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]))
    else:
        op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]))
    if op in ("IS NULL", "IS NOT NULL"):
        return Compare(column, op, None, "str")
    if op in ("IN", "NOT IN"):
        return Compare(column, op, tuple(draw(st.lists(cell_text, min_size=1, max_size=3))), "str")
    return Compare(column, op, draw(quotable), "str")


@FAST
@given(trees(experiment_compares()))
def test_experiment_render_round_trip(node: Node) -> None:
    text = Filter(node, "experiments").to_string()
    assert parse_experiment_filter(text).node == node, text


def test_strategies_cover_the_tree_shapes() -> None:
    node = conj([Compare("params.p", "=", "a", "str"), disj([Compare("tags.t", "IS NULL", None, "str")] * 2)])
    assert isinstance(node, And) and isinstance(node.items[1], Or)
