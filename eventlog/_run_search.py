"""search_runs' answers as entities and frames.

The search itself is the store's (``TrackingStore.search_runs``, the one road, as MLflow's
``AbstractStore.search_runs``), which asks ``views.search_runs`` for one page. This module turns that
page into Run entities, and the fluent ``search_runs``' runs into MLflow's pandas frame (or a Polars one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventlog.entities import Run, RunData, RunInfo, RunInputs, RunOutputs

if TYPE_CHECKING:
    from eventlog.views import RunPage

__all__ = ["runs_from_page", "runs_of", "runs_to_pandas", "runs_to_polars"]


def runs_of(page: RunPage) -> list[Run]:
    """The Run entities of a page of ``views.search_runs``, in the page's order."""
    return runs_from_page(page)


def runs_from_page(page: Any) -> list[Run]:
    """Run entities from a page of rows (``views.RunPage``), in the page's order."""
    return [
        Run(RunInfo(*info), RunData._from_rows(metrics, params, tags), RunInputs(), RunOutputs())
        for info, params, tags, metrics in zip(page.runs, page.params, page.tags, page.metrics, strict=True)
    ]


def _columns(runs: Sequence[Run]) -> tuple[list[str], list[str], list[str]]:
    return (
        sorted({k for r in runs for k in r.data.metrics}),
        sorted({k for r in runs for k in r.data.params}),
        sorted({k for r in runs for k in r.data.tags}),
    )


def runs_to_polars(runs: Sequence[Run]) -> Any:
    """The same columns as the pandas frame, as a Polars DataFrame (an eventlog addition)."""
    import polars as pl

    metric_keys, param_keys, tag_keys = _columns(runs)
    timestamp = pl.Datetime("ms", "UTC")
    columns: dict[str, pl.Series] = {
        "run_id": pl.Series([r.info.run_id for r in runs], dtype=pl.String),
        "experiment_id": pl.Series([r.info.experiment_id for r in runs], dtype=pl.String),
        "status": pl.Series([r.info.status for r in runs], dtype=pl.String),
        "artifact_uri": pl.Series([r.info.artifact_uri for r in runs], dtype=pl.String),
        "start_time": pl.Series([r.info.start_time for r in runs], dtype=pl.Int64).cast(timestamp),
        "end_time": pl.Series([r.info.end_time for r in runs], dtype=pl.Int64).cast(timestamp),
    }
    for key in metric_keys:
        columns[f"metrics.{key}"] = pl.Series([r.data.metrics.get(key) for r in runs], dtype=pl.Float64)
    for key in param_keys:
        columns[f"params.{key}"] = pl.Series([r.data.params.get(key) for r in runs], dtype=pl.String)
    for key in tag_keys:
        columns[f"tags.{key}"] = pl.Series([r.data.tags.get(key) for r in runs], dtype=pl.String)
    return pl.DataFrame(columns)


def runs_to_pandas(runs: Sequence[Run]) -> Any:
    """MLflow's search_runs frame: info columns, then metrics.*, params.*, tags.* (each group sorted)."""
    import pandas as pd

    info_columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    if not runs:
        return pd.DataFrame({c: [] for c in info_columns})
    metric_keys, param_keys, tag_keys = _columns(runs)
    data: dict[str, Any] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": pd.to_datetime([r.info.start_time for r in runs], unit="ms", utc=True),
        "end_time": pd.to_datetime([r.info.end_time for r in runs], unit="ms", utc=True),
    }
    for key in metric_keys:
        data[f"metrics.{key}"] = pd.array(
            [r.data.metrics.get(key, float("nan")) for r in runs], dtype="float64"
        )
    for key in param_keys:
        data[f"params.{key}"] = [r.data.params.get(key) for r in runs]
    for key in tag_keys:
        data[f"tags.{key}"] = [r.data.tags.get(key) for r in runs]
    return pd.DataFrame(data)
