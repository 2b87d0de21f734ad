"""The numpy evaluator (views.filter._numpy) against the reference (``_eval``) and the Polars sort.

Rows are generated per column (numbers with NaN, ±inf, -0.0 and absent cells; strings with unicode,
quotes, LIKE wildcards, the empty string and absent cells; int attributes with an often absent
end_time); the numpy columns are built here from the rows — a text column is codes into the sorted
distinct values, -1 where absent — with junk in the slots of absent cells, which must never leak.

- ``evaluate`` == ``_eval.evaluate`` row by row for random bound trees over every operator, AND/OR
  nesting, ``And(())`` and ``IS [NOT] NULL`` everywhere, numeric comparisons on text columns (the binder
  never produces them, but the AST allows them) and numeric IN lists (the experiments binder's
  ``experiment_id IN``);
- ``sort_rows`` == ``order_by_exprs`` + ``with_tiebreakers`` on a wide Polars frame (maintain_order), for
  random order_by keys over random subsets of the rows;
- a text operator on a NumberColumn raises ``Unsupported``, wherever it sits in the tree.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest
from eventlog.views.filter import (
    And,
    Compare,
    Filter,
    FilterError,
    Or,
    OrderKey,
    Unrenderable,
    order_by_exprs,
    parse_search_filter,
    with_tiebreakers,
)
from eventlog.views.filter._ast import Node, conj, disj
from eventlog.views.filter._eval import evaluate as reference_evaluate
from eventlog.views.filter._numpy import (
    Column,
    NumberColumn,
    TextColumn,
    Unsupported,
    evaluate,
    sort_rows,
    text_column,
)
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from .test_properties import (
    ATTR_STR_COLUMNS,
    CELL_ALPHABET,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    NULLABLE_STR_COLUMNS,
    cell_text,
    compares,
    quotable,
    trees,
)

STR_COLUMNS = NULLABLE_STR_COLUMNS + ATTR_STR_COLUMNS
ALL_COLUMNS = FLOAT_COLUMNS + INT_COLUMNS + STR_COLUMNS
NUMBER_COLUMNS = FLOAT_COLUMNS + INT_COLUMNS

BASE_MS = 1_700_000_000_000
SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 2.5, math.inf, -math.inf, 1e308, -1e308, 5e-324]
TIMES = [BASE_MS, BASE_MS + 1, BASE_MS - 1, BASE_MS + 500, 0, -1, 1, 2]

unicode_text = st.text(CELL_ALPHABET + "Ωß\u00a0\U0001f600", max_size=5)
text_cells = st.sampled_from(["", " ", "a", "A", "é", "É", "日本", "%", "_"]) | cell_text | unicode_text
float_cells = st.sampled_from(SPECIAL_FLOATS) | st.floats(-3, 3, allow_nan=False) | st.just(math.nan)
int_cells = st.sampled_from(TIMES) | st.integers(-5, 5)
literal_floats = st.sampled_from(SPECIAL_FLOATS) | st.floats(-3, 3, allow_nan=False)
int_literals = st.sampled_from(TIMES) | st.integers(-5, 5) | st.sampled_from([BASE_MS + 0.5, -0.5, 2.5])


# ------------------------------------------------------------------------------------------------
# rows and their numpy columns
# ------------------------------------------------------------------------------------------------
Data = dict[str, list[Any]]


@st.composite
def tables(draw: Any) -> Data:
    """Per column, one cell per row (None: absent). run_id is never absent, like the runs table's."""
    n = draw(st.integers(0, 12))
    data: Data = {}
    for column in ALL_COLUMNS:
        if column in FLOAT_COLUMNS:
            cells: st.SearchStrategy[Any] = st.none() | float_cells
        elif column == "attributes.start_time":
            cells = st.none() | int_cells if draw(st.booleans()) else int_cells
        elif column == "attributes.end_time":
            cells = st.none() | st.none() | int_cells
        elif column == "attributes.run_id":
            cells = text_cells
        else:
            cells = st.none() | text_cells
        data[column] = draw(st.lists(cells, min_size=n, max_size=n))
    return data


def rows_of(data: Data) -> list[dict[str, object]]:
    n = len(data[ALL_COLUMNS[0]])
    return [{c: data[c][i] for c in data if data[c][i] is not None} for i in range(n)]


def numpy_columns(data: Data, junk: int = 7) -> dict[str, Column]:
    """The numpy columns of ``data``; absent slots hold junk (a NaN or a large value, a wrong code is
    impossible for text: -1 is the only absent code)."""
    columns: dict[str, Column] = {}
    for column, cells in data.items():
        present = np.asarray([c is not None for c in cells], dtype=bool)
        if column in FLOAT_COLUMNS:
            filler = [math.nan, 1e9, -1e9, 0.0][junk % 4]
            values = np.asarray([filler if c is None else c for c in cells], dtype=np.float64)
            columns[column] = NumberColumn(values, present)
        elif column in INT_COLUMNS:
            int_filler = [0, 2**62, -(2**62), BASE_MS][junk % 4]
            ints = np.asarray([int_filler if c is None else c for c in cells], dtype=np.int64)
            columns[column] = NumberColumn(ints, present)
        else:
            dictionary = sorted({c for c in cells if c is not None})
            code = {value: i for i, value in enumerate(dictionary)}
            codes = np.asarray([-1 if c is None else code[c] for c in cells], dtype=np.int32)
            columns[column] = text_column(codes, dictionary)
    return columns


def getter(columns: dict[str, Column], size: int) -> Callable[[str], Column]:
    """Columns no row has are all-absent text columns (what the in-memory partition builds for a key
    nobody logged is the same: no dictionary, every code -1)."""

    def get(name: str) -> Column:
        found = columns.get(name)
        if found is None:
            return text_column(np.full(size, -1, dtype=np.int32), [])
        return found

    return get


def size_of(data: Data) -> int:
    return len(data[ALL_COLUMNS[0]])


# ------------------------------------------------------------------------------------------------
# filters
# ------------------------------------------------------------------------------------------------
@st.composite
def extra_compares(draw: Any) -> Compare:
    """Bound comparisons beyond test_properties.compares: larger int literals and timestamps, IS [NOT]
    NULL on every column, IN lists of numbers, numeric comparisons on text columns."""
    kind = draw(st.sampled_from(["float", "int", "null", "in_number", "number_on_text", "text_in"]))
    if kind == "float":
        column = draw(st.sampled_from(FLOAT_COLUMNS))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return Compare(column, op, draw(literal_floats), "float")
    if kind == "int":
        column = draw(st.sampled_from(INT_COLUMNS))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return Compare(column, op, draw(int_literals), "int")
    if kind == "null":
        column = draw(st.sampled_from(ALL_COLUMNS))
        dtype = "float" if column in FLOAT_COLUMNS else "int" if column in INT_COLUMNS else "str"
        return Compare(column, draw(st.sampled_from(["IS NULL", "IS NOT NULL"])), None, dtype)
    if kind == "in_number":
        op = draw(st.sampled_from(["IN", "NOT IN"]))
        if draw(st.booleans()):
            values = tuple(draw(st.lists(int_cells, min_size=1, max_size=3)))
            return Compare(draw(st.sampled_from(INT_COLUMNS)), op, values, "int")
        floats = tuple(draw(st.lists(literal_floats, min_size=1, max_size=3)))
        return Compare(draw(st.sampled_from(FLOAT_COLUMNS)), op, floats, "float")
    if kind == "number_on_text":
        column = draw(st.sampled_from(STR_COLUMNS))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        dtype = draw(st.sampled_from(["float", "int"]))
        return Compare(column, op, draw(literal_floats if dtype == "float" else st.integers(-3, 3)), dtype)
    column = draw(st.sampled_from(STR_COLUMNS))
    op = draw(st.sampled_from(["IN", "NOT IN", "=", "!=", "<", ">=", "LIKE", "ILIKE"]))
    if op in ("IN", "NOT IN"):
        return Compare(column, op, tuple(draw(st.lists(text_cells, min_size=1, max_size=4))), "str")
    return Compare(column, op, draw(quotable | text_cells), "str")


leaves = compares(ALL_COLUMNS) | extra_compares()


def full_trees(base: st.SearchStrategy[Compare]) -> st.SearchStrategy[Node]:
    """test_properties.trees plus unflattened nesting and the empty conjunction."""

    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        groups = st.lists(children, min_size=2, max_size=3)
        return (
            groups.map(conj)
            | groups.map(disj)
            | groups.map(lambda g: And(tuple(g)))
            | groups.map(lambda g: Or(tuple(g)))
            | st.lists(children, min_size=0, max_size=2).map(lambda g: And(tuple(g)))
        )

    return st.recursive(base | st.just(And(())), extend, max_leaves=8)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(node: Node, data: Data, junk: int) -> None:
    rows = rows_of(data)
    size = size_of(data)
    got = evaluate(node, getter(numpy_columns(data, junk), size), size)
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.bool_
    assert got.shape == (size,)
    expected = [reference_evaluate(node, row) for row in rows]
    wrong = [(row, e) for row, g, e in zip(rows, got.tolist(), expected, strict=True) if g != e]
    assert got.tolist() == expected, wrong


@SETTINGS
@given(full_trees(leaves), tables(), st.integers(0, 3))
def test_numpy_evaluate_agrees_with_reference(node: Node, data: Data, junk: int) -> None:
    _check(node, data, junk)


@SETTINGS
@given(trees(compares()), tables(), st.integers(0, 3))
def test_numpy_evaluate_agrees_on_test_properties_trees(node: Node, data: Data, junk: int) -> None:
    _check(node, data, junk)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_trees(leaves), tables())
def test_numpy_evaluate_agrees_through_render_and_parse(node: Node, data: Data) -> None:
    """The filters search_runs really evaluates: bound by the binder from their rendered string."""
    try:
        text = Filter(node).to_string()
        bound = parse_search_filter(text).node
    except Unrenderable:  # no spelling in the language: a NaN literal, a string no quoting can hold
        reject()
    except FilterError:  # a tree the binder never makes: empty AND/OR, IS NULL on a metric, numeric IN...
        reject()
    _check(bound, data, 0)


@pytest.mark.parametrize(
    "op",
    ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"],
)
@pytest.mark.parametrize("column", ["params.p", "metrics.m", "attributes.start_time"])
def test_every_operator_on_a_fixed_table(op: str, column: str) -> None:
    data: Data = {c: [None] * 8 for c in ALL_COLUMNS}
    data["params.p"] = ["a", "", None, "日本", "A%", "b", "a", None]
    data["metrics.m"] = [1.0, math.nan, None, math.inf, -math.inf, -0.0, 0.0, 2.5]
    data["attributes.start_time"] = [BASE_MS, 0, None, -1, 5, BASE_MS + 1, None, 3]
    data["attributes.run_id"] = [f"r{i}" for i in range(8)]
    dtype = "str" if column == "params.p" else "float" if column == "metrics.m" else "int"
    value: Any
    if op in ("IS NULL", "IS NOT NULL"):
        value = None
    elif dtype == "str":
        value = ("a", "日本", "zz") if op in ("IN", "NOT IN") else "a%" if "LIKE" in op else "a"
    elif op in ("LIKE", "ILIKE"):
        with pytest.raises(Unsupported):
            evaluate(
                Compare(column, op, "1%", "str"),
                getter(numpy_columns(data), 8),
                8,
            )
        return
    elif op in ("IN", "NOT IN"):
        value = (0.0, 1.0, math.inf) if dtype == "float" else (0, BASE_MS)
    else:
        value = 0.0 if dtype == "float" else 3
    _check(Compare(column, op, value, dtype), data, 1)


def test_empty_conjunction_matches_every_row() -> None:
    data: Data = {c: [None] * 5 for c in ALL_COLUMNS}
    data["attributes.run_id"] = list("abcde")
    get = getter(numpy_columns(data), 5)
    assert evaluate(And(()), get, 5).tolist() == [True] * 5
    assert evaluate(And(()), get, 0).tolist() == []
    nothing = Compare("params.p", "IS NOT NULL", None, "str")
    assert evaluate(Or((nothing, And(()))), get, 5).tolist() == [True] * 5
    assert evaluate(And((nothing, And(()))), get, 5).tolist() == [False] * 5
    assert evaluate(parse_search_filter("").node, get, 5).tolist() == [True] * 5


TEXT_OPS = [
    ("=", "1"),
    ("!=", "1"),
    ("<", "1"),
    (">=", "1"),
    ("LIKE", "1%"),
    ("ILIKE", "%"),
    ("IN", ("1", "2")),
    ("NOT IN", ("1",)),
]


@pytest.mark.parametrize(("op", "value"), TEXT_OPS)
@pytest.mark.parametrize("column", NUMBER_COLUMNS)
def test_text_operator_on_a_number_column_is_unsupported(op: str, value: Any, column: str) -> None:
    data: Data = {c: [None] * 3 for c in ALL_COLUMNS}
    data[column] = [1.0, None, 2.0] if column in FLOAT_COLUMNS else [1, None, 2]
    data["attributes.run_id"] = ["x", "y", "z"]
    get = getter(numpy_columns(data), 3)
    leaf = Compare(column, op, value, "str")
    for node in (leaf, And((leaf,)), Or((Compare("params.p", "IS NULL", None, "str"), leaf))):
        with pytest.raises(Unsupported):
            evaluate(node, get, 3)
    # IS [NOT] NULL needs no text semantics: decided from the presence mask.
    assert evaluate(Compare(column, "IS NULL", None, "str"), get, 3).tolist() == [False, True, False]
    assert evaluate(Compare(column, "IS NOT NULL", None, "str"), get, 3).tolist() == [True, False, True]


def test_binder_never_binds_a_numeric_comparison_to_a_text_column() -> None:
    """Checked in views/filter/_bind.py: params/tags/string attributes bind as dtype 'str' whatever the
    literal (a number literal is rejected), so a numeric dtype on a text column only comes from a
    hand-built AST (covered by extra_compares' number_on_text)."""
    from eventlog.views.filter import FilterError

    for text in ("params.p = 1", "tags.t > 2", "attributes.status = 3"):
        with pytest.raises(FilterError):
            parse_search_filter(text)
    for text in ("params.p = '1'", "tags.t != 'x'", "attributes.run_name LIKE '%'", "params.p IN ('1', '2')"):
        node = parse_search_filter(text).node
        assert isinstance(node, Compare) and node.dtype == "str"


# ------------------------------------------------------------------------------------------------
# sorting
# ------------------------------------------------------------------------------------------------
_ENTITY = {"metrics": "metric", "params": "parameter", "tags": "tag", "attributes": "attribute"}
ORDERABLE = [c for c in ALL_COLUMNS if c != "attributes.run_id"] + ["params.never logged"]


def wide(data: Data) -> pl.DataFrame:
    schema = {
        c: pl.Float64 if c in FLOAT_COLUMNS else pl.Int64 if c in INT_COLUMNS else pl.String
        for c in ALL_COLUMNS
    }
    frame = pl.DataFrame({c: data[c] for c in ALL_COLUMNS}, schema=schema)
    return frame.with_columns(pl.Series("params.never logged", [None] * frame.height, dtype=pl.String))


@st.composite
def order_keys(draw: Any) -> list[OrderKey]:
    columns = draw(st.lists(st.sampled_from([*ORDERABLE, "attributes.run_id"]), max_size=4, unique=True))
    return [OrderKey(c, draw(st.booleans()), _ENTITY[c.split(".", 1)[0]]) for c in columns]


def polars_order(data: Data, rows: list[int], keys: list[OrderKey]) -> list[int]:
    frame = wide(data).with_row_index("__row").filter(pl.col("__row").is_in(rows))
    spec = order_by_exprs(keys)
    ordered = frame.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True)
    return [int(i) for i in ordered.get_column("__row").to_list()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), order_keys(), st.data())
def test_sort_rows_agrees_with_polars(data: Data, keys: list[OrderKey], draw: Any) -> None:
    size = size_of(data)
    rows = sorted(draw.draw(st.sets(st.integers(0, max(size - 1, 0)), max_size=size)) if size else [])
    junk = draw.draw(st.integers(0, 3))
    get = getter(numpy_columns(data, junk), size)
    for with_ties in (with_tiebreakers(keys, "runs"), keys):
        got = sort_rows(np.asarray(rows, dtype=np.int64), with_ties, get)
        assert got.tolist() == polars_order(data, rows, with_ties), with_ties


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(full_trees(leaves), tables(), order_keys())
def test_filter_then_sort_agrees_with_polars(node: Node, data: Data, keys: list[OrderKey]) -> None:
    """What MemoryPartition._top_rows does: the matching rows' indexes, then sort_rows."""
    size = size_of(data)
    get = getter(numpy_columns(data), size)
    keys = with_tiebreakers(keys, "runs")
    got = sort_rows(np.flatnonzero(evaluate(node, get, size)), keys, get)
    frame = wide(data).with_row_index("__row").filter(Filter(node).to_polars())
    spec = order_by_exprs(keys)
    expected = frame.sort(
        spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True
    )
    assert got.tolist() == expected.get_column("__row").to_list()


def test_sort_rows_placement_rules() -> None:
    """Metrics: values, then NaN, then absent, in both directions; text: values by code point, then
    absent; stable for full ties."""
    data: Data = {c: [None] * 6 for c in ALL_COLUMNS}
    data["metrics.m"] = [None, math.nan, 2.0, -math.inf, None, 2.0]
    data["params.p"] = ["b", None, "B", "é", "", None]
    data["attributes.run_id"] = list("uvwxyz")
    get = getter(numpy_columns(data, 1), 6)
    rows = np.arange(6)
    assert sort_rows(rows, [OrderKey("metrics.m", False, "metric")], get).tolist() == [3, 2, 5, 1, 0, 4]
    assert sort_rows(rows, [OrderKey("metrics.m", True, "metric")], get).tolist() == [2, 5, 3, 1, 0, 4]
    assert sort_rows(rows, [OrderKey("params.p", False, "parameter")], get).tolist() == [4, 2, 0, 3, 1, 5]
    assert sort_rows(rows, [OrderKey("params.p", True, "parameter")], get).tolist() == [3, 0, 2, 4, 1, 5]
    assert sort_rows(rows, [], get).tolist() == list(range(6))
    assert sort_rows(rows[::-1].copy(), [], get).tolist() == list(range(6))[::-1]


def test_text_column_lookup_matches_dictionary() -> None:
    column = text_column(np.asarray([1, -1, 0], dtype=np.int32), ["a", "é"])
    assert isinstance(column, TextColumn)
    assert column.lookup == {"a": 0, "é": 1}
    get = getter({"params.p": column}, 3)
    assert evaluate(Compare("params.p", "=", "é", "str"), get, 3).tolist() == [True, False, False]
    assert evaluate(Compare("params.p", "=", "zz", "str"), get, 3).tolist() == [False, False, False]
    assert evaluate(Compare("params.p", "NOT IN", ("zz",), "str"), get, 3).tolist() == [True, False, True]


@pytest.mark.parametrize("op", ["IN", "NOT IN"])
def test_numeric_in_on_an_int_column_is_exact_beyond_2_pow_53(op: str) -> None:
    """An int64 column compared with an IN list of ints (the experiments binder's ``experiment_id IN
    ('9007199254740992')``; experiment ids are int64) must compare the integers exactly, as the
    reference and Polars (``is_in`` on Int64) do; converting the list to float64 makes 2**53 + 1 a
    member of (2**53,)."""
    value = 2**53 + 1
    column = NumberColumn(np.asarray([value, 2**53, 5], dtype=np.int64), np.ones(3, dtype=bool))
    node = Compare("attributes.experiment_id", op, (2**53,), "int")
    rows = [{"attributes.experiment_id": v} for v in (value, 2**53, 5)]
    expected = [reference_evaluate(node, row) for row in rows]
    polars = pl.DataFrame({"attributes.experiment_id": [value, 2**53, 5]}).select(Filter(node).to_polars())
    assert polars.to_series().to_list() == expected
    assert evaluate(node, lambda name: column, 3).tolist() == expected
