"""What a run's lifecycle writes, and when another process sees it.

- ``create_run`` / ``start_run`` write nothing: the run's creation events go out with the next flush (the
  timer, ``end_run``, a read, ``flush()``), and nothing else does: run ids name their partition
  (``views.layout.run_location``), so there is no run-index entry to write;
- a run flushed in one process is found by ``get_run`` and ``search_runs`` in another; one never
  flushed is not;
- runs whose ids do not name their partition (imported, synced) get run-index entries, one batch file per
  flush, not fsynced; ``get_run`` of a run whose entry is missing or damaged, or whose id names the wrong
  partition, searches the partitions; an unknown run id is still RESOURCE_DOES_NOT_EXIST;
- durability: by default ``set_terminated`` / ``end_run`` are durable when they return; with
  ``EVENTLOG_DURABILITY=interval`` the background flusher makes them durable within the interval, and a
  SIGKILL loses at most what was not flushed (never a partial or corrupt file);
- ``EVENTLOG_DURABILITY=bogus`` is a clear error.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from eventlog.storage import Location, open_location
from eventlog.views import compact_stream, layout, list_run_index, store_streams

import eventlog as mlflow
from eventlog import MlflowClient
from eventlog._events import RunCreated
from eventlog.cli import main
from eventlog.entities import Metric, Param, RunStatus, ViewType
from eventlog.exceptions import MlflowException

_ALIASES = itertools.count(1)

# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------


def files_under(root: str) -> set[str]:
    """Every file of the store (temporary files included), relative to its root."""
    base = Path(root)
    return (
        {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()} if base.exists() else set()
    )


def reader(root: str) -> MlflowClient:
    """A client with its own store object and caches, as another process would have."""
    return MlflowClient("file://" + root + "/" * next(_ALIASES))


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    env["EVENTLOG_AUTO_COMPACT"] = "0"
    env.update(extra)
    return env


class Child:
    """A Python child process whose stdout lines are collected by a thread."""

    def __init__(self, script: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._stderr = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._queue.put(raw.decode().rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 120.0) -> str:
        """The first new line that satisfies ``predicate`` (lines before it are kept in ``lines``)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.kill()
                pytest.fail(
                    f"child exited or timed out (exit {self.proc.poll()}) after {self.lines[-3:]}:\n"
                    f"{self.log.read_text()}"
                )
            self.lines.append(line)
            if predicate(line):
                return line

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._stderr.close()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    started: list[Child] = []

    def start(script: str, *args: str, **env: str) -> Child:
        child = Child(script, list(args), child_env(**env), tmp_path / f"child-{len(started)}.log")
        started.append(child)
        return child

    yield start
    for child in started:
        child.kill()


def segments_of(root: str, experiment_id: str) -> list[str]:
    base = Path(root, "experiments", experiment_id, "segments")
    return sorted(
        p.relative_to(base).as_posix()
        for p in base.rglob("*.parquet")
        if p.is_file() and not p.name.startswith(".tmp-")
    )


# ---------------------------------------------------------------------------------------------------------
# (a) creating a run writes nothing
# ---------------------------------------------------------------------------------------------------------


def test_create_run_and_start_run_publish_nothing_until_a_flush(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    client = MlflowClient(store_uri)
    experiment_id = client.create_experiment("lifecycle")
    mlflow.set_tracking_uri(store_uri)
    mlflow.set_experiment("lifecycle")
    before = files_under(store_uri)

    created = client.create_run(experiment_id, run_name="by-client", tags={"a": "1"})
    parent = mlflow.start_run(run_name="by-fluent")
    child = mlflow.start_run(run_name="nested", nested=True)
    mlflow.log_param("p", "v")
    assert files_under(store_uri) == before, "creating runs wrote files"

    mlflow.flush()
    new = files_under(store_uri) - before
    run_ids = {created.info.run_id, parent.info.run_id, child.info.run_id}
    # One segment (every run's creation and the param), and nothing else: no run-index entries.
    assert len(new) == 1
    (segment,) = new
    assert segment.startswith(f"experiments/{experiment_id}/segments/")
    assert segment.split("/")[3].isdigit() and len(segment.split("/")) == 5  # in a bucket directory
    assert {layout.run_location(r) for r in run_ids} == {("id", int(experiment_id))}
    other = reader(store_uri)
    assert other.get_run(created.info.run_id).data.tags["a"] == "1"
    assert other.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert other.get_run(child.info.run_id).data.params == {"p": "v"}
    mlflow.end_run()
    mlflow.end_run()


def test_a_short_run_costs_one_segment(store_uri: str) -> None:
    client = MlflowClient(store_uri)
    experiment_id = client.create_experiment("short")
    before = files_under(store_uri)
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "1")])
    client.set_terminated(run_id)  # default durability: flushed here
    new = files_under(store_uri) - before
    assert len(new) == 1 and len(segments_of(store_uri, experiment_id)) == 1
    assert reader(store_uri).get_run(run_id).info.status == "FINISHED"


def foreign_runs(client: MlflowClient, experiment_id: str, run_ids: list[str]) -> None:
    """Runs with ids eventlog did not make (as an import or a sync brings them): their creation events
    and their run-index entries, through the writer, as those tools write them."""
    store = client._store
    for run_id in run_ids:
        store.writer.note_new_run(run_id, experiment_id)
        store.writer.append([RunCreated(experiment_id, run_id, f"r-{run_id[:4]}", "u", 1, f"/a/{run_id}")])
        store._register(run_id, experiment_id, deleted=False, params={})


def test_foreign_run_ids_get_one_index_file_per_flush_before_the_segment_and_without_fsync(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient(store_uri)
    experiment_id = client.create_experiment("order")
    writes: list[tuple[str, bool]] = []
    real_put = Location.put_if_absent

    def recording_put(self: Location, rel: str, data: bytes, *, durable: bool = True) -> None:
        writes.append((rel, durable))
        real_put(self, rel, data, durable=durable)

    monkeypatch.setattr(Location, "put_if_absent", recording_put)
    run_ids = [uuid.uuid4().hex for _ in range(3)]
    foreign_runs(client, experiment_id, run_ids)
    located = client.create_run(experiment_id).info.run_id
    assert writes == []
    client.flush()
    (index, segment) = writes
    assert index[0].startswith("runs/index/") and index[1] is False  # a hint: not fsynced
    entries = json.loads(Path(store_uri, index[0]).read_bytes())
    assert entries == {"runs": dict.fromkeys(run_ids, experiment_id)}
    assert segment[0].startswith(f"experiments/{experiment_id}/segments/") and segment[1] is True
    writes.clear()
    client.log_param(run_ids[0], "p", "1")
    client.log_param(located, "p", "1")
    client.flush()
    assert [rel for rel, _ in writes if rel.startswith("runs/")] == []  # entries once, at creation
    other = reader(store_uri)
    for run_id in [*run_ids, located]:
        assert other.get_run(run_id).info.experiment_id == experiment_id


def test_the_timer_publishes_a_created_run(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "0.2")
    client = MlflowClient(store_uri)
    experiment_id = client.create_experiment("timer")
    run_id = client.create_run(experiment_id).info.run_id
    deadline = time.monotonic() + 30
    while not segments_of(store_uri, experiment_id):
        assert time.monotonic() < deadline, "the background flush never published the run"
        time.sleep(0.05)
    assert reader(store_uri).get_run(run_id).info.status == "RUNNING"


# ---------------------------------------------------------------------------------------------------------
# (b) flushed runs are seen by other processes, unflushed ones are not
# ---------------------------------------------------------------------------------------------------------

_STARTER = r"""
import sys, time
import eventlog as mlflow
uri, experiment, mode = sys.argv[1:4]
mlflow.set_tracking_uri(uri)
mlflow.set_experiment(experiment)
run = mlflow.start_run(run_name=mode)
mlflow.log_param("mode", mode)
if mode == "end_run":
    mlflow.end_run()
elif mode == "flush":
    mlflow.flush()
print(run.info.run_id, flush=True)
time.sleep(600)  # alive, and never flushing again (EVENTLOG_FLUSH_INTERVAL is an hour): killed by the test
"""


@pytest.mark.slow
def test_runs_flushed_in_another_process_are_found_and_unflushed_ones_are_not(
    store_uri: str, children: Callable[..., Child]
) -> None:
    client = MlflowClient(store_uri)
    experiment_id = client.create_experiment("shared")
    modes = ("end_run", "flush", "unflushed")
    started = {m: children(_STARTER, store_uri, "shared", m, EVENTLOG_FLUSH_INTERVAL="3600") for m in modes}
    run_ids = {m: child.wait_for(lambda line: len(line) == 32) for m, child in started.items()}

    other = reader(store_uri)
    ended = other.get_run(run_ids["end_run"])
    assert ended.info.status == "FINISHED" and ended.data.params == {"mode": "end_run"}
    assert ended.info.experiment_id == experiment_id and ended.info.run_name == "end_run"
    flushed = other.get_run(run_ids["flush"])
    assert flushed.info.status == "RUNNING" and flushed.data.params == {"mode": "flush"}
    with pytest.raises(MlflowException) as missing:
        other.get_run(run_ids["unflushed"])
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    mlflow.set_tracking_uri(store_uri)
    found = mlflow.search_runs(experiment_ids=[experiment_id], output_format="list")
    assert {r.info.run_id: r.info.status for r in found} == {
        run_ids["end_run"]: "FINISHED",
        run_ids["flush"]: "RUNNING",
    }
    by_filter = client.search_runs([experiment_id], "params.mode = 'flush'")
    assert [r.info.run_id for r in by_filter] == [run_ids["flush"]]

    # Killed before any flush: the unflushed run is lost, the others stay as they were.
    for child in started.values():
        child.kill()
    after = {
        r.info.run_id for r in reader(store_uri).search_runs([experiment_id], run_view_type=ViewType.ALL)
    }
    assert after == {run_ids["end_run"], run_ids["flush"]}


# ---------------------------------------------------------------------------------------------------------
# (c) the run index is a hint: get_run searches the partitions without it
# ---------------------------------------------------------------------------------------------------------


def _runs_in_three_experiments(
    store_uri: str, *, foreign: bool = False
) -> tuple[MlflowClient, dict[str, str]]:
    client = MlflowClient(store_uri)
    placed: dict[str, str] = {}
    for name in ("a", "b", "c"):
        experiment_id = client.create_experiment(name)
        if foreign:
            run_id = uuid.uuid4().hex
            foreign_runs(client, experiment_id, [run_id])
        else:
            run_id = client.create_run(experiment_id, run_name=f"in-{name}").info.run_id
        client.log_batch(run_id, metrics=[Metric("m", 2.0, 5, 1)], params=[Param("where", name)])
        placed[run_id] = experiment_id
    client.flush()
    return client, placed


def _check_found(store_uri: str, run_id: str, experiment_id: str, where: str) -> None:
    other = reader(store_uri)
    run = other.get_run(run_id)
    assert run.info.experiment_id == experiment_id
    assert run.data.params == {"where": where} and run.data.metrics == {"m": 2.0}
    assert [(m.step, m.value) for m in other.get_metric_history(run_id, "m")] == [(1, 2.0)]
    # The handle found that way is good for writing too.
    other.log_param(run_id, "later", "yes")
    other.set_terminated(run_id)
    again = reader(store_uri).get_run(run_id)
    assert again.data.params == {"where": where, "later": "yes"} and again.info.status == "FINISHED"


@pytest.mark.parametrize("damage", ["deleted", "empty", "garbage", "truncated"])
def test_get_run_finds_a_run_whose_index_entry_is_missing_or_damaged(store_uri: str, damage: str) -> None:
    _, placed = _runs_in_three_experiments(store_uri, foreign=True)
    run_id, experiment_id = list(placed.items())[-1]  # the last experiment searched
    (entry,) = [p for p in Path(store_uri, "runs", "index").iterdir() if run_id in p.read_text()]
    text = entry.read_text()
    if damage == "deleted":
        entry.unlink()
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "garbage":
        entry.write_bytes(b"\x00\xff not json")
    else:
        entry.write_text(text[: len(text) // 2])
    _check_found(store_uri, run_id, experiment_id, "c")


def test_a_run_whose_id_names_the_wrong_partition_is_found_by_searching(store_uri: str) -> None:
    client = MlflowClient(store_uri)
    ids = [client.create_experiment(name) for name in ("a", "b", "c")]
    # An id that says "experiment a" for a run that lives in c (a sync into a store numbered otherwise).
    run_id = layout.located_run_id(ids[0])
    foreign_runs(client, ids[2], [run_id])
    client.log_batch(run_id, metrics=[Metric("m", 2.0, 5, 1)], params=[Param("where", "c")])
    client.flush()
    shutil.rmtree(Path(store_uri, "runs"))  # and no index entry to say otherwise
    _check_found(store_uri, run_id, ids[2], "c")


def test_the_run_index_of_stores_written_before_located_ids_is_read(store_uri: str) -> None:
    _, placed = _runs_in_three_experiments(store_uri, foreign=True)
    shutil.rmtree(Path(store_uri, "runs"))
    run_id, experiment_id = list(placed.items())[1]
    legacy = Path(store_uri, layout.run_index_path(run_id))
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({"experiment_id": experiment_id}))
    assert list_run_index(open_location(store_uri), run_id) == experiment_id
    _check_found(store_uri, run_id, experiment_id, "b")


@pytest.mark.parametrize("foreign", [False, True], ids=["located", "foreign"])
def test_get_run_without_index_entries_after_compaction_and_in_a_deleted_experiment(
    store_uri: str, foreign: bool
) -> None:
    client, placed = _runs_in_three_experiments(store_uri, foreign=foreign)
    (first_run, first_experiment), *_ = placed.items()
    client.delete_experiment(first_experiment)
    location = open_location(store_uri)
    for stream in store_streams(location):
        compact_stream(location, stream, retention_s=0)  # the partitions' segments go: views only
    shutil.rmtree(Path(store_uri, "runs"), ignore_errors=True)
    other = reader(store_uri)
    for run_id, experiment_id in placed.items():
        run = other.get_run(run_id)
        assert run.info.experiment_id == experiment_id and run.data.metrics == {"m": 2.0}
    assert other.get_run(first_run).info.lifecycle_stage == "deleted"


def test_an_unknown_run_id_is_still_resource_does_not_exist(store_uri: str) -> None:
    _runs_in_three_experiments(store_uri)
    other = reader(store_uri)
    unknown = uuid.uuid4().hex
    with pytest.raises(MlflowException) as raised:
        other.get_run(unknown)
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert unknown in str(raised.value)
    with pytest.raises(MlflowException) as logging_to_it:
        other.log_param(unknown, "k", "v")
    assert logging_to_it.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert other.get_metric_history(unknown, "m") == []
    assert not Path(store_uri, "runs").exists()
    # An id that names an existing partition which does not hold it: searched, then not found.
    located = layout.located_run_id("1")
    with pytest.raises(MlflowException) as raised:
        other.get_run(located)
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# ---------------------------------------------------------------------------------------------------------
# (d) durability of the run lifecycle
# ---------------------------------------------------------------------------------------------------------


def test_set_terminated_flushes_by_default_and_not_in_interval_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    published: dict[str, tuple[int, int, int]] = {}
    for durability in ("", "interval", "end_run"):
        monkeypatch.setenv("EVENTLOG_DURABILITY", durability)
        root = str(tmp_path / f"store-{durability or 'default'}")
        client = MlflowClient(root)
        experiment_id = client.create_experiment("d")
        run_id = client.create_run(experiment_id).info.run_id
        mlflow.set_tracking_uri(root)
        fluent = mlflow.start_run(experiment_id=experiment_id)
        client.set_terminated(run_id)
        after_set_terminated = len(segments_of(root, experiment_id))
        mlflow.end_run()
        after_end_run = len(segments_of(root, experiment_id))
        client.flush()
        published[durability] = (after_set_terminated, after_end_run, len(segments_of(root, experiment_id)))
        ended = reader(root)
        assert {ended.get_run(r).info.status for r in (run_id, fluent.info.run_id)} == {"FINISHED"}
    # (segments after set_terminated, after end_run, after flush)
    assert published == {"": (1, 2, 2), "end_run": (1, 2, 2), "interval": (0, 0, 1)}


_TERMINATOR = r"""
import sys, time
from eventlog import MlflowClient
from eventlog._events import RunCreated
uri, experiment_id = sys.argv[1:3]
client = MlflowClient(uri)
run_id = client.create_run(experiment_id).info.run_id
client.log_param(run_id, "p", "1")
client.set_terminated(run_id)
print(run_id, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_finished_is_visible_to_another_process_when_set_terminated_returns(
    store_uri: str, children: Callable[..., Child]
) -> None:
    experiment_id = MlflowClient(store_uri).create_experiment("durable")
    child = children(_TERMINATOR, store_uri, experiment_id, EVENTLOG_FLUSH_INTERVAL="3600")
    run_id = child.wait_for(lambda line: len(line) == 32)
    run = reader(store_uri).get_run(run_id)  # at once: no waiting, no flush but set_terminated's
    assert run.info.status == "FINISHED" and run.data.params == {"p": "1"}


@pytest.mark.slow
def test_interval_durability_makes_the_end_visible_within_the_interval(
    store_uri: str, children: Callable[..., Child]
) -> None:
    experiment_id = MlflowClient(store_uri).create_experiment("interval")
    child = children(
        _TERMINATOR,
        store_uri,
        experiment_id,
        EVENTLOG_DURABILITY="interval",
        EVENTLOG_FLUSH_INTERVAL="0.2",
    )
    run_id = child.wait_for(lambda line: len(line) == 32)
    seen_at = time.monotonic()
    status = None
    while time.monotonic() - seen_at < 15:  # 0.2 s on an idle machine; this one may be loaded
        try:
            status = reader(store_uri).get_run(run_id).info.status
        except MlflowException:
            status = None
        if status == "FINISHED":
            break
        time.sleep(0.05)
    assert status == "FINISHED", "the background flusher never published set_terminated"


_KILLED = r"""
import sys
from eventlog import MlflowClient
from eventlog._events import RunCreated
uri, experiment_id = sys.argv[1:3]
client = MlflowClient(uri)
k = 0
while True:
    run_id = client.create_run(experiment_id, run_name=f"r{k:05d}").info.run_id
    client.log_param(run_id, "k", str(k))
    client.set_terminated(run_id)
    print("terminated", k, run_id, flush=True)
    if k % 5 == 4:
        client.flush()
        print("flushed", k, flush=True)
    k += 1
"""


@pytest.mark.slow
def test_sigkill_in_interval_mode_loses_at_most_the_unflushed_runs(
    store_uri: str, children: Callable[..., Child]
) -> None:
    experiment_id = MlflowClient(store_uri).create_experiment("killed")
    child = children(
        _KILLED, store_uri, experiment_id, EVENTLOG_DURABILITY="interval", EVENTLOG_FLUSH_INTERVAL="0.2"
    )
    child.wait_for(lambda line: line.startswith("flushed") and int(line.split()[1]) >= 14)
    child.wait_for(lambda line: line.startswith("terminated"))  # right after a set_terminated
    child.kill()
    flushed = max(int(line.split()[1]) for line in child.lines if line.startswith("flushed"))
    terminated = {
        int(line.split()[1]): line.split()[2] for line in child.lines if line.startswith("terminated")
    }

    # Nothing partial: every published segment parses, no temporary file is listed.
    location = open_location(store_uri)
    for segment in segments_of(store_uri, experiment_id):
        pq.read_table(Path(store_uri, "experiments", experiment_id, "segments", segment))
        directory = f"experiments/{experiment_id}/segments/{segment.rsplit('/', 1)[0]}"
        assert not any(n.startswith(".tmp-") for n in location.list_names(directory))

    runs = reader(store_uri).search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=10_000)
    by_name = {r.info.run_name: r for r in runs}
    assert len(by_name) == len(runs)
    # Every run reported flushed is there, whole.
    for k in range(flushed + 1):
        run = by_name[f"r{k:05d}"]
        assert run.info.run_id == terminated[k]
        assert run.info.status == "FINISHED" and run.data.params == {"k": str(k)}

    # What survived is a prefix of what was logged: whole runs, then at most one cut short, then nothing.
    def level(k: int) -> int:
        run = by_name.get(f"r{k:05d}")
        if run is None:
            return 0
        assert run.info.run_id == terminated.get(k, run.info.run_id)
        if run.info.status == RunStatus.to_string(RunStatus.FINISHED):
            assert run.data.params == {"k": str(k)}
            return 3
        return 2 if run.data.params else 1

    names = sorted(by_name)
    assert names == [f"r{k:05d}" for k in range(len(names))], "a run is missing in the middle"
    levels = [level(k) for k in range(len(names))]
    assert all(x == 3 for x in levels[:-1]), levels

    # The store compacts cleanly and reads the same afterwards.
    before = {r.info.run_id: (r.info.status, r.data.params) for r in runs}
    results = [compact_stream(location, s) for s in store_streams(location)]
    assert all(not r.quarantined and not r.lost_race for r in results)
    after = reader(store_uri).search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=10_000)
    assert {r.info.run_id: (r.info.status, r.data.params) for r in after} == before


# ---------------------------------------------------------------------------------------------------------
# (e) configuration errors
# ---------------------------------------------------------------------------------------------------------


def test_a_bogus_durability_is_a_clear_error(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLOG_DURABILITY", "bogus")
    with pytest.raises(ValueError) as raised:
        MlflowClient(store_uri)
    message = str(raised.value)
    assert "EVENTLOG_DURABILITY" in message and "'bogus'" in message
    assert "end_run" in message and "interval" in message
    mlflow.set_tracking_uri(store_uri)
    with pytest.raises(ValueError, match="EVENTLOG_DURABILITY"):
        mlflow.start_run()
    result = CliRunner().invoke(main, ["runs", "--uri", store_uri])
    assert result.exit_code == 1
    assert result.output.startswith("error: EVENTLOG_DURABILITY='bogus'") and "Traceback" not in result.output
    assert files_under(store_uri) == set()  # nothing was written on the way to the error

    monkeypatch.setenv("EVENTLOG_DURABILITY", " Interval ")  # case and spaces do not matter
    client = MlflowClient(store_uri)
    assert client._store.durable_lifecycle is False
