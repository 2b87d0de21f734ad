"""Snapshots: read a stream of segments and fold it, the same way the compactor does.

Before any compaction a snapshot is the fold of every segment; the compactor adds committed views under
this same API (the view as the starting state, the uncompacted tail folded on top).
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence

import polars as pl

from storage import Location
from views import _layout
from views._fold import EVENT_SCHEMA, ExperimentTables, RunTables, empty_events, fold_experiments, fold_runs
from views._schema import Kind

__all__ = [
    "SegmentCache",
    "experiment_tables",
    "list_run_index",
    "partition_tables",
    "read_events",
    "read_segment_files",
    "read_segment_frames",
    "segment_paths",
]

_log = logging.getLogger(__name__)


def read_segment_frames(location: Location, rels: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Read segment files, one frame each. A file that cannot be read is skipped with a warning: one
    damaged file must not hide the rest of the store (``eventlog compact`` quarantines it)."""
    frames: dict[str, pl.DataFrame] = {}
    if location.is_local:
        for rel in rels:
            path = location.full_path(rel)
            frame = _read_one(rel, lambda p=path: pl.read_parquet(p))
            if frame is not None:
                frames[rel] = frame
        return frames
    blobs: dict[str, bytes] = {}
    try:
        blobs = location.read_many(rels)
    except FileNotFoundError:
        # A segment vanished between listing and reading (removed after compaction): read what remains.
        for rel in rels:
            try:
                blobs[rel] = location.read_bytes(rel)
            except FileNotFoundError:
                continue
    for rel, blob in blobs.items():
        frame = _read_one(rel, lambda b=blob: pl.read_parquet(io.BytesIO(b)))
        if frame is not None:
            frames[rel] = frame
    return frames


def read_segment_files(location: Location, rels: Sequence[str]) -> pl.DataFrame:
    """Read segment files into one events frame (damaged files skipped, see read_segment_frames)."""
    return _concat(list(read_segment_frames(location, rels).values()))


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return empty_events()
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")


class SegmentCache:
    """Parsed segments by path. Published files never change, so an entry never goes stale; the cache
    only bounds memory, dropping the oldest entries past ``max_rows`` rows."""

    def __init__(self, max_rows: int = 2_000_000) -> None:
        self.max_rows = max_rows
        self._frames: OrderedDict[str, pl.DataFrame] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def read(self, location: Location, rels: Sequence[str]) -> pl.DataFrame:
        with self._lock:
            found = {rel: self._frames[rel] for rel in rels if rel in self._frames}
        missing = [rel for rel in rels if rel not in found]
        if missing:
            fresh = read_segment_frames(location, missing)
            found.update(fresh)
            with self._lock:
                for rel, frame in fresh.items():
                    if rel not in self._frames:
                        self._frames[rel] = frame
                        self._rows += frame.height
                while self._rows > self.max_rows and len(self._frames) > 1:
                    _, dropped = self._frames.popitem(last=False)
                    self._rows -= dropped.height
        return _concat([found[rel] for rel in rels if rel in found])


def _read_one(rel: str, reader: object) -> pl.DataFrame | None:
    try:
        return _conform(reader())  # type: ignore[operator]
    except Exception as exc:
        _log.warning(
            "eventlog: skipping unreadable segment %s (%s); run `eventlog compact` to quarantine it", rel, exc
        )
        return None


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Give a frame exactly the event schema (older segments may lack newer columns)."""
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in EVENT_SCHEMA.items()
        if name not in frame.columns
    ]
    if missing:
        frame = frame.with_columns(missing)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in EVENT_SCHEMA.items()])


def segment_paths(location: Location, rel_dir: str) -> list[str]:
    return [
        f"{rel_dir}/{n}" for n in location.list_names(rel_dir) if _layout.parse_segment_name(n) is not None
    ]


def read_events(location: Location, rel_dir: str, cache: SegmentCache | None = None) -> pl.DataFrame:
    rels = segment_paths(location, rel_dir)
    return cache.read(location, rels) if cache is not None else read_segment_files(location, rels)


def partition_tables(
    location: Location,
    experiment_id: str,
    run_ids: Sequence[str] | None = None,
    cache: SegmentCache | None = None,
    metric_key: str | None = None,
    history: bool = True,
) -> RunTables:
    """The runs of one experiment partition. With ``run_ids``, only those runs are folded."""
    events = read_events(location, _layout.partition_segments(experiment_id), cache)
    if run_ids is not None:
        events = events.filter(
            pl.col("run_id").is_in(list(run_ids))
            | pl.col("kind").is_in([Kind.EXPERIMENT_DELETED, Kind.EXPERIMENT_RESTORED])
        )
    if metric_key is not None:
        events = events.filter((pl.col("kind") != Kind.METRIC) | (pl.col("key") == metric_key))
    return fold_runs(events, history=history)


def _catalog_events(location: Location, cache: SegmentCache | None) -> pl.DataFrame:
    rels = [f"{_layout.CATALOG_SEGMENTS}/{n}" for n in location.list_names(_layout.CATALOG_SEGMENTS)]
    for digest in location.list_dirs(_layout.CATALOG_NAMES):
        directory = f"{_layout.CATALOG_NAMES}/{digest}"
        rels.extend(f"{directory}/{n}" for n in location.list_names(directory) if n.endswith(".parquet"))
    return cache.read(location, rels) if cache is not None else read_segment_files(location, rels)


def experiment_tables(location: Location, cache: SegmentCache | None = None) -> ExperimentTables:
    return fold_experiments(_catalog_events(location, cache))


def list_run_index(location: Location, run_id: str) -> str | None:
    """The experiment id recorded for ``run_id`` in the run index, or None."""
    import json

    try:
        raw = location.read_bytes(_layout.run_index_path(run_id))
    except FileNotFoundError:
        return None
    return str(json.loads(raw)["experiment_id"])
