"""Differential tests against the real MLflow (sqlite store): filter results, rejections, error texts
and order_by orderings, for runs and experiments."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import pytest
from eventlog.views.filter import (
    FilterError,
    order_by_exprs,
    parse_experiment_filter,
    parse_order_by,
    parse_search_filter,
    with_tiebreakers,
)

from .conftest import MlflowWorld, experiment_rows, run_rows

pytestmark = [pytest.mark.mlflow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


# ------------------------------------------------------------------------------------------ helpers


def _mlflow_run_ids(world: MlflowWorld, filter_string: str, order_by: list[str] | None = None) -> list[str]:
    runs = world.client.search_runs(
        [world.experiment_id], filter_string=filter_string, order_by=order_by, max_results=1000
    )
    return [r.info.run_id for r in runs]


def _our_run_ids(world: MlflowWorld, filter_string: str) -> set[str]:
    flt = parse_search_filter(filter_string)
    frame = world.runs_frame
    ids = set(frame.filter(flt.to_polars(available=frame.columns))["attributes.run_id"].to_list())
    reference = {row["attributes.run_id"] for row in run_rows(world) if flt.matches(row)}
    assert ids == reference, f"Polars and reference evaluation disagree on {filter_string!r}"
    assert not flt.extensions, f"{filter_string!r} needs no extension, got {flt.extensions}"
    return ids  # type: ignore[return-value]


def _our_order(
    world: MlflowWorld, frame: Any, kind: str, order_by: list[str] | None, id_column: str
) -> list[Any]:
    keys = with_tiebreakers(parse_order_by(order_by, kind), kind)  # type: ignore[arg-type]
    spec = order_by_exprs(keys, available=frame.columns)
    ordered = frame.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True)
    return ordered[id_column].to_list()


_SET_REPR = re.compile(r"\{('[^']*'(?:, '[^']*')*)\}")


def _normalise(message: str) -> str:
    """Python prints sets in hash order, which differs between MLflow's sets and ours: sort them."""

    def sort_set(m: re.Match[str]) -> str:
        items = sorted(re.findall(r"'[^']*'", m.group(1)))
        return "{" + ", ".join(items) + "}"

    return _SET_REPR.sub(sort_set, message)


def _mlflow_error(call: Any) -> tuple[str, str]:
    from mlflow.exceptions import MlflowException

    try:
        call()
    except MlflowException as exc:
        return exc.message, exc.error_code
    except Exception as exc:  # MLflow sometimes fails with a bare exception (sqlite binding, shlex)
        return f"{type(exc).__name__}: {exc}", "?"
    raise AssertionError("MLflow accepted it")


# ---------------------------------------------------------------------------- filters MLflow accepts

HAND_WRITTEN = [
    "",
    "AND",
    " and  AND ",
    "metrics.loss > 1",
    "metrics.loss < 2.5",
    "metrics.loss = 2",
    "metrics.loss != 1",
    "metrics.loss >= 0",
    "metrics.loss <= -1",
    "metrics.loss = 0",
    "metrics.loss = -0.0",
    "metrics.loss > 1e308",
    "metrics.loss < -1e308",
    "metrics.loss > -1e400",
    "metrics.loss != 1e400",
    "metrics.loss = 1.",
    "metrics.loss > -.5",
    "metrics.loss >= 1E-3",
    "metric.loss > .5",
    "metrics.`loss` > 0",
    'metrics."loss" > 0',
    "`metrics`.loss > 0",
    "`metric`.`loss` >= 0",
    "metrics.acc >= 0.5",
    "metrics.acc != 0.5",
    "metrics.`a b` = 3",
    "metrics.missing > 0",
    "metrics.missing != 0",
    "metrics.loss>1",
    "metrics.loss=00",
    "params.opt = 'adam'",
    "params.opt = 'Adam'",
    "params.opt != 'adam'",
    "params.opt LIKE 'Ad%'",
    "params.opt ILIKE 'ad%'",
    "params.opt like 'ad%'",
    "params.opt LIKE 'sgd_'",
    "params.opt LIKE 'sgd_x'",
    "params.opt LIKE '%G%'",
    "params.opt LIKE 'a%b'",
    "params.opt LIKE 'a_b'",
    "params.opt LIKE '%\\%'",
    "params.opt LIKE '%\\\\%'",
    'params.opt = "it\'s"',
    "params.opt = 'it''s'",
    "params.opt LIKE '%''%'",
    'params.opt LIKE "%\'%"',
    "params.opt LIKE '%\"%'",
    "params.opt = 'say \"hi\"'",
    "params.opt ILIKE 'é'",
    "params.opt ILIKE 'É'",
    "params.opt = 'É'",
    "params.opt LIKE '%\n%'",
    "params.opt LIKE 'line_break'",
    "params.opt = ''",
    'params.opt = ""',
    "params.opt LIKE ''",
    "params.opt LIKE '%'",
    "params.opt LIKE '_'",
    "params.opt LIKE '__'",
    "params.opt = ' '",
    "params.opt ILIKE '%[a]%'",
    "params.opt LIKE '(x)'",
    "params.opt LIKE 'a.b'",
    "params.opt LIKE '%.%'",
    "params.opt LIKE '%\\%%'",
    "params.opt = '日本'",
    "params.opt LIKE '日_'",
    "params.opt LIKE '100%'",
    "params.opt LIKE '100%%'",
    "params.opt = 'back\\slash'",
    "params.lr IS NULL",
    "params.lr is null",
    "params.lr IS NOT NULL",
    "params.lr is not null",
    "params.lr IS\nNULL",
    "params.lr = '0.1'",
    "params.lr != '0.1'",
    "params.`k.with.dots` = 'dotted'",
    "params.k.with.dots = 'dotted'",
    "params.'opt' = 'adam'",
    "param.opt = 'adam'",
    "parameter.opt = 'adam'",
    "parameters.opt = 'adam'",
    "params.opt='adam'",
    "params.opt LIKE'a%'",
    "tags.stage IS NULL",
    "tags.stage IS NOT NULL",
    "tag.stage ILIKE 'PROD'",
    "tags.stage = 'prod'",
    "tags.stage != 'prod'",
    "tags.stage LIKE 'stage\\_1'",
    "tags.stage LIKE 'stage_1'",
    "tags.note = 'it''s \"quoted\"'",
    "tags.note LIKE '%\"quoted\"'",
    "tags.missing != 'x'",
    "tags.missing IS NULL",
    "tags.missing IS NOT NULL",
    "tags.`mlflow.runName` = 'alpha'",
    "tags.\"mlflow.runName\" LIKE 'a%'",
    "tags.mlflow.runName ILIKE 'Q'",
    "attributes.status = 'FINISHED'",
    "status = 'finished'",
    "status != 'RUNNING'",
    "status LIKE 'F%'",
    "status ILIKE 'f%'",
    "attr.status = 'KILLED'",
    "run.status = 'FAILED'",
    "attribute.status != 'FAILED'",
    "run_name = 'alpha'",
    "run_name = 'q'",
    "run_name ILIKE 'q'",
    "`Run name` = 'Q'",
    "`run name` LIKE '%run%'",
    "\"Run Name\" = 'beta'",
    "attributes.run_name ILIKE 'ALPHA'",
    "run_name LIKE 'a%b'",
    "run_name ILIKE 'É-RUN'",
    "run_name ILIKE 'é-RUN'",
    "start_time > 1700000010000",
    "created >= 1700000010000",
    "Created < 1700000005000",
    "start_time = 1700000000000.0",
    "start_time > 1700000010000.5",
    "start_time != 1700000000000",
    "end_time > 0",
    "end_time != 5",
    "end_time < 1700000100000",
    "attributes.end_time <= 1700000029504",
    "user_id != 'nobody'",
    "artifact_uri LIKE '%artifacts'",
    "artifact_uri ILIKE '%ARTIFACTS'",
    "metrics.loss > 0 and params.opt = 'adam'",
    "metrics.loss > 0 AND tags.stage ILIKE 'prod' AND status = 'FINISHED'",
    "AND metrics.loss > 0",
    "metrics.loss > 0 AND",
    "metrics.loss > 0 AND AND params.lr IS NULL",
    "params.lr IS NULL params.opt = 'adam'",
    "params.lr IS NOT NULL params.opt LIKE 'a%'",
    "metrics.loss > 0 metrics.acc < 1",
    "params.opt='adam'and metrics.loss<5",
    'params.opt = "Adam"and metrics.loss < 5',
    "metrics.loss > 0\nAND\nparams.lr IS NOT NULL",
    "params.lr IS NULL AND params.opt IS NULL",
    "metrics.loss > 1 AND metrics.loss < 1",
]


def _dynamic_filters(world: MlflowWorld) -> list[str]:
    ids = sorted(r.info.run_id for r in world.runs)
    user = world.runs[0].info.user_id
    return [
        f"run_id IN ('{ids[0]}', '{ids[1]}')",
        f'run_id IN ("{ids[2]}")',
        f"run_id in ('{ids[3]}',)",
        f"run_id IN (('{ids[4]}'))",
        f"run_id NOT IN ('{ids[0]}')",
        f"run_id not in ('{ids[0]}', '{ids[5]}')",
        f"run_id = '{ids[6]}'",
        f"run_id != '{ids[6]}'",
        f"run_id LIKE '{ids[7][:3]}%'",
        f"attributes.run_id IN ('{ids[8]}') AND metrics.loss > 0",
        f"params.lr IS NULL run_id IN ('{ids[0]}', '{ids[9]}')",
        f"run_id IN ('{ids[0]}') metrics.loss > 0",
        f"user_id = '{user}'",
        f"user_id LIKE '{user[:1]}%'",
    ]


def _generated_filters() -> list[str]:
    numeric_keys = ["metrics.loss", "metrics.acc", "metrics.`a b`", "metrics.nope"]
    numeric_values = ["0", "1", "-1", "2.5", "1e-3", "-2.5", "3", "100", "-0.0", "1e308"]
    string_keys = ["params.opt", "tags.stage", "params.lr", "tags.nope", "status", "run_name"]
    string_values = [
        "'adam'",
        "'Adam'",
        "'a%'",
        "'A%'",
        "'%a%'",
        "'_dam'",
        "'a_b'",
        "'%_%'",
        "'prod'",
        "'PROD'",
        "'FINISHED'",
        "'0.1'",
        "'é'",
        "'%'",
        "''",
    ]
    time_keys = ["start_time", "end_time", "created"]
    time_values = ["0", "1700000010000", "1700000010000.5", "1700000029504", "-5"]
    clauses = [
        *(
            f"{k} {op} {v}"
            for k in numeric_keys
            for op in ("=", "!=", "<", "<=", ">", ">=")
            for v in numeric_values
        ),
        *(f"{k} {op} {v}" for k in string_keys for op in ("=", "!=", "LIKE", "ILIKE") for v in string_values),
        *(
            f"{k} {op} {v}"
            for k in time_keys
            for op in ("=", "!=", "<", "<=", ">", ">=")
            for v in time_values
        ),
        *(
            f"{k} {op}"
            for k in ("params.opt", "params.lr", "tags.stage", "tags.nope")
            for op in ("IS NULL", "IS NOT NULL")
        ),
    ]
    rng = random.Random(7)
    singles = rng.sample(clauses, 160)
    pairs = [f"{a} AND {b}" for a, b in (rng.sample(clauses, 2) for _ in range(40))]
    return singles + pairs


def test_filter_results_match_mlflow(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    assert len(world.runs) >= 100
    filters = HAND_WRITTEN + _dynamic_filters(world) + _generated_filters()
    mismatches = []
    non_trivial = 0
    for text in filters:
        expected = set(_mlflow_run_ids(world, text))
        got = _our_run_ids(world, text)
        if expected != got:
            mismatches.append((text, sorted(expected - got)[:3], sorted(got - expected)[:3]))
        non_trivial += 0 < len(expected) < len(world.runs)
    assert not mismatches, mismatches
    assert len(filters) >= 300
    assert non_trivial >= len(filters) // 2  # the data set actually discriminates


# ---------------------------------------------------------------------------- filters MLflow rejects

REJECTED = [
    "   ",
    "\n",
    "metrics.loss",
    "metrics.loss > '1'",
    'metrics.loss > "1"',
    "metrics.loss IS NULL",
    "metrics.loss LIKE 1",
    "metrics.loss IN (1)",
    "metrics.loss IN ('a')",
    "metrics.loss = NULL",
    "params.opt = adam",
    "params.opt = 1",
    "params.opt = NULL",
    "params.opt > 'a'",
    "params.opt == 'adam'",
    "params.opt <> 'adam'",
    "params.opt NOT LIKE 'a'",
    "params.opt RLIKE 'a'",
    "params.opt = ('a')",
    "params.opt = 'a' 'b'",
    'params.opt = "a" "b"',
    "params.opt LIKE('a')",
    "params.opt = `a`",
    "tags.stage < 'a'",
    "tags.stage IN 'a'",
    "METRICS.loss > 1",
    "foo.bar = 'a'",
    "experiment_id = '0'",
    "lifecycle_stage = 'active'",
    "attributes.experiment_id = '1'",
    "status IS NULL",
    "status > 'a'",
    "status = FINISHED",
    "start_time > '1'",
    "start_time LIKE 1",
    "start_time IN (1)",
    "end_time IS NOT NULL",
    "created LIKE '1%'",
    "run_id IN ()",
    "run_id IN (1)",
    "run_id IN (1, 'a')",
    "run_id IN 'a'",
    "run_id NOT IN 'a'",
    "run_id = ('a')",
    "run_id IN (`a`)",
    "run_id IN ('a',,)",
    "run_id IN ('a') params.opt IS NULL",
    "run_id IN ('a') run_id IN ('b')",
    "params.opt = 'a' run_id IN ('b')",
    "params.lr IS  NOT  NULL",
    "params.lr IS NOT\nNULL",
    "params.lr IS",
    "params.lr IS NOT",
    "params.lr NOT NULL",
    "params.opt = 'a' and not params.lr = 'b'",
    "NOT params.opt = 'a'",
    "params.opt = 'a' OR",
    "params.opt = 'a';",
    "params.opt = 'a'; params.lr = 'b'",
    ";",
    "metrics.loss > 1 -- c",
    "params.opt = 'a' /* c */",
    "metrics.a/b > 1",
    "metrics.a-b > 1",
    "metrics.loss = 0x10",
    "metrics.loss = 1 1",
    "metrics.loss = - 1",
    "metrics.loss = +1",
    "metrics.loss > 1e+3",
    "metrics.loss > 1and params.opt = 'a'",
    "metrics.12loss > 1",
    "metrics.1e5x > 1",
    "metrics.loss.5 > 1",
    "tags.in = 'a'",
    "`params.opt` = 'a'",
    "\"params\".opt = 'a'",
    "1 = 1",
    "'a' = params.opt",
    "metrics.loss >",
    "params.opt =",
    "= 'a'",
    "metrics .loss > 1",
    "run name = 'a'",
    "dataset.foo = 'a'",
    "datasets.name IS NULL",
    "dataset.name > 'a'",
    "metrics.loss > 1 AND ANDAND params.opt = 'a'",
    "params.opt = 'a' && metrics.loss > 1",
    "params.opt = 'a' || metrics.loss > 1",
    "params.opt = 'a' b",
    "params.opt IS NULL AND params.lr",
    "metrics.loss = 1 = 1",
    "params.opt = ?",
    "params.opt = :x",
]


def test_mlflow_rejected_filters_are_rejected(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    assert len(REJECTED) >= 30
    for text in REJECTED:
        _mlflow_error(lambda text=text: _mlflow_run_ids(world, text))
        with pytest.raises(FilterError):
            parse_search_filter(text)


EXACT_MESSAGES = [
    "  ",
    "metrics.loss > '1'",
    'metrics.loss > "1"',
    "metrics.loss IS NULL",
    "metrics.loss LIKE 1",
    "metrics.loss IN ('a')",
    "params.opt = adam",
    "params.opt = 1",
    "params.opt = NULL",
    "params.opt > 'a'",
    "params.opt == 'adam'",
    "params.opt NOT LIKE 'a'",
    "params.opt = ('a')",
    "tags.stage < 'a'",
    "METRICS.loss > 1",
    "foo.bar = 'a'",
    "`foo`.bar = 'a'",
    "experiment_id = '0'",
    "lifecycle_stage = 'active'",
    "status IS NULL",
    "status > 'a'",
    "status = FINISHED",
    "start_time > '1'",
    "start_time LIKE 1",
    "end_time IS NOT NULL",
    "run_id IN ()",
    "run_id IN (1)",
    "run_id IN (1, 'a')",
    "run_id IN (`a`)",
    "run_id IN ('a',,)",
    "params.opt = 'a'; params.lr = 'b'",
    "dataset.foo = 'a'",
    "datasets.name IS NULL",
    "dataset.name > 'a'",
    "metrics.loss > 1and params.opt = 'a'",
    "\"params\".opt = 'a'",
    "`params.opt` = 'a'",
    "metrics .loss > 1",
    "params.opt RLIKE 'a'",
    "created LIKE 1",
    "metrics.loss = 1 AND params.opt = 2",
    "params.opt = 'a' AND metrics.loss != 'x'",
]


def test_error_messages_are_mlflows(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    for text in EXACT_MESSAGES:
        message, code = _mlflow_error(lambda text=text: _mlflow_run_ids(world, text))
        with pytest.raises(FilterError) as info:
            parse_search_filter(text)
        assert _normalise(str(info.value)) == _normalise(message), text
        assert info.value.error_code == code, text


def test_our_own_messages_name_the_position() -> None:
    cases = {
        "params.opt = 'a' OR": 19,
        "metrics.loss > 1 AND NOT params.opt = 'a'": 21,
        "(metrics.loss > 1": 17,
        "metrics.loss > 1)": 16,
        "params.opt = 'a' run_id IN ('b')": 17,
        "params.lr IS  NOT  NULL": 14,
        "metrics.loss > 1 -- c": 17,
        "metrics.loss = - 1": 15,
        "()": 0,
        "params.opt = 'a' (metrics.loss > 1)": 17,
    }
    for text, position in cases.items():
        with pytest.raises(FilterError) as info:
            parse_search_filter(text)
        assert info.value.position == position, (text, str(info.value))
        assert f"at position {position}" in str(info.value), str(info.value)


# ------------------------------------------------------------------------------------------ order_by

ORDER_BYS: list[list[str] | None] = [
    None,
    [],
    ["metrics.loss"],
    ["metrics.loss DESC"],
    ["metrics.loss ASC"],
    ["metrics.loss desc"],
    ["metrics.acc DESC"],
    ["metrics.acc"],
    ["metrics.`a b` desc"],
    ["`metrics`.`loss` DESC"],
    ['metrics."loss"'],
    ["metric.loss  DESC"],
    ["metrics.nope"],
    ["params.opt"],
    ["params.opt DESC"],
    ["params.lr"],
    ["params.lr DESC"],
    ["param.`k.with.dots`"],
    ["tags.stage"],
    ["tags.stage DESC"],
    ["tags.`mlflow.runName` DESC"],
    ["start_time"],
    ["start_time ASC"],
    ["created DESC"],
    ["Created"],
    ["end_time"],
    ["end_time DESC"],
    ["status"],
    ["status DESC"],
    ["run_name DESC"],
    ["run_name"],
    ["run_id"],
    ["attributes.run_id DESC"],
    ["user_id"],
    ["artifact_uri DESC"],
    ["tags.stage", "metrics.loss DESC"],
    ["params.opt DESC", "metrics.acc"],
    ["status", "end_time DESC"],
    ["metrics.loss", "start_time ASC"],
    ["tags.group", "params.lr DESC", "metrics.loss"],
    ["metrics.acc DESC", "run_name"],
]


def test_order_by_matches_mlflow(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    for order_by in ORDER_BYS:
        expected = _mlflow_run_ids(world, "", order_by)
        got = _our_order(world, world.runs_frame, "runs", order_by, "attributes.run_id")
        assert got == expected, order_by


ORDER_BY_ERRORS = [
    ["metrics.loss DESCENDING"],
    ["params.opt ASC DESC"],
    ["metrics.loss", "metrics.loss DESC"],
    ["created", "start_time DESC"],
    ["metric.loss", "metrics.loss"],
    ["experiment_id"],
    [" metrics.loss"],
    ["metrics.loss "],
    ["dataset.name"],
    ["`run name`"],
    ["run name"],
    ["foo.bar"],
    ["metrics.loss NULLS LAST"],
    ["metrics.loss ASC, params.x"],
    ["metrics.a/b"],
    ["metrics.loss;"],
    ["(metrics.loss)"],
    ["metrics.loss 1"],
    [""],
    ["metrics.`a b` `c`"],
    ["METRICS.loss"],
]


def test_order_by_errors_match_mlflow(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    for order_by in ORDER_BY_ERRORS:
        message, code = _mlflow_error(lambda order_by=order_by: _mlflow_run_ids(world, "", order_by))
        with pytest.raises(FilterError) as info:
            parse_order_by(order_by, "runs")
        assert _normalise(str(info.value)) == _normalise(message), order_by
        assert info.value.error_code == code, order_by


# ------------------------------------------------------------------------------- accept/reject parity


_IDENTS = [
    "metrics.loss",
    "params.opt",
    "tags.stage",
    "run_id",
    "status",
    "start_time",
    "end_time",
    "created",
    "`Run name`",
    '"run_name"',
    "attributes.status",
    "metric.loss",
    "param.opt",
    "foo.bar",
    "experiment_id",
    "METRICS.loss",
    "metrics.`a b`",
    "params.'opt'",
    "metrics. loss",
    "metrics .loss",
    "metrics.1loss",
    "metrics.12a",
    "params.opt.",
    "params.k.with.dots",
    "run_name",
    "`params`.opt",
    '"params".opt',
    "tags.in",
    "params.and",
    "params.*",
    "user_id",
    "params.`opt`",
    'params."opt"',
    "tags.`mlflow.runName`",
    "metrics.loss.5",
]
_OPS = [
    *["=", "!=", "<", "<=", ">", ">=", "==", "<>", "=<", "!", "~"],
    *["LIKE", "like", "ILIKE", "NOT LIKE", "RLIKE", "IN", "NOT IN", "not in", "IS", "IS NULL", "IS NOT NULL"],
    *["is not  null", "is null"],
]
_VALUES = [
    *["'Adam'", '"adam"', "'a%'", "'%a%'", "'A%'", "'a_b'", "'%'", "''", "'it''s'", '"it\'s"', "'1'"],
    *["1", "-1", "1.5", "1e3", ".5", "1.", "0x1", "0", "1700000010000", "1700000010000.5"],
    *["NULL", "adam", "('Adam')", "('adam', 'x')", "()", "(1)", "('a',)", "(('x'))", "'a' 'b'"],
    *['"a".b', '"a"."b"', "1and", "'x'and", "'FINISHED'", "'alpha'"],
]
_CONNECTORS = [" AND ", " and ", " ", " AND AND ", "", " ; ", " NOT ", ", ", "\n"]


_TYPED = [
    (
        ["metrics.loss", "metric.loss", "metrics.`a b`", "metrics.acc"],
        ["=", "!=", "<", "<=", ">", ">="],
        ["1", "-1", "1.5", "1e3", ".5", "1.", "0", "-0.0", "2"],
    ),
    (
        ["params.opt", "tags.stage", "param.lr", 'tags."stage"', "params.'opt'"],
        ["=", "!=", "LIKE", "ILIKE", "like"],
        ["'Adam'", '"adam"', "'a%'", "'%a%'", "'A%'", "'a_b'", "'%'", "''", "'prod'", '"it\'s"'],
    ),
    (
        ["status", "run_name", "`Run name`", "attributes.user_id", "run.status"],
        ["=", "!=", "LIKE", "ILIKE"],
        ["'FINISHED'", "'alpha'", "'%a%'", "'Q'", "'f%'"],
    ),
    (
        ["start_time", "end_time", "created", "attr.end_time"],
        ["=", "!=", "<", "<=", ">", ">="],
        ["0", "1700000010000", "1700000010000.5", "-1"],
    ),
]


def _typed_clause(rng: random.Random) -> str:
    keys, ops, values = rng.choice(_TYPED)
    space = rng.choice([" ", ""])
    return f"{rng.choice(keys)}{space}{rng.choice(ops)}{rng.choice([' ', ''])}{rng.choice(values)}"


def _random_filter(rng: random.Random) -> str:
    parts = []
    n = rng.randint(1, 3)
    for i in range(n):
        roll = rng.random()
        if roll < 0.6:
            part = _typed_clause(rng)
        elif roll < 0.8:
            part = (
                f"{rng.choice(_IDENTS)}{rng.choice([' ', '', '  '])}{rng.choice(_OPS)}{rng.choice([' ', ''])}"
            )
            part += rng.choice(_VALUES)
        elif roll < 0.9:
            suffix = rng.choice(["IS NULL", "IS NOT NULL", "IN ('Adam')", "NOT IN ('adam', 'x')"])
            part = f"{rng.choice(_IDENTS)} {suffix}"
        else:
            part = rng.choice(_IDENTS + _OPS + _VALUES)
        parts.append(part)
        if i < n - 1:
            parts.append(rng.choice(_CONNECTORS) if rng.random() < 0.5 else " AND ")
    text = "".join(parts)
    if rng.random() < 0.1:
        text = rng.choice(["AND ", " ", "and "]) + text
    if rng.random() < 0.1:
        text += rng.choice([" AND", " ", ";", " and and"])
    return text


def _glued_is_null(text: str) -> bool:
    """MLflow parses ``<identifier> <tokens...> <identifier> IS NULL`` by gluing everything before IS
    into one alias-identifier, i.e. a key with a space in it (``tags.x (1) params.y IS NULL`` is the tag
    ``x (1) params.y`` IS NULL)."""
    from mlflow.utils.search_utils import SearchUtils

    try:
        parsed = SearchUtils.parse_search_filter(text)
    except Exception:
        return False
    return any(c["comparator"] in ("IS NULL", "IS NOT NULL") and " " in c["key"] for c in parsed)


def test_random_filters_accepted_exactly_when_mlflow_accepts(mlflow_world: MlflowWorld) -> None:
    """Random OR-free strings from MLflow's vocabulary: same verdict, same runs.

    Documented exceptions are skipped: a comparison (or an identifier followed by a parenthesis) followed,
    without AND, by an IS NULL or IN clause. MLflow's sqlparse grouping glues them into one nonsense
    identifier (``params.x = 'a' params.y IS NULL`` becomes the param ``x = 'a' params.y`` IS NULL) and
    accepts it; we reject it. And dataset filters, which MLflow accepts and we reject as unsupported.
    """
    world = mlflow_world
    rng = random.Random(1234)
    compared = accepted = 0
    for _ in range(350):
        text = _random_filter(rng)
        try:
            ours = parse_search_filter(text)
        except FilterError as exc:
            ours = None
            if "Missing AND before" in str(exc) or "dataset" in str(exc) or _glued_is_null(text):
                continue
        if ours is not None and ours.extensions:
            _mlflow_error(lambda text=text: _mlflow_run_ids(world, text))
            continue
        try:
            expected: set[str] | None = set(_mlflow_run_ids(world, text))
        except Exception:
            expected = None
        compared += 1
        assert (expected is None) == (ours is None), text
        if ours is not None:
            accepted += 1
            assert _our_run_ids(world, text) == expected, text
    assert compared > 250 and accepted > 40


# ------------------------------------------------------------------------------------------ experiments


def _mlflow_experiment_ids(
    world: MlflowWorld, filter_string: str | None, order_by: list[str] | None = None
) -> list[int]:
    experiments = world.client.search_experiments(
        filter_string=filter_string, order_by=order_by, max_results=1000
    )
    return [int(e.experiment_id) for e in experiments]


def _our_experiment_ids(world: MlflowWorld, filter_string: str) -> set[int]:
    flt = parse_experiment_filter(filter_string)
    frame = world.experiments_frame
    ids = set(frame.filter(flt.to_polars(available=frame.columns))["attributes.experiment_id"].to_list())
    reference = {r["attributes.experiment_id"] for r in experiment_rows(world.experiments) if flt.matches(r)}
    assert ids == reference, filter_string
    return ids  # type: ignore[return-value]


def test_experiment_filters_match_mlflow(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    by_name = {e.name: e for e in world.experiments}
    zeta, alpha = by_name["zeta"], by_name["Alpha"]
    filters = [
        "",
        "name = 'zeta'",
        "name = 'ZETA'",
        "name != 'zeta'",
        "name LIKE 'a%'",
        "name LIKE 'A%'",
        "name ILIKE 'alpha'",
        "name ILIKE 'é'",
        "name ILIKE 'É'",
        "name LIKE 'beta_%'",
        "name LIKE '%\\%%'",
        "name LIKE '%''%'",
        'name = "it\'s"',
        "name LIKE '% %'",
        "attribute.name = 'Alpha'",
        "`name` = 'mid'",
        "\"name\" = 'mid'",
        "tags.team = 'ml'",
        "tag.team ILIKE 'ML'",
        "tags.team != 'ml'",
        "tags.team LIKE 'M%'",
        "tags.owner IS NULL",
        "tags.owner IS NOT NULL",
        "tags.missing != 'x'",
        "tags.missing IS NULL",
        f"experiment_id = '{zeta.experiment_id}'",
        f'experiment_id = "{zeta.experiment_id}"',
        f"experiment_id IN ('{zeta.experiment_id}', '{alpha.experiment_id}')",
        f"experiment_id NOT IN ('0', '{alpha.experiment_id}')",
        f"experiment_id != '{zeta.experiment_id}'",
        "experiment_id IN ('0')",
        f"creation_time > {zeta.creation_time}",
        f"creation_time >= {zeta.creation_time}",
        f"creation_time = {zeta.creation_time}",
        f"last_update_time <= {zeta.last_update_time}",
        "creation_time != 0",
        "creation_time > -5",
        "name LIKE '%a%' AND tags.team = 'ml'",
        "tags.team = 'ml' AND tags.owner IS NULL",
        "name ILIKE 'a%' tags.team = 'ML'",
        "AND name = 'zeta' AND",
    ]
    for text in filters:
        assert _our_experiment_ids(world, text) == set(_mlflow_experiment_ids(world, text)), text


EXPERIMENT_REJECTED = [
    "name IS NULL",
    "params.x = 'a'",
    "attributes.name = 'a'",
    "attr.name = 'a'",
    "`tags`.team = 'ml'",
    "metrics.x > 1",
    "experiment_id > '1'",
    "experiment_id LIKE '1'",
    "experiment_id = 1",
    "experiment_id = 'abc'",
    "experiment_id IN ('1', 'x')",
    "experiment_id IN (1, 2)",
    "creation_time > 1.5",
    "creation_time > 1e3",
    "creation_time > '1'",
    "creation_time LIKE 1",
    "lifecycle_stage = 'active'",
    "tags.team < 'a'",
    "tags.team = ml",
    "name > 'a'",
    "name = 'a' OR",
    "name = 'a'; name = 'b'",
    "name IN ('a') tags.x IS NULL",
]


def test_experiment_rejections_and_messages_match_mlflow(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    for text in EXPERIMENT_REJECTED:
        message, _ = _mlflow_error(lambda text=text: _mlflow_experiment_ids(world, text))
        with pytest.raises(FilterError) as info:
            parse_experiment_filter(text)
        ours = str(info.value)
        if "position" not in ours:
            assert _normalise(ours) == _normalise(message), text


def test_experiment_order_by_matches_mlflow(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    frame = world.experiments_frame
    tied = frame.filter(frame["attributes.creation_time"] == 1700000000000).height
    assert tied >= 4  # ties make the tie-breaker direction observable
    for order_by in [
        None,
        [],
        ["name"],
        ["name DESC"],
        ["creation_time"],
        ["creation_time DESC"],
        ["last_update_time DESC"],
        ["experiment_id DESC"],
        ["experiment_id"],
        ["creation_time", "name DESC"],
        ["attribute.creation_time ASC"],
        ["`name` desc"],
    ]:
        expected = _mlflow_experiment_ids(world, None, order_by)
        got = _our_order(world, frame, "experiments", order_by, "attributes.experiment_id")
        assert got == expected, order_by


def test_experiment_order_by_errors_match_mlflow(mlflow_world: MlflowWorld) -> None:
    world = mlflow_world
    for order_by in (
        ["tags.team"],
        ["params.x"],
        ["foo"],
        ["name DESCENDING"],
        ["name ASC DESC"],
        ["`attribute`.name"],
    ):
        message, _ = _mlflow_error(lambda order_by=order_by: _mlflow_experiment_ids(world, None, order_by))
        with pytest.raises(FilterError) as info:
            parse_order_by(order_by, "experiments")
        assert _normalise(str(info.value)) == _normalise(message), order_by


def test_filter_and_order_combined(mlflow_world: MlflowWorld) -> None:
    """Filtering then ordering the wide frame reproduces MLflow's full, ordered answer."""
    world = mlflow_world
    frame = world.runs_frame
    for text, order_by in itertools.product(
        ["metrics.loss > 0", "params.opt ILIKE '%a%'", "tags.stage IS NOT NULL"],
        [["metrics.loss DESC"], ["params.opt", "end_time DESC"]],
    ):
        expected = _mlflow_run_ids(world, text, order_by)
        flt = parse_search_filter(text)
        filtered = frame.filter(flt.to_polars(available=frame.columns))
        got = _our_order(world, filtered, "runs", order_by, "attributes.run_id")
        assert got == expected, (text, order_by)
