"""The fold: events in, state tables out. Pure functions over Polars frames, no I/O.

The read path (a snapshot of uncompacted segments) and the compactor fold with these same functions, so
compaction can change how fast a read is, never what it returns.

Rules (MLflow's, see docs/format.md):
- an event id is (writer, seq); an event seen twice counts once;
- non-metric events apply in ORDER_KEY order (timestamp, writer, seq);
- a param keeps its first value; later different values are conflicts, reported, never shown;
- a tag keeps its last set value unless a later delete removes it;
- the latest metric is the largest (step, timestamp, value), NaN comparing as 0, ties to the first logged;
- a run is deleted if the last lifecycle event touching it (its own delete/restore, or its experiment's)
  is a delete.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from eventlog.views._schema import COLUMNS, ORDER_KEY, Kind

__all__ = [
    "KV_COLUMNS",
    "METRIC_COLUMNS",
    "EventParts",
    "ExperimentTables",
    "RunTables",
    "empty_events",
    "fold_experiments",
    "fold_run_parts",
    "fold_runs",
    "indexed_tables",
    "latest_metric_events",
    "metric_history",
    "reduce_experiment_events",
    "reduce_run_events",
    "reduce_run_parts",
    "split_events",
]

_POLARS_TYPES = {"string": pl.String, "int64": pl.Int64, "float64": pl.Float64}
EVENT_SCHEMA = pl.Schema({name: _POLARS_TYPES[kind] for name, kind in COLUMNS})
HISTORY_SCHEMA = pl.Schema(
    {"run_id": pl.String, "key": pl.String, "value": pl.Float64, "timestamp": pl.Int64, "step": pl.Int64}
)
_ORDER = list(ORDER_KEY)


def empty_events() -> pl.DataFrame:
    return EVENT_SCHEMA.to_frame()


@dataclass(frozen=True)
class RunTables:
    """The state of one experiment partition's runs."""

    runs: pl.DataFrame  # run_id, experiment_id, run_name, user_id, status, start_time, end_time,
    #                     artifact_uri, lifecycle_stage, deleted_time
    params: pl.DataFrame  # run_id, key, value
    param_conflicts: pl.DataFrame  # run_id, key, value (kept), rejected_value, writer, seq
    tags: pl.DataFrame  # run_id, key, value
    latest_metrics: pl.DataFrame  # run_id, key, value, timestamp, step
    metric_history: pl.DataFrame  # run_id, key, value, timestamp, step
    artifacts: pl.DataFrame  # run_id, path, size, checksum, timestamp (the last logged file per path)


@dataclass(frozen=True)
class ExperimentTables:
    experiments: pl.DataFrame  # experiment_id, name, artifact_location, lifecycle_stage, creation_time,
    #                            last_update_time
    tags: pl.DataFrame  # experiment_id, key, value


def _dedupe(events: pl.DataFrame) -> pl.DataFrame:
    """Drop repeated event ids. Repeats are rare (a segment read twice), so look before paying for it."""
    if events.height == 0:
        return events
    counts = events.group_by("writer").agg(rows=pl.len(), ids=pl.col("seq").n_unique())
    if counts.filter(pl.col("rows") != pl.col("ids")).height == 0:
        return events
    return events.unique(subset=["writer", "seq"], keep="first", maintain_order=True)


def _last_per(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort(_ORDER).unique(subset=keys, keep="last", maintain_order=True)


METRIC_COLUMNS = ("run_id", "key", "value", "timestamp", "step", "writer", "seq")
KV_COLUMNS = ("writer", "seq", "kind", "timestamp", "experiment_id", "run_id", "key", "text")
_KV_KINDS = (Kind.PARAM, Kind.TAG_SET, Kind.TAG_DELETED)


@dataclass(frozen=True)
class EventParts:
    """Events split by shape, so that the millions of metric and param/tag events never travel in the
    wide frame: metrics (METRIC_COLUMNS), params and tags (KV_COLUMNS), and the rest (every column)."""

    metrics: pl.DataFrame
    kv: pl.DataFrame
    others: pl.DataFrame

    @property
    def empty(self) -> bool:
        return not (self.metrics.height or self.kv.height or self.others.height)

    @staticmethod
    def concat(parts: list[EventParts]) -> EventParts:
        return EventParts(
            metrics=pl.concat([p.metrics for p in parts]),
            kv=pl.concat([p.kv for p in parts]),
            others=pl.concat([p.others for p in parts]),
        )

    def widen(self) -> pl.DataFrame:
        """Back to the segment schema (for small frames only: this is what the split avoids)."""
        return pl.concat(
            [
                self.others,
                self.kv.with_columns(_missing(self.kv)),
                self.metrics.with_columns(
                    kind=pl.lit(Kind.METRIC), **_missing_map(self.metrics, skip=("kind",))
                ),
            ],
            how="diagonal_relaxed",
        ).select(list(EVENT_SCHEMA))


def _missing_map(frame: pl.DataFrame, skip: tuple[str, ...] = ()) -> dict[str, pl.Expr]:
    return {
        name: pl.lit(None, dtype=dtype)
        for name, dtype in EVENT_SCHEMA.items()
        if name not in frame.columns and name not in skip
    }


def _missing(frame: pl.DataFrame) -> list[pl.Expr]:
    return [expr.alias(name) for name, expr in _missing_map(frame).items()]


def split_events(events: pl.DataFrame) -> EventParts:
    kind = pl.col("kind")
    is_kv = kind.is_in(list(_KV_KINDS))
    return EventParts(
        metrics=events.filter(kind == Kind.METRIC).select(METRIC_COLUMNS),
        kv=events.filter(is_kv).select(KV_COLUMNS),
        others=events.filter((kind != Kind.METRIC) & ~is_kv),
    )


def fold_runs(events: pl.DataFrame, *, history: bool = True) -> RunTables:
    """Fold the events of one partition into its run tables (``history=False``: leave the metric
    history table empty, for reads that only need the latest values)."""
    return fold_run_parts(split_events(events), history=history)


def fold_run_parts(parts: EventParts, *, history: bool = True) -> RunTables:
    """fold_runs on split events.

    A metric event seen twice changes nothing without a check by id: the history keeps one row per
    identical point and the latest point is the same either way.
    """
    metric_events = parts.metrics
    events = _dedupe(parts.others)
    kv = _dedupe(parts.kv)
    kind = pl.col("kind")

    created = (
        events.filter(kind == Kind.RUN_CREATED)
        .sort(_ORDER)
        .unique(subset=["run_id"], keep="first", maintain_order=True)
        .select("run_id", "experiment_id", "user_id", "start_time", "artifact_uri")
    )
    updates = events.filter(kind == Kind.RUN_UPDATED)
    status = _last_per(
        pl.concat(
            [
                events.filter(kind == Kind.RUN_CREATED).with_columns(status=pl.lit("RUNNING")),
                updates.filter(pl.col("status").is_not_null()),
            ]
        ),
        ["run_id"],
    ).select("run_id", "status")
    end_time = _last_per(updates.filter(pl.col("end_time").is_not_null()), ["run_id"]).select(
        "run_id", "end_time"
    )
    # The run name is whichever came last: the name at creation, a rename, or the mlflow.runName tag.
    name_columns = ["run_id", "timestamp", "writer", "seq", "run_name"]
    names = _last_per(
        pl.concat(
            [
                events.filter(
                    (kind == Kind.RUN_CREATED) | ((kind == Kind.RUN_UPDATED) & pl.col("name").is_not_null())
                ).select(*name_columns[:4], run_name="name"),
                kv.filter((kind == Kind.TAG_SET) & (pl.col("key") == "mlflow.runName")).select(
                    *name_columns[:4], run_name="text"
                ),
            ]
        ),
        ["run_id"],
    ).select("run_id", "run_name")

    run_ids = created.select("run_id")
    run_lifecycle = events.filter(kind.is_in([Kind.RUN_DELETED, Kind.RUN_RESTORED]))
    experiment_lifecycle = events.filter(kind.is_in([Kind.EXPERIMENT_DELETED, Kind.EXPERIMENT_RESTORED]))
    # An experiment's delete/restore applies to every run in it (MLflow cascades both ways).
    cascaded = experiment_lifecycle.drop("run_id").join(run_ids, how="cross").select(events.columns)
    lifecycle = _last_per(pl.concat([run_lifecycle, cascaded]), ["run_id"]).select(
        "run_id",
        lifecycle_stage=pl.when(kind.is_in([Kind.RUN_DELETED, Kind.EXPERIMENT_DELETED]))
        .then(pl.lit("deleted"))
        .otherwise(pl.lit("active")),
        deleted_time=pl.when(kind.is_in([Kind.RUN_DELETED, Kind.EXPERIMENT_DELETED])).then(
            pl.col("timestamp")
        ),
    )

    runs = (
        created.join(names, on="run_id", how="left")
        .join(status, on="run_id", how="left")
        .join(end_time, on="run_id", how="left")
        .join(lifecycle, on="run_id", how="left")
        .with_columns(pl.col("lifecycle_stage").fill_null("active"))
        .select(
            "run_id",
            "experiment_id",
            "run_name",
            "user_id",
            "status",
            "start_time",
            "end_time",
            "artifact_uri",
            "lifecycle_stage",
            "deleted_time",
        )
    )

    param_events = kv.filter(kind == Kind.PARAM).sort(_ORDER)
    params = param_events.unique(subset=["run_id", "key"], keep="first", maintain_order=True).select(
        "run_id", "key", value="text"
    )
    param_conflicts = (
        param_events.join(params.rename({"value": "kept_value"}), on=["run_id", "key"], how="inner")
        .filter(pl.col("text") != pl.col("kept_value"))
        .select("run_id", "key", value="kept_value", rejected_value="text", writer="writer", seq="seq")
    )

    tags = (
        _last_per(kv.filter(kind.is_in([Kind.TAG_SET, Kind.TAG_DELETED])), ["run_id", "key"])
        .filter(kind == Kind.TAG_SET)
        .select("run_id", "key", value="text")
    )

    latest = latest_metric_events(metric_events).select("run_id", "key", "value", "timestamp", "step")
    return RunTables(
        runs=runs,
        params=params,
        param_conflicts=param_conflicts,
        tags=tags,
        latest_metrics=latest,
        metric_history=metric_history(metric_events) if history else metric_history(metric_events.clear()),
        artifacts=_last_per(events.filter(kind == Kind.ARTIFACT), ["run_id", "key"]).select(
            "run_id", path="key", size="size", checksum="checksum", timestamp="timestamp"
        ),
    )


def latest_metric_events(metric_events: pl.DataFrame) -> pl.DataFrame:
    """Per (run, key), the point with the largest (step, timestamp, value), NaN ranking as 0 like MLflow's
    SQL store; among equal points the first logged (writer, seq) wins. Keeps every column."""
    # Only points at a key's largest step can win: drop the rest before the (costly) full sort.
    candidates = metric_events.filter(pl.col("step") == pl.col("step").max().over(["run_id", "key"]))
    return (
        candidates.with_columns(_rank_value=pl.col("value").fill_nan(0.0))
        .sort(
            ["step", "timestamp", "_rank_value", "writer", "seq"],
            descending=[True, True, True, False, False],
        )
        .unique(subset=["run_id", "key"], keep="first", maintain_order=True)
        .drop("_rank_value")
    )


def reduce_run_events(events: pl.DataFrame) -> pl.DataFrame:
    """The events that decide the fold of a partition: ``fold_runs(reduce(a) + b)`` equals
    ``fold_runs(a + b)`` for any later events ``b``, whatever their order keys. The compactor stores
    this (with the latest metric points) as the state that the next compaction and every read start
    from; the full metric history is kept apart.

    Each fold rule picks a first or last event per group in a total order, so keeping that extreme
    event per group is enough; params keep the first event per distinct value so that conflicts survive.
    """
    return reduce_run_parts(split_events(events)).widen()


def reduce_run_parts(parts: EventParts) -> EventParts:
    """reduce_run_events on split events, keeping the split (the compactor's path)."""
    events = _dedupe(parts.others)
    kind = pl.col("kind")
    ordered = events.sort(_ORDER)
    updates = ordered.filter(kind == Kind.RUN_UPDATED)
    kv = _dedupe(parts.kv).sort(_ORDER)

    def first(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        return frame.unique(subset=keys, keep="first", maintain_order=True)

    def last(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        return frame.unique(subset=keys, keep="last", maintain_order=True)

    others = [
        first(ordered.filter(kind == Kind.RUN_CREATED), ["run_id"]),
        last(updates.filter(pl.col("status").is_not_null()), ["run_id"]),
        last(updates.filter(pl.col("end_time").is_not_null()), ["run_id"]),
        last(updates.filter(pl.col("name").is_not_null()), ["run_id"]),
        last(ordered.filter(kind.is_in([Kind.RUN_DELETED, Kind.RUN_RESTORED])), ["run_id"]),
        last(
            ordered.filter(kind.is_in([Kind.EXPERIMENT_DELETED, Kind.EXPERIMENT_RESTORED])), ["experiment_id"]
        ),
        last(ordered.filter(kind == Kind.ARTIFACT), ["run_id", "key"]),
    ]
    kept_kv = [
        _param_events_to_keep(kv.filter(kind == Kind.PARAM)),
        last(kv.filter(kind.is_in([Kind.TAG_SET, Kind.TAG_DELETED])), ["run_id", "key"]),
        # The run name follows the last mlflow.runName tag *set*, even if the tag was deleted since.
        last(kv.filter((kind == Kind.TAG_SET) & (pl.col("key") == "mlflow.runName")), ["run_id"]),
    ]
    return EventParts(
        metrics=latest_metric_events(parts.metrics),
        kv=pl.concat(kept_kv).unique(subset=["writer", "seq"], keep="first", maintain_order=True),
        others=pl.concat(others).unique(subset=["writer", "seq"], keep="first", maintain_order=True),
    )


def _param_events_to_keep(params: pl.DataFrame) -> pl.DataFrame:
    """A param with one value needs only its first event; a param with conflicting values keeps all its
    events, so the conflicts table (one row per rejected event) survives compaction."""
    values = pl.col("text").n_unique().over(["run_id", "key"])
    contested = params.filter(values > 1)
    settled = params.filter(values == 1).unique(subset=["run_id", "key"], keep="first", maintain_order=True)
    return pl.concat([settled, contested])


def reduce_experiment_events(events: pl.DataFrame) -> pl.DataFrame:
    """Like reduce_run_events, for the catalog."""
    events = _dedupe(events).sort(_ORDER)
    kind = pl.col("kind")
    naming = events.filter(kind.is_in([Kind.EXPERIMENT_CREATED, Kind.EXPERIMENT_RENAMED]))
    parts = [
        events.filter(kind == Kind.EXPERIMENT_CREATED).unique(
            subset=["experiment_id"], keep="first", maintain_order=True
        ),
        naming.unique(subset=["experiment_id"], keep="last", maintain_order=True),
        events.filter(kind.is_in([Kind.EXPERIMENT_DELETED, Kind.EXPERIMENT_RESTORED])).unique(
            subset=["experiment_id"], keep="last", maintain_order=True
        ),
        events.filter(kind.is_in([Kind.EXPERIMENT_TAG_SET, Kind.EXPERIMENT_TAG_DELETED])).unique(
            subset=["experiment_id", "key"], keep="last", maintain_order=True
        ),
    ]
    return pl.concat(parts).unique(subset=["writer", "seq"], keep="first", maintain_order=True)


def metric_history(metric_events: pl.DataFrame) -> pl.DataFrame:
    """Every logged point; MLflow's SQL store keeps one row per identical (key, timestamp, step, value)."""
    return metric_events.select(list(HISTORY_SCHEMA)).unique(keep="first", maintain_order=True)


def indexed_tables(folded: RunTables) -> dict[str, pl.DataFrame]:
    """The view tables with ``run_idx``, a run's row number in the runs table (sorted by run_id).

    Searches join and gather on this small integer instead of 32-character run ids. Key-major order
    makes each key's rows contiguous, so a search that needs one param or metric reads only the row
    groups that hold it (Parquet min/max statistics on "key").
    """
    runs = folded.runs.sort("run_id").with_row_index("run_idx")
    index = runs.select("run_id", "run_idx")

    def with_index(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(index, on="run_id", how="left")

    params = with_index(folded.params)
    tags = with_index(folded.tags)
    latest = with_index(folded.latest_metrics)
    return {
        "runs": runs,
        "params": params.sort("key", "run_idx"),
        "param_conflicts": with_index(folded.param_conflicts),
        "tags": tags.sort("key", "run_idx"),
        "latest_metrics": latest.sort("key", "run_idx"),
        "artifacts": with_index(folded.artifacts),
        # Run-major copies: turning one page of search results into runs reads only the few row groups
        # whose run_idx range holds the page's runs.
        "params_by_run": params.sort("run_idx", "key"),
        "tags_by_run": tags.sort("run_idx", "key"),
        "latest_metrics_by_run": latest.sort("run_idx", "key"),
    }


def fold_experiments(events: pl.DataFrame) -> ExperimentTables:
    """Fold catalog events into the experiments table."""
    events = _dedupe(events)
    kind = pl.col("kind")
    naming = events.filter(kind.is_in([Kind.EXPERIMENT_CREATED, Kind.EXPERIMENT_RENAMED]))
    created = (
        events.filter(kind == Kind.EXPERIMENT_CREATED)
        .sort(_ORDER)
        .unique(subset=["experiment_id"], keep="first", maintain_order=True)
        .select("experiment_id", artifact_location="artifact_uri", creation_time="timestamp")
    )
    names = _last_per(naming, ["experiment_id"]).select("experiment_id", "name")
    lifecycle_events = events.filter(kind.is_in([Kind.EXPERIMENT_DELETED, Kind.EXPERIMENT_RESTORED]))
    lifecycle = _last_per(lifecycle_events, ["experiment_id"]).select(
        "experiment_id",
        lifecycle_stage=pl.when(kind == Kind.EXPERIMENT_DELETED)
        .then(pl.lit("deleted"))
        .otherwise(pl.lit("active")),
    )
    updated = (
        pl.concat([naming, lifecycle_events])
        .group_by("experiment_id")
        .agg(last_update_time=pl.col("timestamp").max())
    )
    experiments = (
        created.join(names, on="experiment_id", how="left")
        .join(lifecycle, on="experiment_id", how="left")
        .join(updated, on="experiment_id", how="left")
        .with_columns(pl.col("lifecycle_stage").fill_null("active"))
        .select(
            "experiment_id",
            "name",
            "artifact_location",
            "lifecycle_stage",
            "creation_time",
            "last_update_time",
        )
    )
    tags = (
        _last_per(
            events.filter(kind.is_in([Kind.EXPERIMENT_TAG_SET, Kind.EXPERIMENT_TAG_DELETED])),
            ["experiment_id", "key"],
        )
        .filter(kind == Kind.EXPERIMENT_TAG_SET)
        .select("experiment_id", "key", value="text")
    )
    return ExperimentTables(experiments=experiments, tags=tags)
