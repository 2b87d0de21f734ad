"""Compaction: fold a stream's new segments into a new committed view version.

One compaction of a stream, step by step (each step may crash or race without loss):

1. read the latest commit N (or none) and list the stream's segments; the new ones are those N has not
   folded or quarantined;
2. read them (a segment that cannot be read is copied to ``quarantine/``, recorded and reported);
3. fold N's reduced state with the new events (``views._fold``: the same fold every read uses) and
   write the new tables into a fresh directory ``views/<N+1>-<writer>/``; new metric points go into one
   more history file, earlier history files are reused by reference;
4. create ``commits/<N+1>.json`` with put-if-absent. Only this makes version N+1 current. A compactor
   that loses this race deletes its own directory (its commit definitely failed) and reports it;
5. remove what is no longer needed: segments folded by a commit older than the retention period, and
   view directories that no commit in use refers to once they are older than that period.

The cost of a compaction follows the new events (plus the small reduced state), not the whole history;
history files are merged into one when there are more than ``MAX_HISTORY_FILES``.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl
from eventlog.storage import Location
from eventlog.views import _layout
from eventlog.views._fold import (
    HISTORY_SCHEMA,
    EventParts,
    fold_experiments,
    fold_run_parts,
    indexed_tables,
    reduce_experiment_events,
    reduce_run_parts,
    split_events,
)
from eventlog.views._snapshot import _conform, _read_table, read_segment_batch
from eventlog.views._streams import (
    Commit,
    Seal,
    Stream,
    commit_path,
    committed_versions,
    latest_commit,
    read_commit,
)

__all__ = ["DEFAULT_RETENTION_S", "CompactionResult", "compact_stream", "store_streams"]

DEFAULT_RETENTION_S = 3600.0
MAX_HISTORY_FILES = 16
ROW_GROUP_ROWS = 128 * 1024
RUN_GROUP_ROWS = 8 * 1024  # run-major tables: small groups, so a page of runs reads little
UNCOMMITTED_GRACE_MS = 24 * 3600 * 1000  # age before an uncommitted view directory counts as abandoned
READ_BATCH = 1024  # segments read, conformed and split together
# A partition's segment buckets older than this (by the compactor's clock) are sealed by the next commit:
# readers stop listing them. A writer whose clock is further behind, or whose publish took longer, lands
# in a sealed bucket late; compaction finds such a segment (seal records) and folds it then: it is
# delayed, never lost.
DEFAULT_SEAL_GRACE_S = 60.0
SEAL_ONLY_MIN_SEGMENTS = 256  # sealable segments that justify a commit with nothing new to fold

Progress = Callable[[int, int], None]  # (segments done, segments total)


@dataclass
class CompactionResult:
    stream: str
    version: int | None  # the version this run committed; None if nothing was new or the race was lost
    previous_version: int | None
    segments: int = 0  # segments folded
    events: int = 0  # events folded
    runs: int = 0  # runs (or experiments) in the new view
    seconds: float = 0.0
    quarantined: dict[str, str] = field(default_factory=dict)
    removed_segments: int = 0
    removed_views: int = 0
    lost_race: bool = False

    @property
    def status(self) -> str:
        if self.lost_race:
            return "lost-race"
        return "committed" if self.version is not None else "up-to-date"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _parquet(frame: pl.DataFrame, row_group_rows: int = 128 * 1024) -> bytes:
    sink = io.BytesIO()
    frame.write_parquet(sink, compression="zstd", statistics=True, row_group_size=row_group_rows)
    return sink.getvalue()


def _read_new(
    location: Location, stream: Stream, rels: Sequence[str], progress: Progress | None
) -> tuple[EventParts, dict[str, str]]:
    """Read the new segments in batches, each batch concatenated, conformed and split by shape
    (``EventParts``) once — one Polars scan per batch, not Polars queries per file — so neither the wide
    frame of millions of events nor thousands of tiny frames ever exist. Unreadable files are copied to
    ``quarantine/`` and returned with the reason."""
    parts: list[EventParts] = []
    quarantined: dict[str, str] = {}
    for start in range(0, len(rels), READ_BATCH):
        batch = rels[start : start + READ_BATCH]
        read = read_segment_batch(location, batch)
        for rel, why in read.failed.items():
            quarantined[rel] = why
            _copy_to_quarantine(location, stream, rel)
        parts.append(split_events(read.events))
        del read
        if progress is not None:
            progress(start + len(batch), len(rels))
    return EventParts.concat([split_events(_conform(pl.DataFrame())), *parts]), quarantined


def _read_state(location: Location, commit: Commit | None) -> EventParts:
    """The previous view's reduced state, split like new events. (Views written before the split kept
    the whole state in one table; split_events reads those too.)"""
    empty = split_events(_conform(pl.DataFrame()))
    if commit is None:
        return empty
    state = split_events(_conform(_read_table(location, commit.tables["state"])))
    kv = _read_table(location, commit.tables["state_kv"]) if "state_kv" in commit.tables else state.kv.clear()
    metrics = (
        _read_table(location, commit.tables["state_metrics"])
        if "state_metrics" in commit.tables
        else state.metrics.clear()
    )
    return EventParts.concat([state, EventParts(metrics=metrics, kv=kv, others=empty.others)])


def _copy_to_quarantine(location: Location, stream: Stream, rel: str) -> None:
    try:
        data = location.read_bytes(rel)
        location.put_if_absent(f"{stream.quarantine_dir}/{rel.replace('/', '__')}", data)
    except (FileExistsError, FileNotFoundError):
        pass


def compact_stream(
    location: Location,
    stream: Stream,
    *,
    writer: str | None = None,
    retention_s: float = DEFAULT_RETENTION_S,
    progress: Progress | None = None,
    seal_grace_s: float = DEFAULT_SEAL_GRACE_S,
) -> CompactionResult:
    """Compact one stream (an experiment partition or the catalog). Safe to run concurrently."""
    started = time.perf_counter()
    writer = writer or f"c{_now_ms():012x}{uuid.uuid4().hex[:12]}"
    previous = latest_commit(location, stream)
    listing = _list_stream(location, stream, previous)
    done = set(previous.folded) | set(previous.quarantined) if previous else set()
    new = [rel for rel in listing.open if rel not in done]
    new += listing.late
    seal_to = _seal_point(seal_grace_s) if stream.kind == "partition" else None
    result = CompactionResult(stream.name, None, previous.version if previous else None)
    if new or _sealable(stream, previous, listing, seal_to):
        _fold_and_commit(location, stream, previous, listing, new, writer, result, progress, seal_to)
    current = latest_commit(location, stream)
    if current is not None:
        now_listed = _list_stream(location, stream, current)
        _remove_expired(location, stream, current, now_listed, retention_s, result)
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class _Listing:
    """What a compactor sees of a stream's segments."""

    open: list[str]  # flat segments and those in buckets not sealed
    late: list[str] = field(default_factory=list)  # in a sealed bucket, folded by no commit yet
    sealed_present: dict[str, int] = field(default_factory=dict)  # sealed bucket -> files it holds now
    buckets: set[str] = field(default_factory=set)  # every bucket directory present


def _list_stream(location: Location, stream: Stream, commit: Commit | None) -> _Listing:
    if stream.kind != "partition":
        return _Listing(open=stream.list_segments(location))
    sealed_before = commit.sealed_before if commit is not None else None
    directory = f"{stream.name}/segments"
    files, dirs = location.list_children(directory)
    listing = _Listing(open=[f"{directory}/{n}" for n in files if _layout.parse_segment_name(n)])
    listing.buckets = {d for d in dirs if _layout.is_bucket(d)}
    for bucket in sorted(listing.buckets):
        names = [n for n in location.list_names(f"{directory}/{bucket}") if _layout.parse_segment_name(n)]
        rels = [f"{directory}/{bucket}/{n}" for n in names]
        if sealed_before is None or int(bucket) >= sealed_before:
            listing.open.extend(rels)
            continue
        listing.sealed_present[bucket] = len(names)
        seal = commit.seals.get(bucket) if commit is not None else None
        recorded = _seal_names(location, seal) if seal is not None else frozenset()
        listing.late.extend(rel for rel, n in zip(rels, names, strict=True) if n not in recorded)
    return listing


def _seal_names(location: Location, seal: Seal) -> frozenset[str]:
    names: set[str] = set()
    for record in seal.records:
        names.update(_seal_record(location, record))
    return frozenset(names)


_SEAL_RECORDS: dict[tuple[str, str], frozenset[str]] = {}  # records never change: cached by path


def _seal_record(location: Location, record: str) -> frozenset[str]:
    """The names a seal record lists."""
    key = (location.uri, record)
    names = _SEAL_RECORDS.get(key)
    if names is None:
        try:
            names = frozenset(json.loads(location.read_bytes(record)))
        except FileNotFoundError:
            return frozenset()
        if len(_SEAL_RECORDS) > 1024:
            _SEAL_RECORDS.clear()
        _SEAL_RECORDS[key] = names
    return names


def _seal_point(seal_grace_s: float) -> int:
    """The first bucket a compaction starting now leaves open."""
    return int(_layout.segment_bucket(_now_ms() - int(seal_grace_s * 1000)))


def _sealable(stream: Stream, previous: Commit | None, listing: _Listing, seal_to: int | None) -> bool:
    """A commit with nothing new to fold is still worth making when it seals enough segments that
    readers list (``SEAL_ONLY_MIN_SEGMENTS``): a handful costs a reader less than a commit costs."""
    if stream.kind != "partition" or previous is None or seal_to is None:
        return False
    sealable = sum(1 for rel in listing.open if (b := stream.bucket_of(rel)) is not None and int(b) < seal_to)
    return sealable >= SEAL_ONLY_MIN_SEGMENTS


def _fold_and_commit(
    location: Location,
    stream: Stream,
    previous: Commit | None,
    listing: _Listing,
    new: list[str],
    writer: str,
    result: CompactionResult,
    progress: Progress | None,
    seal_to: int | None,
) -> None:
    version = (previous.version if previous else 0) + 1
    view_dir = f"{stream.views_dir}/{version:010d}-{writer}"
    written: list[str] = []
    quarantined: dict[str, str] = {}
    new_count = 0
    if new or previous is None:
        table_paths, history, quarantined, new_count = _fold_new(
            location, stream, previous, new, view_dir, written, result, progress
        )
    else:
        # Only sealing: the tables stay those of the previous version, by reference.
        table_paths, history = dict(previous.tables), list(previous.history)
        result.runs = int(previous.stats.get("rows", 0))

    open_set = set(listing.open)
    folded_map = {rel: v for rel, v in (previous.folded.items() if previous else []) if rel in open_set}
    folded_map.update({rel: version for rel in new if rel not in quarantined})
    kept_quarantine = {
        rel: why for rel, why in (previous.quarantined.items() if previous else []) if rel in open_set
    }
    kept_quarantine.update(quarantined)
    seals, sealed_before = _seal(
        location, stream, previous, listing, folded_map, kept_quarantine, seal_to, view_dir, written, version
    )
    commit = Commit(
        version=version,
        stream=stream.name,
        tables=table_paths,
        history=tuple(history),
        folded=folded_map,
        quarantined=kept_quarantine,
        committed_at=_now_ms(),
        writer=writer,
        stats={"segments": len(new) - len(quarantined), "events": new_count, "rows": result.runs},
        sealed_before=sealed_before,
        seals=seals,
        view_dir=view_dir,
    )
    try:
        location.put_if_absent(commit_path(stream, version), commit.to_json())
    except FileExistsError:
        # Another compactor committed this version first. Our commit definitely failed, so our files are
        # ours alone to delete; the next run starts from their version.
        for rel in written:
            location.delete(rel)
        result.lost_race = True
        return
    result.version = version
    result.segments = len(new) - len(quarantined)
    result.events = new_count
    result.quarantined = quarantined


def _seal(
    location: Location,
    stream: Stream,
    previous: Commit | None,
    listing: _Listing,
    folded_map: dict[str, int],
    quarantine: dict[str, str],
    seal_to: int | None,
    view_dir: str,
    written: list[str],
    version: int,
) -> tuple[dict[str, Seal], int | None]:
    """Seal the buckets older than ``seal_to``: their folded (and quarantined) segments leave the commit's
    maps for a seal record in ``view_dir``; late arrivals folded now get a record of their own. Returns
    the seals of the buckets still present and the new ``sealed_before``.

    Every bucket below ``seal_to`` was listed whole by this compaction (open buckets are all listed), so
    nothing published before the listing is left out; a segment published there after it is a late
    arrival, found by a later compaction's diff against the records."""
    previous_sealed = previous.sealed_before if previous is not None else None
    seals = {b: seal for b, seal in (previous.seals.items() if previous else []) if b in listing.buckets}
    if stream.kind != "partition":
        return seals, previous_sealed
    sealed_before = previous_sealed
    if seal_to is not None and (previous_sealed is None or seal_to > previous_sealed):
        sealed_before = seal_to
    done: dict[str, list[str]] = {}
    folded_by: dict[str, int] = {}
    for mapping in (folded_map, quarantine):
        for rel in list(mapping):
            bucket = stream.bucket_of(rel)
            if bucket is not None and sealed_before is not None and int(bucket) < sealed_before:
                done.setdefault(bucket, []).append(rel.rsplit("/", 1)[1])
                by = folded_map[rel] if mapping is folded_map else version
                folded_by[bucket] = max(folded_by.get(bucket, 0), by)
                del mapping[rel]
    for bucket, names in sorted(done.items()):
        record = f"{view_dir}/sealed-{bucket}.json"
        location.put_if_absent(record, json.dumps(sorted(names)).encode())
        written.append(record)
        earlier = seals.get(bucket)
        seals[bucket] = Seal(
            count=len(names) + (earlier.count if earlier else 0),
            records=(*(earlier.records if earlier else ()), record),
            folded_by=max(folded_by[bucket], earlier.folded_by if earlier else 0),
        )
    return seals, sealed_before


def _fold_new(
    location: Location,
    stream: Stream,
    previous: Commit | None,
    new: list[str],
    view_dir: str,
    written: list[str],
    result: CompactionResult,
    progress: Progress | None,
) -> tuple[dict[str, str], list[str], dict[str, str], int]:
    """Fold the new segments into the previous state and write the new tables into ``view_dir``.
    Returns the table paths, the history files, the quarantined segments and the number of events."""
    new_events, quarantined = _read_new(location, stream, new, progress)
    state = _read_state(location, previous)
    new_count = new_events.metrics.height + new_events.kv.height + new_events.others.height

    tables: dict[str, pl.DataFrame]
    history = list(previous.history) if previous else []
    if stream.kind == "partition":
        # The state is stored split as well: "state" (the wide rest), "state_kv", "state_metrics".
        reduced = reduce_run_parts(EventParts.concat([state, new_events]))
        del state
        folded = fold_run_parts(reduced, history=False)
        # The state in run id order (the experiment's own events, which have none, first): a read that
        # folds a few runs again on top of the view reads only the row groups holding them, and run ids
        # sort by creation, so the runs a writer is logging to lie together at the end.
        def by_run(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.sort("run_id", nulls_last=False, maintain_order=True)

        tables = {
            "state": by_run(reduced.others),
            "state_kv": by_run(reduced.kv),
            "state_metrics": by_run(reduced.metrics),
            **indexed_tables(folded),
        }
        # Identical points are dropped when history is read; sorting by run groups a run's points
        # into few row groups for get_metric_history.
        points = new_events.metrics.select(list(HISTORY_SCHEMA)).sort(["run_id", "key"])
        del new_events
        if len(history) >= MAX_HISTORY_FILES:
            # Merge every history file into one: an occasional full rewrite keeps reads from opening
            # an ever-growing number of small files.
            points = pl.concat([_read_table(location, rel) for rel in history] + [points]).sort(
                ["run_id", "key"]
            )
            history = []
        if points.height:
            tables["history"] = points
        result.runs = folded.runs.height
    else:
        reduced_catalog = reduce_experiment_events(pl.concat([state.others, new_events.others]))
        experiment_tables = fold_experiments(reduced_catalog)
        tables = {
            "state": reduced_catalog,
            "experiments": experiment_tables.experiments,
            "experiment_tags": experiment_tables.tags,
        }
        result.runs = experiment_tables.experiments.height

    for name, frame in tables.items():
        rel = f"{view_dir}/{name}.parquet"
        small_groups = name == "runs" or name.endswith("_by_run")
        location.put_if_absent(rel, _parquet(frame, RUN_GROUP_ROWS if small_groups else ROW_GROUP_ROWS))
        written.append(rel)
    if "history" in tables:
        history.append(f"{view_dir}/history.parquet")
    table_paths = {name: f"{view_dir}/{name}.parquet" for name in tables if name != "history"}
    return table_paths, history, quarantined, new_count


def _remove_expired(
    location: Location,
    stream: Stream,
    current: Commit,
    listing: _Listing,
    retention_s: float,
    result: CompactionResult,
) -> None:
    """Delete what the current view made unnecessary, once the retention period has passed.

    A reader that listed a segment (or read a commit) just before a newer commit may still read the old
    files; the retention period is how long such a reader has. Nothing is removed before the commit that
    makes it unnecessary, and name and id claims are never removed (they are what make names unique).
    """
    now = _now_ms()
    horizon = now - int(retention_s * 1000)
    commits = {v: read_commit(location, stream, v) for v in committed_versions(location, stream)}
    oldest = min(commits) if commits else current.version

    def committed_at(version: int) -> int:
        if version in commits:
            return commits[version].committed_at
        return 0 if version < oldest else now  # an older record already removed: long expired

    segments_dir = f"{stream.name}/segments/"
    listed = set(listing.open)
    for rel, version in current.folded.items():
        if rel in listed and rel.startswith(segments_dir) and committed_at(version) <= horizon:
            location.delete(rel)
            result.removed_segments += 1
    for bucket, count in listing.sealed_present.items():
        if count == 0:
            location.remove_empty_dir(f"{segments_dir}{bucket}")  # emptied while still open
    for bucket, seal in current.seals.items():
        if bucket not in listing.sealed_present:
            continue
        if committed_at(seal.folded_by) <= horizon:
            # Every segment the records name was folded longer ago than the retention: delete them
            # (late arrivals not yet folded stay, and keep the directory).
            recorded = _seal_names(location, seal)
            rel_dir = f"{segments_dir}{bucket}"
            for name in location.list_names(rel_dir):
                if name in recorded:
                    location.delete(f"{rel_dir}/{name}")
                    result.removed_segments += 1
            location.remove_empty_dir(rel_dir)

    def directory_of(commit: Commit) -> str:
        return commit.directory

    referenced = {
        *current.tables.values(),
        *current.history,
        *(record for seal in current.seals.values() for record in seal.records),
    }
    committed_dirs = {directory_of(c): v for v, c in commits.items()}
    for directory in location.list_dirs(stream.views_dir):
        rel_dir = f"{stream.views_dir}/{directory}"
        dir_version = committed_dirs.get(rel_dir)
        if dir_version is not None:
            if dir_version == current.version:
                continue
            expired = dir_version < current.version and committed_at(dir_version + 1) <= horizon
        else:
            # Never committed: a compactor that crashed, lost its race — or is still running. Its age
            # comes from the time in its writer id, and it gets a long grace, whatever the retention,
            # so that a slow compactor's files are never taken from under it.
            expired = _writer_time(directory.split("-", 1)[-1]) <= now - UNCOMMITTED_GRACE_MS
            if expired:
                for name, _ in location.list_temporary(rel_dir):
                    location.delete(f"{rel_dir}/{name}")
        if not expired:
            continue
        # Files a newer version still refers to (reused history files) stay; the rest go.
        removed = False
        for name in location.list_names(rel_dir):
            if f"{rel_dir}/{name}" not in referenced:
                location.delete(f"{rel_dir}/{name}")
                removed = True
        location.remove_empty_dir(rel_dir)
        result.removed_views += int(removed)
    # Partial files of writers killed mid-write (local disk) are garbage once older than the grace.
    segments_rel = f"{stream.name}/segments" if stream.kind == "partition" else "catalog/segments"
    for rel_dir in [segments_rel, *(f"{segments_rel}/{b}" for b in sorted(listing.buckets))]:
        for name, mtime in location.list_temporary(rel_dir):
            if mtime * 1000 <= now - UNCOMMITTED_GRACE_MS:
                location.delete(f"{rel_dir}/{name}")
    in_use = {rel.rsplit("/", 1)[0] for rel in referenced}
    # Commit records of versions whose files are gone are no longer needed by anyone.
    for version, commit in commits.items():
        if version < current.version and committed_at(version + 1) <= horizon:
            if directory_of(commit) not in in_use and not location.list_names(directory_of(commit)):
                location.delete(commit_path(stream, version))


def _writer_time(writer: str) -> int:
    """The ms time encoded at the start of a compactor's writer id ("c" + 12 hex digits)."""
    try:
        return int(writer[1:13], 16)
    except ValueError:
        return _now_ms()


def store_streams(location: Location, experiment_ids: Sequence[str] | None = None) -> list[Stream]:
    """The catalog and every experiment partition (or the partitions of ``experiment_ids``)."""
    from eventlog.views._streams import catalog_stream, partition_stream

    ids = list(experiment_ids) if experiment_ids else location.list_dirs(_layout.EXPERIMENTS)
    streams = [partition_stream(i) for i in sorted(ids, key=lambda i: (len(i), i))]
    return streams if experiment_ids else [catalog_stream(), *streams]
