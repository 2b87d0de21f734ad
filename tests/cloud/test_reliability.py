"""Reliability on object stores, counted end to end: nothing lost, nothing duplicated.

- 8 processes log to one prefix at once (S3, GCS and Azure); every metric point, param and run is read
  back, and every event id (writer, seq) appears exactly once in the segments;
- two compactors race on S3 round after round: exactly one commit per version, answers unchanged;
- writers are killed with SIGKILL in the middle of a segment upload: the store stays readable and every
  segment is whole;
- uploads fail (before the request, or after it landed with the answer lost) and are retried: the data
  lands exactly once, under the name of the first attempt;
- corrupted, truncated and empty segments are quarantined by compaction while reads keep working;
- ``set_experiment`` raced by 8 processes gives one experiment (S3, GCS and Azure, before the logging).

Child processes are ``tests/cloud/_child.py``; they get the store from EVENTLOG_TRACKING_URI and
EVENTLOG_STORAGE_OPTIONS only.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq
import pytest
from eventlog.storage import Location
from eventlog.views import compact_stream, store_streams
from eventlog.views._layout import partition_segments
from eventlog.views._snapshot import read_segment_files, segment_paths
from eventlog.views._streams import committed_versions, partition_stream, read_commit

import eventlog
from eventlog import MlflowClient
from eventlog._registry import get_store
from eventlog._reset import reset_process_state
from eventlog.entities import ViewType
from eventlog.exceptions import BackgroundFlushError, MlflowException

from .conftest import Backend, backend_params

pytestmark = pytest.mark.cloud

CHILD = Path(__file__).with_name("_child.py")
FAULTS: dict[str, int] = {}  # faults injected, by kind (reported by the summary fixture)


class Children:
    """Child interpreters running ``_child.py``, with their output in files, released by go-files."""

    def __init__(self, workdir: Path, mode: str, args: list[list[str]], env: dict[str, str]) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.outputs = [workdir / f"{mode}-{i}.out" for i in range(len(args))]
        self.errors = [workdir / f"{mode}-{i}.err" for i in range(len(args))]
        self.procs: list[subprocess.Popen[bytes]] = []
        for i, extra in enumerate(args):
            with open(self.outputs[i], "wb") as out, open(self.errors[i], "wb") as err:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, str(CHILD), mode, str(workdir), str(i), *extra],
                        env=env,
                        cwd=workdir,
                        stdout=out,
                        stderr=err,
                        stdin=subprocess.DEVNULL,
                    )
                )

    def report(self) -> str:
        return "\n".join(
            f"--- child {i} (rc {p.poll()}) ---\n{o.read_text()}\n{e.read_text()[-3000:]}"
            for i, (p, o, e) in enumerate(zip(self.procs, self.outputs, self.errors, strict=True))
        )

    def release(self, name: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        n = len(self.procs)
        while not all((self.workdir / f"ready-{name}-{i}").exists() for i in range(n)):
            if any(p.poll() is not None for p in self.procs) or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"children not ready for {name!r}:\n{self.report()}")
            time.sleep(0.005)
        (self.workdir / f"go-{name}").touch()

    def wait_files(self, pattern: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        n = len(self.procs)
        while not all((self.workdir / pattern.format(i=i)).exists() for i in range(n)):
            if any(p.poll() not in (None, 0) for p in self.procs) or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"children did not finish {pattern!r}:\n{self.report()}")
            time.sleep(0.005)

    def wait(self, timeout: float = 180.0) -> list[list[dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        try:
            for p in self.procs:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"children timed out:\n{self.report()}")
        codes = [p.returncode for p in self.procs]
        assert codes == [0] * len(codes), f"exit codes {codes}:\n{self.report()}"
        return [[json.loads(line) for line in o.read_text().splitlines() if line] for o in self.outputs]

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.fixture
def reader() -> Iterator[None]:
    """Read as a fresh process would: no cached store, no parsed-segment cache."""
    reset_process_state()
    yield


def _fresh_client(backend: Backend) -> MlflowClient:
    reset_process_state()
    return MlflowClient(backend.uri, storage_options=backend.storage_options or None)


def _segment_events(location: Location, experiment_id: str) -> pl.DataFrame:
    rels = segment_paths(location, partition_segments(experiment_id))
    return read_segment_files(location, rels)


def _assert_event_ids_unique(events: pl.DataFrame) -> None:
    ids = events.select("writer", "seq")
    assert ids.height == ids.unique().height, "an event id (writer, seq) appears twice"


def _runs_frame(experiment_id: str) -> pl.DataFrame:
    frame = eventlog.search_runs(
        experiment_ids=[experiment_id], output_format="polars", order_by=["attributes.run_name ASC"]
    )
    return frame.drop([c for c in frame.columns if c in ("start_time", "end_time")])


# -- 8 processes: set_experiment raced, then logging at once ----------------------------------------------

PROCESSES = 8
RUNS = 2
POINTS = 300
FLUSH_EVERY = 100


@pytest.mark.parametrize("backend", backend_params(("s3", "gcs", "azure")), indirect=True)
def test_processes_racing_set_experiment_then_logging_lose_and_duplicate_nothing(
    backend: Backend, tmp_path: Path
) -> None:
    children = Children(
        tmp_path / "work",
        "log",
        [["many-writers", str(RUNS), str(POINTS), str(FLUSH_EVERY)] for _ in range(PROCESSES)],
        backend.child_env(EVENTLOG_FLUSH_INTERVAL="0.5"),
    )
    children.release("set")  # every child calls set_experiment("many-writers") at once
    children.release("log")  # then they all log at once
    reports = [lines[-1] for lines in children.wait()]

    # One experiment, whatever the race: every child got its id.
    ids = {r["experiment_id"] for r in reports}
    assert len(ids) == 1, reports
    [experiment_id] = ids
    client = _fresh_client(backend)
    named = [e for e in client.search_experiments(view_type=ViewType.ALL) if e.name == "many-writers"]
    assert [e.experiment_id for e in named] == [experiment_id]

    # Every run, param and metric point, read back by a fresh reader.
    logged_points = sum(r["points"] for r in reports)
    assert logged_points == PROCESSES * RUNS * POINTS
    runs = client.search_runs([experiment_id], max_results=1000)
    assert sorted(r.info.run_name for r in runs) == sorted(
        f"p{i}-r{r}" for i in range(PROCESSES) for r in range(RUNS)
    )
    assert {r.info.run_id for r in runs} == {run_id for rep in reports for run_id in rep["runs"]}
    read_points = 0
    for run in runs:
        i, r = (int(x[1:]) for x in run.info.run_name.split("-"))
        assert run.data.params == {"proc": str(i), "run": str(r)}
        assert run.data.tags["writer"] == f"p{i}"
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "m")
        assert [(m.step, m.value) for m in history] == [(s, i * 1e6 + r * 1e3 + s) for s in range(POINTS)]
        read_points += len(history)
    assert read_points == logged_points

    # The segments themselves: every event once.
    location = get_store(backend.uri, backend.storage_options).location
    events = _segment_events(location, experiment_id)
    _assert_event_ids_unique(events)
    assert events.filter(pl.col("kind") == "metric").height == logged_points
    assert events.filter(pl.col("kind") == "param").height == PROCESSES * RUNS * 2
    assert events.filter(pl.col("kind") == "run_created").height == PROCESSES * RUNS

    # Compaction changes how fast reads are, not what they return.
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    before = _runs_frame(experiment_id)
    results = [compact_stream(location, s) for s in store_streams(location)]
    assert {r.stream: r.status for r in results}[f"experiments/{experiment_id}"] == "committed"
    reset_process_state()
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    assert _runs_frame(experiment_id).equals(before)
    _record(
        "processes",
        PROCESSES,
        backend=backend.name,
        experiments=len(named),
        points=logged_points,
        read=read_points,
        events=events.height,
    )


# -- racing compactors ------------------------------------------------------------------------------------

COMPACT_ROUNDS = 4


def test_two_compactors_racing_commit_each_version_once(s3: Backend, tmp_path: Path) -> None:
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    experiment_id = eventlog.create_experiment("raced-compaction")
    location = get_store().location
    children = Children(tmp_path / "work", "compact", [[str(COMPACT_ROUNDS)]] * 2, s3.child_env())
    answers = []
    for k in range(COMPACT_ROUNDS):
        with eventlog.start_run(experiment_id=experiment_id, run_name=f"round-{k}"):
            eventlog.log_param("round", k)
            eventlog.log_metrics({"loss": 1.0 / (k + 1), "acc": k / 10}, step=k)
        answers.append(_runs_frame(experiment_id))
        children.release(f"compact{k}")
        children.wait_files(f"done-compact{k}-{{i}}")
        # A reader after the round gets what it got before it.
        reset_process_state()
        eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
        assert _runs_frame(experiment_id).equals(answers[-1])
    outputs = children.wait()

    stream = f"experiments/{experiment_id}"
    statuses: dict[int, list[str]] = {}
    versions: dict[int, list[int]] = {}
    for lines in outputs:
        for line in lines:
            result = next(r for r in line["results"] if r["stream"] == stream)
            statuses.setdefault(line["round"], []).append(result["status"])
            if result["version"] is not None:
                versions.setdefault(line["round"], []).append(result["version"])
    for k in range(COMPACT_ROUNDS):
        assert statuses[k].count("committed") == 1, f"round {k}: {statuses[k]}"
        assert set(statuses[k]) <= {"committed", "lost-race", "up-to-date"}
        assert versions[k] == [k + 1]
    # One commit record per version, each naming a view directory that exists; the losers' files are gone.
    stream_obj = partition_stream(experiment_id)
    committed = committed_versions(location, stream_obj)
    assert committed == list(range(1, COMPACT_ROUNDS + 1))
    dirs = {read_commit(location, stream_obj, v).tables["runs"].rsplit("/", 1)[0] for v in committed}
    assert {f"{stream_obj.views_dir}/{d}" for d in location.list_dirs(stream_obj.views_dir)} == dirs
    lost = sum(s.count("lost-race") for s in statuses.values())
    _record("compactor_races", COMPACT_ROUNDS, lost_races=lost)


# -- SIGKILL during a segment upload ----------------------------------------------------------------------

# (the upload during which to kill, when: a fraction of the previous upload's duration after it starts)
KILLS = [(2, 0.0), (2, 0.5), (3, 0.9), (3, 1.5)]
BATCH = 20_000


def _read_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


@pytest.mark.parametrize("upload, fraction", KILLS, ids=[f"upload{u}-at{f}" for u, f in KILLS])
def test_writer_killed_during_a_segment_upload(
    s3: Backend, tmp_path: Path, upload: int, fraction: float
) -> None:
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    experiment_id = eventlog.create_experiment("killed-writers")
    children = Children(
        tmp_path / "work",
        "upload_loop",
        [[experiment_id, str(BATCH)]],
        s3.child_env(EVENTLOG_FLUSH_INTERVAL="60"),
    )
    out = children.outputs[0]
    proc = children.procs[0]
    # The child traces its uploads after the run is created: upload n is its n-th batch of metric points.
    deadline = time.monotonic() + 60
    while not (begun := [line for line in _read_lines(out) if line.get("begin") == upload]):
        if proc.poll() is not None or time.monotonic() > deadline:
            children.kill()
            pytest.fail(f"child never reached upload {upload}:\n{children.report()}")
        time.sleep(0.0005)
    lines = _read_lines(out)
    previous = [line["t"] for line in lines if upload - 1 in (line.get("begin"), line.get("end"))]
    kill_at = begun[0]["t"] + fraction * (previous[1] - previous[0])
    delay = max(0.0, kill_at - time.time())
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    lines = _read_lines(out)
    ended = max((line["end"] for line in lines if "end" in line), default=0)
    run_id = next(line["run_id"] for line in lines if "run_id" in line)

    # Every segment in the store is whole (object stores publish with one PUT).
    location = get_store().location
    rels = segment_paths(location, partition_segments(experiment_id))
    for rel in rels:
        pq.read_table(io.BytesIO(location.read_bytes(rel)))  # parses whole
    events = _segment_events(location, experiment_id)
    _assert_event_ids_unique(events)
    steps = sorted(events.filter(pl.col("kind") == "metric").get_column("step").to_list())
    # Each finished upload landed; the one killed landed whole or not at all; nothing after it.
    metric_uploads_done = ended
    assert len(steps) in (metric_uploads_done * BATCH, (metric_uploads_done + 1) * BATCH), children.report()
    assert steps == list(range(len(steps)))

    # The store stays readable and compactable; the killed run is simply still RUNNING.
    client = _fresh_client(s3)
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING"
    assert len(client.get_metric_history(run_id, "m")) == len(steps)
    results = [compact_stream(location, s) for s in store_streams(location, [experiment_id])]
    assert results[0].status == "committed" and not results[0].quarantined
    assert len(_fresh_client(s3).get_metric_history(run_id, "m")) == len(steps)
    _record("sigkill", 1, upload=upload, delay_ms=round(delay * 1000, 1), landed=len(steps) > ended * BATCH)


# -- failed uploads, retried ------------------------------------------------------------------------------


class _Faulty:
    """Wraps ``fs.pipe_file``: the first upload whose path contains ``match`` fails, either before the
    request (``when="before"``) or after the object landed, the answer lost (``when="after"``)."""

    def __init__(self, fs: Any, match: str, when: str) -> None:
        self.fs, self.match, self.when = fs, match, when
        self.real = fs.pipe_file
        self.failed: list[str] = []
        self.calls: list[str] = []

    def __call__(self, path: str, data: bytes, **kwargs: Any) -> Any:
        self.calls.append(path)
        if self.match in path and not self.failed:
            self.failed.append(path)
            FAULTS[self.when] = FAULTS.get(self.when, 0) + 1
            if self.when == "after":
                self.real(path, data, **kwargs)
            raise ConnectionResetError(104, "Connection reset by peer (injected)")
        return self.real(path, data, **kwargs)


@pytest.mark.parametrize("when", ["before", "after"])
def test_failed_segment_upload_is_retried_and_lands_once(
    s3: Backend, when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    experiment_id = eventlog.create_experiment("retried")
    run = eventlog.start_run(experiment_id=experiment_id)
    location = get_store().location
    faulty = _Faulty(location.fs, "/segments/", when)
    monkeypatch.setattr(location.fs, "pipe_file", faulty)
    for step in range(500):
        eventlog.log_metric("m", float(step), step=step)
    eventlog.log_param("p", "v")
    with pytest.raises(MlflowException, match="injected"):
        eventlog.flush()
    eventlog.flush()  # the retry
    eventlog.end_run()
    monkeypatch.undo()

    failed = faulty.failed[0]
    assert faulty.calls.count(failed) == 2  # retried under the same name
    events = _segment_events(location, experiment_id)
    _assert_event_ids_unique(events)
    assert events.filter(pl.col("kind") == "metric").height == 500
    rel = failed[len(location.root) + 1 :]
    assert rel in segment_paths(location, partition_segments(experiment_id))
    client = _fresh_client(s3)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "m")] == list(range(500))
    assert client.get_run(run.info.run_id).data.params == {"p": "v"}


def test_failed_background_flush_surfaces_and_is_retried(
    s3: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "0.1")
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    experiment_id = eventlog.create_experiment("background")
    run = eventlog.start_run(experiment_id=experiment_id)
    location = get_store().location
    faulty = _Faulty(location.fs, "/segments/", "before")
    monkeypatch.setattr(location.fs, "pipe_file", faulty)
    for step in range(100):
        eventlog.log_metric("m", float(step), step=step)
    deadline = time.monotonic() + 30
    while not faulty.failed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert faulty.failed, "the background flush never ran"
    with pytest.raises(BackgroundFlushError):
        eventlog.log_metric("m", 100.0, step=100)
    eventlog.log_metric("m", 100.0, step=100)  # the error was reported once; logging goes on
    eventlog.end_run()
    monkeypatch.undo()
    client = _fresh_client(s3)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "m")] == list(range(101))
    events = _segment_events(location, experiment_id)
    _assert_event_ids_unique(events)


@pytest.mark.parametrize("when", ["before", "after"])
def test_failed_experiment_claim_retried_gives_one_experiment(
    s3: Backend, when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    eventlog.set_experiment("warm-up")  # the store and Default exist
    location = get_store().location
    faulty = _Faulty(location.fs, "catalog/names/", when)
    monkeypatch.setattr(location.fs, "pipe_file", faulty)
    with pytest.raises((MlflowException, OSError), match="injected"):
        eventlog.set_experiment("claimed")
    experiment = eventlog.set_experiment("claimed")  # the user's retry
    monkeypatch.undo()
    reset_process_state()
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    named = [e for e in eventlog.search_experiments(view_type=ViewType.ALL) if e.name == "claimed"]
    assert [e.experiment_id for e in named] == [experiment.experiment_id]


# -- corrupted segments -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", backend_params(("s3", "azure")), indirect=True)
def test_corrupted_segments_are_quarantined_and_reads_keep_working(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    experiment_id = eventlog.create_experiment("corrupted")
    for i in range(3):
        with eventlog.start_run(experiment_id=experiment_id, run_name=f"good-{i}"):
            eventlog.log_metric("loss", i / 10, step=i)
            eventlog.log_param("i", i)
    location = get_store().location
    before = _runs_frame(experiment_id)
    segments = partition_segments(experiment_id)
    good = location.read_bytes(segment_paths(location, segments)[0])
    damaged = {
        f"{segments}/{'e' * 28}-0000000001.parquet": b"this is not parquet",
        f"{segments}/{'e' * 28}-0000000002.parquet": good[: len(good) // 2],  # truncated
        f"{segments}/{'e' * 28}-0000000003.parquet": b"",  # empty
    }
    for rel, data in damaged.items():
        location.put_if_absent(rel, data)
    FAULTS["corrupted_segments"] = FAULTS.get("corrupted_segments", 0) + len(damaged)

    reset_process_state()
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    assert _runs_frame(experiment_id).equals(before)  # damaged files skipped, with a warning
    assert "skipping unreadable segment" in caplog.text

    location = get_store().location
    [result] = [compact_stream(location, s) for s in store_streams(location, [experiment_id])]
    assert result.status == "committed"
    assert set(result.quarantined) == set(damaged)
    stream = partition_stream(experiment_id)
    quarantine = location.list_names(stream.quarantine_dir)
    assert sorted(quarantine) == sorted(rel.replace("/", "__") for rel in damaged)
    for rel, data in damaged.items():
        assert location.read_bytes(f"{stream.quarantine_dir}/{rel.replace('/', '__')}") == data
    reset_process_state()
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    assert _runs_frame(experiment_id).equals(before)
    # A second compaction does not quarantine them again, and the store takes new runs.
    with eventlog.start_run(experiment_id=experiment_id, run_name="after"):
        eventlog.log_metric("loss", 0.5)
    [again] = [compact_stream(location, s) for s in store_streams(location, [experiment_id])]
    assert again.status == "committed" and not again.quarantined
    assert sorted(_runs_frame(experiment_id).get_column("tags.mlflow.runName")) == [
        "after",
        "good-0",
        "good-1",
        "good-2",
    ]


# -- figures ----------------------------------------------------------------------------------------------

FIGURES: list[dict[str, Any]] = []


def _record(kind: str, count: int, **details: Any) -> None:
    FIGURES.append({"kind": kind, "count": count, **details})


@pytest.fixture(scope="module", autouse=True)
def _figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    path = os.environ.get("EVENTLOG_RELIABILITY_REPORT")
    if path:
        Path(path).write_text(json.dumps({"figures": FIGURES, "faults": FAULTS}, indent=2))
