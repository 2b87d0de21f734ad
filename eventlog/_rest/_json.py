"""MLflow's REST JSON and eventlog's entities, in both directions.

The server writes these documents and the HTTP client reads them, so both sides share one definition of
the wire format, as MLflow 3.17's client and server use it (``shared/reference/mlflow-rest-and-autolog.md``,
part A):

- field names in snake_case; unset fields omitted (``end_time`` while a run is running, empty lists,
  ``next_page_token`` on the last page);
- int64 written as JSON numbers, read from numbers or from decimal strings (proto JSON's form);
- doubles written as numbers, NaN and ±inf as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``;
- enums written by name, read by name or by number;
- errors as ``{"error_code", "message", ...}`` (``MlflowException.serialize_as_json``) with MLflow's HTTP
  status, read back into eventlog's typed exceptions.

Readers raise ``InvalidParameterValue`` with MLflow's own messages ("Missing value for required parameter
'x'", "Invalid value ... for parameter 'x' supplied"), so a request the server cannot parse gets the
answer MLflow's server gives, and a response the client cannot parse says which field was wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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
from eventlog.exceptions import (
    BAD_REQUEST,
    ENDPOINT_NOT_FOUND,
    ERROR_CODE_TO_HTTP_STATUS,
    INTERNAL_ERROR,
    InvalidParameterValue,
    MlflowException,
)

__all__ = [
    "LOGGED_MODEL_STATUS",
    "RUN_STATUS",
    "VIEW_TYPE",
    "dataset_input_json",
    "double",
    "dumps",
    "error_body",
    "exception_from_response",
    "experiment_from_json",
    "experiment_json",
    "file_info_from_json",
    "file_info_json",
    "http_status",
    "invalid_value",
    "key_values",
    "key_values_from_json",
    "loads",
    "logged_model_json",
    "metric_from_json",
    "metric_json",
    "missing_value",
    "read_bool",
    "read_double",
    "read_enum",
    "read_int",
    "read_string",
    "run_from_json",
    "run_info_from_json",
    "run_info_json",
    "run_json",
]

# -- enums: name -> proto number --------------------------------------------------------------------
RUN_STATUS: Mapping[str, int] = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
VIEW_TYPE: Mapping[str, int] = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}
LOGGED_MODEL_STATUS: Mapping[str, int] = {
    "LOGGED_MODEL_STATUS_UNSPECIFIED": 0,
    "LOGGED_MODEL_PENDING": 1,
    "LOGGED_MODEL_READY": 2,
    "LOGGED_MODEL_UPLOAD_FAILED": 3,
}

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_DECIMAL = re.compile(r"-?\d+\Z")
_DOUBLE_NAMES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_API_DOCS = "See the API docs for more information about request parameters."


# -- documents --------------------------------------------------------------------------------------
def dumps(document: Any) -> bytes:
    """A response body: compact JSON. ``allow_nan=False``: a NaN that was not written as "NaN" is a bug
    here, and must not reach a client as the invalid JSON token ``NaN``."""
    return json.dumps(document, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode()


def loads(body: bytes | str) -> Any:
    """A request or response body. Malformed JSON (or bare NaN/Infinity tokens) is an invalid value."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidParameterValue(f"Malformed JSON in the request body: {exc}. {_API_DOCS}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f'the bare token {name} is not JSON (MLflow writes "{name}" as a string)')


# -- errors of the readers, in MLflow's words ---------------------------------------------------------
def missing_value(field: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Missing value for required parameter '{field}'. {_API_DOCS}")


def invalid_value(value: Any, field: str, why: str = "") -> InvalidParameterValue:
    try:
        shown = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(value)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return InvalidParameterValue(
        f"Invalid value {shown} for parameter '{field}' supplied: {why} Hint: Value was of type "
        f"'{type(value).__name__}'. {_API_DOCS}"
    )


# -- scalars --------------------------------------------------------------------------------------------
def double(value: float) -> float | str:
    """A double as MLflow writes it: a number, or "NaN" / "Infinity" / "-Infinity"."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def read_string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise invalid_value(value, field)
    return value


def read_int(value: Any, field: str, *, bits: int = 64) -> int:
    """An int64 (or int32): a JSON number with an integral value, or a decimal string."""
    if isinstance(value, bool):
        raise invalid_value(value, field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _DECIMAL.match(value.strip()):
        number = int(value.strip())
    else:
        raise invalid_value(value, field)
    low, high = (INT64_MIN, INT64_MAX) if bits == 64 else (INT32_MIN, INT32_MAX)
    if not low <= number <= high:
        raise invalid_value(value, field, f"out of range for a {bits}-bit integer.")
    return number


def read_double(value: Any, field: str) -> float:
    """A double: a JSON number, "NaN", "Infinity", "-Infinity", or a numeric string (proto JSON)."""
    if isinstance(value, bool):
        raise invalid_value(value, field)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise invalid_value(value, field, "too large for a double.") from None
    if isinstance(value, str):
        named = _DOUBLE_NAMES.get(value)
        if named is not None:
            return named
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid_value(value, field)


def read_bool(value: Any, field: str) -> bool:
    """A bool: JSON true/false, or "true"/"false" (query strings)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value(value, field)


def read_enum(value: Any, names: Mapping[str, int], field: str) -> str:
    """An enum value, by name or by proto number; returns the name."""
    if isinstance(value, str):
        if value in names:
            return value
        if _DECIMAL.match(value):
            value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        for name, number in names.items():
            if number == value:
                return name
    raise invalid_value(value, field, f"expected one of {list(names)}.")


def _field(document: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in document or document[key] is None:
        raise missing_value(f"{path}{key}")
    return document[key]


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid_value(value, field)
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid_value(value, field)
    return value


def _optional_int(document: Mapping[str, Any], key: str, path: str) -> int | None:
    value = document.get(key)
    return None if value is None else read_int(value, f"{path}{key}")


def _optional_string(document: Mapping[str, Any], key: str, path: str) -> str | None:
    value = document.get(key)
    return None if value is None else read_string(value, f"{path}{key}")


# -- key/value lists ------------------------------------------------------------------------------------
def key_values(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [{"key": k, "value": v} for k, v in items]


def key_values_from_json(value: Any, field: str) -> list[tuple[str, str]]:
    """``[{key, value}, ...]``; both strings, both required."""
    pairs = []
    for i, item in enumerate(_list(value, field)):
        path = f"{field}[{i}]."
        entry = _object(item, f"{field}[{i}]")
        pairs.append(
            (
                read_string(_field(entry, "key", path), f"{path}key"),
                read_string(_field(entry, "value", path), f"{path}value"),
            )
        )
    return pairs


# -- experiments ------------------------------------------------------------------------------------------
def experiment_json(experiment: Experiment) -> dict[str, Any]:
    document: dict[str, Any] = {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage,
    }
    if experiment.last_update_time is not None:
        document["last_update_time"] = experiment.last_update_time
    if experiment.creation_time is not None:
        document["creation_time"] = experiment.creation_time
    if experiment.tags:
        document["tags"] = key_values(experiment.tags)
    document["workspace"] = experiment.workspace
    return document


def experiment_from_json(document: Any, field: str = "experiment") -> Experiment:
    doc = _object(document, field)
    path = f"{field}."
    return Experiment(
        experiment_id=read_string(_field(doc, "experiment_id", path), f"{path}experiment_id"),
        name=read_string(doc.get("name", ""), f"{path}name"),
        artifact_location=read_string(doc.get("artifact_location", ""), f"{path}artifact_location"),
        lifecycle_stage=read_string(doc.get("lifecycle_stage", "active"), f"{path}lifecycle_stage"),
        tags=[ExperimentTag(k, v) for k, v in key_values_from_json(doc.get("tags"), f"{path}tags")],
        creation_time=_optional_int(doc, "creation_time", path),
        last_update_time=_optional_int(doc, "last_update_time", path),
        workspace=_optional_string(doc, "workspace", path),
    )


# -- metrics -------------------------------------------------------------------------------------------
def metric_json(metric: Metric, *, run_id: str | None = None) -> dict[str, Any]:
    """A metric; ``run_id`` (bulk histories) and the dataset/model fields only when set."""
    document: dict[str, Any] = {
        "key": metric.key,
        "value": double(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }
    if metric.dataset_name is not None:
        document["dataset_name"] = metric.dataset_name
    if metric.dataset_digest is not None:
        document["dataset_digest"] = metric.dataset_digest
    if metric.model_id is not None:
        document["model_id"] = metric.model_id
    run = run_id if run_id is not None else metric.run_id
    if run is not None:
        document["run_id"] = run
    return document


def _metric_row_json(key: str, value: float, timestamp: int, step: int) -> dict[str, Any]:
    return {"key": key, "value": double(value), "timestamp": timestamp, "step": step}


def metric_from_json(document: Any, field: str = "metric") -> Metric:
    """A metric: ``key``, ``value`` and ``timestamp`` required, ``step`` 0 when absent."""
    doc = _object(document, field)
    path = f"{field}."
    step = doc.get("step")
    return Metric(
        key=read_string(_field(doc, "key", path), f"{path}key"),
        value=read_double(_field(doc, "value", path), f"{path}value"),
        timestamp=read_int(_field(doc, "timestamp", path), f"{path}timestamp"),
        step=0 if step is None else read_int(step, f"{path}step"),
        model_id=_optional_string(doc, "model_id", path),
        dataset_name=_optional_string(doc, "dataset_name", path),
        dataset_digest=_optional_string(doc, "dataset_digest", path),
        run_id=_optional_string(doc, "run_id", path),
    )


# -- runs ----------------------------------------------------------------------------------------------
def run_info_json(info: RunInfo) -> dict[str, Any]:
    document: dict[str, Any] = {
        "run_uuid": info.run_id,
        "experiment_id": info.experiment_id,
        "run_name": info.run_name if info.run_name is not None else "",
        "user_id": info.user_id if info.user_id is not None else "",
        "status": info.status,
        "start_time": info.start_time,
    }
    if info.end_time is not None:
        document["end_time"] = info.end_time
    if info.artifact_uri is not None:
        document["artifact_uri"] = info.artifact_uri
    document["lifecycle_stage"] = info.lifecycle_stage
    document["run_id"] = info.run_id
    return document


def _run_data_json(data: RunData) -> dict[str, Any]:
    document: dict[str, Any] = {}
    rows = data.__dict__.get("_metric_rows")  # a search page's RunData: rows, no Metric objects
    if rows is not None:
        metrics = [_metric_row_json(*row) for row in rows]
    else:
        metrics = [metric_json(m) for m in data._metric_objs]
    if metrics:
        document["metrics"] = metrics
    if data.params:
        document["params"] = key_values(data.params)
    if data.tags:
        document["tags"] = key_values(data.tags)
    return document


def dataset_input_json(dataset_input: Any) -> dict[str, Any]:
    """A dataset input, from an object shaped like ``mlflow.entities.DatasetInput``."""
    dataset = dataset_input.dataset
    described: dict[str, Any] = {
        "name": dataset.name,
        "digest": dataset.digest,
        "source_type": dataset.source_type,
        "source": dataset.source,
    }
    for optional in ("schema", "profile"):
        value = getattr(dataset, optional, None)
        if value is not None:
            described[optional] = value
    document: dict[str, Any] = {}
    tags = getattr(dataset_input, "tags", None) or []
    if tags:
        document["tags"] = [{"key": t.key, "value": t.value} for t in tags]
    document["dataset"] = described
    return document


def _run_inputs_json(inputs: RunInputs | None) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if inputs is None:
        return document
    if inputs.dataset_inputs:
        document["dataset_inputs"] = [dataset_input_json(d) for d in inputs.dataset_inputs]
    if inputs.model_inputs:
        document["model_inputs"] = [{"model_id": m.model_id} for m in inputs.model_inputs]
    return document


def _run_outputs_json(outputs: RunOutputs | None) -> dict[str, Any]:
    if outputs is None or not outputs.model_outputs:
        return {}
    return {"model_outputs": [{"model_id": m.model_id, "step": m.step} for m in outputs.model_outputs]}


def run_json(run: Run) -> dict[str, Any]:
    return {
        "info": run_info_json(run.info),
        "data": _run_data_json(run.data),
        "inputs": _run_inputs_json(run.inputs),
        "outputs": _run_outputs_json(run.outputs),
    }


def run_info_from_json(document: Any, field: str = "run.info") -> RunInfo:
    doc = _object(document, field)
    path = f"{field}."
    run_id = doc.get("run_id") or doc.get("run_uuid")
    if run_id is None:
        raise missing_value(f"{path}run_id")
    status = doc.get("status")
    return RunInfo(
        run_id=read_string(run_id, f"{path}run_id"),
        experiment_id=read_string(_field(doc, "experiment_id", path), f"{path}experiment_id"),
        user_id=read_string(doc.get("user_id", ""), f"{path}user_id"),
        status=read_enum(status if status is not None else "RUNNING", RUN_STATUS, f"{path}status"),
        start_time=read_int(doc.get("start_time", 0), f"{path}start_time"),
        end_time=_optional_int(doc, "end_time", path),
        lifecycle_stage=read_string(doc.get("lifecycle_stage", "active"), f"{path}lifecycle_stage"),
        artifact_uri=_optional_string(doc, "artifact_uri", path),
        run_name=_optional_string(doc, "run_name", path),
    )


def run_from_json(document: Any, field: str = "run") -> Run:
    """A run. Dataset inputs and model outputs come back as ``RunInputs``/``RunOutputs`` of the raw
    documents until eventlog has entities for them."""
    doc = _object(document, field)
    data = _object(doc.get("data") or {}, f"{field}.data")
    metrics = [
        metric_from_json(m, f"{field}.data.metrics[{i}]")
        for i, m in enumerate(_list(data.get("metrics"), f"{field}.data.metrics"))
    ]
    params = [Param(k, v) for k, v in key_values_from_json(data.get("params"), f"{field}.data.params")]
    tags = [RunTag(k, v) for k, v in key_values_from_json(data.get("tags"), f"{field}.data.tags")]
    inputs = _object(doc.get("inputs") or {}, f"{field}.inputs")
    outputs = _object(doc.get("outputs") or {}, f"{field}.outputs")
    return Run(
        run_info_from_json(_field(doc, "info", f"{field}."), f"{field}.info"),
        RunData(metrics=metrics, params=params, tags=tags),
        RunInputs(
            _list(inputs.get("dataset_inputs"), f"{field}.inputs.dataset_inputs"),
            _list(inputs.get("model_inputs"), f"{field}.inputs.model_inputs"),
        ),
        RunOutputs(_list(outputs.get("model_outputs"), f"{field}.outputs.model_outputs")),
    )


# -- artifacts -------------------------------------------------------------------------------------------
def file_info_json(info: FileInfo) -> dict[str, Any]:
    document: dict[str, Any] = {"path": info.path, "is_dir": info.is_dir}
    if info.file_size is not None and not info.is_dir:
        document["file_size"] = info.file_size
    return document


def file_info_from_json(document: Any, field: str = "files") -> FileInfo:
    doc = _object(document, field)
    path = f"{field}."
    is_dir = doc.get("is_dir", False)
    return FileInfo(
        path=read_string(_field(doc, "path", path), f"{path}path"),
        is_dir=read_bool(is_dir, f"{path}is_dir"),
        file_size=_optional_int(doc, "file_size", path),
    )


# -- logged models ---------------------------------------------------------------------------------------
def _model_status_name(status: Any) -> str:
    """A LoggedModel status as its proto name: from a name (either spelling) or an enum member."""
    text = str(getattr(status, "value", status) or "UNSPECIFIED").upper()
    if text in LOGGED_MODEL_STATUS:
        return text
    return {"FAILED": "LOGGED_MODEL_UPLOAD_FAILED", "UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED"}.get(
        text, f"LOGGED_MODEL_{text}"
    )


def logged_model_json(model: Any) -> dict[str, Any]:
    """A LoggedModel, from an object shaped like ``mlflow.entities.LoggedModel``."""
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_timestamp,
        "last_updated_timestamp_ms": model.last_updated_timestamp,
        "artifact_uri": model.artifact_location,
        "status": _model_status_name(model.status),
    }
    for field in ("creator_id", "model_type", "source_run_id", "status_message"):
        value = getattr(model, field, None)
        if value is not None:
            info[field] = value
    tags = getattr(model, "tags", None) or {}
    if tags:
        info["tags"] = key_values(tags)
    data: dict[str, Any] = {}
    params = getattr(model, "params", None) or {}
    if params:
        data["params"] = key_values(params)
    metrics: Sequence[Metric] = getattr(model, "metrics", None) or []
    if metrics:
        data["metrics"] = [metric_json(m) for m in metrics]
    return {"info": info, "data": data}


# -- errors ------------------------------------------------------------------------------------------------
def http_status(error: MlflowException) -> int:
    return error.get_http_status_code()


def error_body(error: MlflowException) -> bytes:
    return error.serialize_as_json().encode()


# MLflow's client maps the status of a response without an error document to a code like this.
_STATUS_CODES = {status: code for code, status in ERROR_CODE_TO_HTTP_STATUS.items()}
_STATUS_CODES.update({400: BAD_REQUEST, 404: ENDPOINT_NOT_FOUND, 500: INTERNAL_ERROR})


def exception_from_response(status: int, body: bytes | str) -> MlflowException:
    """The typed exception for an error response: from its error document when it has one, else from
    the HTTP status (a proxy's HTML error page, say), with the start of the body in the message."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and ("error_code" in document or "message" in document):
        code = document.get("error_code")
        if isinstance(code, str) and code.isdigit():
            code = _STATUS_CODES.get(int(code), INTERNAL_ERROR)
        message = document.get("message")
        if not isinstance(message, str):
            message = f"Response: {text[:500]}"
        extras = {
            k: v for k, v in document.items() if k not in ("error_code", "message", "sqlstate", "error_class")
        }
        return MlflowException(
            message,
            code if isinstance(code, (str, int)) else INTERNAL_ERROR,
            sqlstate=document.get("sqlstate") if isinstance(document.get("sqlstate"), str) else None,
            error_class=document.get("error_class") if isinstance(document.get("error_class"), str) else None,
            **extras,
        )
    code = _STATUS_CODES.get(status, INTERNAL_ERROR)
    snippet = " ".join(text.split())[:500]
    return MlflowException(f"API request failed with HTTP status {status}: {snippet}", code)
