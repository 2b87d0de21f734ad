"""eventlog._rest: the REST JSON both ways, checked against MLflow's own proto JSON (the real client's
parser and writer), and round trips of eventlog's entities."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventlog._rest import ENDPOINTS, endpoint
from eventlog._rest import json_format as j
from eventlog.entities import (
    Experiment,
    ExperimentTag,
    FileInfo,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)
from eventlog.exceptions import InvalidParameterValue, MlflowException, ResourceDoesNotExist

pytestmark = pytest.mark.mlflow

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
keys = st.text("abcxyz_./ -", min_size=1, max_size=12)
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
times = st.integers(min_value=0, max_value=2**50)
doubles = st.floats(allow_nan=True, allow_infinity=True)


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


metrics = st.builds(Metric, keys, doubles, times, int64)
run_infos = st.builds(
    RunInfo,
    run_id=st.text("0123456789abcdef", min_size=32, max_size=32),
    experiment_id=st.integers(0, 10**6).map(str),
    user_id=text,
    status=st.sampled_from(list(j.RUN_STATUS)),
    start_time=times,
    end_time=st.none() | times,
    lifecycle_stage=st.sampled_from(["active", "deleted"]),
    artifact_uri=st.none() | text,
    run_name=text,
)


@st.composite
def runs(draw: Any) -> Run:
    latest = {m.key: m for m in draw(st.lists(metrics, max_size=4))}
    data = RunData(
        metrics=list(latest.values()),
        params=[Param(k, v) for k, v in draw(st.dictionaries(keys, text, max_size=4)).items()],
        tags=[RunTag(k, v) for k, v in draw(st.dictionaries(keys, text, max_size=4)).items()],
    )
    return Run(draw(run_infos), data, RunInputs(), RunOutputs())


def _mlflow_parse(document: dict[str, Any], message: Any) -> Any:
    """What MLflow's client does with a response body: json.loads, then ParseDict (unknown fields ok)."""
    from mlflow.utils.proto_json_utils import parse_dict

    parse_dict(json.loads(j.dumps(document)), message)
    return message


@settings(max_examples=60, deadline=None)
@given(runs())
def test_mlflow_client_parses_our_run_json(run: Run) -> None:
    from mlflow.entities import Run as MlflowRun
    from mlflow.protos.service_pb2 import Run as RunProto

    parsed = MlflowRun.from_proto(_mlflow_parse(j.run_json(run), RunProto()))
    info = run.info
    assert parsed.info.run_id == info.run_id
    assert parsed.info.experiment_id == info.experiment_id
    assert parsed.info.status == info.status
    assert parsed.info.start_time == info.start_time
    # Absent while running: None again (MLflow's from_proto also reads an end_time of 0 as None).
    assert parsed.info.end_time == (info.end_time or None)
    assert parsed.info.lifecycle_stage == info.lifecycle_stage
    assert parsed.info.user_id == info.user_id
    assert parsed.data.params == run.data.params
    assert parsed.data.tags == run.data.tags
    assert parsed.data.metrics.keys() == run.data.metrics.keys()
    for key, value in run.data.metrics.items():
        assert _same_float(parsed.data.metrics[key], value)


@settings(max_examples=60, deadline=None)
@given(runs())
def test_run_json_round_trip(run: Run) -> None:
    back = j.run_from_json(j.loads(j.dumps(j.run_json(run))))
    assert back.info == run.info
    assert back.data.params == run.data.params and back.data.tags == run.data.tags
    assert [(m.key, m.timestamp, m.step) for m in back.data._metric_objs] == [
        (m.key, m.timestamp, m.step) for m in run.data._metric_objs
    ]
    for a, b in zip(back.data._metric_objs, run.data._metric_objs, strict=True):
        assert _same_float(a.value, b.value)


@settings(max_examples=60, deadline=None)
@given(runs())
def test_we_parse_mlflow_written_run_json(run: Run) -> None:
    """The other direction: MLflow's own writer (message_to_json, int64 as numbers) read by ours."""
    from mlflow.utils.proto_json_utils import message_to_json

    proto = _mlflow_parse(j.run_json(run), __import__("mlflow.protos.service_pb2").protos.service_pb2.Run())
    back = j.run_from_json(json.loads(message_to_json(proto)))
    assert back.info == run.info
    assert back.data.params == run.data.params


def test_run_json_omits_what_mlflow_omits() -> None:
    info = RunInfo("a" * 32, "1", "u", "RUNNING", 5, None, "active", "mlflow-artifacts:/1/x/artifacts", "r")
    document = j.run_json(Run(info, RunData(), RunInputs(), RunOutputs()))
    assert "end_time" not in document["info"]
    assert document["info"]["run_uuid"] == document["info"]["run_id"] == "a" * 32
    assert document["data"] == {} and document["inputs"] == {} and document["outputs"] == {}


def test_doubles_as_mlflow_writes_them() -> None:
    assert [j.double(v) for v in (math.nan, math.inf, -math.inf, 1, 2.5)] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.0,
        2.5,
    ]
    assert j.dumps({"v": j.double(math.nan)}) == b'{"v":"NaN"}'
    with pytest.raises(ValueError):
        j.dumps({"v": math.nan})  # a NaN not written as "NaN" never reaches the wire


def test_experiment_json_is_what_mlflow_reads() -> None:
    from mlflow.entities import Experiment as MlflowExperiment
    from mlflow.protos.service_pb2 import Experiment as ExperimentProto

    experiment = Experiment("7", "e", "mlflow-artifacts:/7", "active", [ExperimentTag("k", "v")], 10, 20)
    document = j.experiment_json(experiment)
    parsed = MlflowExperiment.from_proto(_mlflow_parse(document, ExperimentProto()))
    assert (parsed.experiment_id, parsed.name, parsed.tags, parsed.creation_time) == (
        "7",
        "e",
        {"k": "v"},
        10,
    )
    back = j.experiment_from_json(document)
    assert (back.experiment_id, back.name, back.tags, back.last_update_time) == ("7", "e", {"k": "v"}, 20)
    assert "tags" not in j.experiment_json(Experiment("1", "x", "loc", "active"))


def test_file_info_and_metric_json() -> None:
    assert j.file_info_json(FileInfo("d", True, None)) == {"path": "d", "is_dir": True}
    assert j.file_info_json(FileInfo("f.txt", False, 3)) == {"path": "f.txt", "is_dir": False, "file_size": 3}
    assert j.file_info_from_json({"path": "f", "is_dir": False, "file_size": "3"}).file_size == 3
    m = Metric("loss", math.inf, 5, 2, model_id="m-1", dataset_name="d", dataset_digest="x")
    assert j.metric_json(m) == {
        "key": "loss",
        "value": "Infinity",
        "timestamp": 5,
        "step": 2,
        "dataset_name": "d",
        "dataset_digest": "x",
        "model_id": "m-1",
    }
    assert j.metric_json(Metric("a", 1, 2, 3), run_id="r")["run_id"] == "r"
    assert j.metric_from_json({"key": "a", "value": "NaN", "timestamp": "9"}).step == 0


@given(int64)
def test_int64_from_numbers_and_strings(n: int) -> None:
    assert j.read_int(n, "x") == n
    assert j.read_int(str(n), "x") == n


@pytest.mark.parametrize("bad", [True, 1.5, "1.5", "abc", None, [1], {"a": 1}, 2**63, "9" * 30])
def test_int64_rejects(bad: Any) -> None:
    with pytest.raises(InvalidParameterValue, match=r"Invalid value .* for parameter 'x' supplied"):
        j.read_int(bad, "x")


def test_readers_give_mlflow_messages() -> None:
    with pytest.raises(InvalidParameterValue) as info:
        j.read_string(5, "name")
    assert info.value.message == (
        "Invalid value 5 for parameter 'name' supplied:  Hint: Value was of type 'int'. See the API docs "
        "for more information about request parameters."
    )
    assert j.missing_value("run_id").message == (
        "Missing value for required parameter 'run_id'. See the API docs for more information about "
        "request parameters."
    )
    with pytest.raises(InvalidParameterValue, match=r"metrics\[0\]\.value"):
        j.metric_from_json({"key": "a", "timestamp": 1}, "metrics[0]")


def test_enums_by_name_or_number() -> None:
    assert j.read_enum("FAILED", j.RUN_STATUS, "status") == "FAILED"
    assert j.read_enum(4, j.RUN_STATUS, "status") == "FAILED"
    assert j.read_enum("3", j.VIEW_TYPE, "view_type") == "ALL"
    for bad in ("BOGUS", 99, True, None):
        with pytest.raises(InvalidParameterValue):
            j.read_enum(bad, j.RUN_STATUS, "status")


def test_doubles_read() -> None:
    assert math.isnan(j.read_double("NaN", "v"))
    assert j.read_double("-Infinity", "v") == -math.inf
    assert j.read_double(3, "v") == 3.0 and j.read_double("2.5", "v") == 2.5
    for bad in ("abc", True, None, [1.0]):
        with pytest.raises(InvalidParameterValue):
            j.read_double(bad, "v")


def test_loads_rejects_malformed_json_and_bare_nan() -> None:
    for body in (b"{not json", b'{"v": NaN}', b"[" * 100_000):
        with pytest.raises(InvalidParameterValue):
            j.loads(body)


def test_errors_round_trip_into_typed_exceptions() -> None:
    error = ResourceDoesNotExist("Run with id=x not found")
    status, body = j.http_status(error), j.error_body(error)
    assert status == 404
    assert json.loads(body) == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Run with id=x not found",
        "sqlstate": "KAM00",
        "error_class": "RESOURCE_NOT_FOUND",
    }
    back = j.exception_from_response(status, body)
    assert isinstance(back, ResourceDoesNotExist) and back.message == error.message
    assert j.http_status(MlflowException("dup", "RESOURCE_ALREADY_EXISTS")) == 400  # not 409, as MLflow


def test_errors_without_a_document_take_their_code_from_the_status() -> None:
    for status, code in (
        (404, "ENDPOINT_NOT_FOUND"),
        (400, "BAD_REQUEST"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (503, "TEMPORARILY_UNAVAILABLE"),
        (502, "INTERNAL_ERROR"),
    ):
        error = j.exception_from_response(status, "<html>nope</html>")
        assert error.error_code == code and "nope" in error.message
    assert j.exception_from_response(400, '{"error_code": "404", "message": "m"}').error_code == (
        "ENDPOINT_NOT_FOUND"
    )


def test_endpoint_table_matches_mlflow_descriptors() -> None:
    """Every operation's method and path is the one MLflow's service descriptors declare."""
    from mlflow.protos import databricks_pb2, mlflow_artifacts_pb2
    from mlflow.protos.service_pb2 import MlflowService

    declared: set[tuple[str, str]] = set()
    for service, prefix in (
        (MlflowService, "/api/2.0"),
        (mlflow_artifacts_pb2.MlflowArtifactsService, "/api/2.0"),
    ):
        for method in service.DESCRIPTOR.methods:
            for e in method.GetOptions().Extensions[databricks_pb2.rpc].endpoints:
                path = e.path.replace("<path:artifact_path>", "{artifact_path:path}")
                declared.add((e.method, prefix + path))
    ours = {(m, e.path) for e in ENDPOINTS if e.group != "server" for m in e.methods}
    assert ours <= declared, sorted(ours - declared)
    names = [e.name for e in ENDPOINTS]
    assert len(names) == len(set(names))
    assert endpoint("delete_logged_model_tag").url(model_id="m-1", tag_key="a/b") == (
        "/api/2.0/mlflow/logged-models/m-1/tags/a%2Fb"
    )
    with pytest.raises(KeyError, match="known"):
        endpoint("nope")
