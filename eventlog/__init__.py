"""eventlog: MLflow-Tracking-compatible experiment tracking on an append-only Parquet event log.

    import eventlog as mlflow

    mlflow.set_experiment("demo")
    with mlflow.start_run():
        mlflow.log_param("lr", 0.01)
        mlflow.log_metric("loss", 0.5, step=1)

Everything logged is an immutable event in Parquet segments on any fsspec filesystem; reads fold the
events (see docs/architecture.md). Heavy libraries (pyarrow, polars) load on first use, not at import.
"""

from __future__ import annotations

import os
from typing import Any

from eventlog import entities, exceptions
from eventlog._artifacts._fluent import (
    get_artifact_uri,
    load_table,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_table,
    log_text,
)
from eventlog._autolog import autolog
from eventlog._client import MlflowClient, RunOperations
from eventlog._config import get_tracking_uri, is_tracking_uri_set
from eventlog._config import set_tracking_uri as _set_tracking_uri
from eventlog._fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_experiment_tag,
    delete_run,
    delete_tag,
    end_run,
    flush,
    flush_async_logging,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_run,
    last_active_run,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    restore_experiment,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
    start_run,
)
from eventlog.exceptions import MlflowException

__version__ = "0.1.0"

__all__ = [
    "ActiveRun",
    "MlflowClient",
    "MlflowException",
    "RunOperations",
    "__version__",
    "active_run",
    "autolog",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_run",
    "delete_tag",
    "end_run",
    "entities",
    "exceptions",
    "flush",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]


def set_tracking_uri(
    uri: str | os.PathLike[str] | None, storage_options: dict[str, Any] | None = None
) -> None:
    """Set the tracking store: a local path, ``file://``, ``memory://`` or any fsspec URL.

    ``storage_options`` are passed to fsspec (endpoints, credentials). Runs that are active stay in the
    store they started in.
    """
    _set_tracking_uri(uri, storage_options)
