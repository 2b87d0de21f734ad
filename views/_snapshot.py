"""Snapshots: read a stream of segments and fold it, the same way the compactor does.

Before any compaction a snapshot is the fold of every segment; the compactor adds committed views under
this same API (the view as the starting state, the uncompacted tail folded on top).
"""

from __future__ import annotations

import errno
import io
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

import polars as pl

if TYPE_CHECKING:
    import pyarrow as pa
from eventlog.storage import Location
from eventlog.views import _layout
from eventlog.views._fold import (
    EVENT_SCHEMA,
    HISTORY_SCHEMA,
    EventParts,
    ExperimentTables,
    RunTables,
    empty_events,
    fold_experiments,
    fold_run_parts,
    metric_history,
    split_events,
)
from eventlog.views._schema import Kind
from eventlog.views._streams import Commit, Stream, catalog_stream, latest_commit, partition_stream

__all__ = [
    "SegmentBatch",
    "SegmentCache",
    "Snapshot",
    "committed_history",
    "events_from_tables",
    "experiment_tables",
    "list_run_index",
    "partition_tables",
    "read_events",
    "read_segment_batch",
    "read_segment_files",
    "read_table",
    "segment_paths",
    "snapshot",
    "snapshot_tables",
    "tail_stats",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class SegmentBatch:
    """Segment files read together: their events as one frame with exactly the event schema (the files
    in the order asked for), how many rows each file gave, and why each unreadable file failed. A file
    that vanished after listing (removed after compaction) is in neither ``rows`` nor ``failed``."""

    events: pl.DataFrame
    rows: dict[str, int]
    failed: dict[str, str]

    def frames(self) -> dict[str, pl.DataFrame]:
        """Each file's events: zero-copy slices of ``events``."""
        out: dict[str, pl.DataFrame] = {}
        offset = 0
        for rel, n in self.rows.items():
            out[rel] = self.events.slice(offset, n)
            offset += n
        return out


def read_segment_batch(location: Location, rels: Sequence[str]) -> SegmentBatch:
    """Read many segment files as one batch.

    One Polars scan decodes every file (in parallel, outside the GIL, with the event schema imposed and
    missing columns of older segments inserted as nulls), so a batch of thousands of small segments costs
    a fraction of a millisecond per file. On an object store the files are fetched concurrently first.
    If the batch cannot be read as a whole (a damaged file, a segment of an unexpected shape), the files
    are read one by one, so that only the damaged ones are reported and everything else is read.
    """
    if not rels:
        return SegmentBatch(empty_events(), {}, {})
    if location.is_local:
        paths = {location.full_path(rel): rel for rel in rels}
        try:
            frame = _scan(list(paths), include_paths=True)
        except FileNotFoundError:
            # A segment vanished between listing and reading (removed after compaction): read the rest.
            present = [rel for rel in rels if os.path.exists(location.full_path(rel))]
            return read_segment_batch(location, present) if len(present) < len(rels) else _one_by_one(
                location, rels, {}
            )
        except Exception:
            return _one_by_one(location, rels, {})
        runs = frame.get_column(_SOURCE).rle()  # the files' rows are contiguous, in the order given
        counts = dict(
            zip(runs.struct.field("value").to_list(), runs.struct.field("len").to_list(), strict=True)
        )
        rows = {rel: int(counts.get(path, 0)) for path, rel in paths.items()}
        return SegmentBatch(frame.drop(_SOURCE), rows, {})
    blobs = _fetch(location, rels)
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = {rel: pq.read_metadata(pa.BufferReader(blob)).num_rows for rel, blob in blobs.items()}
        frame = _scan(list(blobs.values()), include_paths=False)
    except Exception:
        return _one_by_one(location, list(blobs), blobs)
    if frame.height != sum(rows.values()):
        return _one_by_one(location, list(blobs), blobs)
    return SegmentBatch(frame, rows, {})


_SOURCE = "__eventlog_segment__"


def _scan(sources: list[str] | list[bytes], include_paths: bool) -> pl.DataFrame:
    # rechunk: the scan leaves one chunk per file, whose buffers cost several times the data itself (a
    # batch of a thousand small segments took 15 MB instead of 3): one contiguous chunk per column.
    return pl.scan_parquet(
        sources,
        schema=EVENT_SCHEMA,
        missing_columns="insert",
        extra_columns="ignore",
        include_file_paths=_SOURCE if include_paths else None,
        glob=False,  # a store path may hold glob characters
        hive_partitioning=False,  # nor may directory names like "a=b" turn into columns
    ).collect().rechunk()


def _fetch(location: Location, rels: Sequence[str]) -> dict[str, bytes]:
    """Fetch segment files from an object store (concurrently); vanished files are left out."""
    try:
        return location.read_many(rels)
    except FileNotFoundError:
        blobs: dict[str, bytes] = {}
        for rel in rels:
            try:
                blobs[rel] = location.read_bytes(rel)
            except FileNotFoundError:
                continue
        return blobs


def _one_by_one(location: Location, rels: Sequence[str], blobs: Mapping[str, bytes]) -> SegmentBatch:
    """The slow road of ``read_segment_batch``: every file parsed on its own (Arrow), so that one damaged
    file is found and reported while the others are read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables: dict[str, pa.Table] = {}
    failed: dict[str, str] = {}
    for rel in rels:
        try:
            source: object = pa.BufferReader(blobs[rel]) if rel in blobs else location.full_path(rel)
            if rel not in blobs and not location.is_local:
                source = pa.BufferReader(location.read_bytes(rel))
            # ParquetFile, not read_table: read_table goes through pyarrow.dataset, which imports pandas.
            tables[rel] = pq.ParquetFile(source).read()
        except FileNotFoundError:
            continue
        except Exception as exc:
            failed[rel] = f"{type(exc).__name__}: {exc}"
    return SegmentBatch(
        events_from_tables(list(tables.values())), {rel: t.num_rows for rel, t in tables.items()}, failed
    )


def events_from_tables(tables: Sequence[pa.Table]) -> pl.DataFrame:
    """Many segments' Arrow tables as one events frame: concatenated first, conformed once (older segments
    may lack newer columns), so the per-file cost is an Arrow slice, not a Polars query."""
    import pyarrow as pa

    if not tables:
        return empty_events()
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table always converts to a DataFrame
    return _conform(frame.rechunk() if len(tables) > 1 else frame)


def _warn_unreadable(failed: Mapping[str, str]) -> None:
    for rel, why in failed.items():
        _log.warning(
            "eventlog: skipping unreadable segment %s (%s); run `eventlog compact` to quarantine it", rel, why
        )


def read_segment_files(location: Location, rels: Sequence[str]) -> pl.DataFrame:
    """Read segment files into one events frame. A file that cannot be read is skipped with a warning: one
    damaged file must not hide the rest of the store (``eventlog compact`` quarantines it)."""
    batch = read_segment_batch(location, rels)
    _warn_unreadable(batch.failed)
    return batch.events


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return empty_events()
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical", rechunk=False)


class SegmentCache:
    """Parsed segments by path. Published files never change, so an entry never goes stale; the cache
    only bounds memory, dropping the oldest entries past ``max_rows`` rows."""

    def __init__(self, max_rows: int = 2_000_000, max_folds: int = 8) -> None:
        self.max_rows = max_rows
        self.max_folds = max_folds
        self._frames: OrderedDict[str, pl.DataFrame] = OrderedDict()
        self._rows = 0
        # Folds of whole snapshots, keyed by the files they were folded from: a snapshot's files never
        # change, so the same key always folds to the same tables (a new segment or commit is a new key).
        self._folds: OrderedDict[tuple[object, ...], tuple[object, int]] = OrderedDict()
        self._fold_rows = 0
        self._seen: OrderedDict[tuple[object, ...], None] = OrderedDict()
        self._lock = threading.Lock()

    def fold(
        self, key: tuple[object, ...], compute: Callable[[], _T], weigh: Callable[[_T], int] | None = None
    ) -> _T:
        """``compute()``'s result for ``key``, computed once while it stays among the newest entries.

        ``weigh`` gives an entry's size in rows: entries are kept while their total stays within
        ``max_rows`` (one heavier than that is returned but not kept)."""
        with self._lock:
            if key in self._folds:
                self._folds.move_to_end(key)
                return self._folds[key][0]  # type: ignore[return-value]
        value = compute()
        weight = weigh(value) if weigh is not None else 0
        if weight > self.max_rows:
            return value
        with self._lock:
            previous = self._folds.pop(key, None)  # another thread may have computed it meanwhile
            if previous is not None:
                self._fold_rows -= previous[1]
            self._folds[key] = (value, weight)
            self._fold_rows += weight
            while len(self._folds) > self.max_folds or self._fold_rows > self.max_rows:
                _, (_, dropped) = self._folds.popitem(last=False)
                self._fold_rows -= dropped
        return value

    def read(self, location: Location, rels: Sequence[str]) -> pl.DataFrame:
        with self._lock:
            found = {rel: self._frames[rel] for rel in rels if rel in self._frames}
        missing = [rel for rel in rels if rel not in found]
        if missing:
            batch = read_segment_batch(location, missing)
            _warn_unreadable(batch.failed)
            # One read for the whole batch, then a zero-copy slice per file for the cache.
            fresh = batch.frames()
            found.update(fresh)
            with self._lock:
                for rel, frame in fresh.items():
                    if rel not in self._frames:
                        self._frames[rel] = frame
                        self._rows += frame.height
                self._evict()
            if len(found) == len(fresh):
                return batch.events  # everything was read just now, in order
        return _concat([found[rel] for rel in rels if rel in found])

    def first_time(self, key: tuple[object, ...]) -> bool:
        """True the first time ``key`` is asked about (while it stays among the newest 4,096 keys)."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = None
            while len(self._seen) > 4096:
                self._seen.popitem(last=False)
            return True

    def holds(self, rel: str) -> bool:
        """Whether the file at ``rel`` is held in memory already."""
        with self._lock:
            return rel in self._frames

    def read_table(self, location: Location, rel: str) -> pl.DataFrame:
        with self._lock:
            frame = self._frames.get(rel)
        if frame is None:
            frame = _read_table(location, rel)
            with self._lock:
                self._frames[rel] = frame
                self._rows += frame.height
                self._evict()
        return frame

    def _evict(self) -> None:
        while self._rows > self.max_rows and len(self._frames) > 1:
            _, dropped = self._frames.popitem(last=False)
            self._rows -= dropped.height


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


def read_table(location: Location, rel: str, cache: SegmentCache | None = None) -> pl.DataFrame:
    """A view table (not a segment): read as it is. View files are immutable, so they are cached too."""
    if cache is not None:
        return cache.read_table(location, rel)
    return _read_table(location, rel)


def _read_table(location: Location, rel: str) -> pl.DataFrame:
    local = location.local_path(rel)
    if local is not None:
        return pl.read_parquet(local)
    return pl.read_parquet(io.BytesIO(location.read_bytes(rel)))


def segment_paths(location: Location, rel_dir: str) -> list[str]:
    """Every segment under ``rel_dir``: its flat segments and those in its bucket directories (all of
    them, sealed or not — for tools and tests that look at every file; reads use ``snapshot``)."""
    files, dirs = location.list_children(rel_dir)
    rels = [f"{rel_dir}/{n}" for n in files if _layout.parse_segment_name(n) is not None]
    for bucket in dirs:
        if _layout.is_bucket(bucket):
            rels.extend(
                f"{rel_dir}/{bucket}/{n}"
                for n in location.list_names(f"{rel_dir}/{bucket}")
                if _layout.parse_segment_name(n) is not None
            )
    return rels


def read_events(location: Location, rel_dir: str, cache: SegmentCache | None = None) -> pl.DataFrame:
    rels = segment_paths(location, rel_dir)
    return cache.read(location, rels) if cache is not None else read_segment_files(location, rels)


@dataclass(frozen=True)
class Snapshot:
    """A stream as a reader sees it: the latest committed view plus the segments it has not folded."""

    commit: Commit | None
    tail: tuple[str, ...]


def snapshot(location: Location, stream: Stream) -> Snapshot:
    # Commit first, listing second: a segment folded by a commit made in between is then in both the
    # commit and the listing, and is left out of the tail, so nothing is counted twice or missed.
    commit = latest_commit(location, stream)
    sealed_before = commit.sealed_before if commit is not None else None
    # Where every directory the listing reads is unchanged (local disk: stable mtimes), the snapshot is
    # the one computed last time: a warm read costs a few stats, not a listing of the open buckets.
    stamps = _listing_stamps(location, stream, sealed_before)
    key = None if stamps is None else (location.uri, stream.name, commit.version if commit else None, stamps)
    if key is not None:
        found = _SNAPSHOTS.get(key)
        if found is not None:
            return found
    listed = stream.list_segments(location, sealed_before)
    if commit is None:
        snap = Snapshot(None, tuple(listed))
    else:
        done = commit.folded.keys() | commit.quarantined.keys()
        snap = Snapshot(commit, tuple(rel for rel in listed if rel not in done))
    if key is not None:
        with _SNAPSHOTS_LOCK:
            if len(_SNAPSHOTS) >= 256:
                _SNAPSHOTS.clear()
            _SNAPSHOTS[key] = snap
    return snap


_SNAPSHOTS: dict[tuple[object, ...], Snapshot] = {}
_SNAPSHOTS_LOCK = threading.Lock()


def _listing_stamps(location: Location, stream: Stream, sealed_before: int | None) -> tuple[int, ...] | None:
    """The stable stamps of every directory a listing of ``stream`` reads, or None if one has none."""
    if stream.kind != "partition":
        return None
    directory = f"{stream.name}/segments"
    top = location.stable_stamp(directory)
    if top is None:
        return None
    stamps = [top]
    for bucket in stream.open_buckets(location.list_dirs(directory), sealed_before):
        stamp = location.stable_stamp(f"{directory}/{bucket}")
        if stamp is None:
            return None
        stamps.append(stamp)
    return tuple(stamps)


def tail_stats(location: Location, experiment_id: str) -> tuple[int, int, int]:
    """``(segments in the uncompacted tail, runs in the committed view, open buckets)`` of a partition:
    what an automatic compaction decides on. One listing of the open buckets and the latest commit."""
    stream = partition_stream(experiment_id)
    snap = snapshot(location, stream)
    rows = int(snap.commit.stats.get("rows", 0)) if snap.commit is not None else 0
    buckets = {stream.bucket_of(rel) for rel in snap.tail} - {None}
    return len(snap.tail), rows, len(buckets)


def _state_events(location: Location, snap: Snapshot, cache: SegmentCache | None) -> pl.DataFrame:
    """The catalog's reduced state (one table)."""
    if snap.commit is None:
        return empty_events()
    return _conform(read_table(location, snap.commit.tables["state"], cache))


def _state_parts(location: Location, commit: Commit | None, cache: SegmentCache | None) -> EventParts:
    """A partition's reduced state, split by shape (see views._compact)."""
    if commit is None:
        return split_events(empty_events())
    state = split_events(_conform(read_table(location, commit.tables["state"], cache)))
    extra = [state]
    if "state_kv" in commit.tables:
        extra.append(
            EventParts(
                metrics=read_table(location, commit.tables["state_metrics"], cache),
                kv=read_table(location, commit.tables["state_kv"], cache),
                others=state.others.clear(),
            )
        )
    return EventParts.concat(extra)


def _filter_parts(parts: EventParts, run_ids: Sequence[str] | None, metric_key: str | None) -> EventParts:
    metrics, kv, others = parts.metrics, parts.kv, parts.others
    if run_ids is not None:
        wanted = pl.col("run_id").is_in(list(run_ids))
        metrics, kv = metrics.filter(wanted), kv.filter(wanted)
        others = others.filter(
            wanted | pl.col("kind").is_in([Kind.EXPERIMENT_DELETED, Kind.EXPERIMENT_RESTORED])
        )
    if metric_key is not None:
        metrics = metrics.filter(pl.col("key") == metric_key)
    return EventParts(metrics=metrics, kv=kv, others=others)


def _read(location: Location, rels: Sequence[str], cache: SegmentCache | None) -> pl.DataFrame:
    return cache.read(location, rels) if cache is not None else read_segment_files(location, rels)


def partition_tables(
    location: Location,
    experiment_id: str,
    run_ids: Sequence[str] | None = None,
    cache: SegmentCache | None = None,
    metric_key: str | None = None,
    history: bool = True,
) -> RunTables:
    """The runs of one experiment partition: its committed view with the uncompacted tail folded on top.

    With ``run_ids`` only those runs are folded; with ``metric_key`` only that metric's points are read.
    """
    snap = snapshot(location, partition_stream(experiment_id))
    return snapshot_tables(location, snap, run_ids, cache, metric_key, history)


def snapshot_tables(
    location: Location,
    snap: Snapshot,
    run_ids: Sequence[str] | None = None,
    cache: SegmentCache | None = None,
    metric_key: str | None = None,
    history: bool = True,
) -> RunTables:
    """``partition_tables`` of a snapshot already taken (a search keys its caches on the snapshot, so it
    must fold exactly that one, not list the partition again)."""
    if snap.commit is not None and not snap.tail and run_ids is None and metric_key is None:
        return _view_tables(location, snap.commit, cache, history)
    few_runs = snap.commit is not None and run_ids is not None and metric_key is None and not history
    if few_runs and not snap.tail:
        return _view_rows(location, snap.commit, run_ids, cache)  # type: ignore[arg-type]
    tail = _filter_parts(split_events(_read(location, snap.tail, cache)), run_ids, metric_key)
    if few_runs and tail.empty:
        # A few runs the tail does not touch (get_run, a resumed run): their rows of the committed view
        # are final. Read just those from the run-major tables instead of the partition's whole state.
        return _view_rows(location, snap.commit, run_ids, cache)  # type: ignore[arg-type]
    parts = EventParts.concat(
        [_filter_parts(_state_parts(location, snap.commit, cache), run_ids, metric_key), tail]
    )
    tables = fold_run_parts(parts, history=history)
    if not history or snap.commit is None or not snap.commit.history:
        return tables
    # The state holds only the latest point of each metric: the rest of the history is in the view's files.
    committed = committed_history(location, snap.commit, run_ids, metric_key, cache)
    points = pl.concat([committed, tables.metric_history])
    return replace(tables, metric_history=metric_history(points))


def committed_history(
    location: Location,
    commit: Commit,
    run_ids: Sequence[str] | None,
    metric_key: str | None,
    cache: SegmentCache | None,
) -> pl.DataFrame:
    frames = []
    for rel in commit.history:
        frame = read_table(location, rel, cache)
        if run_ids is not None:
            frame = frame.filter(pl.col("run_id").is_in(list(run_ids)))
        if metric_key is not None:
            frame = frame.filter(pl.col("key") == metric_key)
        frames.append(frame)
    if not frames:
        return HISTORY_SCHEMA.to_frame()
    return pl.concat(frames)


def _view_rows(
    location: Location, commit: Commit, run_ids: Sequence[str], cache: SegmentCache | None
) -> RunTables:
    """The view's rows of ``run_ids``. On local disk each table is scanned with a predicate on run_id,
    which its Parquet statistics turn into reading only the row groups that hold those runs (the runs
    table and the ``*_by_run`` copies are in run_id order)."""
    ids = list(run_ids)
    wanted = pl.col("run_id") == ids[0] if len(ids) == 1 else pl.col("run_id").is_in(ids)

    def rows(name: str, fallback: str | None = None) -> pl.LazyFrame:
        table = name if name in commit.tables else (fallback or name)
        rel = commit.tables[table]
        local = location.local_path(rel)
        if local is not None and (cache is None or not cache.holds(rel)):
            frame = pl.scan_parquet(local).filter(wanted)
        else:
            frame = read_table(location, rel, cache).lazy().filter(wanted)
        return frame.drop("run_idx", strict=False)

    # One parallel collect: the six pruned scans overlap instead of running one after the other.
    runs, params, conflicts, tags, metrics, artifacts = pl.collect_all(
        [
            rows("runs"),
            rows("params_by_run", "params").select("run_id", "key", "value"),
            rows("param_conflicts"),
            rows("tags_by_run", "tags").select("run_id", "key", "value"),
            rows("latest_metrics_by_run", "latest_metrics").select(
                "run_id", "key", "value", "timestamp", "step"
            ),
            rows("artifacts"),
        ]
    )
    return RunTables(
        runs=runs,
        params=params,
        param_conflicts=conflicts,
        tags=tags,
        latest_metrics=metrics,
        metric_history=HISTORY_SCHEMA.to_frame(),
        artifacts=artifacts,
    )


def _view_tables(location: Location, commit: Commit, cache: SegmentCache | None, history: bool) -> RunTables:
    def table(name: str) -> pl.DataFrame:
        # run_idx is the views' own search key, not part of the fold's tables.
        return read_table(location, commit.tables[name], cache).drop("run_idx", strict=False)

    return RunTables(
        runs=table("runs"),
        params=table("params"),
        param_conflicts=table("param_conflicts"),
        tags=table("tags"),
        latest_metrics=table("latest_metrics"),
        metric_history=(
            metric_history(committed_history(location, commit, None, None, cache))
            if history
            else HISTORY_SCHEMA.to_frame()
        ),
        artifacts=table("artifacts"),
    )


def experiment_tables(location: Location, cache: SegmentCache | None = None) -> ExperimentTables:
    snap = snapshot(location, catalog_stream())
    if snap.commit is not None and not snap.tail:
        return ExperimentTables(
            experiments=read_table(location, snap.commit.tables["experiments"], cache),
            tags=read_table(location, snap.commit.tables["experiment_tags"], cache),
        )

    def fold() -> ExperimentTables:
        events = [_state_events(location, snap, cache), _read(location, snap.tail, cache)]
        return fold_experiments(pl.concat(events))

    if cache is None:
        return fold()
    # Every run creation looks its experiment up: fold the catalog once per distinct snapshot.
    version = snap.commit.version if snap.commit is not None else None
    return cache.fold(("catalog", location.root, version, snap.tail), fold)


def list_run_index(location: Location, run_id: str) -> str | None:
    """The experiment id the run index records for ``run_id``, or None.

    Runs whose ids name their partition (``layout.run_location``) have no entry. The index holds the
    others: batch files (``runs/index/``, one per flush that created such runs; immutable, so each is read
    once per process) and, in stores written before located run ids, one file per run. Entries are not
    fsynced: a damaged or missing one is no entry, and the caller searches the partitions.
    """
    import json

    try:
        raw = location.read_bytes(_layout.run_index_path(run_id))
        return str(json.loads(raw)["experiment_id"])
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    except (ValueError, KeyError, TypeError):
        pass
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG:  # no run this store created has such an id
            raise
    return _run_index_batches(location).get(run_id)


def _run_index_batches(location: Location) -> dict[str, str]:
    """Every entry of the batched run index, run id -> experiment id (files read once per process)."""
    import json

    names = [n for n in location.list_names(_layout.RUN_INDEX_BATCHES) if n.endswith(".json")]
    with _INDEX_LOCK:
        known = _INDEX_BATCHES.setdefault(location.uri, {})
        missing = [n for n in names if n not in known]
    if missing:
        rels = [f"{_layout.RUN_INDEX_BATCHES}/{n}" for n in missing]
        try:
            blobs = location.read_many(rels)
        except FileNotFoundError:
            blobs = {}
        fresh: dict[str, dict[str, str]] = {}
        for rel, blob in blobs.items():
            try:
                runs = json.loads(blob)["runs"]
                fresh[rel.rsplit("/", 1)[1]] = {str(k): str(v) for k, v in runs.items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                fresh[rel.rsplit("/", 1)[1]] = {}  # damaged (not fsynced): no entries
        with _INDEX_LOCK:
            known.update(fresh)
    entries: dict[str, str] = {}
    with _INDEX_LOCK:
        for name in names:
            entries.update(known.get(name, {}))
    return entries


_INDEX_BATCHES: dict[str, dict[str, dict[str, str]]] = {}
_INDEX_LOCK = threading.Lock()
