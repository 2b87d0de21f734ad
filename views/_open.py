"""The analytics API: a store's tables as Polars LazyFrames (``views.open(uri)``).

Every frame is a snapshot: the committed views plus the uncompacted tail, folded the way every read is.
Nothing here needs eventlog's fluent API; any Parquet engine can also read the files (docs/format.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl
from eventlog.storage import Location, open_location, read_marker
from eventlog.views import _layout
from eventlog.views._search import LazyRunTables, lazy_partition
from eventlog.views._snapshot import SegmentCache, experiment_tables

__all__ = ["StoreView", "open_store"]


class StoreView:
    """Read-only access to one store. Frames are built when asked for, from what is committed then."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self._cache = SegmentCache()

    def experiment_ids(self) -> list[str]:
        return sorted(self.location.list_dirs(_layout.EXPERIMENTS), key=lambda i: (len(i), i))

    def experiments(self) -> pl.LazyFrame:
        """experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time."""
        return experiment_tables(self.location, self._cache).experiments.lazy()

    def experiment_tags(self) -> pl.LazyFrame:
        return experiment_tables(self.location, self._cache).tags.lazy()

    def _parts(self, experiment_ids: Iterable[str] | None, history: bool = False) -> list[LazyRunTables]:
        ids = list(experiment_ids) if experiment_ids is not None else self.experiment_ids()
        return [lazy_partition(self.location, e, self._cache, history=history) for e in ids]

    def _table(self, name: str, experiment_ids: Iterable[str] | None, history: bool = False) -> pl.LazyFrame:
        frames = [getattr(part, name) for part in self._parts(experiment_ids, history)]
        if not frames:
            from eventlog.views._fold import fold_runs
            from eventlog.views._snapshot import empty_events

            return getattr(fold_runs(empty_events()), name).lazy()
        return pl.concat(frames, how="vertical_relaxed")

    def runs(self, experiment_ids: Iterable[str] | None = None) -> pl.LazyFrame:
        """run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri,
        lifecycle_stage, deleted_time."""
        return self._table("runs", experiment_ids)

    def params(self, experiment_ids: Iterable[str] | None = None) -> pl.LazyFrame:
        """run_id, key, value."""
        return self._table("params", experiment_ids)

    def tags(self, experiment_ids: Iterable[str] | None = None) -> pl.LazyFrame:
        """run_id, key, value."""
        return self._table("tags", experiment_ids)

    def latest_metrics(self, experiment_ids: Iterable[str] | None = None) -> pl.LazyFrame:
        """run_id, key, value, timestamp, step: the latest point per metric (MLflow's rule)."""
        return self._table("latest_metrics", experiment_ids)

    def artifacts(self, experiment_ids: Iterable[str] | None = None) -> pl.LazyFrame:
        return self._table("artifacts", experiment_ids)

    def metric_history(
        self,
        experiment_ids: Iterable[str] | None = None,
        run_ids: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
    ) -> pl.LazyFrame:
        """Every logged point of many runs as one long frame: run_id, key, value, timestamp, step."""
        frame = self._table("metric_history", experiment_ids, history=True)
        if run_ids is not None:
            frame = frame.filter(pl.col("run_id").is_in(list(run_ids)))
        if keys is not None:
            frame = frame.filter(pl.col("key").is_in(list(keys)))
        return frame.unique(keep="first", maintain_order=True)


def open_store(uri: str, storage_options: Mapping[str, Any] | None = None) -> StoreView:
    """Open a store for analytics. Raises if the location is not an eventlog store."""
    location = open_location(uri, storage_options)
    if read_marker(location) is None:
        raise FileNotFoundError(f"{location.uri} is not an eventlog store (no {_layout.EXPERIMENTS} yet)")
    return StoreView(location)
