"""eventlog._validation (and eventlog._names): MLflow's rules, limits and exact messages.

Most tests are differential: the same input goes to ``mlflow.utils.validation`` and to eventlog, and the
outcome (accepted value, or error code and message) must be identical.
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eventlog import _names
from eventlog import _validation as v
from eventlog._names import generate_run_name
from eventlog.entities import Metric, Param, RunTag
from eventlog.exceptions import InvalidParameterValue, MlflowException

# --- helpers --------------------------------------------------------------------------------------------


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """What a call did, comparable across libraries: its result, or its error's kind, code and text."""
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as e:
        if hasattr(e, "error_code"):
            return ("error", e.error_code, getattr(e, "message", None))
        return ("raised", type(e).__name__, str(e))


def _value_of(result: Any) -> Any:
    """MLflow's validators return Param/RunTag objects where eventlog returns the value."""
    return getattr(result, "value", result)


def _same(ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> None:
    if ours[0] == theirs[0] == "ok":
        assert _value_of(ours[1]) == _value_of(theirs[1])
    else:
        assert ours == theirs


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_TRUNCATE_LONG_VALUES", "MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def mv() -> Any:
    from mlflow.utils import validation

    return validation


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def mlflow_log() -> Iterator[_ListHandler]:
    # MLflow's loggers do not propagate to the root logger, so caplog cannot see them.
    handler = _ListHandler()
    logger = logging.getLogger("mlflow.utils.validation")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


KEYS = [
    "loss",
    "a/b",
    "a b",
    "a:b",
    "a.b-c_d",
    "ünïcødé",
    "数字",
    "",
    ".",
    "./a",
    "a/",
    "a//b",
    "/abs",
    "../x",
    "..",
    "a/../b",
    "a/./b",
    "..a",
    "bad*key",
    "tab\tkey",
    "trailing\n",
    "\nleading",
    "mid\nline",
    "back\\slash",
    "k" * 250,
    "k" * 251,
    "é" * 251,
    "bad*" + "k" * 300,
    "../" + "k" * 300,
]
KEY_ALPHABET = "ab/._- :*\n\t\\é中٣"
keys = st.one_of(
    st.text(alphabet=KEY_ALPHABET, max_size=8),
    st.text(max_size=12),
    st.integers(245, 256).map(lambda n: "k" * n),
    st.sampled_from(KEYS),
)


# --- keys -----------------------------------------------------------------------------------------------


@pytest.mark.mlflow
@pytest.mark.parametrize("key", [*KEYS, None, 5])
def test_keys_match_mlflow_for_known_cases(mv: Any, key: Any) -> None:
    _check_key_everywhere(mv, key)


@pytest.mark.mlflow
@settings(max_examples=400, deadline=None)
@given(key=keys)
def test_keys_match_mlflow_for_generated_text(mv: Any, key: str) -> None:
    _check_key_everywhere(mv, key)


def _check_key_everywhere(mv: Any, key: Any) -> None:
    _same(outcome(v.validate_param, key, "v"), outcome(mv._validate_param, key, "v"))
    _same(
        outcome(v.validate_param, key, "v", "params[3]"), outcome(mv._validate_param, key, "v", "params[3]")
    )
    _same(outcome(v.validate_tag, key, "v"), outcome(mv._validate_tag, key, "v"))
    _same(outcome(v.validate_tag, key, "v", "tags[1]"), outcome(mv._validate_tag, key, "v", path="tags[1]"))
    _same(outcome(v.validate_metric, key, 1.0, 0, 0), outcome(mv._validate_metric, key, 1.0, 0, 0))
    _same(
        outcome(v.validate_metric, key, 1.0, 0, 0, "metrics[2]"),
        outcome(mv._validate_metric, key, 1.0, 0, 0, path="metrics[2]"),
    )
    _same(outcome(v.validate_experiment_tag, key, "v"), outcome(mv._validate_experiment_tag, key, "v"))
    _same(outcome(v.validate_metric_name, key), outcome(mv._validate_metric_name, key))
    _same(outcome(v.validate_tag_name, key), outcome(mv._validate_tag_name, key))
    # Every kind of key follows the same rules.
    accepted = outcome(mv._validate_param, key, "v")[0] == "ok"
    assert (outcome(v.validate_tag, key, "v")[0] == "ok") is accepted
    assert (outcome(v.validate_metric, key, 1.0, 0, 0)[0] == "ok") is accepted


def test_key_messages_from_reference() -> None:
    with pytest.raises(InvalidParameterValue) as info:
        v.validate_param_key("bad*key")
    assert info.value.message == (
        """Invalid value "bad*key" for parameter 'key' supplied: Names may only contain alphanumerics, """
        "underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
    )
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as path_info:
        v.validate_metric_name("../x")
    assert path_info.value.message == (
        """Invalid value "../x" for parameter 'name' supplied: Names may be treated as files in certain """
        "cases, and must not resolve to other names when treated as such. This name would resolve to '../x'"
    )
    with pytest.raises(MlflowException, match=r"This name would resolve to '\.'$"):
        v.validate_tag_name("")
    with pytest.raises(MlflowException, match=r"^'Param key' exceeds the maximum length of 250 characters$"):
        v.validate_param_key("k" * 251)
    with pytest.raises(MlflowException, match=r"^Missing value for required parameter 'key'\.$"):
        v.validate_tag_name(None)  # type: ignore[arg-type]
    with pytest.raises(
        MlflowException, match=r'^Invalid value "" for parameter \'key\' supplied: A key name'
    ):
        v.validate_param_key(None)  # type: ignore[arg-type]
    with pytest.raises(
        MlflowException, match=r"^Invalid value null for parameter 'name' supplied: Metric name"
    ):
        v.validate_metric_name(None)  # type: ignore[arg-type]


# --- values and truncation ------------------------------------------------------------------------------


@pytest.mark.mlflow
@pytest.mark.parametrize("truncate", [None, "true", "1", "FALSE", "0", "maybe"])
@pytest.mark.parametrize("length_over", [-1, 0, 1, 500])
def test_long_values_match_mlflow(
    mv: Any,
    mlflow_log: _ListHandler,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    truncate: str | None,
    length_over: int,
) -> None:
    if truncate is not None:
        monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", truncate)
    caplog.set_level(logging.WARNING, logger="eventlog._validation")
    param_value = "p" * (v.MAX_PARAM_VAL_LENGTH + length_over)
    tag_value = "t" * (v.MAX_TAG_VAL_LENGTH + length_over)
    cases = [
        (outcome(v.validate_param, "k", param_value), outcome(mv._validate_param, "k", param_value)),
        (outcome(v.validate_param_value, "k", param_value), outcome(mv._validate_param, "k", param_value)),
        (outcome(v.validate_tag, "k", tag_value), outcome(mv._validate_tag, "k", tag_value)),
        (outcome(v.validate_tag_value, "k", tag_value), outcome(mv._validate_tag, "k", tag_value)),
        (
            outcome(v.validate_tag, "k", tag_value, "tags[4]"),
            outcome(mv._validate_tag, "k", tag_value, path="tags[4]"),
        ),
    ]
    for ours, theirs in cases:
        _same(ours, theirs)
    ours_warnings = [r.getMessage() for r in caplog.records if r.name == "eventlog._validation"]
    assert ours_warnings == mlflow_log.messages
    if ours_warnings:
        assert ours_warnings[0].startswith("Param value 'ppp")
        assert ours_warnings[0].endswith(
            "characters) is truncated to 6000 characters to meet the length limit."
        )


def test_truncation_reads_env_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    long_value = "x" * 6001
    assert v.validate_param_value("k", long_value) == "x" * 6000
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "false")
    with pytest.raises(
        MlflowException, match=r"^'Param value' exceeds the maximum length of 6000 characters$"
    ):
        v.validate_param_value("k", long_value)
    with pytest.raises(MlflowException, match=r"^'value' exceeds the maximum length of 8000 characters$"):
        v.validate_tag_value("k", "x" * 8001)


@pytest.mark.mlflow
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("k", "v" * 20000),
        ("k", "v" * 20001),
        ("k" * 251, "v"),
        ("bad*", "v" * 30000),
        (None, "v"),
        ("k", None),
    ],
)
def test_experiment_tags_match_mlflow_and_never_truncate(mv: Any, key: Any, value: Any) -> None:
    _same(outcome(v.validate_experiment_tag, key, value), outcome(mv._validate_experiment_tag, key, value))


# --- metrics --------------------------------------------------------------------------------------------

METRIC_CASES = [
    ("m", 1.0, 0, 0),
    ("m", 3, 1795707592584, -2),
    ("m", float("nan"), 0, 0),
    ("m", float("inf"), 0, 1.5),
    ("m", -float("inf"), 0, 0),
    ("m", None, 0, 0),
    ("m", "abc", 5, 0),
    ("m", True, 5, 0),
    ("m", Decimal("1.5"), 0, 0),
    ("m", Fraction(1, 3), 0, 0),
    ("m", 1 + 2j, 0, 0),
    ("negts", 1.0, -5, 0),
    ("m", 1.0, None, 0),
    ("m", 1.0, "5", 0),
    ("m", 1.0, 1.5, 0),
    ("m", 1.0, 0, None),
    ("m", 1.0, 0, "1"),
    ("m", 1.0, 0, True),
    ("m" * 251, 1.0, 0, 0),
    ("m" * 251, "abc", 0, 0),
    ("bad*", "abc", -1, None),
    (None, 1.0, 0, 0),
    ("m", object(), 0, 0),
]


@pytest.mark.mlflow
@pytest.mark.parametrize(("key", "value", "timestamp", "step"), METRIC_CASES)
@pytest.mark.parametrize("path", ["", "metrics[7]"])
def test_metrics_match_mlflow(mv: Any, key: Any, value: Any, timestamp: Any, step: Any, path: str) -> None:
    ours = outcome(v.validate_metric, key, value, timestamp, step, path)
    theirs = outcome(mv._validate_metric, key, value, timestamp, step, path=path)
    assert ours == theirs


metric_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=5),
    st.decimals(allow_nan=False),
)


@pytest.mark.mlflow
@settings(max_examples=300, deadline=None)
@given(key=keys, value=metric_values, timestamp=metric_values, step=metric_values)
@example(key="m", value=1.0, timestamp=-1, step=0)
def test_generated_metrics_match_mlflow(mv: Any, key: str, value: Any, timestamp: Any, step: Any) -> None:
    ours = outcome(v.validate_metric, key, value, timestamp, step)
    theirs = outcome(mv._validate_metric, key, value, timestamp, step)
    assert ours == theirs


def test_metric_messages_from_reference() -> None:
    with pytest.raises(MlflowException) as info:
        v.validate_metric("m", "abc", 123, 0)
    assert info.value.message == (
        """Invalid value "abc" for parameter 'value' supplied: (timestamp=123). """
        "Please specify value as a valid double (64-bit floating point)"
    )
    with pytest.raises(MlflowException) as info:
        v.validate_metric("negts", 1.0, -5, 0)
    assert info.value.message == (
        "Invalid value -5 for parameter 'timestamp' supplied: metric 'negts' (value=1.0). "
        "Timestamp must be a nonnegative long (64-bit integer) "
    )
    with pytest.raises(
        MlflowException, match=r"^Missing value for required parameter 'metrics\[0\]\.value'\.$"
    ):
        v.validate_metric("m", None, 0, 0, "metrics[0]")


np_values: list[Any] = []
try:
    import numpy as np

    np_values = [
        np.float32(1.5),
        np.float64(2.5),
        np.int64(7),
        np.bool_(True),
        np.array(3.5),
        np.array([4.5]),
        np.array([1.0, 2.0]),
        np.array("x"),
    ]
except ImportError:  # pragma: no cover - numpy ships with mlflow
    pass

CONVERSION_CASES: list[Any] = [
    None,
    1.25,
    float("nan"),
    3,
    True,
    False,
    "3.5",
    " 7 ",
    "nan",
    "-inf",
    "abc",
    "",
    Decimal("1.1"),
    Fraction(1, 4),
    2**2000,
    [1.0],
    {"a": 1},
    1 + 1j,
    b"2.5",
    *np_values,
]


@pytest.mark.mlflow
@pytest.mark.parametrize("value", CONVERSION_CASES, ids=repr)
def test_metric_value_conversion_matches_mlflow(value: Any) -> None:
    from mlflow.tracking.metric_value_conversion_utils import convert_metric_value_to_float_if_possible

    ours = outcome(v.convert_metric_value, value)
    theirs = outcome(convert_metric_value_to_float_if_possible, value)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert type(ours[1]) is type(theirs[1])
        same_nan = isinstance(ours[1], float) and math.isnan(ours[1]) and math.isnan(theirs[1])
        assert same_nan or ours[1] is theirs[1] or ours[1] == theirs[1]
    else:
        assert ours == theirs


def test_conversion_then_validation() -> None:
    assert v.convert_metric_value(True) == 1.0
    assert v.convert_metric_value("3.5") == 3.5
    assert v.convert_metric_value("abc") == "abc"
    with pytest.raises(MlflowException, match="Please specify value as a valid double"):
        v.validate_metric("m", v.convert_metric_value("abc"), 0, 0)


# --- ids, names, locations, paging ----------------------------------------------------------------------


RUN_IDS = [
    "0123456789abcdef0123456789abcdef",
    "a",
    "A-b_c",
    "bad id!",
    "",
    "-leading",
    "_leading",
    "x" * 256,
    "x" * 257,
    "abc\n",
    "ab\ncd",
    "ünï",
    None,
    5,
]


@pytest.mark.mlflow
@pytest.mark.parametrize("run_id", RUN_IDS)
def test_run_ids_match_mlflow(mv: Any, run_id: Any) -> None:
    assert outcome(v.validate_run_id, run_id) == outcome(mv._validate_run_id, run_id)


@pytest.mark.mlflow
@settings(max_examples=200, deadline=None)
@given(run_id=st.text(alphabet="aZ09_-! \n/é", max_size=10))
def test_generated_run_ids_match_mlflow(mv: Any, run_id: str) -> None:
    assert outcome(v.validate_run_id, run_id) == outcome(mv._validate_run_id, run_id)


def test_run_id_message_from_reference() -> None:
    with pytest.raises(MlflowException) as info:
        v.validate_run_id("bad id!")
    assert info.value.message == """Invalid value "bad id!" for parameter 'run_id' supplied."""
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


EXPERIMENT_IDS = ["0", "1", "42", " 7 ", "007", "-1", "+3", "1_000", "abc", "", "1.5", "٣", None, 3, 2.7, [1]]


@pytest.mark.mlflow
@pytest.mark.parametrize("experiment_id", EXPERIMENT_IDS, ids=repr)
def test_experiment_ids_match_mlflow_sql_parsing(mv: Any, experiment_id: Any) -> None:
    ours = outcome(v.validate_experiment_id, experiment_id)
    theirs = outcome(mv._parse_experiment_id, experiment_id)
    if theirs[0] == "ok":
        assert ours == ("ok", str(theirs[1]))
    else:
        assert ours == theirs


def test_experiment_id_message_from_reference() -> None:
    with pytest.raises(
        MlflowException, match=r"^Invalid experiment ID 'abc'\. Experiment ID must be a valid integer\.$"
    ):
        v.validate_experiment_id("abc")
    assert v.validate_experiment_id(" 07") == "7"


@pytest.mark.mlflow
@pytest.mark.parametrize("experiment_id", ["1", 1, None, 1.5, b"1", ["1"]], ids=repr)
def test_experiment_id_types_match_mlflow(mv: Any, experiment_id: Any) -> None:
    assert outcome(v.validate_experiment_id_type, experiment_id) == outcome(
        mv._validate_experiment_id_type, experiment_id
    )


@pytest.mark.mlflow
@pytest.mark.parametrize("name", ["exp", "", None, 5, "x" * 500, "x" * 501, " ", "a/b:c*"], ids=repr)
def test_experiment_names_match_mlflow(mv: Any, name: Any) -> None:
    assert outcome(v.validate_experiment_name, name) == outcome(mv._validate_experiment_name, name)


@pytest.mark.mlflow
@pytest.mark.parametrize("location", ["runs:/abc/model", "runs:", "s3://bucket/x", "/tmp/a", None, "RUNS:/x"])
def test_artifact_locations_match_mlflow(mv: Any, location: Any) -> None:
    assert outcome(v.validate_experiment_artifact_location, location) == outcome(
        mv._validate_experiment_artifact_location, location
    )


@pytest.mark.mlflow
@pytest.mark.parametrize("limit", [None, "10"])
@pytest.mark.parametrize("length", [10, 11, 2048, 2049])
def test_artifact_location_length_matches_mlflow(
    mv: Any, monkeypatch: pytest.MonkeyPatch, limit: str | None, length: int
) -> None:
    if limit is not None:
        monkeypatch.setenv("MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH", limit)
    location = "/" + "a" * (length - 1)
    assert outcome(v.validate_experiment_artifact_location_length, location) == outcome(
        mv._validate_experiment_artifact_location_length, location
    )


# --- batches --------------------------------------------------------------------------------------------


@pytest.mark.mlflow
@pytest.mark.parametrize(
    ("n_metrics", "n_params", "n_tags"),
    [
        (1000, 0, 0),
        (1001, 0, 0),
        (0, 100, 0),
        (0, 101, 0),
        (0, 0, 101),
        (900, 100, 0),
        (900, 100, 1),
        (0, 0, 0),
    ],
)
def test_batch_limits_match_mlflow(mv: Any, n_metrics: int, n_params: int, n_tags: int) -> None:
    metrics, params, tags = [None] * n_metrics, [None] * n_params, [None] * n_tags
    assert outcome(v.validate_batch_limits, metrics, params, tags) == outcome(
        mv._validate_batch_log_limits, metrics, params, tags
    )


def test_batch_limit_message_from_reference() -> None:
    with pytest.raises(MlflowException) as info:
        v.validate_batch_limits([], [None] * 101, [])
    assert info.value.message == (
        "A batch logging request can contain at most 100 params. Got 101 params. Please split up params "
        "across multiple requests and try again."
    )


@pytest.mark.mlflow
@pytest.mark.parametrize(
    "keys",
    [["a", "b"], ["dk", "dk"], ["a", "b", "a", "a", "b"], [], ["x"]],
)
def test_duplicate_param_keys_match_mlflow(mv: Any, keys: list[str]) -> None:
    import mlflow.entities

    ours = outcome(v.validate_param_keys_unique, [Param(k, "v") for k in keys])
    theirs = outcome(mv._validate_param_keys_unique, [mlflow.entities.Param(k, "v") for k in keys])
    assert ours == theirs


def _mlflow_store_batch(mv: Any, metrics: list[Any], params: list[Any], tags: list[Any]) -> Any:
    # The order of checks in SqlAlchemyStore.log_batch.
    metrics, params, tags = mv._validate_batch_log_data(metrics, params, tags)
    mv._validate_batch_log_limits(metrics, params, tags)
    mv._validate_param_keys_unique(params)
    return metrics, params, tags


BATCHES: list[tuple[list[tuple[Any, ...]], list[tuple[Any, Any]], list[tuple[Any, Any]]]] = [
    ([("m", 1.0, 0, 0)], [("p", "1")], [("t", "v")]),
    ([("m", 1.0, 0, 0), ("bad*", 1.0, 0, 0)], [], []),
    ([("m", "x", 0, 0)], [("bad*", "1")], []),
    ([], [("p", "1"), ("p", "2")], []),
    ([], [("p", "1"), ("bad*", "2")], [("t", "v")]),
    ([], [], [("t", "v"), ("../t", "v")]),
    ([], [("p", "v" * 7000)], [("t", "v" * 9000)]),
    ([("m", 1.0, 0, 0)] * 1001, [], []),
    ([], [(f"p{i}", "v") for i in range(101)], []),
    ([], [("p", "1"), ("p", "1")], [("t", "v")] * 101),
]


@pytest.mark.mlflow
@pytest.mark.parametrize("truncate", [None, "false"])
@pytest.mark.parametrize(("metrics", "params", "tags"), BATCHES)
def test_batches_match_mlflow(
    mv: Any,
    monkeypatch: pytest.MonkeyPatch,
    truncate: str | None,
    metrics: list[tuple[Any, ...]],
    params: list[tuple[Any, Any]],
    tags: list[tuple[Any, Any]],
) -> None:
    import mlflow.entities as me

    if truncate is not None:
        monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", truncate)
    ours = outcome(
        v.validate_batch,
        [Metric(*m) for m in metrics],
        [Param(*p) for p in params],
        [RunTag(*t) for t in tags],
    )
    theirs = outcome(
        _mlflow_store_batch,
        mv,
        [me.Metric(*m) for m in metrics],
        [me.Param(*p) for p in params],
        [me.RunTag(*t) for t in tags],
    )
    assert ours[0] == theirs[0]
    if ours[0] != "ok":
        assert ours == theirs
        return
    for our_items, their_items in zip(ours[1], theirs[1], strict=True):
        assert [dict(item) for item in our_items] == [dict(item) for item in their_items]


def test_public_surface() -> None:
    for name in v.__all__:
        assert hasattr(v, name), name
    assert (
        v.MAX_ENTITY_KEY_LENGTH,
        v.MAX_PARAM_VAL_LENGTH,
        v.MAX_TAG_VAL_LENGTH,
        v.MAX_EXPERIMENT_NAME_LENGTH,
        v.MAX_EXPERIMENT_TAG_KEY_LENGTH,
        v.MAX_EXPERIMENT_TAG_VAL_LENGTH,
        v.MAX_PARAMS_TAGS_PER_BATCH,
        v.MAX_METRICS_PER_BATCH,
        v.MAX_ENTITIES_PER_BATCH,
    ) == (250, 6000, 8000, 500, 250, 20000, 100, 1000, 1000)


@pytest.mark.mlflow
def test_constants_match_mlflow(mv: Any) -> None:
    for name in (
        "MAX_ENTITY_KEY_LENGTH",
        "MAX_PARAM_VAL_LENGTH",
        "MAX_TAG_VAL_LENGTH",
        "MAX_EXPERIMENT_NAME_LENGTH",
        "MAX_EXPERIMENT_TAG_KEY_LENGTH",
        "MAX_EXPERIMENT_TAG_VAL_LENGTH",
        "MAX_PARAMS_TAGS_PER_BATCH",
        "MAX_METRICS_PER_BATCH",
        "MAX_ENTITIES_PER_BATCH",
        "PARAM_VALIDATION_MSG",
    ):
        assert getattr(v, name) == getattr(mv, name), name
    from mlflow.store.tracking import SEARCH_MAX_RESULTS_THRESHOLD

    from eventlog import _experiment_search

    assert _experiment_search.SEARCH_MAX_RESULTS_THRESHOLD == SEARCH_MAX_RESULTS_THRESHOLD


# --- run names (eventlog._names) ------------------------------------------------------------------------

_NAME_RE = re.compile(r"^([a-z]+)-([a-z]+)-(\d+)$")


def test_run_names_have_mlflow_shape() -> None:
    rng = random.Random(1234)
    numbers = set()
    for _ in range(3000):
        name = generate_run_name(rng)
        match = _NAME_RE.match(name)
        assert match is not None, name
        assert len(name) <= 20
        assert match.group(1) in _names._ADJECTIVES and match.group(2) in _names._NOUNS
        number = int(match.group(3))
        assert 0 <= number <= 1000
        numbers.add(number)
    assert len(numbers) > 800  # the number really is drawn from 0..1000
    v.validate_param_key(generate_run_name())  # a valid key


def test_run_name_number_range_is_inclusive_like_mlflow() -> None:
    class Extremes(random.Random):
        def __init__(self, pick_high: bool) -> None:
            super().__init__(0)
            self.pick_high = pick_high

        def randint(self, a: int, b: int) -> int:
            return b if self.pick_high else a

    assert generate_run_name(Extremes(True)).endswith("-1000")
    assert generate_run_name(Extremes(False)).endswith("-0")


def test_run_names_are_reproducible_with_a_seed() -> None:
    assert [generate_run_name(random.Random(7)) for _ in range(3)] == [
        generate_run_name(random.Random(7))
    ] * 3
    assert len({generate_run_name() for _ in range(50)}) > 40


def test_word_lists() -> None:
    for words in (_names._ADJECTIVES, _names._NOUNS):
        assert len(words) == len(set(words)) >= 100
        assert all(word.isalpha() and word.islower() for word in words)


def test_run_name_retries_then_truncates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_names, "_ADJECTIVES", ("extraordinarily",))
    monkeypatch.setattr(_names, "_NOUNS", ("magnificent",))
    name = generate_run_name(random.Random(0))
    assert len(name) == 20 and name == "extraordinarily-magnificent"[:20]
    monkeypatch.setattr(_names, "_ADJECTIVES", ("extraordinarily", "ok"))
    rng = random.Random(3)
    assert all(generate_run_name(rng).startswith("ok-") for _ in range(20))


@pytest.mark.mlflow
def test_word_lists_are_not_mlflows() -> None:
    from mlflow.utils import name_utils

    theirs = {word.lower() for word in name_utils._GENERATOR_PREDICATES + name_utils._GENERATOR_NOUNS}
    assert not theirs & set(_names._ADJECTIVES + _names._NOUNS)
