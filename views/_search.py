"""Run search over views: lazy tables, a wide frame of just the columns a query needs, filter, order, page.

The committed view's tables are scanned lazily (Polars pushes the key and run-id predicates down to the
Parquet row groups), so a search reads the runs table and one narrow slice of the params, tags or
metrics tables per key the filter or the ordering names — not the whole store.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import polars as pl
from eventlog.storage import Location
from eventlog.views._fold import RunTables, fold_runs, indexed_tables
from eventlog.views._snapshot import SegmentCache, empty_events, partition_tables, snapshot
from eventlog.views._streams import Commit, partition_stream
from eventlog.views.filter import Filter, OrderKey, order_by_exprs, with_tiebreakers
from eventlog.views.filter._ast import And, Compare, Node, columns_of, conj
from eventlog.views.filter._polars import filter_expr

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
    # Run-major copies of params, tags and latest_metrics (the same rows), for gathering a page of runs.
    params_by_run: pl.LazyFrame
    tags_by_run: pl.LazyFrame
    latest_metrics_by_run: pl.LazyFrame
    # Local Parquet paths of the view's tables (empty for a folded partition or a remote store): lets a
    # page gather read exactly the row groups it needs.
    files: Mapping[str, str] = field(default_factory=dict)


def _scan(location: Location, rel: str) -> pl.LazyFrame:
    local = location.local_path(rel)
    if local is not None:
        return pl.scan_parquet(local)
    return pl.read_parquet(io.BytesIO(location.read_bytes(rel))).lazy()


def _lazy_view(location: Location, commit: Commit) -> LazyRunTables:
    def table(name: str) -> pl.LazyFrame:
        return _scan(location, commit.tables[name])

    def by_run(name: str) -> pl.LazyFrame:
        return table(f"{name}_by_run") if f"{name}_by_run" in commit.tables else table(name)

    history = [_scan(location, rel) for rel in commit.history]
    files = {name: location.local_path(rel) for name, rel in commit.tables.items()}
    return LazyRunTables(
        runs=table("runs"),
        params=table("params"),
        tags=table("tags"),
        latest_metrics=table("latest_metrics"),
        metric_history=pl.concat(history) if history else _empty_history(),
        param_conflicts=table("param_conflicts"),
        artifacts=table("artifacts"),
        params_by_run=by_run("params"),
        tags_by_run=by_run("tags"),
        latest_metrics_by_run=by_run("latest_metrics"),
        files={name: path for name, path in files.items() if path is not None},
    )


def _empty_history() -> pl.LazyFrame:
    from eventlog.views._fold import HISTORY_SCHEMA

    return HISTORY_SCHEMA.to_frame().lazy()


def lazy_partition(
    location: Location, experiment_id: str, cache: SegmentCache | None = None, *, history: bool = False
) -> LazyRunTables:
    """The partition's tables as LazyFrames: scans of the committed view when it is up to date, else the
    fold of view + tail (computed now, so the frames stay consistent with each other). Either way the
    tables carry ``run_idx`` (see ``indexed_tables``)."""
    snap = snapshot(location, partition_stream(experiment_id))
    if snap.commit is not None and not snap.tail:
        return _lazy_view(location, snap.commit)
    tables = partition_tables(location, experiment_id, cache=cache, history=history)
    indexed = indexed_tables(tables)
    return LazyRunTables(
        runs=indexed["runs"].lazy(),
        params=indexed["params"].lazy(),
        tags=indexed["tags"].lazy(),
        latest_metrics=indexed["latest_metrics"].lazy(),
        metric_history=tables.metric_history.lazy(),
        param_conflicts=indexed["param_conflicts"].lazy(),
        artifacts=indexed["artifacts"].lazy(),
        params_by_run=indexed["params_by_run"].lazy(),
        tags_by_run=indexed["tags_by_run"].lazy(),
        latest_metrics_by_run=indexed["latest_metrics_by_run"].lazy(),
    )


def _concat(frames: Iterable[pl.LazyFrame]) -> pl.LazyFrame:
    frames = list(frames)
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")


# A run is identified across partitions by (partition number << 32) | run_idx.
_KEY = "_key"


def _key(part: int) -> pl.Expr:
    return (pl.col("run_idx").cast(pl.Int64) + (part << 32)).alias(_KEY)


def _key_slice(parts: Sequence[LazyRunTables], column: str) -> pl.LazyFrame:
    """(_key, <column>) for every run that has the param, tag or metric named by ``column``."""
    prefix, _, key = column.partition(".")
    table_name = _PREFIX_TABLE.get(prefix)
    if table_name is None:
        raise ValueError(f"unknown search column {column!r}")
    return _concat(
        getattr(p, table_name).filter(pl.col("key") == key).select(_key(i), pl.col("value").alias(column))
        for i, p in enumerate(parts)
    )


def _conjuncts(node: Node) -> list[Node]:
    return list(node.items) if isinstance(node, And) else [node]


def _pushable(node: Node) -> bool:
    """A comparison on one param, tag or metric that a run without that key can never satisfy: it can
    be evaluated inside that key's slice and joined with an inner join."""
    return (
        isinstance(node, Compare)
        and not node.column.startswith("attributes.")
        and node.op not in ("IS NULL",)
    )


def search_run_ids(
    parts: Sequence[LazyRunTables],
    stages: Sequence[str],
    predicate: Filter,
    order: Sequence[OrderKey],
    offset: int,
    limit: int | None,
) -> list[tuple[int, int]]:
    """One page (``limit`` rows from ``offset``) in MLflow's search order — the requested keys, then
    start_time DESC (unless already a key), then run_id ASC — as (partition number, run_idx) pairs.

    The conjuncts of an AND filter that test one param, tag or metric are applied to that key's slice
    before it is joined (an inner join then also drops every run without the key); the rest of the
    filter runs on the joined frame.
    """
    keys = with_tiebreakers(order, "runs")
    runs = _concat(
        p.runs.filter(pl.col("lifecycle_stage").is_in(list(stages))).select(
            _key(i), *[pl.col(source).alias(name) for name, source in ATTRIBUTE_COLUMNS.items()]
        )
        for i, p in enumerate(parts)
    )
    conjuncts = [] if predicate.matches_all else _conjuncts(predicate.node)
    pushed = [c for c in conjuncts if _pushable(c)]
    remaining = [c for c in conjuncts if not _pushable(c)]
    present = set(ATTRIBUTE_COLUMNS)
    wide = runs
    for compare in pushed:
        assert isinstance(compare, Compare)  # narrowed by _pushable
        matching = _key_slice(parts, compare.column).filter(filter_expr(compare))
        if compare.column in present:
            wide = wide.join(matching.select(_KEY), on=_KEY, how="semi")
        else:
            wide = wide.join(matching, on=_KEY, how="inner")
            present.add(compare.column)
    needed = set().union(*(columns_of(c) for c in remaining)) | {k.column for k in keys}
    for column in sorted(needed - present):
        wide = wide.join(_key_slice(parts, column), on=_KEY, how="left")
    if remaining:
        wide = wide.filter(filter_expr(conj(remaining)))
    spec = order_by_exprs(keys)
    page = wide.sort(spec.by, descending=spec.descending, nulls_last=spec.nulls_last, maintain_order=True)
    found = page.slice(offset, limit).select(_KEY).collect().get_column(_KEY).to_list()
    return [(key >> 32, key & 0xFFFFFFFF) for key in found]


def _gather(part: LazyRunTables, name: str, indexes: list[int]) -> pl.LazyFrame:
    """The rows of ``indexes`` (run_idx values) in one table; Polars prunes the row groups by their
    run_idx statistics. A local view file that the footer says is empty is not scanned at all (a
    scan has a fixed cost, and param_conflicts and artifacts are usually empty)."""
    frame = cast(pl.LazyFrame, getattr(part, name))
    path = part.files.get(name)
    if path is not None:
        import pyarrow.parquet as pq

        if pq.read_metadata(path).num_rows == 0:
            return frame.head(0)
    return frame.filter(pl.col("run_idx").is_in(indexes))


def collect_runs(parts: Sequence[LazyRunTables], page: Sequence[tuple[int, int]]) -> RunTables:
    """The tables of just the runs of one page (for turning it into entities), gathered by run_idx —
    an integer column, cheap to scan — in one parallel collect."""
    from eventlog.views._fold import HISTORY_SCHEMA

    by_part: dict[int, list[int]] = {}
    for part, run_idx in page:
        by_part.setdefault(part, []).append(run_idx)
    names = ("runs", "params_by_run", "param_conflicts", "tags_by_run", "latest_metrics_by_run", "artifacts")
    queries = [
        _gather(parts[part], name, indexes).with_columns(_part=pl.lit(part, pl.Int64))
        for name in names
        for part, indexes in by_part.items()
    ]
    if not queries:
        return fold_runs(empty_events(), history=False)
    frames = pl.collect_all(queries)
    width = len(by_part)
    gathered = {
        name: pl.concat(frames[i * width : (i + 1) * width], how="vertical_relaxed")
        for i, name in enumerate(names)
    }
    return RunTables(
        runs=gathered["runs"],
        params=gathered["params_by_run"],
        param_conflicts=gathered["param_conflicts"],
        tags=gathered["tags_by_run"],
        latest_metrics=gathered["latest_metrics_by_run"],
        metric_history=HISTORY_SCHEMA.to_frame(),
        artifacts=gathered["artifacts"],
    )
