"""Compaction behaviour (docs/architecture.md, invariants 4, 5, 7, 9): what `compact_stream` /
`eventlog compact` write, read and remove, and that reads answer the same before and after.

- retention: folded segments and old view directories are removed only once the commit that replaced
  them is older than the retention period, never before that commit exists; history files a newer
  version still refers to are kept;
- `eventlog compact URI [--json] [--experiment ID] [--retention S]`: the JSON shape, the text summary;
- the progress callback; one experiment partition compacted alone leaves the others untouched;
- incremental compaction reads only the new segments (counted), and a read after a compaction reads
  only the uncompacted tail.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import eventlog.views._compact as compact_module
import eventlog.views._snapshot as snapshot_module
import pytest
from click.testing import CliRunner
from eventlog.storage import Location, open_location
from eventlog.views import compact_stream, store_streams
from eventlog.views._streams import (
    Commit,
    catalog_stream,
    committed_versions,
    latest_commit,
    partition_stream,
)

from eventlog import MlflowClient
from eventlog.cli import main
from eventlog.entities import Metric, ViewType

# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------

_READERS = itertools.count(1)


def _v(value: Any) -> Any:
    return "<NaN>" if isinstance(value, float) and math.isnan(value) else value


def read_all(root: str) -> dict[str, Any]:
    """What a fresh reader (new store object, empty cache) answers about every run and experiment."""
    client = MlflowClient("file://" + root + "/" * next(_READERS))
    out: dict[str, Any] = {}
    experiments = client.search_experiments(view_type=ViewType.ALL)
    out["experiments"] = sorted(
        (e.experiment_id, e.name, e.lifecycle_stage, tuple(sorted(e.tags.items())), e.last_update_time)
        for e in experiments
    )
    ids = [e.experiment_id for e in experiments]
    runs = client._store.runs_in_experiments(ids)  # the CLI's listing: whole partitions, view tables
    for run in sorted(runs, key=lambda r: r.info.run_id):
        one = client.get_run(run.info.run_id)  # the per-run path: events filtered by run id
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
    return out


def populate(uri: str, *, experiments: int = 2, runs: int = 2, rounds: int = 2) -> dict[str, list[str]]:
    """Experiments and runs through the public API, then ``rounds`` flushed rounds of logging (one
    segment per partition per round). Returns {experiment id: run ids}."""
    client = MlflowClient(uri)
    ids: dict[str, list[str]] = {}
    for e in range(experiments):
        experiment_id = client.create_experiment(f"exp-{e}", tags={"k": "v"})
        ids[experiment_id] = [
            client.create_run(experiment_id, run_name=f"run-{e}-{r}").info.run_id for r in range(runs)
        ]
    log_rounds(uri, ids, rounds=rounds)
    return ids


def log_rounds(uri: str, ids: dict[str, list[str]], *, rounds: int = 1, start: int = 0) -> None:
    client = MlflowClient(uri)
    for round_ in range(start, start + rounds):
        for run_ids in ids.values():
            for i, run_id in enumerate(run_ids):
                client.log_batch(
                    run_id,
                    metrics=[
                        Metric("loss", 1.0 / (1 + round_), 1000 + round_, round_),
                        Metric("nan", math.nan, 1000, round_),
                    ],
                )
                client.log_param(run_id, f"p{round_}", i)
                client.set_tag(run_id, "round", str(round_))
        client.flush()


def segments_of(root: str, stream_name: str) -> set[str]:
    """Segment paths relative to the stream's segments/ (``<bucket>/<name>``, or a flat name)."""
    directory = Path(root, stream_name, "segments")
    return (
        {
            p.relative_to(directory).as_posix()
            for p in directory.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        }
        if directory.exists()
        else set()
    )


def tree(root: str, under: str = "") -> dict[str, tuple[int, int]]:
    """Every file under ``root/under`` with its size and mtime."""
    base = Path(root, under)
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in base.rglob("*")
        if p.is_file()
    }


def compact_all(root: str, **kwargs: Any) -> list[Any]:
    location = open_location(root)
    return [compact_stream(location, s, **kwargs) for s in store_streams(location)]


def view_dirs(root: str, stream_name: str) -> dict[str, set[str]]:
    base = Path(root, stream_name, "views")
    if not base.exists():
        return {}
    return {d.name: {f.name for f in d.iterdir()} for d in base.iterdir() if d.is_dir()}


# ---------------------------------------------------------------------------------------------------------
# retention
# ---------------------------------------------------------------------------------------------------------


def test_large_retention_removes_nothing_and_answers_are_unchanged(store_uri: str) -> None:
    ids = populate(store_uri, rounds=3)
    before = read_all(store_uri)
    stream = partition_stream(next(iter(ids)))
    segments = segments_of(store_uri, stream.name)
    assert len(segments) >= 3  # 3 flushed rounds (a run's creation goes out with the first)

    results = compact_all(store_uri, retention_s=3600)
    assert {r.status for r in results} == {"committed"}
    assert all(r.removed_segments == 0 and r.removed_views == 0 for r in results)
    assert segments_of(store_uri, stream.name) == segments
    assert read_all(store_uri) == before

    log_rounds(store_uri, ids, start=10)
    before = read_all(store_uri)
    again = compact_all(store_uri, retention_s=3600)
    assert all(r.removed_segments == 0 and r.removed_views == 0 for r in again)
    assert len(view_dirs(store_uri, stream.name)) == 2  # the replaced view is still there for old readers
    assert segments <= segments_of(store_uri, stream.name)
    assert read_all(store_uri) == before


def test_retention_zero_removes_folded_segments_only_after_the_commit(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = populate(store_uri, rounds=3)
    before = read_all(store_uri)
    location = open_location(store_uri)
    deleted: list[str] = []
    real_delete = Location.delete

    def checked_delete(self: Location, rel: str) -> None:
        if "/segments/" in rel:
            stream_name = rel.split("/segments/")[0]
            stream = (
                catalog_stream() if stream_name == "catalog" else partition_stream(stream_name.split("/")[1])
            )
            commit = latest_commit(location, stream)
            # Never before the commit: a commit record folding this segment exists at the time of removal.
            assert commit is not None and rel in commit.folded, f"{rel} removed before a commit folded it"
            assert location.exists(f"{stream.commits_dir}/{commit.version:010d}.json")
        deleted.append(rel)
        real_delete(self, rel)

    monkeypatch.setattr(Location, "delete", checked_delete)
    stream = partition_stream(next(iter(ids)))
    segments = segments_of(store_uri, stream.name)
    results = compact_all(store_uri, retention_s=0)
    by_stream = {r.stream: r for r in results}
    assert by_stream[stream.name].removed_segments == len(segments)
    assert segments_of(store_uri, stream.name) == set()
    assert {f"{stream.name}/segments/{s}" for s in segments} <= set(deleted)
    # The commit still says which segments it folded (and why the directory is now empty).
    commit = latest_commit(location, stream)
    assert commit is not None
    assert {f"{stream.name}/segments/{s}" for s in segments} == set(commit.folded)
    assert read_all(store_uri) == before

    # New events after the removal: folded on top of the view, answers still those of all events.
    log_rounds(store_uri, ids, start=5)
    expected = read_all(store_uri)
    compact_all(store_uri, retention_s=0)
    assert read_all(store_uri) == expected


def test_retention_is_measured_from_the_replacing_commit(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default retention nothing goes at once; an hour after the commit it does."""
    ids = populate(store_uri, rounds=2)
    stream = partition_stream(next(iter(ids)))
    compact_all(store_uri)  # v1
    log_rounds(store_uri, ids, start=3)
    compact_all(store_uri)  # v2 replaces v1
    before = read_all(store_uri)
    segments = segments_of(store_uri, stream.name)
    assert len(view_dirs(store_uri, stream.name)) == 2

    now = compact_module._now_ms()
    monkeypatch.setattr(compact_module, "_now_ms", lambda: now + 3500 * 1000)  # not yet an hour
    # Nothing new to fold: at most a commit that seals the old segment buckets, and nothing removed.
    assert all(
        r.status in ("up-to-date", "committed") and r.removed_segments == 0 for r in compact_all(store_uri)
    )
    assert segments_of(store_uri, stream.name) == segments

    monkeypatch.setattr(compact_module, "_now_ms", lambda: now + 3700 * 1000)  # an hour has passed
    results = {r.stream: r for r in compact_all(store_uri)}
    assert results[stream.name].status == "up-to-date"
    assert results[stream.name].removed_segments == len(segments)
    assert results[stream.name].removed_views == 1
    assert segments_of(store_uri, stream.name) == set()
    assert read_all(store_uri) == before


def test_old_view_directories_go_but_history_files_still_referenced_stay(store_uri: str) -> None:
    ids = populate(store_uri, rounds=1)
    stream = partition_stream(next(iter(ids)))
    location = open_location(store_uri)
    compact_all(store_uri, retention_s=0)
    v1 = latest_commit(location, stream)
    assert v1 is not None and len(v1.history) == 1
    log_rounds(store_uri, ids, start=1)
    compact_all(store_uri, retention_s=0)
    v2 = latest_commit(location, stream)
    assert v2 is not None and v2.version == 2
    assert v1.history[0] in v2.history  # v2 reuses v1's history file by reference
    v1_dir = v1.history[0].rsplit("/", 1)[0].rsplit("/", 1)[1]
    v2_dir = v2.tables["state"].rsplit("/", 2)[1]
    dirs = view_dirs(store_uri, stream.name)
    assert dirs[v1_dir] == {"history.parquet"}  # every other v1 table is gone
    assert {"state.parquet", "runs.parquet", "history.parquet"} <= dirs[v2_dir]
    for rel in [*v2.tables.values(), *v2.history]:
        assert location.exists(rel), rel
    # The v1 commit record stays while its directory still holds a file in use.
    assert committed_versions(location, stream) == [1, 2]
    expected = read_all(store_uri)
    log_rounds(store_uri, ids, start=2)
    expected_after = read_all(store_uri)
    assert expected_after != expected
    compact_all(store_uri, retention_s=0)
    assert read_all(store_uri) == expected_after


def test_merged_history_lets_old_history_files_go(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compact_module, "MAX_HISTORY_FILES", 2)
    ids = populate(store_uri, experiments=1, rounds=1)
    stream = partition_stream(next(iter(ids)))
    location = open_location(store_uri)
    for start in range(1, 5):
        compact_all(store_uri, retention_s=0)
        log_rounds(store_uri, ids, start=start)
    expected = read_all(store_uri)
    compact_all(store_uri, retention_s=0)
    commit = latest_commit(location, stream)
    assert commit is not None and len(commit.history) <= 2
    referenced = {*commit.tables.values(), *commit.history}
    files = {
        f"{stream.views_dir}/{d}/{f}" for d, names in view_dirs(store_uri, stream.name).items() for f in names
    }
    assert files == referenced  # nothing unreferenced survives a retention of 0
    assert committed_versions(location, stream)[-1] == commit.version
    assert read_all(store_uri) == expected


def test_retention_removes_old_view_directories_themselves(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (found here as a strict xfail; docs/architecture.md, invariant 7, listing cost
    bounded): on local disk the retention GC deleted the files of an old view directory (and a losing
    compactor its files) but never the directory itself, so <stream>/views/ gained one empty directory
    per compaction forever."""
    monkeypatch.setattr(compact_module, "MAX_HISTORY_FILES", 1)  # every version rewrites the history
    ids = populate(store_uri, experiments=1, rounds=1)
    stream = partition_stream(next(iter(ids)))
    for start in range(1, 4):
        compact_all(store_uri, retention_s=0)
        log_rounds(store_uri, ids, start=start)
    compact_all(store_uri, retention_s=0)
    dirs = view_dirs(store_uri, stream.name)
    assert any(files for files in dirs.values())
    assert {d for d, files in dirs.items() if not files} == set(), (
        f"empty view directories left: {sorted(dirs)}"
    )


# ---------------------------------------------------------------------------------------------------------
# the CLI
# ---------------------------------------------------------------------------------------------------------

RESULT_KEYS = {
    "stream",
    "version",
    "previous_version",
    "segments",
    "events",
    "runs",
    "seconds",
    "quarantined",
    "removed_segments",
    "removed_views",
    "lost_race",
    "status",
}


def test_cli_compact_json_shape(store_uri: str) -> None:
    ids = populate(store_uri)
    before = read_all(store_uri)
    runner = CliRunner()
    result = runner.invoke(main, ["compact", store_uri, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert isinstance(doc, list)
    assert [d["stream"] for d in doc] == ["catalog", *(f"experiments/{e}" for e in ids)]
    for d in doc:
        assert set(d) == RESULT_KEYS
        assert isinstance(d["seconds"], float) and d["seconds"] >= 0
        assert d["quarantined"] == {} and d["lost_race"] is False
    by_stream = {d["stream"]: d for d in doc}
    for e in ids:
        d = by_stream[f"experiments/{e}"]
        assert d["status"] == "committed" and d["version"] == 1 and d["previous_version"] is None
        assert d["runs"] == 2
        assert d["segments"] == len(segments_of(store_uri, f"experiments/{e}"))
        commit = latest_commit(open_location(store_uri), partition_stream(e))
        assert commit is not None
        assert d["events"] == commit.stats["events"] and d["segments"] == commit.stats["segments"]
    assert by_stream["catalog"]["runs"] == 1 + len(ids)  # experiments, for the catalog
    assert read_all(store_uri) == before

    again = json.loads(runner.invoke(main, ["compact", store_uri, "--json"]).stdout)
    assert {d["status"] for d in again} == {"up-to-date"}
    assert all(d["version"] is None and d["segments"] == 0 for d in again)
    assert {d["stream"]: d["previous_version"] for d in again} == {d["stream"]: d["version"] for d in doc}


def test_cli_compact_text_summary(store_uri: str) -> None:
    ids = populate(store_uri)
    result = CliRunner().invoke(main, ["compact", store_uri, "--retention", "0"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    streams = ["catalog", *(f"experiments/{e}" for e in ids)]
    assert len(lines) == len(streams) + 1
    row = re.compile(
        r"^(?P<stream>\S+)\s+(?P<status>committed|up-to-date|lost-race)\s+(?P<version>v\d+|-)\s+"
        r"segments\s+(?P<segments>\d+)\s+events\s+(?P<events>[\d,]+)\s+rows\s+(?P<rows>[\d,]+)\s+"
        r"removed (?P<rs>\d+) segments / (?P<rv>\d+) views\s+\d+\.\d\ds$"
    )
    parsed = []
    for line, stream in zip(lines, streams, strict=False):
        m = row.match(line)
        assert m, line
        assert m["stream"] == stream
        parsed.append(m)
    for m in parsed[2:]:
        assert m["status"] == "committed" and m["version"] == "v1"
        assert int(m["rs"]) == int(m["segments"]) > 0  # retention 0: folded segments removed at once
    total_segments = sum(int(m["segments"]) for m in parsed)
    total_events = sum(int(m["events"].replace(",", "")) for m in parsed)
    assert lines[-1] == (
        f"{len(streams)} streams, {total_segments} segments, {total_events:,} events folded, 0 quarantined"
    )
    again = CliRunner().invoke(main, ["compact", store_uri]).stdout.strip().splitlines()
    for line in again[:-1]:
        assert " up-to-date " in line and " v1 " in line, line
    assert again[-1] == f"{len(streams)} streams, 0 segments, 0 events folded, 0 quarantined"


def test_cli_compact_one_experiment_leaves_the_others_untouched(store_uri: str) -> None:
    ids = populate(store_uri, experiments=3)
    before = read_all(store_uri)
    target, *others = ids
    untouched = {name: tree(store_uri, name) for name in ["catalog", *(f"experiments/{e}" for e in others)]}
    result = CliRunner().invoke(main, ["compact", store_uri, "--experiment", target, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [(d["stream"], d["status"]) for d in doc] == [(f"experiments/{target}", "committed")]
    for name, files in untouched.items():
        assert tree(store_uri, name) == files, f"{name} was touched"
    location = open_location(store_uri)
    assert latest_commit(location, catalog_stream()) is None
    assert all(latest_commit(location, partition_stream(e)) is None for e in others)
    assert read_all(store_uri) == before


def test_cli_reports_a_bad_uri_in_one_line(tmp_path: Path) -> None:
    not_a_store = tmp_path / "plain"
    not_a_store.mkdir()
    (not_a_store / "data.txt").write_text("hello")
    result = CliRunner().invoke(main, ["compact", str(not_a_store)])
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------------------------------
# progress, partitions, what a compaction reads
# ---------------------------------------------------------------------------------------------------------


def test_progress_callback_counts_the_new_segments(store_uri: str) -> None:
    ids = populate(store_uri, experiments=1, rounds=3)
    location = open_location(store_uri)
    stream = partition_stream(next(iter(ids)))
    calls: list[tuple[int, int]] = []
    result = compact_stream(location, stream, progress=lambda done, total: calls.append((done, total)))
    n = len(segments_of(store_uri, stream.name))
    assert n >= 3 and result.segments == n
    # Segments are read in batches: progress is reported per batch, ending at (n, n).
    assert calls and calls[-1] == (n, n) and all(total == n for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    calls.clear()
    assert compact_stream(location, stream, progress=lambda d, t: calls.append((d, t))).status == "up-to-date"
    assert calls == []


def test_incremental_compaction_reads_only_new_segments(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = populate(store_uri, rounds=2)
    location = open_location(store_uri)
    target, other = ids
    stream = partition_stream(target)
    read: list[str] = []
    real_read = compact_module.read_segment_batch

    def counting(location: Location, rels: Any) -> Any:
        read.extend(rels)
        return real_read(location, rels)

    monkeypatch.setattr(compact_module, "read_segment_batch", counting)
    first = compact_stream(location, stream)
    old = {f"{stream.name}/segments/{s}" for s in segments_of(store_uri, stream.name)}
    assert sorted(read) == sorted(old)
    assert first.segments == len(old)

    log_rounds(store_uri, ids, start=7)
    new = {f"{stream.name}/segments/{s}" for s in segments_of(store_uri, stream.name)} - old
    assert len(new) == 1
    read.clear()
    second = compact_stream(location, stream)
    assert read == sorted(new)  # the old segments are not read again: the reduced state stands for them
    assert all(rel.startswith(f"{stream.name}/") for rel in read)  # nor another partition's segments
    commit = latest_commit(location, stream)
    assert commit is not None and commit.version == 2
    assert commit.stats["segments"] == 1 == second.segments
    new_events = real_read(location, sorted(new)).events.height
    assert commit.stats["events"] == new_events == second.events
    assert set(commit.folded) == old | new
    assert {commit.folded[rel] for rel in old} == {1} and {commit.folded[rel] for rel in new} == {2}
    assert latest_commit(location, partition_stream(other)) is None


def test_reads_after_compaction_read_only_the_tail(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = populate(store_uri, experiments=1, rounds=3)
    stream = partition_stream(next(iter(ids)))
    compact_all(store_uri)
    log_rounds(store_uri, ids, start=9)
    tail = {f"{stream.name}/segments/{s}" for s in segments_of(store_uri, stream.name)} - set(
        latest_commit(open_location(store_uri), stream).folded  # type: ignore[union-attr]
    )
    assert len(tail) == 1
    read: list[str] = []
    real = snapshot_module.read_segment_batch

    def counting(location: Location, rels: Any) -> Any:
        read.extend(rels)
        return real(location, rels)

    monkeypatch.setattr(snapshot_module, "read_segment_batch", counting)
    answers = read_all(store_uri)
    partition_reads = {rel for rel in read if rel.startswith(f"{stream.name}/")}
    assert partition_reads == tail
    assert any(key[0] == "history" for key in answers if isinstance(key, tuple))


def test_commit_records_are_sequential_and_complete(store_uri: str) -> None:
    ids = populate(store_uri, experiments=1, rounds=1)
    stream = partition_stream(next(iter(ids)))
    location = open_location(store_uri)
    for start in range(1, 4):
        result = compact_stream(location, stream)
        assert result.status == "committed" and result.version == start
        assert result.previous_version == (start - 1 if start > 1 else None)
        log_rounds(store_uri, ids, start=start)
    assert committed_versions(location, stream) == [1, 2, 3]
    raw = json.loads(Path(store_uri, stream.commits_dir, "0000000003.json").read_bytes())
    commit = Commit.from_json(json.dumps(raw).encode())
    assert commit.stream == stream.name and commit.version == 3 and commit.quarantined == {}
    assert set(commit.tables) >= {"state", "runs", "params", "tags", "latest_metrics", "param_conflicts"}
    for rel in [*commit.tables.values(), *commit.history]:
        assert location.exists(rel)
    unfolded = {f"{stream.name}/segments/{s}" for s in segments_of(store_uri, stream.name)} - set(
        commit.folded
    )
    assert len(unfolded) == 1  # the last round, published after the last compaction
    assert os.path.basename(next(iter(unfolded))).endswith(".parquet")
