"""search_runs: MLflow's filter strings (plus OR, parentheses and IN) over the views, paged like MLflow.

Parsing is ``views.filter``; the query runs on Polars LazyFrames of the committed views (``views._search``);
only the page's runs become entities. The fluent ``search_runs`` turns them into MLflow's pandas frame.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventlog import _validation
from eventlog._experiment_search import decode_page_token, encode_page_token, validate_max_results
from eventlog.entities import LifecycleStage, PagedList, Run
from eventlog.exceptions import MlflowException

if TYPE_CHECKING:
    from eventlog._store import TrackingStore

__all__ = ["runs_to_pandas", "runs_to_polars", "search_runs"]


def _parse(filter_string: str | None, order_by: Sequence[str] | None) -> tuple[Any, list[Any]]:
    order = tuple(order_by or ())
    if isinstance(filter_string, (str, type(None))) and all(isinstance(o, str) for o in order):
        predicate, keys = _parse_cached(filter_string or "", order)
        return predicate, list(keys)
    return _parse_uncached(filter_string, order)


@functools.lru_cache(maxsize=256)
def _parse_cached(filter_string: str, order_by: tuple[str, ...]) -> tuple[Any, tuple[Any, ...]]:
    # A dashboard or a sweep repeats the same few queries; parsed filters are immutable, so share them.
    predicate, keys = _parse_uncached(filter_string, order_by)
    return predicate, tuple(keys)


def _parse_uncached(filter_string: Any, order_by: Sequence[Any]) -> tuple[Any, list[Any]]:
    from eventlog.views.filter import FilterError, parse_order_by, parse_search_filter

    try:
        return parse_search_filter(filter_string or ""), list(parse_order_by(list(order_by), "runs"))
    except FilterError as exc:
        raise MlflowException(str(exc), exc.error_code) from None


def search_runs(
    store: TrackingStore,
    experiment_ids: Sequence[str],
    filter_string: str | None = "",
    run_view_type: int = 1,
    max_results: int | None = 1000,
    order_by: Sequence[str] | None = None,
    page_token: str | bytes | None = None,
) -> PagedList[Run]:
    from eventlog.views._search import lazy_partition, search_run_ids

    validate_max_results(max_results)
    ids = [_validation.validate_experiment_id(e) for e in experiment_ids]
    predicate, order = _parse(filter_string, order_by)
    offset = decode_page_token(page_token)
    stages = LifecycleStage.view_type_to_stages(run_view_type)
    store.ready()
    store.flush()
    unique_ids = list(dict.fromkeys(ids))
    in_memory = _memory_partitions(store, unique_ids)
    if in_memory is not None:
        return _search_in_memory(in_memory, stages, predicate, order, offset, max_results)
    parts = [lazy_partition(store.location, e, store.cache) for e in unique_ids]
    if not parts:
        return PagedList([], None)
    if max_results is None:  # MLflow's SQL store allows it: every run, no page token
        return PagedList(
            _runs_in_order(parts, search_run_ids(parts, stages, predicate, order, offset, None)), None
        )
    page_ids = search_run_ids(parts, stages, predicate, order, offset, max_results + 1)
    token = encode_page_token(offset + max_results) if len(page_ids) > max_results else None
    return PagedList(_runs_in_order(parts, page_ids[:max_results]), token)


def _memory_partitions(store: TrackingStore, experiment_ids: Sequence[str]) -> list[Any] | None:
    """Every partition held in memory (see views._memory), or None if one is too large for that."""
    from eventlog._config import search_memory_rows
    from eventlog.views._memory import memory_partition

    max_rows = search_memory_rows()
    if max_rows == 0:
        return None
    parts = []
    for experiment_id in experiment_ids:
        part = memory_partition(store.location, experiment_id, store.cache, max_rows)
        if part is None:
            return None
        parts.append(part)
    return parts


def _search_in_memory(
    parts: Sequence[Any],
    stages: Sequence[str],
    predicate: Any,
    order: Sequence[Any],
    offset: int,
    max_results: int | None,
) -> PagedList[Run]:
    import polars as pl

    from eventlog.views._memory import merge_candidates
    from eventlog.views.filter import with_tiebreakers

    if not parts:
        return PagedList([], None)
    keys = with_tiebreakers(order, "runs")
    # One more than the page tells whether another page follows.
    wanted = None if max_results is None else max_results + 1
    limit = None if wanted is None else offset + wanted
    if len(parts) == 1:
        found = [(0, i) for i in parts[0].top_run_idx(stages, predicate, keys, limit)[offset:limit]]
    else:
        candidates = merge_candidates(
            [
                p.candidates(stages, predicate, keys, limit).with_columns(_part=pl.lit(i, pl.Int32))
                for i, p in enumerate(parts)
            ],
            keys,
        )
        found = candidates.slice(offset, wanted).select("_part", "run_idx").rows()
    page = found if max_results is None else found[:max_results]
    token = None
    if max_results is not None and len(found) > max_results:
        token = encode_page_token(offset + max_results)
    by_part: dict[int, list[int]] = {}
    for part, run_idx in page:
        by_part.setdefault(part, []).append(run_idx)
    runs: dict[tuple[int, int], Run] = {}
    for part, indexes in by_part.items():
        for run_idx, run in zip(indexes, runs_from_page(parts[part].page(indexes)), strict=True):
            runs[(part, run_idx)] = run
    return PagedList([runs[item] for item in page], token)


def runs_from_page(page: Any) -> list[Run]:
    """Run entities from a page of views._memory.PageRows, in the page's order."""
    from eventlog.entities import RunData, RunInfo, RunInputs, RunOutputs

    return [
        Run(RunInfo(*info), RunData._from_rows(metrics, params, tags), RunInputs(), RunOutputs())
        for info, params, tags, metrics in zip(page.runs, page.params, page.tags, page.metrics, strict=True)
    ]


def _runs_in_order(parts: Sequence[Any], page: list[tuple[int, int]]) -> list[Run]:
    from eventlog._store import runs_from_tables
    from eventlog.views._search import collect_runs

    if not page:
        return []
    tables = collect_runs(parts, page)
    runs = {run.info.run_id: run for run in runs_from_tables(tables)}
    # collect_runs gathers by partition; put the runs back in search order.
    order = {(part, idx): run_id for part, idx, run_id in _page_run_ids(tables, page)}
    return [runs[order[item]] for item in page if item in order]


def _page_run_ids(tables: Any, page: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    wanted = set(page)
    found = []
    for run_idx, run_id, part in tables.runs.select("run_idx", "run_id", "_part").iter_rows():
        if (part, run_idx) in wanted:
            found.append((part, run_idx, run_id))
    return found


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
