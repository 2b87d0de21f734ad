"""Unit tests of the pieces: package boundaries, LIKE, IN-list literals, identifiers, sorting, the API."""

from __future__ import annotations

import ast
import math
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import eventlog.views.filter as vf
import polars as pl
import pytest
from eventlog.views.filter import (
    And,
    Compare,
    Filter,
    FilterError,
    OrderKey,
    order_by_exprs,
    parse_experiment_filter,
    parse_order_by,
    parse_search_filter,
    with_tiebreakers,
)
from eventlog.views.filter._like import like_match, like_regex
from eventlog.views.filter._pylist import ListSyntaxError, read_list
from hypothesis import given, settings
from hypothesis import strategies as st

PACKAGE = Path(vf.__file__).parent


# ------------------------------------------------------------------------------ package boundaries


def test_import_does_not_load_polars_or_arrow() -> None:
    # (Importing eventlog.views.filter runs eventlog/__init__; that the filter package uses nothing of the
    # library above it is checked statically below and by the import-linter contracts of make lint.)
    code = (
        "import sys, eventlog.views.filter as f\n"
        "f.parse_search_filter(\"metrics.a > 1 OR params.b LIKE 'x%'\").matches({})\n"
        "f.parse_order_by(['metrics.a DESC'], 'runs')\n"
        "assert 'polars' not in sys.modules, 'polars imported'\n"
        "assert 'pyarrow' not in sys.modules, 'pyarrow imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parents[1])


def test_only_the_polars_module_imports_polars_and_nothing_imports_the_library() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        library = {n for n in names if n.split(".")[0] == "eventlog"}
        assert all(n.startswith("eventlog.views.filter") for n in library), (path, library)
        tops = {n.split(".")[0] for n in names}
        assert "mlflow" not in tops and "sqlparse" not in tops, path
        if path.name != "_polars.py":
            top_level = {
                a.name.split(".")[0]
                for node in tree.body
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for a in node.names
            } | {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
            assert "polars" not in top_level, path


def test_public_api() -> None:
    for name in vf.__all__:
        assert getattr(vf, name) is not None
    assert issubclass(FilterError, ValueError)
    assert vf.SortSpec._fields == ("by", "descending", "nulls_last")


# ------------------------------------------------------------------------------------------- LIKE

LIKE_ALPHABET = "aAbB%_ \n.*+?()[]{}^$|\\#&-~'\"éÉ日ß"


@settings(max_examples=400, deadline=timedelta(seconds=1))
@given(
    st.text(LIKE_ALPHABET, max_size=8), st.text(LIKE_ALPHABET.replace("%", "").replace("_", ""), max_size=8)
)
def test_like_matcher_equals_regex(pattern: str, text: str) -> None:
    for fold in (False, True):
        regex = re.compile(like_regex(pattern, ascii_ignore_case=fold))
        # fullmatch: Python's "$" also matches before a final newline, Rust's (what Polars runs) does not.
        expected = like_match(text, pattern, ascii_ignore_case=fold)
        assert bool(regex.fullmatch(text)) == expected, (pattern, text)


@settings(max_examples=150, deadline=timedelta(seconds=2))
@given(st.text(LIKE_ALPHABET, max_size=6), st.lists(st.text(LIKE_ALPHABET, max_size=6), max_size=5))
def test_like_polars_equals_reference(pattern: str, texts: list[str]) -> None:
    frame = pl.DataFrame({"params.p": texts}, schema={"params.p": pl.String})
    for op in ("LIKE", "ILIKE"):
        flt = Filter(Compare("params.p", op, pattern, "str"))
        got = frame.select(flt.to_polars().alias("m"))["m"].to_list()
        assert got == [flt.matches({"params.p": t}) for t in texts], (op, pattern)


def test_like_semantics() -> None:
    assert like_match("Adam", "Ad%", ascii_ignore_case=False)
    assert not like_match("adam", "Ad%", ascii_ignore_case=False)
    assert like_match("adam", "AD%", ascii_ignore_case=True)
    assert not like_match("sgd_x", "sgd_", ascii_ignore_case=False)
    assert like_match("a\nb", "a_b", ascii_ignore_case=False)
    assert like_match("a\nb", "%", ascii_ignore_case=False)
    assert like_match("a\\b", "a\\b", ascii_ignore_case=False)  # no escape character
    assert not like_match("a%b", "a\\%b", ascii_ignore_case=False)
    assert like_match("日本", "__", ascii_ignore_case=False)
    # sqlite's lower() folds ASCII only: ILIKE does not match É with é
    assert not like_match("É", "é", ascii_ignore_case=True)
    assert like_match("E", "e", ascii_ignore_case=True)
    assert not like_match("ß", "SS", ascii_ignore_case=True)


# ------------------------------------------------------------------------------------ IN lists


@settings(max_examples=300, deadline=timedelta(seconds=1))
@given(st.lists(st.text(max_size=6).filter(lambda s: "\x00" not in s), min_size=1, max_size=4), st.booleans())
def test_list_reader_agrees_with_python(items: list[str], trailing: bool) -> None:
    text = "(" + ", ".join(repr(i) for i in items) + ("," if trailing else "") + ")"
    assert read_list(text, 0).items == tuple(
        ast.literal_eval(text) if len(items) > 1 or trailing else [items[0]]
    )


@pytest.mark.parametrize(
    "text",
    [
        "('a')",
        "('a',)",
        "(('a'))",
        "('a', ('b'))",
        "(('a', 'b'))",
        "('a' 'b')",
        "('it''s')",
        "(\"a\", 'b')",
        "('\\x41\\u00e9\\U0001F600\\N{BULLET}\\101\\7')",
        "(r'\\n\\'', R\"\\x\")",
        "('''a'b''', \"\"\"c\nd\"\"\")",
        "( 'a' ,\n 'b' )",
        "('a' \\\n 'b')",
        "(u'a', U'b')",
        "(1, 'a')",
        "(-1.5,)",
        "(True, None)",
        "()",
    ],
)
def test_list_reader_cases(text: str) -> None:
    expected = ast.literal_eval(text)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = tuple(x if isinstance(x, str) else ast.literal_eval(repr(x)) for x in read_list(text, 0).items)
    assert got == expected


@pytest.mark.parametrize(
    "text",
    ["('a'", "('a' ,, 'b')", "(`a`)", "('\\x4')", "('\\N{NO SUCH NAME}')", "('a\nb')", "(a)", "(f'x')"],
)
def test_list_reader_rejects(text: str) -> None:
    with pytest.raises(ListSyntaxError):
        read_list(text, 0)


# --------------------------------------------------------------------------- identifiers and values


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("metrics.loss > 1", "metrics.loss"),
        ("metric.`my metric` > 1", "metrics.my metric"),
        ('metrics."a/b" > 1', "metrics.a/b"),
        ("`metrics`.`x` > 1", "metrics.x"),
        ("metrics.k.with.dots > 1", "metrics.k.with.dots"),
        ("metrics. loss > 1", "metrics. loss"),  # MLflow keeps the space after the dot
        ("metrics.1loss > 1", "metrics.1loss"),
        ("metrics._x > 1", "metrics._x"),
        ("params.x. = 'a'", "params.x."),
        ("params.x..y = 'a'", "params.x..y"),
        ("params.x .y = 'a'", "params.x .y"),
        ("params.'q' = 'a'", "params.q"),
        ("params.* = 'a'", "params.*"),
        ("params.`x``y` = 'a'", "params.x``y"),
        ("params.`a`.b = 'a'", "params.`a`.b"),
        ("params.select = 'a'", "params.select"),
        ("params.and = 'a'", "params.and"),
        ("params.日本 = 'a'", "params.日本"),
        ("tags.`mlflow.runName` = 'a'", "tags.mlflow.runName"),
        ("created > 1", "attributes.start_time"),
        ("`Run Name` = 'a'", "attributes.run_name"),
        ("\"run name\" = 'a'", "attributes.run_name"),
        ("run.status = 'a'", "attributes.status"),
    ],
)
def test_identifiers(text: str, column: str) -> None:
    assert parse_search_filter(text).columns == {column}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.x = 'it''s'", "it''s"),
        ("params.x = 'a\\'b'", "a\\'b"),
        ('params.x = "a""b"', 'a""b'),
        ('params.x = "a"."b"', 'a"."b'),
        ("params.x = ''", ""),
        ("metrics.x = -1.5e-3", -1.5e-3),
        ("metrics.x = .5", 0.5),
        ("metrics.x = 1.", 1.0),
        ("metrics.x = 1e400", math.inf),
        ("metrics.x = ١", 1.0),
        ("start_time = 5", 5),
        ("start_time = 5.5", 5.5),
        ("start_time = 99999999999999999999", 99999999999999999999),
    ],
)
def test_values(text: str, value: object) -> None:
    node = parse_search_filter(text).node
    assert isinstance(node, Compare)
    assert node.value == value and type(node.value) is type(value)


def test_real_infinities() -> None:
    """Our store keeps real ±inf (MLflow's sqlite clamps to ±max double); comparisons still make sense."""
    frame = pl.DataFrame({"metrics.m": [math.inf, -math.inf, 1.0, math.nan, None]})

    def ids(text: str) -> list[int]:
        flt = parse_search_filter(text)
        return frame.with_row_index().filter(flt.to_polars())["index"].to_list()

    assert ids("metrics.m > 1e308") == [0]
    assert ids("metrics.m = 1e400") == [0]
    assert ids("metrics.m < -1e308") == [1]
    assert ids("metrics.m != 1") == [0, 1, 3]
    assert ids("metrics.m >= -1e400") == [0, 1, 2]


def test_available_columns_make_absent_keys_null() -> None:
    frame = pl.DataFrame({"params.x": ["a", None]})
    for text, expected in [
        ("params.y IS NULL", 2),
        ("params.y IS NOT NULL", 0),
        ("params.y != 'a'", 0),
        ("metrics.m != 1", 0),
        ("params.y IS NULL AND params.x = 'a'", 1),
        ("params.y = 'a' OR params.x IS NULL", 1),
    ]:
        flt = parse_search_filter(text)
        assert frame.filter(flt.to_polars(available=frame.columns)).height == expected, text


# ------------------------------------------------------------------------------------------ order by


def _sorted_ids(frame: pl.DataFrame, clauses: list[str], kind: str = "runs") -> list[str]:
    keys = with_tiebreakers(parse_order_by(clauses, kind), kind)  # type: ignore[arg-type]
    spec = order_by_exprs(keys, available=frame.columns)
    out = frame.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True)
    return out["attributes.run_id"].to_list()


def test_order_by_null_and_nan_placement() -> None:
    frame = pl.DataFrame(
        {
            "attributes.run_id": ["r1", "r2", "r3", "r4", "r5"],
            "attributes.start_time": [1, 1, 1, 1, 1],
            "metrics.loss": [2.0, 3.0, math.nan, None, -math.inf],
            "tags.stage": ["Prod", "dev", "prod", None, "É"],
        }
    )
    assert _sorted_ids(frame, ["metrics.loss"]) == ["r5", "r1", "r2", "r3", "r4"]
    assert _sorted_ids(frame, ["metrics.loss DESC"]) == ["r2", "r1", "r5", "r3", "r4"]
    assert _sorted_ids(frame, ["tags.stage"]) == ["r1", "r2", "r3", "r5", "r4"]
    assert _sorted_ids(frame, ["tags.stage DESC"]) == ["r5", "r3", "r2", "r1", "r4"]
    assert _sorted_ids(frame, ["metrics.missing DESC"]) == ["r1", "r2", "r3", "r4", "r5"]


def test_parse_order_by() -> None:
    assert parse_order_by(None, "runs") == []
    assert parse_order_by(["metrics.`my loss` desc", "created", "params.lr ASC", "tags.t"], "runs") == [
        OrderKey("metrics.my loss", True, "metric"),
        OrderKey("attributes.start_time", False, "attribute"),
        OrderKey("params.lr", False, "parameter"),
        OrderKey("tags.t", False, "tag"),
    ]
    assert parse_order_by(["name DESC", "attribute.experiment_id"], "experiments") == [
        OrderKey("attributes.name", True, "attribute"),
        OrderKey("attributes.experiment_id", False, "attribute"),
    ]
    with pytest.raises(FilterError) as info:
        parse_order_by(["metrics.a", "metric.a DESC"], "runs")
    assert info.value.error_code == "INTERNAL_ERROR"
    assert str(info.value) == "`order_by` contains duplicate fields: ['metrics.a', 'metric.a DESC']"
    with pytest.raises(ValueError):
        parse_order_by(["name"], "models")  # type: ignore[arg-type]


def test_tiebreakers() -> None:
    start = OrderKey("attributes.start_time", True, "attribute")
    run_id = OrderKey("attributes.run_id", False, "attribute")
    loss = OrderKey("metrics.loss", False, "metric")
    assert with_tiebreakers([], "runs") == [start, run_id]
    assert with_tiebreakers([loss], "runs") == [loss, start, run_id]
    created = OrderKey("attributes.start_time", False, "attribute")
    assert with_tiebreakers([created], "runs") == [created, run_id]
    assert with_tiebreakers([], "experiments") == [
        OrderKey("attributes.creation_time", True, "attribute"),
        OrderKey("attributes.experiment_id", False, "attribute"),
    ]
    name = OrderKey("attributes.name", False, "attribute")
    assert with_tiebreakers([name], "experiments") == [
        name,
        OrderKey("attributes.experiment_id", True, "attribute"),
    ]


# ------------------------------------------------------------------------------------------- the API


def test_filter_object() -> None:
    assert parse_search_filter(None).matches_all and parse_search_filter("").matches_all
    assert parse_search_filter("AND AND").matches_all
    assert parse_search_filter(None).columns == frozenset()
    flt = parse_search_filter("metrics.loss > 1 AND params.lr = '0.1' OR tags.t IS NULL")
    assert flt.columns == {"metrics.loss", "params.lr", "tags.t"}
    assert flt == parse_search_filter("(metric.loss>1 and param.lr='0.1') or tag.t is null")
    assert hash(flt) == hash(parse_search_filter(flt.to_string()))
    assert "metrics.loss > 1" in repr(flt)
    assert flt != parse_experiment_filter("tags.t IS NULL")
    assert parse_search_filter("").to_polars().meta.output_name() == "literal"
    assert parse_experiment_filter("").node == And(())
    with pytest.raises(FilterError):
        parse_search_filter(42)  # type: ignore[arg-type]


def test_error_positions_and_codes() -> None:
    with pytest.raises(FilterError) as info:
        parse_search_filter("metrics.loss > 1 AND params.x ~= 'a'")
    assert info.value.position == 30 and info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(FilterError) as info:
        parse_search_filter("metrics.loss > 1 AND foo.x = 'a'")
    assert info.value.position == 21


def test_unknown_escapes_are_kept_like_python_does() -> None:
    assert read_list("('\\q', '\\d')", 0).items == ("\\q", "\\d")


def test_reference_evaluation_tolerates_loose_row_types() -> None:
    flt = parse_search_filter("params.p = '5' AND metrics.m > 1 AND params.q IN ('1')")
    assert flt.matches({"params.p": 5, "metrics.m": "2.5", "params.q": 1})
    assert not flt.matches({"params.p": "5", "metrics.m": "abc", "params.q": "1"})
