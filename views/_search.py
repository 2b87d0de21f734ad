"""Run search over views: lazy tables, a wide frame of just the columns a query needs, filter, order, page.

The committed view's tables are scanned lazily (Polars pushes the key and run-id predicates down to the
Parquet row groups), so a search reads the runs table and one narrow slice of the params, tags or
metrics tables per key the filter or the ordering names — not the whole store.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from storage import Location
from views._fold import RunTables
from views._snapshot import SegmentCache, partition_tables, snapshot
from views._streams import Commit, partition_stream
from views.filter import Filter, OrderKey, order_by_exprs, with_tiebreakers

__all__ = [
    "ATTRIBUTE_COLUMNS",
    "LazyRunTables",
    "collect_runs",
    "lazy_partition",
    "search_run_ids",
]

# Wide-frame column -> runs-table column.
ATTRIBUTE_COLUMNS = {
    "attributes.run_id": "run_id",
    "attributes.run_name": "run_name",
    "attributes.status": "status",
    "attributes.user_id": "user_id",
    "attributes.artifact_uri": "artifact_uri",
    "attributes.start_time": "start_time",
    "attributes.end_time": "end_time",
}
_PREFIX_TABLE = {"params": "params", "tags": "tags", "metrics": "latest_metrics"}


@dataclass(frozen=True)
class LazyRunTables:
    runs: pl.LazyFrame
    params: pl.LazyFrame
    tags: pl.LazyFrame
    latest_metrics: pl.LazyFrame
    metric_history: pl.LazyFrame
    param_conflicts: pl.LazyFrame
    artifacts: pl.LazyFrame


def _scan(location: Location, rel: str) -> pl.LazyFrame:
    local = location.local_path(rel)
    if local is not None:
        return pl.scan_parquet(local)
    return pl.read_parquet(io.BytesIO(location.read_bytes(rel))).lazy()


def _lazy_view(location: Location, commit: Commit) -> LazyRunTables:
    def table(name: str) -> pl.LazyFrame:
        return _scan(location, commit.tables[name])

    history = [_scan(location, rel) for rel in commit.history]
    return LazyRunTables(
        runs=table("runs"),
        params=table("params"),
        tags=table("tags"),
        latest_metrics=table("latest_metrics"),
        metric_history=pl.concat(history) if history else _empty_history(),
        param_conflicts=table("param_conflicts"),
        artifacts=table("artifacts"),
    )


def _empty_history() -> pl.LazyFrame:
    from views._fold import HISTORY_SCHEMA

    return HISTORY_SCHEMA.to_frame().lazy()


def lazy_partition(
    location: Location, experiment_id: str, cache: SegmentCache | None = None, *, history: bool = False
) -> LazyRunTables:
    """The partition's tables as LazyFrames: scans of the committed view when it is up to date, else the
    fold of view + tail (computed now, so the frames stay consistent with each other)."""
    snap = snapshot(location, partition_stream(experiment_id))
    if snap.commit is not None and not snap.tail:
        return _lazy_view(location, snap.commit)
    tables = partition_tables(location, experiment_id, cache=cache, history=history)
    return LazyRunTables(
        runs=tables.runs.lazy(),
        params=tables.params.lazy(),
        tags=tables.tags.lazy(),
        latest_metrics=tables.latest_metrics.lazy(),
        metric_history=tables.metric_history.lazy(),
        param_conflicts=tables.param_conflicts.lazy(),
        artifacts=tables.artifacts.lazy(),
    )


def _concat(frames: Iterable[pl.LazyFrame]) -> pl.LazyFrame:
    frames = list(frames)
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")


def wide_frame(parts: Sequence[LazyRunTables], stages: Sequence[str], columns: Iterable[str]) -> pl.LazyFrame:
    """One row per run in ``stages``, with the attribute columns plus one column per needed key."""
    runs = _concat(p.runs for p in parts).filter(pl.col("lifecycle_stage").is_in(list(stages)))
    wide = runs.select(
        "experiment_id",
        *[pl.col(source).alias(name) for name, source in ATTRIBUTE_COLUMNS.items()],
    )
    for column in sorted(set(columns)):
        if column in ATTRIBUTE_COLUMNS or column in wide.collect_schema():
            continue
        prefix, _, key = column.partition(".")
        table_name = _PREFIX_TABLE.get(prefix)
        if table_name is None:
            raise ValueError(f"unknown search column {column!r}")
        table = _concat(getattr(p, table_name) for p in parts)
        values = table.filter(pl.col("key") == key).select(
            pl.col("run_id").alias("attributes.run_id"), pl.col("value").alias(column)
        )
        wide = wide.join(values, on="attributes.run_id", how="left")
    return wide


def search_run_ids(
    parts: Sequence[LazyRunTables],
    stages: Sequence[str],
    predicate: Filter,
    order: Sequence[OrderKey],
    offset: int,
    limit: int,
) -> list[str]:
    """Run ids of one page (``limit`` rows from ``offset``) in MLflow's search order: the requested keys,
    then start_time DESC (unless already a key), then run_id ASC."""
    keys = with_tiebreakers(order, "runs")
    wide = wide_frame(parts, stages, [*predicate.columns, *(key.column for key in keys)])
    if not predicate.matches_all:
        wide = wide.filter(predicate.to_polars())
    spec = order_by_exprs(keys)
    page = wide.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True)
    ids = page.slice(offset, limit).select("attributes.run_id").collect()
    return ids.get_column("attributes.run_id").to_list()


def collect_runs(parts: Sequence[LazyRunTables], run_ids: Sequence[str]) -> RunTables:
    """The tables of just ``run_ids`` (for turning one page of results into entities)."""
    from views._fold import HISTORY_SCHEMA

    ids = pl.col("run_id").is_in(list(run_ids))

    def gather(name: str) -> pl.DataFrame:
        return _concat(getattr(p, name).filter(ids) for p in parts).collect()

    return RunTables(
        runs=gather("runs"),
        params=gather("params"),
        param_conflicts=gather("param_conflicts"),
        tags=gather("tags"),
        latest_metrics=gather("latest_metrics"),
        metric_history=HISTORY_SCHEMA.to_frame(),
        artifacts=gather("artifacts"),
    )
