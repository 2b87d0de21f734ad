"""MLflow's input validation: the same rules, limits, messages and error code (INVALID_PARAMETER_VALUE).

Messages are part of the compatible surface (scripts and tests match on them), so they are reproduced
character for character, including MLflow's quirks: a param key of None reads ``Invalid value ""``, a
metric's key length is checked only after its value, timestamp and step, and run-tag limits name the
JSON path (``'tags[0].value'``) where param limits say ``'Param value'``.

Who calls what:

- ``eventlog._runs.RunHandle`` (every metric point): :func:`validate_metric` once per metric key, the
  first time a writer meets the key; afterwards a value, timestamp and step of the plain types (float,
  int, int) are appended with a type check only, and anything else goes through
  :func:`convert_metric_value` and :func:`validate_metric`; :func:`validate_metric_int64` keeps a step
  or timestamp past int64 out of the buffers. The fluent hot path (``eventlog._sink``) skips even those
  checks for a key its sink has seen, a float value, an int step and no timestamp (the clock's).
- ``eventlog._store.TrackingStore``: ``log_batch`` (which ``log_param``, ``log_params``, ``set_tags``
  and ``log_batch`` of the fluent API and the client go through) calls :func:`validate_run_id`,
  :func:`convert_metric_value`, :func:`validate_metric`, :func:`validate_param`, :func:`validate_tag`
  and :func:`validate_param_keys_unique`, all before anything is written; ``set_tag`` and
  ``create_run`` call :func:`validate_tag`; experiment operations :func:`validate_experiment_id`; a run
  id that fails :func:`is_valid_run_id` is a run that does not exist.
- ``eventlog._catalog``: :func:`validate_experiment_name`, :func:`validate_experiment_artifact_location`
  and :func:`validate_experiment_tag` when experiments are created, renamed and tagged.
- ``eventlog._fluent`` (``start_run``'s run id and parent run id) and ``eventlog._client``:
  :func:`validate_run_id`; the client adds :data:`PARAM_VALIDATION_MSG` to a failed ``log_param``.
- ``eventlog._run_search``: :func:`validate_experiment_id` for each experiment searched.

Environment variables (``MLFLOW_TRUNCATE_LONG_VALUES``, ``MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH``) are read
at call time, never at import.
"""

from __future__ import annotations

import logging
import numbers
import os
import posixpath
import re
import sys
from collections.abc import Sequence, Sized
from typing import Any, Protocol

from eventlog.entities import Metric, Param, RunTag
from eventlog.exceptions import INVALID_PARAMETER_VALUE, MlflowException

__all__ = [
    "MAX_ENTITIES_PER_BATCH",
    "MAX_ENTITY_KEY_LENGTH",
    "MAX_EXPERIMENT_NAME_LENGTH",
    "MAX_EXPERIMENT_TAG_KEY_LENGTH",
    "MAX_EXPERIMENT_TAG_VAL_LENGTH",
    "MAX_METRICS_PER_BATCH",
    "MAX_PARAMS_TAGS_PER_BATCH",
    "MAX_PARAM_VAL_LENGTH",
    "MAX_TAG_VAL_LENGTH",
    "PARAM_VALIDATION_MSG",
    "convert_metric_value",
    "is_valid_run_id",
    "truncate_long_values",
    "validate_batch",
    "validate_batch_limits",
    "validate_experiment_artifact_location",
    "validate_experiment_artifact_location_length",
    "validate_experiment_id",
    "validate_experiment_id_type",
    "validate_experiment_name",
    "validate_experiment_tag",
    "validate_metric",
    "validate_metric_int64",
    "validate_metric_name",
    "validate_param",
    "validate_param_key",
    "validate_param_keys_unique",
    "validate_param_value",
    "validate_run_id",
    "validate_tag",
    "validate_tag_name",
    "validate_tag_value",
]

_logger = logging.getLogger(__name__)

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
_DEFAULT_ARTIFACT_LOCATION_MAX_LENGTH = 2048

# MLflow's client appends this to every INVALID_PARAMETER_VALUE error of a single log_param call.
PARAM_VALIDATION_MSG = """

The cause of this error is typically due to repeated calls
to an individual run_id event logging.

Incorrect Example:
---------------------------------------
with mlflow.start_run():
    mlflow.log_param("depth", 3)
    mlflow.log_param("depth", 5)
---------------------------------------

Which will throw an MlflowException for overwriting a
logged parameter.

Correct Example:
---------------------------------------
with mlflow.start_run():
    with mlflow.start_run(nested=True):
        mlflow.log_param("depth", 3)
    with mlflow.start_run(nested=True):
        mlflow.log_param("depth", 5)
---------------------------------------

Which will create a new nested run for each individual
model and prevent parameter key collisions within the
tracking store."""

# Keys become file names in MLflow's FileStore, hence the character set; Windows forbids ':'.
# ``re.match`` with ``$`` lets one trailing "\n" through, exactly as in MLflow.
_ON_WINDOWS = os.name == "nt"
_KEY_RE = re.compile(r"^[/\w.\- ]*$" if _ON_WINDOWS else r"^[/\w.\- :]*$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_MISSING_KEY_NAME = "A key name must be provided."


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


# --- message builders ---------------------------------------------------------------------------------


def _invalid_value(path: str, value: Any, message: str | None = None) -> str:
    import json  # error path only

    shown = json.dumps(value, sort_keys=True, separators=(",", ":"))
    if message:
        return f"Invalid value {shown} for parameter '{path}' supplied: {message}"
    return f"Invalid value {shown} for parameter '{path}' supplied."


def _missing_value(path: str) -> str:
    return f"Missing value for required parameter '{path}'."


def _exceeds_maximum_length(path: str, limit: int) -> str:
    return f"'{path}' exceeds the maximum length of {limit} characters"


def _bad_character_message() -> str:
    colon = "" if _ON_WINDOWS else ", colon(:)"
    return (
        "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.),"
        f" spaces ( ){colon} and slashes (/)."
    )


def _bad_path_message(name: str) -> str:
    return (
        "Names may be treated as files in certain cases, and must not resolve to other names"
        f" when treated as such. This name would resolve to {posixpath.normpath(name)!r}"
    )


def _join_path(prefix: str, field: str) -> str:
    """JSON path of a field in a batch request: ``metrics[3]`` + ``name`` -> ``metrics[3].name``."""
    if not prefix:
        return field
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


def _invalid(message: str) -> MlflowException:
    return MlflowException(message, INVALID_PARAMETER_VALUE)


# --- keys -----------------------------------------------------------------------------------------------


def _path_not_unique(name: str) -> bool:
    """True when ``name``, read as a relative file path, would not name itself (``a//b``, ``../x``, "")."""
    norm = posixpath.normpath(name)
    return norm != str(name) or norm == "." or norm.startswith("..") or norm.startswith("/")


def _check_key_characters(name: str, path: str) -> None:
    # A non-str key makes re raise TypeError here, as it does in MLflow.
    if not _KEY_RE.match(name):
        raise _invalid(_invalid_value(path, name, _bad_character_message()))
    if _path_not_unique(name):
        raise _invalid(_invalid_value(path, name, _bad_path_message(name)))


def validate_metric_name(name: str, path: str = "name") -> None:
    """Character and path rules of a metric key. Its length is checked last, by :func:`validate_metric`."""
    if name is None:
        raise _invalid(_invalid_value(path, name, f"Metric name cannot be None. {_MISSING_KEY_NAME}"))
    _check_key_characters(name, path)


def validate_param_key(key: str, path: str = "key") -> None:
    """All rules of a param key: characters, path, then length (reported as ``'Param key'``)."""
    if key is None:
        # MLflow shows the missing key as "" here (and as null for metrics).
        raise _invalid(_invalid_value(path, "", _MISSING_KEY_NAME))
    _check_key_characters(key, path)
    _check_length("Param key", MAX_ENTITY_KEY_LENGTH, key)


def validate_tag_name(name: str, path: str = "key") -> None:
    """Character and path rules of a run- or experiment-tag key (length is checked by the callers)."""
    if name is None:
        raise _invalid(_missing_value(path))
    _check_key_characters(name, path)


# --- lengths and truncation ----------------------------------------------------------------------------


def truncate_long_values() -> bool:
    """MLFLOW_TRUNCATE_LONG_VALUES (default true), parsed like MLflow's boolean variables."""
    raw = os.environ.get("MLFLOW_TRUNCATE_LONG_VALUES")
    if raw is None:
        return True
    lowered = raw.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise ValueError(
            "MLFLOW_TRUNCATE_LONG_VALUES value must be one of ['true', 'false', '1', '0'] "
            f"(case-insensitive), but got {raw}"
        )
    return lowered in ("true", "1")


def _check_length(entity_name: str, limit: int, value: str) -> None:
    if value is not None and len(value) > limit:
        raise _invalid(_exceeds_maximum_length(entity_name, limit))


def _truncate_or_raise(entity_name: str, limit: int, value: str, key: str) -> str:
    if value is None or len(value) <= limit:
        return value
    if truncate_long_values():
        _logger.warning(
            "%s '%s...' (%d characters) is truncated to %d characters to meet the length limit.",
            entity_name,
            value[:100],
            len(value),
            limit,
            extra={"eventlog_key": key},  # lets a log handler tell which key was cut
        )
        return value[:limit]
    raise _invalid(_exceeds_maximum_length(entity_name, limit))


def validate_param_value(key: str, value: str) -> str:
    """The value to store for param ``key``: cut to 6000 characters with a WARNING, or an error when
    MLFLOW_TRUNCATE_LONG_VALUES is false. ``value`` must already be ``str()``-ed."""
    return _truncate_or_raise("Param value", MAX_PARAM_VAL_LENGTH, value, key)


def validate_tag_value(key: str, value: str, *, path: str = "value") -> str:
    """The value to store for run tag ``key``: as :func:`validate_param_value`, limit 8000."""
    return _truncate_or_raise(path, MAX_TAG_VAL_LENGTH, value, key)


def validate_param(key: str, value: str, path_prefix: str = "") -> str:
    """Everything MLflow checks for one param, in its order; returns the (possibly truncated) value."""
    validate_param_key(key, _join_path(path_prefix, "key"))
    return validate_param_value(key, value)


def validate_tag(key: str, value: str, path_prefix: str = "") -> str:
    """Everything MLflow checks for one run tag, in its order; returns the (possibly truncated) value."""
    key_path = _join_path(path_prefix, "key")
    validate_tag_name(key, key_path)
    _check_length(key_path, MAX_ENTITY_KEY_LENGTH, key)
    return validate_tag_value(key, value, path=_join_path(path_prefix, "value"))


def validate_experiment_tag(key: str, value: str) -> None:
    """Experiment tags: tag-key rules, key <= 250, value <= 20000, never truncated."""
    validate_tag_name(key)
    _check_length("key", MAX_EXPERIMENT_TAG_KEY_LENGTH, key)
    _check_length("value", MAX_EXPERIMENT_TAG_VAL_LENGTH, value)


# --- metrics --------------------------------------------------------------------------------------------


def _is_numeric(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def validate_metric(key: str, value: Any, timestamp: Any, step: Any, path_prefix: str = "") -> None:
    """MLflow's store-side metric check. NaN, +-inf, negative and fractional steps are all accepted."""
    validate_metric_name(key, _join_path(path_prefix, "name"))
    if value is None:
        raise _invalid(_missing_value(_join_path(path_prefix, "value")))
    if not _is_numeric(value):
        raise _invalid(
            _invalid_value(
                _join_path(path_prefix, "value"),
                value,
                f"(timestamp={timestamp}). Please specify value as a valid double (64-bit floating point)",
            )
        )
    if not isinstance(timestamp, numbers.Number) or timestamp < 0:  # type: ignore[operator]
        raise _invalid(
            _invalid_value(
                _join_path(path_prefix, "timestamp"),
                timestamp,
                f"metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer) ",
            )
        )
    if not isinstance(step, numbers.Number):
        raise _invalid(
            _invalid_value(
                _join_path(path_prefix, "step"),
                step,
                f"metric '{key}' (value={value}). Step must be a valid long (64-bit integer).",
            )
        )
    _check_length("Metric name", MAX_ENTITY_KEY_LENGTH, key)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def validate_metric_int64(key: str, value: float, timestamp: int, step: int, path_prefix: str = "") -> None:
    """A converted timestamp and step must fit the int64 columns they are stored in.

    MLflow's own check has no range (its SQL store then fails with the database's message, e.g.
    "Python int too large to convert to SQLite INTEGER"); this one says which parameter, in the words
    of MLflow's check for a wrong type.
    """
    if timestamp > _INT64_MAX:
        raise _invalid(
            _invalid_value(
                _join_path(path_prefix, "timestamp"),
                timestamp,
                f"metric '{key}' (value={value}). Timestamp must be a nonnegative long (64-bit integer) ",
            )
        )
    if not _INT64_MIN <= step <= _INT64_MAX:
        raise _invalid(
            _invalid_value(
                _join_path(path_prefix, "step"),
                step,
                f"metric '{key}' (value={value}). Step must be a valid long (64-bit integer).",
            )
        )


def _item_as_float(value: Any) -> float:
    try:
        item = value.item()
    except Exception as e:
        raise _invalid(f"Failed to convert metric value to float: {e}") from e
    # Outside the try, as in MLflow: np.array("x") raises float()'s ValueError, not an MlflowException.
    return float(item)


def convert_metric_value(value: Any) -> Any:
    """The client-side conversion MLflow applies to a metric value before validating it.

    numpy arrays and torch/tensorflow tensors (only if those libraries are already imported) become a
    float via ``.item()``; anything else goes through ``float()``: True -> 1.0, "3.5" -> 3.5, numpy
    scalars, Decimal. A ValueError from ``float()`` leaves the value as is, for validate_metric to
    reject; other errors (TypeError for a list, OverflowError) propagate, as in MLflow.
    """
    if value is None or type(value) is float:
        return value
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return _item_as_float(value)
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None and isinstance(value, tensorflow.Tensor):
        try:
            return float(value)
        except Exception as e:
            raise _invalid(f"Failed to convert metric value to float: {e!r}") from e
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _item_as_float(value.detach().cpu())
    try:
        return float(value)
    except ValueError:
        return value


# --- ids, names, locations ----------------------------------------------------------------------------


def is_valid_run_id(run_id: str) -> bool:
    return _RUN_ID_RE.match(run_id) is not None


def validate_run_id(run_id: str, path: str = "run_id") -> None:
    if _RUN_ID_RE.match(run_id) is None:
        raise _invalid(_invalid_value(path, run_id))


def validate_experiment_id(experiment_id: str | int) -> str:
    """Experiment ids are integers, as in MLflow's SQL stores. Returns the canonical string
    (``" 07"`` -> ``"7"``), the id a SQL store would look up."""
    try:
        return str(int(experiment_id))
    except (ValueError, TypeError):
        raise _invalid(
            f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
        ) from None


def validate_experiment_id_type(experiment_id: object) -> None:
    """start_run's check: an experiment id argument must be a str, an int or None."""
    if experiment_id is not None and not isinstance(experiment_id, (str, int)):
        raise _invalid(
            f"Invalid experiment id: {experiment_id} of type {type(experiment_id)}. "
            "Must be one of str, int, or None."
        )


def validate_experiment_name(name: object) -> None:
    if name == "" or name is None:
        raise _invalid(f"Invalid experiment name: '{name}'")
    if not isinstance(name, str):
        raise _invalid(f"Invalid experiment name: {name}. Expects a string.")
    _check_length("name", MAX_EXPERIMENT_NAME_LENGTH, name)


def validate_experiment_artifact_location(location: str | None) -> None:
    if location is not None and location.startswith("runs:"):
        raise _invalid(f"Artifact location cannot be a runs:/ URI. Given: '{location}'")


def validate_experiment_artifact_location_length(location: str) -> None:
    """MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH (default 2048), read at call time."""
    raw = os.environ.get("MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH")
    limit = int(raw) if raw else _DEFAULT_ARTIFACT_LOCATION_MAX_LENGTH
    if len(location) > limit:
        raise _invalid(
            "Invalid artifact path length. The length of the artifact path cannot be "
            f"greater than {limit} characters. To configure this limit, please set the "
            "MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable."
        )


# --- batches --------------------------------------------------------------------------------------------


def _check_batch_limit(entity_name: str, limit: int, length: int) -> None:
    if length > limit:
        raise _invalid(
            f"A batch logging request can contain at most {limit} {entity_name}. "
            f"Got {length} {entity_name}. Please split up {entity_name} across multiple"
            " requests and try again."
        )


def validate_batch_limits(metrics: Sized, params: Sized, tags: Sized) -> None:
    """Store-side limits of one log_batch: 1000 metrics, 100 params, 100 tags, 1000 in all."""
    _check_batch_limit("metrics", MAX_METRICS_PER_BATCH, len(metrics))
    _check_batch_limit("params", MAX_PARAMS_TAGS_PER_BATCH, len(params))
    _check_batch_limit("tags", MAX_PARAMS_TAGS_PER_BATCH, len(tags))
    _check_batch_limit(
        "metrics, params, and tags", MAX_ENTITIES_PER_BATCH, len(metrics) + len(params) + len(tags)
    )


def validate_param_keys_unique(params: Sequence[_Keyed]) -> None:
    seen: set[str] = set()
    duplicates: list[str] = []
    for param in params:
        if param.key in seen:
            duplicates.append(param.key)
        else:
            seen.add(param.key)
    if duplicates:
        raise _invalid(
            f"Duplicate parameter keys have been submitted: {duplicates}. Please ensure "
            "the request contains only one param value per param key."
        )


def validate_batch(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> tuple[list[Metric], list[Param], list[RunTag]]:
    """A store's log_batch checks, in MLflow's order: each item (with ``metrics[i]``-style paths), then
    the batch limits, then duplicate param keys. Returns params and tags with truncated values."""
    for index, metric in enumerate(metrics):
        validate_metric(metric.key, metric.value, metric.timestamp, metric.step, f"metrics[{index}]")
    checked_params = [
        Param(p.key, validate_param(p.key, p.value, f"params[{index}]")) for index, p in enumerate(params)
    ]
    checked_tags = [
        RunTag(t.key, validate_tag(t.key, t.value, f"tags[{index}]")) for index, t in enumerate(tags)
    ]
    validate_batch_limits(metrics, checked_params, checked_tags)
    validate_param_keys_unique(checked_params)
    return list(metrics), checked_params, checked_tags
