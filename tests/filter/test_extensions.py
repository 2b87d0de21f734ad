"""The grammar extensions (OR, parentheses, IN/NOT IN beyond run_id) against hand-derived answers and the
pure-Python reference evaluation."""

from __future__ import annotations

import math

import polars as pl
import pytest
from eventlog.views.filter import And, Compare, FilterError, Or, parse_experiment_filter, parse_search_filter

NAN = math.nan

# run  opt     lr     stage   status     name    loss  acc   start
ROWS = [
    ("r1", "adam", "0.1", "prod", "FINISHED", "alpha", 0.5, 0.9, 10),
    ("r2", "Adam", None, "dev", "FAILED", "Alpha", 2.0, 0.4, 20),
    ("r3", "sgd", "0.01", None, "FINISHED", "beta", NAN, 0.7, 30),
    ("r4", None, "1", "prod", "RUNNING", "gamma", None, None, 40),
    ("r5", "a'b", "0.1", "Prod", "KILLED", "delta", 1.0, 0.1, 50),
    ("r6", "x\ny", None, "stage", "FINISHED", "a%b", -3.0, NAN, 60),
]


def _frame() -> pl.DataFrame:
    cols = list(zip(*ROWS, strict=True))
    return pl.DataFrame(
        {
            "attributes.run_id": cols[0],
            "params.opt": cols[1],
            "params.lr": cols[2],
            "tags.stage": cols[3],
            "attributes.status": cols[4],
            "attributes.run_name": cols[5],
            "metrics.loss": cols[6],
            "metrics.acc": cols[7],
            "attributes.start_time": cols[8],
            "attributes.user_id": ["ann", "bob", "ann", "cy", "bob", "ann"],
            "attributes.artifact_uri": [f"/a/{r[0]}" for r in ROWS],
        },
        schema_overrides={
            "metrics.loss": pl.Float64,
            "metrics.acc": pl.Float64,
            "attributes.start_time": pl.Int64,
        },
    )


def _rows() -> list[dict[str, object]]:
    return [{k: v for k, v in row.items() if v is not None} for row in _frame().to_dicts()]


def _select(text: str) -> set[str]:
    flt = parse_search_filter(text)
    frame = _frame()
    got = set(frame.filter(flt.to_polars())["attributes.run_id"].to_list())
    reference = {row["attributes.run_id"] for row in _rows() if flt.matches(row)}
    assert got == reference, text
    return got  # type: ignore[return-value]


CASES = {
    "params.opt = 'adam' OR params.opt = 'sgd'": {"r1", "r3"},
    "params.opt = 'adam' or params.opt = 'sgd' OR params.opt = 'Adam'": {"r1", "r2", "r3"},
    # AND binds tighter than OR
    "metrics.loss < 1 OR metrics.acc > 0.5 AND params.opt = 'sgd'": {"r1", "r3", "r6"},
    "(metrics.loss < 1 OR metrics.acc > 0.5) AND params.opt = 'sgd'": {"r3"},
    "metrics.loss < 1 AND metrics.acc > 0.5 OR tags.stage = 'dev'": {"r1", "r2"},
    "metrics.loss < 1 AND (metrics.acc > 0.5 OR tags.stage = 'dev')": {"r1"},
    "((params.opt = 'adam'))": {"r1"},
    "params.lr IS NULL OR (tags.stage ILIKE 'prod' AND (metrics.loss >= 1 OR metrics.loss < 1))": {
        "r2",
        "r6",
        "r1",
        "r5",
    },
    "params.opt = 'adam' OR(params.opt = 'sgd')": {"r1", "r3"},
    "params.opt = 'adam' AND(params.lr = '0.1' OR params.lr = '1')": {"r1"},
    # NaN satisfies != only, missing never (not even in an OR branch)
    "metrics.loss != 1 OR params.opt IS NULL": {"r1", "r2", "r3", "r4", "r6"},
    "metrics.loss > 0 OR metrics.loss <= 0": {"r1", "r2", "r5", "r6"},
    # IN / NOT IN on params, tags and every string attribute
    "params.opt IN ('adam', 'sgd')": {"r1", "r3"},
    "params.opt in ('ADAM', 'Adam')": {"r2"},
    "params.opt NOT IN ('adam')": {"r2", "r3", "r5", "r6"},
    "params.opt IN ('a\\'b', 'x\\ny')": {"r5", "r6"},
    'params.opt IN ("a\'b",)': {"r5"},
    "params.lr NOT IN ('0.1', '1')": {"r3"},
    "tags.stage IN ('prod')": {"r1", "r4"},
    "tags.stage NOT IN ('prod', 'dev')": {"r5", "r6"},
    "status IN ('FINISHED', 'FAILED')": {"r1", "r2", "r3", "r6"},
    "attributes.status NOT IN ('FINISHED')": {"r2", "r4", "r5"},
    "run_name IN ('alpha', 'a%b')": {"r1", "r6"},
    "`Run name` NOT IN ('alpha')": {"r2", "r3", "r4", "r5", "r6"},
    "user_id IN ('ann')": {"r1", "r3", "r6"},
    "artifact_uri IN ('/a/r2', '/a/r9')": {"r2"},
    "run_id IN ('r1', 'r2') OR run_id NOT IN ('r1', 'r2', 'r3')": {"r1", "r2", "r4", "r5", "r6"},
    # the MLflow tolerances keep working next to the extensions
    "AND params.opt = 'adam' OR params.opt = 'sgd' AND": {"r1", "r3"},
    "params.lr IS NULL params.opt = 'Adam' OR tags.stage = 'stage'": {"r2", "r6"},
    "params.opt = 'adam' AND AND metrics.acc > 0 OR run_id = 'r4'": {"r1", "r4"},
}


@pytest.mark.parametrize("text", list(CASES))
def test_extension_cases(text: str) -> None:
    assert _select(text) == CASES[text]
    assert parse_search_filter(text).extensions


def test_extensions_are_reported() -> None:
    assert parse_search_filter("a = 'x' OR status = 'y'".replace("a =", "status =")).extensions == {"OR"}
    assert parse_search_filter("(status = 'y')").extensions == {"parentheses"}
    assert parse_search_filter("params.x IN ('a')").extensions == {"IN"}
    assert parse_search_filter("run_id IN ('a')").extensions == frozenset()
    assert parse_experiment_filter("experiment_id IN ('1')").extensions == frozenset()
    assert parse_experiment_filter("name IN ('a')").extensions == {"IN"}
    assert parse_experiment_filter("name like 'a%'").extensions == {"case-insensitive comparator"}
    assert parse_experiment_filter("name LIKE 'a%'").extensions == frozenset()


def test_precedence_tree() -> None:
    a = Compare("params.a", "=", "1", "str")
    b = Compare("params.b", "=", "2", "str")
    c = Compare("params.c", "=", "3", "str")
    assert parse_search_filter("params.a = '1' OR params.b = '2' AND params.c = '3'").node == Or(
        (a, And((b, c)))
    )
    assert parse_search_filter("params.a = '1' AND params.b = '2' OR params.c = '3'").node == Or(
        (And((a, b)), c)
    )
    assert parse_search_filter("params.a = '1' AND (params.b = '2' OR params.c = '3')").node == And(
        (a, Or((b, c)))
    )
    assert parse_search_filter("(params.a = '1' AND params.b = '2') AND params.c = '3'").node == And(
        (a, b, c)
    )
    assert parse_search_filter("params.a = '1' OR (params.b = '2' OR params.c = '3')").node == Or((a, b, c))


REJECTED = {
    "params.a = '1' OR": "Expected a comparison after OR but found end of input at position 17",
    "OR params.a = '1'": "Expected a comparison but found 'OR' at position 0",
    "params.a = '1' OR OR params.b = '2'": "Expected a comparison after OR but found 'OR' at position 18",
    "params.a = '1' OR AND params.b = '2'": "Expected a comparison after OR but found 'AND' at position 18",
    "params.a = '1' AND OR params.b = '2'": "Expected a comparison after AND but found 'OR' at position 19",
    "(params.a = '1'": "Expected ')' to close the '(' at position 0 but found end of input at position 15",
    "params.a = '1')": "Unbalanced ')' at position 14",
    "()": "Empty parentheses at position 0",
    "(AND params.a = '1')": "Expected a comparison but found 'AND' at position 1",
    "(params.a = '1' AND)": "Expected a comparison after AND but found ')' at position 19",
    "(params.a = '1') params.b = '2'": "Missing AND or OR after ')' at position 17",
    "params.a = '1' (params.b = '2')": "Missing AND or OR before '(' at position 15",
    "NOT params.a = '1'": (
        "NOT is only supported as part of NOT IN and IS NOT NULL; found 'NOT' at position 0"
    ),
    "params.a = '1' OR NOT params.b = '2'": (
        "NOT is only supported as part of NOT IN and IS NOT NULL; found 'NOT' at position 18"
    ),
    "params.a NOT = '1'": (
        "Expected IN after NOT but found '=' (NOT is only supported in NOT IN and IS NOT NULL) at position 13"
    ),
    "params.a IN 'x'": "Expected a parenthesised list after IN but found \"'x'\" at position 12",
    "params.a IN ('x') params.b IS NULL": "Missing AND before 'params' at position 18",
    "params.a = ('x')": "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('x')",
    "run_name = ('x')": "Only ['run_id'] attributes support comparison with a list of quoted string values.",
    "run_id = ('x')": (
        "A parenthesised list can only be compared with IN or NOT IN, not with '=', at position 7"
    ),
    "metrics.loss IN (1)": "Expected numeric value type for metric. Found (1)",
    "start_time IN ('1')": "Expected numeric value type for numeric attribute: start_time. Found ('1')",
    "params.a IN ()": (
        "While parsing a list in the query, expected a non-empty list of string values, but got empty list"
    ),
    "params.a IN ('x', 2)": (
        "While parsing a list in the query, expected string value, punctuation, or whitespace, "
        "but got different type in list: ('x', 2)"
    ),
    "params.a IN ('x' 'y'": (
        "While parsing a list in the query, expected a non-empty list of string values, "
        "but got ill-formed list."
    ),
    "dataset.name IN ('x')": "Filtering on dataset inputs ('dataset.name') is not supported, at position 0",
}


@pytest.mark.parametrize("text", list(REJECTED))
def test_extension_rejections(text: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_search_filter(text)
    assert str(info.value) == REJECTED[text]
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    ok = "(" * 60 + "params.a = '1'" + ")" * 60
    assert parse_search_filter(ok).node == Compare("params.a", "=", "1", "str")
    with pytest.raises(FilterError, match="nested deeper"):
        parse_search_filter("(" * 5000 + "params.a = '1'" + ")" * 5000)


def test_long_flat_filters() -> None:
    text = " OR ".join(f"params.p{i} = 'v'" for i in range(3000))
    flt = parse_search_filter(text)
    assert len(flt.columns) == 3000
    frame = pl.DataFrame({"params.p2999": ["v", "w"]})
    assert frame.filter(flt.to_polars(available=frame.columns)).height == 1


def test_list_items_are_python_literals() -> None:
    flt = parse_search_filter(
        "params.a IN ('x\\ty', \"q\", 'it''s', 'a' 'b', r'\\n', '\\u00e9', ('z'), '''t''', u'u', "
        "'\\N{BULLET}')"
    )
    assert isinstance(flt.node, Compare)
    assert flt.node.value == ("x\ty", "q", "its", "ab", "\\n", "é", "z", "t", "u", "\u2022")


def test_experiment_extensions() -> None:
    frame = pl.DataFrame(
        {
            "attributes.experiment_id": [0, 1, 2, 3],
            "attributes.name": ["Default", "alpha", "Alpha", "beta"],
            "attributes.creation_time": [1, 2, 3, 4],
            "attributes.last_update_time": [1, 2, 3, 4],
            "tags.team": [None, "ml", "ML", "data"],
        }
    )
    cases = {
        "name = 'alpha' OR tags.team = 'data'": {1, 3},
        "name IN ('alpha', 'beta')": {1, 3},
        "name NOT IN ('alpha')": {0, 2, 3},
        "tags.team IN ('ml', 'ML')": {1, 2},
        "tags.team NOT IN ('ml')": {2, 3},
        "(experiment_id = '0' OR experiment_id IN ('2', '3')) AND creation_time > 2": {2, 3},
        "name like 'a%' or name ilike 'B%'": {1, 3},
        "experiment_id in ('1') OR tags.team is null": {0, 1},
    }
    rows = [{k: v for k, v in r.items() if v is not None} for r in frame.to_dicts()]
    for text, expected in cases.items():
        flt = parse_experiment_filter(text)
        assert set(frame.filter(flt.to_polars())["attributes.experiment_id"].to_list()) == expected, text
        assert {r["attributes.experiment_id"] for r in rows if flt.matches(r)} == expected, text
        assert flt.extensions, text
