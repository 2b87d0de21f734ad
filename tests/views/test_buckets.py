"""Store layout v2: partition segments in time buckets, sealed by compaction (docs/format.md).

- writers publish a partition's segments under ``segments/<bucket>/`` (the minute of the publish attempt,
  never older than the writer's previous bucket);
- a compaction seals the buckets older than its clock minus the grace: their segments leave the commit's
  ``folded`` map for seal records, and readers no longer list them; with nothing new but sealable buckets
  it makes a seal-only commit that reuses the previous tables;
- a segment published late into a sealed bucket (a writer with a slow clock) is invisible until the next
  compaction folds it, and is never deleted unfolded;
- retention deletes a sealed bucket's files once the commit that folded the last of them is old enough,
  removes the directory, and the next commit drops the seal;
- format-1 stores (flat ``segments/``) read, compact and keep reading the same;
- random interleavings of writes, late writes, compactions, clock jumps and retention answer like the
  never-compacted copy of the same files.

Both clocks are fakes: the writer's (``eventlog._writer.now_ms``: segment buckets, event times) and the
compactor's (``views._compact._now_ms``: sealing, commit times, retention), so every bucket is chosen by
the test, never by the wall clock.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eventlog.views._compact as compact_module
import eventlog.views._streams as streams_module
import pyarrow.parquet as pq
import pytest
from eventlog.storage import Location, open_location
from eventlog.views import compact_stream, store_streams, tail_stats
from eventlog.views._compact import CompactionResult
from eventlog.views._layout import BUCKET_MS, is_bucket, segment_bucket
from eventlog.views._snapshot import snapshot
from eventlog.views._streams import Commit, committed_versions, latest_commit, partition_stream

import eventlog._writer as writer_module
from eventlog import MlflowClient
from eventlog.entities import Metric, Param, RunTag, ViewType
from eventlog.exceptions import MlflowException

GRACE_MS = int(compact_module.DEFAULT_SEAL_GRACE_S * 1000)

# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------

_ALIASES = itertools.count(1)


class Clock:
    """A settable clock, in ms."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@dataclass
class Clocks:
    writer: Clock  # eventlog._writer.now_ms: the bucket of every segment published, event times
    compactor: Clock  # views._compact._now_ms: what is sealed, commit times, retention

    @property
    def bucket(self) -> int:
        """The writer's current bucket."""
        return bucket_of(self.writer.ms)


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> Clocks:
    # No background flush between a test's clock changes, no automatic compaction child.
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT", "0")
    # These stores hold a few segments: let a commit that only seals happen for one segment.
    monkeypatch.setattr(compact_module, "SEAL_ONLY_MIN_SEGMENTS", 1)
    start = (time.time_ns() // 1_000_000 // BUCKET_MS) * BUCKET_MS + 1_000  # just after a bucket starts
    found = Clocks(Clock(start), Clock(start))
    monkeypatch.setattr(writer_module, "now_ms", found.writer)
    monkeypatch.setattr(compact_module, "_now_ms", found.compactor)
    return found


def bucket_of(ms: int) -> int:
    return int(segment_bucket(ms))


def fresh_client(root: str) -> MlflowClient:
    """A client with its own store object (its own writer and caches): another process, in effect."""
    return MlflowClient("file://" + root + "/" * next(_ALIASES))


def _v(value: Any) -> Any:
    return "<NaN>" if isinstance(value, float) and math.isnan(value) else value


def read_all(root: str) -> dict[Any, Any]:
    """What a fresh reader answers about every experiment and run: listings, get_run, metric history."""
    client = fresh_client(root)
    out: dict[Any, Any] = {}
    experiments = client.search_experiments(view_type=ViewType.ALL)
    out["experiments"] = sorted(
        (e.experiment_id, e.name, e.lifecycle_stage, tuple(sorted(e.tags.items()))) for e in experiments
    )
    ids = [e.experiment_id for e in experiments]
    runs = client._store.runs_in_experiments(ids)
    for run in sorted(runs, key=lambda r: r.info.run_id):
        one = client.get_run(run.info.run_id)
        for r, label in ((run, "listed"), (one, "get_run")):
            out[(label, r.info.run_id)] = (
                r.info.run_name,
                r.info.status,
                r.info.lifecycle_stage,
                r.info.end_time,
                sorted(r.data.params.items()),
                sorted((k, _v(v)) for k, v in r.data.metrics.items()),
                sorted(r.data.tags.items()),
            )
        for key in sorted(one.data.metrics):
            out[("history", run.info.run_id, key)] = [
                (m.step, m.timestamp, _v(m.value)) for m in client.get_metric_history(run.info.run_id, key)
            ]
    searched = client.search_runs(ids, "", ViewType.ALL, max_results=1000)
    out["searched"] = sorted(
        (r.info.run_id, sorted(r.data.params.items()), sorted(r.data.tags.items())) for r in searched
    )
    return out


def log_round(client: MlflowClient, ids: dict[str, list[str]], round_: int) -> None:
    """One flushed round of logging to every run: one segment per partition."""
    for run_ids in ids.values():
        for i, run_id in enumerate(run_ids):
            client.log_batch(
                run_id,
                metrics=[
                    Metric("loss", 1.0 / (1 + round_), 1000 + round_, round_),
                    Metric("nan", math.nan, 1000, round_),
                ],
                params=[Param(f"p{round_}", str(i))],
                tags=[RunTag("round", str(round_))],
            )
    client.flush()


def populate(
    root: str, clocks: Clocks, *, buckets: int, experiments: int = 2, runs: int = 2
) -> dict[str, list[str]]:
    """Experiments and runs, then one flushed round of logging per bucket (the writer's clock moves a
    bucket on between rounds). Returns {experiment id: run ids}."""
    client = MlflowClient(root)
    ids: dict[str, list[str]] = {}
    for e in range(experiments):
        experiment_id = client.create_experiment(f"exp-{e}", tags={"k": "v"})
        ids[experiment_id] = [
            client.create_run(experiment_id, run_name=f"run-{e}-{r}").info.run_id for r in range(runs)
        ]
    for round_ in range(buckets):
        if round_:
            clocks.writer.ms += BUCKET_MS
        log_round(client, ids, round_)
    return ids


def segments_dir(root: str, experiment_id: str) -> Path:
    return Path(root, "experiments", experiment_id, "segments")


def segment_files(root: str, experiment_id: str) -> set[str]:
    """A partition's published segments, relative to its segments/ (``<bucket>/<name>`` or flat)."""
    base = segments_dir(root, experiment_id)
    if not base.exists():
        return set()
    return {
        p.relative_to(base).as_posix()
        for p in base.rglob("*")
        if p.is_file() and not p.name.startswith(".tmp-")
    }


def bucket_dirs(root: str, experiment_id: str) -> set[int]:
    base = segments_dir(root, experiment_id)
    return {int(d.name) for d in base.iterdir() if d.is_dir()} if base.exists() else set()


def files_in_bucket(root: str, experiment_id: str, bucket: int) -> set[str]:
    directory = segments_dir(root, experiment_id) / f"{bucket:010d}"
    return {p.name for p in directory.iterdir() if p.is_file()} if directory.exists() else set()


def rel(experiment_id: str, name: str) -> str:
    """A segment path relative to the store root, from one relative to the partition's segments/."""
    return f"experiments/{experiment_id}/segments/{name}"


def compact_partition(root: str, experiment_id: str, **kwargs: Any) -> CompactionResult:
    return compact_stream(open_location(root), partition_stream(experiment_id), **kwargs)


def compact_all(root: str, **kwargs: Any) -> list[CompactionResult]:
    location = open_location(root)
    return [compact_stream(location, s, **kwargs) for s in store_streams(location)]


def commit_of(root: str, experiment_id: str) -> Commit:
    commit = latest_commit(open_location(root), partition_stream(experiment_id))
    assert commit is not None
    return commit


def seal_names(root: str, commit: Commit, bucket: int) -> set[str]:
    """The segment names the seal records of ``bucket`` list."""
    names: set[str] = set()
    for record in commit.seals[f"{bucket:010d}"].records:
        names.update(json.loads(Path(root, record).read_bytes()))
    return names


def is_compaction_output(path: str) -> bool:
    return any(f"/{d}/" in f"/{path}" for d in ("views", "commits", "quarantine"))


def copy_new_inputs(src: str, dst: str) -> list[str]:
    """Copy into ``dst`` every input file of ``src`` (segments, claims, run index; not views or commit
    records) that ``dst`` does not have: ``dst`` stays the never-compacted copy of everything written."""
    copied = []
    for path in sorted(Path(src).rglob("*")):
        name = path.relative_to(src).as_posix()
        if not path.is_file() or path.name.startswith(".tmp-") or is_compaction_output(name):
            continue
        target = Path(dst, name)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            copied.append(name)
    return copied


def record_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every directory listed through ``Location`` from now on (relative to its store root)."""
    listed: list[str] = []
    for method in ("list_names", "list_children", "list_dirs", "list_files"):
        real: Callable[..., Any] = getattr(Location, method)

        def recording(self: Location, rel_dir: str, _real: Callable[..., Any] = real) -> Any:
            listed.append(rel_dir)
            return _real(self, rel_dir)

        monkeypatch.setattr(Location, method, recording)
    return listed


def sealed_bucket_listings(listed: list[str], experiment_id: str, sealed_before: int) -> list[str]:
    prefix = f"experiments/{experiment_id}/segments/"
    return [
        d
        for d in listed
        if d.startswith(prefix) and is_bucket(d[len(prefix) :]) and int(d[len(prefix) :]) < sealed_before
    ]


def check_commit_shape(root: str, experiment_id: str, commit: Commit) -> None:
    """``folded`` names no segment of a sealed bucket; every file of a sealed bucket is in its seal."""
    assert commit.sealed_before is not None
    for path in commit.folded:
        bucket = path.rsplit("/", 2)[1]
        assert not is_bucket(bucket) or int(bucket) >= commit.sealed_before, f"{path} sealed but in folded"
    for bucket in bucket_dirs(root, experiment_id):
        if bucket < commit.sealed_before:
            assert files_in_bucket(root, experiment_id, bucket) <= seal_names(root, commit, bucket)


# ---------------------------------------------------------------------------------------------------------
# (a) where segments land
# ---------------------------------------------------------------------------------------------------------


def test_segments_land_in_the_bucket_of_their_publish_time(store_uri: str, clocks: Clocks) -> None:
    first = clocks.bucket
    ids = populate(store_uri, clocks, buckets=3, experiments=1)
    (experiment_id,) = ids
    files = segment_files(store_uri, experiment_id)
    # One segment per round (a run's creation goes out with the first), each in its round's bucket.
    assert {name.split("/")[0] for name in files} == {f"{b:010d}" for b in (first, first + 1, first + 2)}
    assert all(len(name.split("/")) == 2 and is_bucket(name.split("/")[0]) for name in files)
    assert bucket_dirs(store_uri, experiment_id) == {first, first + 1, first + 2}
    assert all(len(files_in_bucket(store_uri, experiment_id, b)) == 1 for b in (first, first + 1, first + 2))
    # The catalog is not bucketed.
    assert [p for p in Path(store_uri, "catalog").glob("segments/*") if p.is_dir()] == []

    # A writer never publishes into an older bucket than its last one, even if its clock goes back.
    client = MlflowClient(store_uri)
    clocks.writer.ms -= 10 * BUCKET_MS
    log_round(client, ids, 3)
    new = segment_files(store_uri, experiment_id) - files
    assert [name.split("/")[0] for name in new] == [f"{first + 2:010d}"]


def test_a_retried_publish_lands_in_the_bucket_of_the_retry(
    store_uri: str, clocks: Clocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = populate(store_uri, clocks, buckets=1, experiments=1)
    (experiment_id,) = ids
    before = segment_files(store_uri, experiment_id)
    real_publish = Location.publish
    failures: list[str] = []

    def failing_once(self: Location, path: str, data: bytes) -> None:
        if "/segments/" in path and path.startswith("experiments/") and not failures:
            failures.append(path)
            raise OSError(28, "No space left on device")
        real_publish(self, path, data)

    monkeypatch.setattr(Location, "publish", failing_once)
    client = MlflowClient(store_uri)
    client.log_batch(ids[experiment_id][0], metrics=[Metric("retry", 1.0, 1, 0)])
    with pytest.raises(MlflowException):
        client.flush()
    assert failures and segment_files(store_uri, experiment_id) == before
    clocks.writer.ms += 2 * BUCKET_MS
    client.flush()  # the kept segment, retried under the same name, in the bucket of now
    (new,) = segment_files(store_uri, experiment_id) - before
    assert new.split("/")[0] == f"{clocks.bucket:010d}"
    assert new.split("/")[1] == failures[0].rsplit("/", 1)[1]
    assert client.get_run(ids[experiment_id][0]).data.metrics["retry"] == 1.0


def test_experiment_lifecycle_segments_land_in_buckets_too(store_uri: str, clocks: Clocks) -> None:
    """Regression: the partition's copy of experiment_deleted/restored (``Writer.write_now``) was
    published flat in ``experiments/<id>/segments/``, so it was never sealed."""
    ids = populate(store_uri, clocks, buckets=1, experiments=1)
    (experiment_id,) = ids
    client = MlflowClient(store_uri)
    clocks.writer.ms += BUCKET_MS
    client.delete_experiment(experiment_id)
    deleted = read_all(store_uri)
    assert {deleted[("get_run", r)][2] for r in ids[experiment_id]} == {"deleted"}
    clocks.writer.ms += BUCKET_MS
    client.restore_experiment(experiment_id)
    files = segment_files(store_uri, experiment_id)
    flat = [name for name in files if "/" not in name]
    assert flat == [], f"flat (format 1) segments written into a format-2 partition: {flat}"
    assert {name.split("/")[0] for name in files} == {f"{clocks.bucket - b:010d}" for b in (2, 1, 0)}
    answers = read_all(store_uri)
    clocks.compactor.ms = clocks.writer.ms + BUCKET_MS + GRACE_MS
    compact_all(store_uri)
    commit = commit_of(store_uri, experiment_id)
    assert commit.folded == {} and len(commit.seals) == 3  # the lifecycle segments are sealed too
    assert read_all(store_uri) == answers


# ---------------------------------------------------------------------------------------------------------
# (b) sealing: what readers list, what the commit says, seal-only commits
# ---------------------------------------------------------------------------------------------------------


def test_sealed_buckets_are_not_listed_by_readers_and_answers_are_unchanged(
    store_uri: str, tmp_path: Path, clocks: Clocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = clocks.bucket
    ids = populate(store_uri, clocks, buckets=4)  # buckets first .. first+3
    last = clocks.bucket
    assert last == first + 3
    truth = str(tmp_path / "truth")
    shutil.copytree(store_uri, truth)  # never compacted
    before = read_all(store_uri)
    assert read_all(truth) == before
    files = {e: segment_files(store_uri, e) for e in ids}

    clocks.compactor.ms = clocks.writer.ms + GRACE_MS  # seals every bucket before the writer's current one
    results = compact_all(store_uri)
    assert {r.status for r in results} == {"committed"}
    assert all(r.removed_segments == 0 for r in results)
    location = open_location(store_uri)
    for experiment_id in ids:
        commit = commit_of(store_uri, experiment_id)
        assert commit.version == 1 and commit.sealed_before == last
        assert set(commit.seals) == {f"{b:010d}" for b in range(first, last)}
        for bucket in range(first, last):
            seal = commit.seals[f"{bucket:010d}"]
            names = files_in_bucket(store_uri, experiment_id, bucket)
            assert seal_names(store_uri, commit, bucket) == names and seal.count == len(names) > 0
            assert seal.folded_by == 1 and len(seal.records) == 1
            assert all(r.startswith(f"{commit.view_dir}/") for r in seal.records)
        # folded names only the open bucket's segments
        assert set(commit.folded) == {
            rel(experiment_id, n) for n in files[experiment_id] if int(n[:10]) == last
        }
        assert set(commit.folded.values()) == {1}
        check_commit_shape(store_uri, experiment_id, commit)
        assert segment_files(store_uri, experiment_id) == files[experiment_id]  # nothing deleted

    with monkeypatch.context() as patch:
        listed = record_listings(patch)
        for experiment_id in ids:
            stream = partition_stream(experiment_id)
            listed.clear()
            snap = snapshot(location, stream)
            assert snap.tail == ()
            # The commit records, the segments directory and the one open bucket: nothing else, however
            # many buckets were sealed.
            assert sorted(listed) == sorted(
                [stream.commits_dir, f"{stream.name}/segments", f"{stream.name}/segments/{last:010d}"]
            )
            listed.clear()
            assert tail_stats(location, experiment_id) == (0, 2, 0)
            assert sealed_bucket_listings(listed, experiment_id, last) == []
        listed.clear()
        assert read_all(store_uri) == before
        for experiment_id in ids:
            assert sealed_bucket_listings(listed, experiment_id, last) == []
            assert f"experiments/{experiment_id}/segments/{last:010d}" in listed
    assert read_all(truth) == before


def test_a_few_sealable_segments_do_not_make_a_commit_of_their_own(
    store_uri: str, clocks: Clocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compact_module, "SEAL_ONLY_MIN_SEGMENTS", 256)
    ids = populate(store_uri, clocks, buckets=3, experiments=1)
    (experiment_id,) = ids
    clocks.compactor.ms = clocks.writer.ms + 1_000
    assert compact_partition(store_uri, experiment_id).status == "committed"
    clocks.compactor.ms = clocks.writer.ms + GRACE_MS + 1_000  # sealable now, but only 2 segments
    assert compact_partition(store_uri, experiment_id).status == "up-to-date"
    clocks.writer.ms += BUCKET_MS
    log_round(MlflowClient(store_uri), ids, 9)
    # The next compaction that folds something seals them on the way.
    result = compact_partition(store_uri, experiment_id)
    assert result.status == "committed" and result.segments >= 1
    assert commit_of(store_uri, experiment_id).seals


def test_seal_only_commit_reuses_the_previous_tables(store_uri: str, clocks: Clocks) -> None:
    first = clocks.bucket
    ids = populate(store_uri, clocks, buckets=3, experiments=1)
    (experiment_id,) = ids
    before = read_all(store_uri)

    # Within the grace of every bucket: v1 folds everything and seals nothing.
    clocks.compactor.ms = first * BUCKET_MS + GRACE_MS + 500
    assert compact_partition(store_uri, experiment_id).status == "committed"
    v1 = commit_of(store_uri, experiment_id)
    assert v1.seals == {} and v1.sealed_before is not None and v1.sealed_before <= first
    assert len(v1.folded) == 3
    again = compact_partition(store_uri, experiment_id)
    assert again.status == "up-to-date" and again.version is None  # nothing new, nothing to seal

    # Time passes: the first two buckets can be sealed though nothing is new.
    clocks.compactor.ms = clocks.writer.ms + GRACE_MS + 1_000
    result = compact_partition(store_uri, experiment_id)
    assert result.status == "committed" and result.version == 2
    assert result.segments == 0 and result.events == 0 and result.runs == 2
    v2 = commit_of(store_uri, experiment_id)
    assert v2.version == 2 and v2.stats["segments"] == 0 and v2.stats["events"] == 0
    assert v2.tables == v1.tables and v2.history == v1.history  # the previous tables, by reference
    assert v2.sealed_before == first + 2
    assert set(v2.seals) == {f"{first:010d}", f"{first + 1:010d}"}
    assert {s.folded_by for s in v2.seals.values()} == {1}  # folded by v1, sealed by v2
    assert set(v2.folded) == {p for p in v1.folded if int(p.rsplit("/", 2)[1]) == first + 2}
    assert v2.view_dir is not None and v2.view_dir != v1.view_dir
    own = {p.name for p in Path(store_uri, v2.view_dir).iterdir()}
    assert own == {f"sealed-{first:010d}.json", f"sealed-{first + 1:010d}.json"}  # no table rewritten
    check_commit_shape(store_uri, experiment_id, v2)
    assert read_all(store_uri) == before
    assert compact_partition(store_uri, experiment_id).status == "up-to-date"

    clocks.compactor.ms += BUCKET_MS
    assert compact_partition(store_uri, experiment_id).version == 3
    v3 = commit_of(store_uri, experiment_id)
    assert v3.folded == {} and v3.tables == v1.tables and len(v3.seals) == 3
    assert read_all(store_uri) == before
    assert committed_versions(open_location(store_uri), partition_stream(experiment_id)) == [1, 2, 3]


def test_nothing_new_and_nothing_sealable_commits_nothing(store_uri: str, clocks: Clocks) -> None:
    populate(store_uri, clocks, buckets=2, experiments=1)
    clocks.compactor.ms = clocks.writer.ms + 10 * GRACE_MS
    first = compact_all(store_uri)
    assert {r.status for r in first} == {"committed"}
    again = compact_all(store_uri)
    assert {r.status for r in again} == {"up-to-date"}  # the partition sealed everything in its v1


# ---------------------------------------------------------------------------------------------------------
# (c) late arrivals
# ---------------------------------------------------------------------------------------------------------


def _late_write(root: str, clocks: Clocks, run_id: str, bucket_ms: int, tag: str) -> MlflowClient:
    """A writer with a slow clock (another store object: its own, fresh, last bucket) logs to ``run_id``
    at ``bucket_ms`` by its clock; returns the client, whose events are buffered, not yet flushed."""
    client = fresh_client(root)
    saved = clocks.writer.ms
    clocks.writer.ms = bucket_ms
    client.log_batch(
        run_id,
        metrics=[Metric(f"late-{tag}", 7.0, 5_000, 3)],
        params=[Param(f"late-{tag}", "x")],
        tags=[RunTag(f"late-{tag}", "y")],
    )
    clocks.writer.ms = saved
    return client


def _flush_at(client: MlflowClient, clocks: Clocks, ms: int) -> None:
    saved = clocks.writer.ms
    clocks.writer.ms = ms
    client.flush()
    clocks.writer.ms = saved


def test_a_late_arrival_in_a_sealed_bucket_is_folded_by_the_next_compaction(
    store_uri: str, tmp_path: Path, clocks: Clocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = clocks.bucket
    ids = populate(store_uri, clocks, buckets=4, experiments=1)
    (experiment_id,) = ids
    run_id = ids[experiment_id][1]
    truth = str(tmp_path / "truth")
    shutil.copytree(store_uri, truth)
    clocks.compactor.ms = clocks.writer.ms + GRACE_MS
    compact_partition(store_uri, experiment_id)
    v1 = commit_of(store_uri, experiment_id)
    assert v1.sealed_before == first + 3
    answers = read_all(store_uri)

    files = segment_files(store_uri, experiment_id)
    late_bucket = first + 1
    slow = _late_write(store_uri, clocks, run_id, late_bucket * BUCKET_MS + 30_000, "a")
    _flush_at(slow, clocks, late_bucket * BUCKET_MS + 30_000)
    (late,) = segment_files(store_uri, experiment_id) - files
    assert late.startswith(f"{late_bucket:010d}/")  # a fresh writer with a slow clock: a sealed bucket
    assert copy_new_inputs(store_uri, truth) == [rel(experiment_id, late)]
    expected = read_all(truth)
    assert expected != answers and "late-a" in dict(expected[("get_run", run_id)][4])

    # Invisible to readers until a compaction folds it: they do not list the sealed bucket.
    with monkeypatch.context() as patch:
        listed = record_listings(patch)
        assert read_all(store_uri) == answers
        assert tail_stats(open_location(store_uri), experiment_id) == (0, 2, 0)
        assert sealed_bucket_listings(listed, experiment_id, first + 3) == []

    result = compact_partition(store_uri, experiment_id)  # default retention: nothing deleted
    assert result.status == "committed" and result.segments == 1 and result.removed_segments == 0
    v2 = commit_of(store_uri, experiment_id)
    assert rel(experiment_id, late) not in v2.folded
    seal = v2.seals[f"{late_bucket:010d}"]
    assert seal.count == v1.seals[f"{late_bucket:010d}"].count + 1 and seal.folded_by == 2
    assert len(seal.records) == 2 and json.loads(Path(store_uri, seal.records[1]).read_bytes()) == [
        late.split("/")[1]
    ]
    assert v2.seals[f"{first:010d}"] == v1.seals[f"{first:010d}"]  # the other seals are unchanged
    check_commit_shape(store_uri, experiment_id, v2)
    assert read_all(store_uri) == expected
    assert compact_partition(store_uri, experiment_id).status == "up-to-date"  # folded once, not again
    assert segment_files(store_uri, experiment_id) == files | {late}


def test_a_late_arrival_is_never_deleted_before_it_is_folded(
    store_uri: str, tmp_path: Path, clocks: Clocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slow writer publishes between a compaction's listing and its retention pass: retention 0
    deletes the bucket's recorded segments, not the late one (nor its directory)."""
    first = clocks.bucket
    ids = populate(store_uri, clocks, buckets=3, experiments=1)
    (experiment_id,) = ids
    run_id = ids[experiment_id][0]
    truth = str(tmp_path / "truth")
    shutil.copytree(store_uri, truth)
    clocks.compactor.ms = clocks.writer.ms + GRACE_MS
    compact_partition(store_uri, experiment_id)  # v1 seals first, first+1 (default retention)
    answers = read_all(store_uri)
    slow = _late_write(store_uri, clocks, run_id, first * BUCKET_MS + 5_000, "b")

    real_remove = compact_module._remove_expired
    published: list[str] = []

    def publish_then_remove(*args: Any, **kwargs: Any) -> None:
        before = segment_files(store_uri, experiment_id)
        _flush_at(slow, clocks, first * BUCKET_MS + 5_000)
        published.extend(segment_files(store_uri, experiment_id) - before)
        real_remove(*args, **kwargs)

    clocks.compactor.ms += 10_000
    with monkeypatch.context() as patch:
        patch.setattr(compact_module, "_remove_expired", publish_then_remove)
        result = compact_partition(store_uri, experiment_id, retention_s=0)
    (late,) = published
    assert late.startswith(f"{first:010d}/")
    assert result.status == "up-to-date" and result.removed_segments > 0
    # The recorded segments of the sealed buckets went; the late one stayed, and so did its directory.
    assert files_in_bucket(store_uri, experiment_id, first) == {late.split("/")[1]}
    assert first + 1 not in bucket_dirs(store_uri, experiment_id)
    assert read_all(store_uri) == answers  # still invisible, still unfolded

    copy_new_inputs(store_uri, truth)
    expected = read_all(truth)
    clocks.compactor.ms += 10_000
    folded = compact_partition(store_uri, experiment_id, retention_s=0)
    assert folded.status == "committed" and folded.segments == 1
    assert read_all(store_uri) == expected
    # Folded now, and older than the retention of 0: deleted with its directory.
    assert first not in bucket_dirs(store_uri, experiment_id)
    assert read_all(store_uri) == expected


def test_a_late_arrival_into_a_bucket_retention_already_removed(
    store_uri: str, tmp_path: Path, clocks: Clocks
) -> None:
    first = clocks.bucket
    ids = populate(store_uri, clocks, buckets=3, experiments=1)
    (experiment_id,) = ids
    truth = str(tmp_path / "truth")
    shutil.copytree(store_uri, truth)
    clocks.compactor.ms = clocks.writer.ms + GRACE_MS
    compact_partition(store_uri, experiment_id, retention_s=0)  # seals first, first+1 and deletes them
    assert bucket_dirs(store_uri, experiment_id) <= {first + 2}
    clocks.writer.ms += BUCKET_MS
    log_round(MlflowClient(store_uri), ids, 9)
    copy_new_inputs(store_uri, truth)
    clocks.compactor.ms += 1_000
    compact_partition(store_uri, experiment_id, retention_s=0)
    assert f"{first:010d}" not in commit_of(store_uri, experiment_id).seals  # its directory is gone
    answers = read_all(store_uri)
    assert answers == read_all(truth)

    slow = _late_write(store_uri, clocks, ids[experiment_id][0], first * BUCKET_MS, "c")
    _flush_at(slow, clocks, first * BUCKET_MS)
    assert bucket_dirs(store_uri, experiment_id) >= {first}  # the writer made the directory again
    copy_new_inputs(store_uri, truth)
    assert read_all(store_uri) == answers  # a sealed bucket: not listed
    clocks.compactor.ms += 1_000
    result = compact_partition(store_uri, experiment_id)
    assert result.segments == 1
    commit = commit_of(store_uri, experiment_id)
    assert commit.seals[f"{first:010d}"].count == 1
    check_commit_shape(store_uri, experiment_id, commit)
    assert read_all(store_uri) == read_all(truth)


# ---------------------------------------------------------------------------------------------------------
# (d) retention of sealed buckets
# ---------------------------------------------------------------------------------------------------------


def test_retention_deletes_sealed_buckets_only_after_the_retention(
    store_uri: str, tmp_path: Path, clocks: Clocks
) -> None:
    ids = populate(store_uri, clocks, buckets=3, experiments=1)
    (experiment_id,) = ids
    truth = str(tmp_path / "truth")
    shutil.copytree(store_uri, truth)
    before = read_all(store_uri)
    files = segment_files(store_uri, experiment_id)
    retention_s = 600

    clocks.compactor.ms = clocks.writer.ms + BUCKET_MS + GRACE_MS  # seals all three buckets
    compact_partition(store_uri, experiment_id, retention_s=retention_s)
    v1 = commit_of(store_uri, experiment_id)
    assert len(v1.seals) == 3 and v1.folded == {}
    committed_at = v1.committed_at

    clocks.compactor.ms = committed_at + retention_s * 1000 - 1
    early = compact_partition(store_uri, experiment_id, retention_s=retention_s)
    assert early.status == "up-to-date" and early.removed_segments == 0
    assert segment_files(store_uri, experiment_id) == files

    clocks.compactor.ms = committed_at + retention_s * 1000
    due = compact_partition(store_uri, experiment_id, retention_s=retention_s)
    assert due.status == "up-to-date" and due.removed_segments == len(files)
    assert segment_files(store_uri, experiment_id) == set()
    assert bucket_dirs(store_uri, experiment_id) == set()  # the emptied directories are removed too
    assert commit_of(store_uri, experiment_id).seals == v1.seals  # the record stays what it was
    assert read_all(store_uri) == before

    # The next commit drops the seals of the removed buckets.
    clocks.writer.ms = clocks.compactor.ms
    log_round(MlflowClient(store_uri), ids, 5)
    copy_new_inputs(store_uri, truth)
    expected = read_all(truth)
    result = compact_partition(store_uri, experiment_id, retention_s=retention_s)
    assert result.status == "committed" and result.segments == 1
    v2 = commit_of(store_uri, experiment_id)
    assert v2.seals == {} and v1.sealed_before is not None and v2.sealed_before is not None
    assert v2.sealed_before >= v1.sealed_before
    assert read_all(store_uri) == expected


def test_retention_counts_from_the_commit_that_folded_the_last_segment_of_a_bucket(
    store_uri: str, clocks: Clocks
) -> None:
    """A late arrival folded later keeps its bucket (every file in it) until the retention has passed
    since its own fold."""
    first = clocks.bucket
    ids = populate(store_uri, clocks, buckets=2, experiments=1)
    (experiment_id,) = ids
    clocks.compactor.ms = clocks.writer.ms + BUCKET_MS + GRACE_MS
    compact_partition(store_uri, experiment_id)
    v1 = commit_of(store_uri, experiment_id)
    slow = _late_write(store_uri, clocks, ids[experiment_id][0], first * BUCKET_MS, "d")
    _flush_at(slow, clocks, first * BUCKET_MS)
    clocks.compactor.ms = v1.committed_at + 1_800_000
    compact_partition(store_uri, experiment_id)  # folds the late one: v2, half an hour after v1
    v2 = commit_of(store_uri, experiment_id)
    assert v2.seals[f"{first:010d}"].folded_by == 2 and v2.seals[f"{first + 1:010d}"].folded_by == 1
    answers = read_all(store_uri)

    clocks.compactor.ms = v1.committed_at + 3_600_000  # an hour after v1, half an hour after v2
    compact_partition(store_uri, experiment_id)
    assert bucket_dirs(store_uri, experiment_id) == {first}  # first+1's hour has passed, first's has not
    assert len(files_in_bucket(store_uri, experiment_id, first)) == 2
    clocks.compactor.ms = v2.committed_at + 3_600_000
    compact_partition(store_uri, experiment_id)
    assert bucket_dirs(store_uri, experiment_id) == set()
    assert read_all(store_uri) == answers


def test_no_empty_bucket_directories_are_left_behind(store_uri: str, clocks: Clocks) -> None:
    """Regression: segments deleted while their bucket was still open
    (a retention shorter than the seal grace) left the bucket directory behind forever, listed by every
    later compaction."""
    ids = populate(store_uri, clocks, buckets=1, experiments=1)
    (experiment_id,) = ids
    client = MlflowClient(store_uri)
    for round_ in range(1, 5):
        clocks.compactor.ms = clocks.writer.ms + 1_000
        compact_partition(store_uri, experiment_id, retention_s=0)  # deletes the folded, open bucket's file
        clocks.writer.ms += BUCKET_MS
        log_round(client, ids, round_)
    clocks.compactor.ms = clocks.writer.ms + 10 * GRACE_MS
    for _ in range(3):
        compact_partition(store_uri, experiment_id, retention_s=0)
        clocks.compactor.ms += BUCKET_MS
    commit = commit_of(store_uri, experiment_id)
    assert commit.sealed_before is not None and commit.sealed_before > clocks.bucket
    empty = sorted(
        b for b in bucket_dirs(store_uri, experiment_id) if not files_in_bucket(store_uri, experiment_id, b)
    )
    # Every one of them is listed by every later compaction, forever.
    assert empty == [], f"{len(empty)} empty bucket directories left: {empty}"


# ---------------------------------------------------------------------------------------------------------
# (e) format-1 stores
# ---------------------------------------------------------------------------------------------------------


def _make_format_1(root: str) -> None:
    """What an eventlog of format 1 would have written: flat partition segments, marker version 1."""
    for directory in Path(root, "experiments").glob("*/segments"):
        for bucket in [d for d in directory.iterdir() if d.is_dir()]:
            for path in bucket.iterdir():
                path.rename(directory / path.name)
            bucket.rmdir()
    Path(root, "eventlog-store.json").write_text(json.dumps({"format": "eventlog", "version": 1}))


def _make_commit_format_1(root: str, experiment_id: str) -> None:
    """Rewrite the latest commit record as format 1 wrote it (no sealing fields)."""
    stream = partition_stream(experiment_id)
    version = committed_versions(open_location(root), stream)[-1]
    path = Path(root, stream.commits_dir, f"{version:010d}.json")
    doc = json.loads(path.read_bytes())
    assert doc["seals"] == {}
    for key in ("sealed_before", "seals", "view_dir"):
        del doc[key]
    doc["format"] = 1
    path.write_text(json.dumps(doc))
    streams_module._COMMIT_CACHE.clear()


def test_a_format_1_store_reads_compacts_and_keeps_reading_the_same(
    store_uri: str, tmp_path: Path, clocks: Clocks
) -> None:
    ids = populate(store_uri, clocks, buckets=3)
    bucketed = read_all(store_uri)
    _make_format_1(store_uri)
    flat = {e: segment_files(store_uri, e) for e in ids}
    assert all(files and all("/" not in name for name in files) for files in flat.values())
    truth = str(tmp_path / "truth")
    shutil.copytree(store_uri, truth)
    assert read_all(store_uri) == bucketed  # the same answers from the flat layout

    # Compacted long after the writes: flat segments have no bucket and are never sealed.
    clocks.compactor.ms = clocks.writer.ms + 10 * GRACE_MS
    assert {r.status for r in compact_all(store_uri)} == {"committed"}
    for experiment_id in ids:
        commit = commit_of(store_uri, experiment_id)
        assert set(commit.folded) == {rel(experiment_id, n) for n in flat[experiment_id]}
        assert commit.seals == {}
        _make_commit_format_1(store_uri, experiment_id)  # as a format-1 compactor would have left it
        assert commit_of(store_uri, experiment_id).sealed_before is None
    assert read_all(store_uri) == bucketed

    # This eventlog writes on: bucketed segments next to the flat ones.
    clocks.writer.ms = clocks.compactor.ms
    client = MlflowClient(store_uri)
    for round_ in range(3, 6):
        log_round(client, ids, round_)
        clocks.writer.ms += BUCKET_MS
    copy_new_inputs(store_uri, truth)
    expected = read_all(truth)
    assert read_all(store_uri) == expected
    for experiment_id in ids:
        new = segment_files(store_uri, experiment_id) - flat[experiment_id]
        assert len(new) == 3 and all(is_bucket(n.split("/")[0]) for n in new)

    clocks.compactor.ms = clocks.writer.ms + GRACE_MS
    assert {r.status for r in compact_all(store_uri)} >= {"committed"}
    for experiment_id in ids:
        commit = commit_of(store_uri, experiment_id)
        assert commit.version == 2 and commit.sealed_before == clocks.bucket
        # The flat segments stay in folded; the new buckets are sealed.
        assert set(commit.folded) == {rel(experiment_id, n) for n in flat[experiment_id]}
        assert len(commit.seals) == 3
        check_commit_shape(store_uri, experiment_id, commit)
    assert read_all(store_uri) == expected

    # Retention removes flat and bucketed segments alike; the answers stay.
    clocks.compactor.ms += 1_000
    compact_all(store_uri, retention_s=0)
    assert all(segment_files(store_uri, e) == set() for e in ids)
    assert read_all(store_uri) == expected
    assert read_all(truth) == expected


# ---------------------------------------------------------------------------------------------------------
# (f) random interleavings
# ---------------------------------------------------------------------------------------------------------


def _sealed_before(root: str, experiment_id: str) -> int | None:
    commit = latest_commit(open_location(root), partition_stream(experiment_id))
    return commit.sealed_before if commit is not None else None


def _landed_sealed(root: str, experiment_id: str, names: set[str]) -> bool:
    """Whether any of these new segments was published into a bucket the latest commit sealed."""
    sealed_before = _sealed_before(root, experiment_id)
    return sealed_before is not None and any(
        is_bucket(n.split("/")[0]) and int(n.split("/")[0]) < sealed_before for n in names
    )


@pytest.mark.parametrize("seed", [11, 12])
def test_random_interleavings_answer_like_the_uncompacted_store(
    store_uri: str, tmp_path: Path, clocks: Clocks, seed: int
) -> None:
    """Writes (the writer's clock jumping on), late writes (slow clocks), compactions with clocks behind
    or far ahead of the writer, any retention and grace: after every compaction the answers are those of
    the never-compacted copy; a write is visible at once unless it landed in a sealed bucket (a late one
    then stays invisible until the next compaction)."""
    rnd = random.Random(seed)
    ids = populate(store_uri, clocks, buckets=1, experiments=2, runs=2)
    truth = str(tmp_path / "truth")
    shutil.copytree(store_uri, truth)
    truth_answers = read_all(truth)
    client = MlflowClient(store_uri)
    all_runs = [(e, r) for e, runs in ids.items() for r in runs]
    ops: list[str] = []
    seen = {"sealed landings": 0, "removed segments": 0, "seal commits": 0}
    folded_events = dict.fromkeys(ids, 0)
    for step in range(10):
        op = rnd.choice(["write", "write", "late", "compact", "compact"])
        ops.append(op)
        if op in ("write", "late"):
            before = {e: segment_files(store_uri, e) for e in ids}
            if op == "write":
                clocks.writer.ms += rnd.choice([0, 20_000, BUCKET_MS, 2 * BUCKET_MS + 7_000])
                for experiment_id, run_id in rnd.sample(all_runs, rnd.randint(1, len(all_runs))):
                    client.log_batch(
                        run_id,
                        metrics=[Metric("m", float(step), 10_000 + step, step)],
                        params=[Param(f"s{step}", experiment_id)],
                        tags=[RunTag("t", str(step))],
                    )
                client.flush()
            else:
                experiment_id, run_id = rnd.choice(all_runs)
                at = clocks.writer.ms - rnd.choice([30_000, BUCKET_MS, 3 * BUCKET_MS, 20 * BUCKET_MS])
                sealed_before = _sealed_before(store_uri, experiment_id)
                invisible = sealed_before is not None and bucket_of(at) < sealed_before
                answers = read_all(store_uri) if invisible else None
                _flush_at(_late_write(store_uri, clocks, run_id, at, str(step)), clocks, at)
                if answers is not None:
                    assert read_all(store_uri) == answers, (
                        f"step {step}: late segment visible before its fold"
                    )
            new = {e: segment_files(store_uri, e) - before[e] for e in ids}
            assert sum(len(names) for names in new.values()) >= 1
            assert copy_new_inputs(store_uri, truth)
            truth_answers = read_all(truth)
            if any(_landed_sealed(store_uri, e, names) for e, names in new.items()):
                seen["sealed landings"] += 1
                op = "compact"  # compared after the compaction that folds it
            else:
                assert read_all(store_uri) == truth_answers, f"step {step}: {op} not visible"
        if op == "compact":
            clocks.compactor.ms = clocks.writer.ms + rnd.choice(
                [-BUCKET_MS, 0, GRACE_MS, 5 * GRACE_MS, 4_000_000]
            )
            kwargs: dict[str, Any] = {"retention_s": rnd.choice([0, 30, 600, 3600])}
            if rnd.random() < 0.3:
                kwargs["seal_grace_s"] = rnd.choice([0, 30])
            results = compact_all(store_uri, **kwargs)
            assert not any(r.quarantined or r.lost_race for r in results)
            seen["removed segments"] += sum(r.removed_segments for r in results)
            for r in results:
                if r.stream.startswith("experiments/"):
                    folded_events[r.stream.split("/")[1]] += r.events
            for experiment_id in ids:
                commit = latest_commit(open_location(store_uri), partition_stream(experiment_id))
                if commit is not None:
                    check_commit_shape(store_uri, experiment_id, commit)
                    seen["seal commits"] += any(s.folded_by < commit.version for s in commit.seals.values())
            assert read_all(store_uri) == truth_answers, f"step {step}: after compaction {kwargs}"
    # The seeds are chosen so that every case happens (the clocks are fakes: the run is deterministic).
    assert "compact" in ops and "late" in ops and all(seen.values()), (ops, seen)
    clocks.compactor.ms = max(clocks.compactor.ms, clocks.writer.ms) + 10_000_000
    for r in compact_all(store_uri, retention_s=0):
        if r.stream.startswith("experiments/"):
            folded_events[r.stream.split("/")[1]] += r.events
    assert read_all(store_uri) == truth_answers
    for experiment_id in ids:
        # Every event ever published (the truth has every segment) was folded exactly once.
        published = sum(
            pq.read_metadata(p).num_rows for p in segments_dir(truth, experiment_id).rglob("*.parquet")
        )
        assert folded_events[experiment_id] == published
        # Everything folded long ago: every segment deleted, the view still answers for both runs.
        assert segment_files(store_uri, experiment_id) == set()
        commit = commit_of(store_uri, experiment_id)
        assert pq.read_table(Path(store_uri, commit.tables["runs"])).num_rows == 2
