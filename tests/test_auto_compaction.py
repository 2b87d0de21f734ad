"""Automatic compaction (eventlog/_autocompact.py): after a run-lifecycle write, at most every
``CHECK_INTERVAL_S`` per partition, a daemon thread looks at the partition's tail and, past
``max(EVENTLOG_AUTO_COMPACT_SEGMENTS, runs_in_view // 8)`` segments, starts a detached
``python -m eventlog.cli compact <uri> --experiment <id> --json``.

In-process tests check the decision (threshold, rate limit, the switch, the command); the slow ones run
real writers: a partition gets compacted with the same answers as without automatic compaction, racing
a manual compaction loop loses nothing and commits every version once, and a writer SIGKILLed while its
compaction child runs loses nothing it confirmed.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow.parquet as pq
import pytest
from eventlog.storage import open_location
from eventlog.views import compact_stream, store_streams
from eventlog.views._streams import committed_versions, latest_commit, partition_stream, read_commit

import eventlog as mlflow
import eventlog._autocompact as autocompact_module
from eventlog import MlflowClient
from eventlog._autocompact import AutoCompactor
from eventlog.entities import Metric, Run, ViewType

_ALIASES = itertools.count(1)

# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------


def reader(root: str) -> MlflowClient:
    """A client with its own store object and caches, as another process would have."""
    return MlflowClient("file://" + root + "/" * next(_ALIASES))


class FakePopen:
    """Stands in for the compaction child: records the command, runs nothing."""

    started: ClassVar[list[FakePopen]] = []

    def __init__(self, command: list[str], **kwargs: Any) -> None:
        self.command = command
        self.kwargs = kwargs
        self.pid = 4_000_000 + len(FakePopen.started)
        self.returncode: int | None = None
        FakePopen.started.append(self)

    def poll(self) -> int | None:
        return self.returncode


@pytest.fixture(autouse=True)
def _auto_compaction_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's hermetic environment turns automatic compaction off; here it is on, as by default."""
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT", "1")


@pytest.fixture
def fake_popen(monkeypatch: pytest.MonkeyPatch) -> list[FakePopen]:
    FakePopen.started = []
    # Only the module's own view of subprocess: the test itself still runs real processes.
    fake = types.SimpleNamespace(Popen=FakePopen, DEVNULL=subprocess.DEVNULL)
    monkeypatch.setattr(autocompact_module, "subprocess", fake)
    return FakePopen.started


def flushed_segments(client: MlflowClient, run_id: str, count: int) -> None:
    """``count`` more segments in the run's partition (one per flush)."""
    for i in range(count):
        client.log_metric(run_id, "m", float(i))
        client.flush()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------------------
# the decision, in process
# ---------------------------------------------------------------------------------------------------------


def test_the_tail_threshold_and_the_command(
    store_uri: str, monkeypatch: pytest.MonkeyPatch, fake_popen: list[FakePopen]
) -> None:
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT_SEGMENTS", "8")
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    client = MlflowClient(store_uri)
    compactor = client._store.auto_compactor
    assert compactor.enabled and compactor.segments == 8
    experiment_id = client.create_experiment("threshold")
    run_id = client.create_run(experiment_id).info.run_id
    flushed_segments(client, run_id, 7)
    compactor._check(experiment_id)
    assert fake_popen == []  # 7 < 8
    flushed_segments(client, run_id, 1)
    compactor._check(experiment_id)
    (child,) = fake_popen
    location = client._store.location
    assert child.command == [
        sys.executable,
        "-m",
        "eventlog.cli",
        "compact",
        location.uri,
        "--experiment",
        experiment_id,
        "--json",
        "--settle",
    ]
    assert child.kwargs["env"]["EVENTLOG_AUTO_COMPACT"] == "0"  # the child never compacts in turn
    assert child.kwargs["start_new_session"] is True
    assert child.kwargs["stdout"] == subprocess.DEVNULL and child.kwargs["stdin"] == subprocess.DEVNULL
    assert compactor._children[experiment_id] is child

    # The command the compactor runs does what it says.
    done = subprocess.run(child.command, capture_output=True, env=child.kwargs["env"], timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    (result,) = json.loads(done.stdout)
    assert result["stream"] == f"experiments/{experiment_id}" and result["status"] == "committed"
    assert result["segments"] == 8


def test_the_threshold_grows_with_the_runs_of_the_view(
    store_uri: str, monkeypatch: pytest.MonkeyPatch, fake_popen: list[FakePopen]
) -> None:
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT_SEGMENTS", "8")
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    client = MlflowClient(store_uri)
    compactor = client._store.auto_compactor
    experiment_id = client.create_experiment("big")
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(120)]
    client.flush()
    compact_stream(client._store.location, partition_stream(experiment_id))  # a view of 120 runs
    flushed_segments(client, run_ids[0], 14)
    compactor._check(experiment_id)
    assert fake_popen == []  # 14 < max(8, 120 // 8 = 15)
    flushed_segments(client, run_ids[0], 1)
    compactor._check(experiment_id)
    assert len(fake_popen) == 1


def test_checks_are_rate_limited_per_partition_and_wait_for_a_running_child(
    store_uri: str, monkeypatch: pytest.MonkeyPatch, fake_popen: list[FakePopen]
) -> None:
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT_SEGMENTS", "1")
    checked: list[str] = []
    real_check = AutoCompactor._check

    def recording_check(self: AutoCompactor, experiment_id: str) -> None:
        real_check(self, experiment_id)
        checked.append(experiment_id)

    monkeypatch.setattr(AutoCompactor, "_check", recording_check)
    monkeypatch.setattr(autocompact_module, "CHECK_INTERVAL_S", 3600.0)  # however slow this machine is
    client = MlflowClient(store_uri)
    first, second = client.create_experiment("one"), client.create_experiment("two")
    runs = {e: [client.create_run(e).info.run_id for _ in range(3)] for e in (first, second)}
    client.log_batch(runs[first][0], metrics=[Metric("m", 1.0, 1, 0)])  # logging alone checks nothing
    client.flush()
    time.sleep(0.5)
    assert checked == []

    for run_id in runs[first]:
        client.set_terminated(run_id)  # three lifecycle writes within the interval: one check
    client.set_terminated(runs[second][0])  # another partition: checked on its own
    wait_until(lambda: len(checked) == 2, 60, "two checks")
    time.sleep(0.3)
    assert sorted(checked) == sorted([first, second])
    assert sorted(c.command[6] for c in fake_popen) == sorted([first, second])

    # Past the interval, a partition whose last child still runs is not checked again...
    monkeypatch.setattr(autocompact_module, "CHECK_INTERVAL_S", 0.0)
    client.set_terminated(runs[first][0])
    time.sleep(0.5)
    assert sorted(checked) == sorted([first, second])
    # ...and once it has exited, it is.
    for child in fake_popen:
        child.returncode = 0
    client.set_terminated(runs[first][0])
    wait_until(lambda: len(checked) == 3, 60, "a third check")
    assert checked[-1] == first and len(fake_popen) == 3


def test_auto_compact_0_never_checks_nor_spawns(
    store_uri: str, monkeypatch: pytest.MonkeyPatch, fake_popen: list[FakePopen]
) -> None:
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT", "0")
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT_SEGMENTS", "1")
    monkeypatch.setattr(autocompact_module, "CHECK_INTERVAL_S", 0.0)
    called: list[str] = []
    monkeypatch.setattr(AutoCompactor, "_check", lambda self, e: called.append(e))
    client = MlflowClient(store_uri)
    assert client._store.auto_compactor.enabled is False
    experiment_id = client.create_experiment("off")
    mlflow.set_tracking_uri(store_uri)
    for _ in range(5):
        run_id = client.create_run(experiment_id).info.run_id
        client.set_terminated(run_id)
        with mlflow.start_run(experiment_id=experiment_id):
            pass
    time.sleep(0.3)
    assert called == [] and fake_popen == []
    assert committed_versions(client._store.location, partition_stream(experiment_id)) == []


def test_a_memory_store_never_spawns_a_compaction_child(
    monkeypatch: pytest.MonkeyPatch, fake_popen: list[FakePopen]
) -> None:
    """A child process has a memory filesystem of its own: it would compact an empty store (creating one
    in its memory) and exit, and as the tail never shrinks, the next lifecycle write would start another."""
    monkeypatch.setenv("EVENTLOG_AUTO_COMPACT_SEGMENTS", "1")
    client = MlflowClient("memory://auto-compaction")
    experiment_id = client.create_experiment("in-memory")
    for _ in range(3):
        client.set_terminated(client.create_run(experiment_id).info.run_id)
    for thread in threading.enumerate():
        if thread.name == "eventlog-auto-compact":
            thread.join(timeout=60)
    assert [c.command for c in fake_popen] == []


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EVENTLOG_AUTO_COMPACT", "maybe", "EVENTLOG_AUTO_COMPACT='maybe'"),
        ("EVENTLOG_AUTO_COMPACT_SEGMENTS", "0", "EVENTLOG_AUTO_COMPACT_SEGMENTS must be positive"),
        ("EVENTLOG_AUTO_COMPACT_SEGMENTS", "many", "EVENTLOG_AUTO_COMPACT_SEGMENTS='many' is not a number"),
    ],
)
def test_bad_settings_are_clear_errors(
    store_uri: str, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=message):
        MlflowClient(store_uri)


# ---------------------------------------------------------------------------------------------------------
# real writers
# ---------------------------------------------------------------------------------------------------------

_WRITER = r"""
import sys, threading, time
from eventlog import MlflowClient
from eventlog._autocompact import AutoCompactor
from eventlog.entities import Metric, Param, RunTag

uri, experiment_id, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
real_spawn = AutoCompactor._spawn

def spawn(self, experiment_id):
    real_spawn(self, experiment_id)
    print("spawned", self._children[experiment_id].pid, flush=True)

AutoCompactor._spawn = spawn
client = MlflowClient(uri)
for k in range(count):
    run_id = client.create_run(experiment_id, run_name=f"r{k:03d}").info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(k), 1000 + k, 0), Metric("m", k + 0.5, 2000 + k, 1)],
        params=[Param("k", str(k)), Param("parity", str(k % 2))],
        tags=[RunTag("t", f"v{k}")],
    )
    client.set_terminated(run_id)  # durable when it returns (the default)
    print("confirmed", k, run_id, flush=True)
    time.sleep(0.02)
time.sleep(2.2)  # past the check interval: the last lifecycle write below is checked for sure
client.set_terminated(run_id)
for thread in threading.enumerate():
    if thread.name == "eventlog-auto-compact":
        thread.join()
for child in list(client._store.auto_compactor._children.values()):
    child.wait()
print("done", flush=True)
"""


def _writer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    env.update(extra)
    return env


class Writer:
    """The writer script as a child process; its stdout lines collected by a thread."""

    def __init__(self, root: str, experiment_id: str, count: int, log: Path, **env: str) -> None:
        self.log = log
        self._stderr = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, root, experiment_id, str(count)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=_writer_env(**env),
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._queue.put(raw.decode().rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, prefix: str, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.kill()
                pytest.fail(f"writer exited or timed out before {prefix!r}:\n{self.log.read_text()}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def confirmed(self) -> dict[int, str]:
        return {int(line.split()[1]): line.split()[2] for line in self.lines if line.startswith("confirmed")}

    def spawned(self) -> list[int]:
        return [int(line.split()[1]) for line in self.lines if line.startswith("spawned")]

    def kill(self) -> None:
        """SIGKILL (if still running), then collect every line it printed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._stderr.close()
        while True:
            try:
                line = self._queue.get(timeout=30)
            except queue.Empty:
                break
            if line is None:
                self._queue.put(None)  # for a second call
                break
            self.lines.append(line)


@pytest.fixture
def writers(tmp_path: Path) -> Iterator[Callable[..., Writer]]:
    started: list[Writer] = []

    def start(root: str, experiment_id: str, count: int, **env: str) -> Writer:
        writer = Writer(root, experiment_id, count, tmp_path / f"writer-{len(started)}.log", **env)
        started.append(writer)
        return writer

    yield start
    for writer in started:
        writer.kill()
    for writer in started:
        for pid in writer.spawned():
            wait_gone(pid, 300)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not reaped by its new parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def compactions_running(root: str) -> list[int]:
    """Processes compacting ``root`` (the detached children of automatic compaction)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"eventlog.cli" in args and any(root.encode() in a for a in args) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_gone(pid: int, timeout: float) -> None:
    wait_until(lambda: not alive(pid), timeout, f"process {pid} to exit")


def wait_quiet(root: str, timeout: float = 300) -> None:
    wait_until(lambda: not compactions_running(root), timeout, "the compaction children to exit")


def answers(root: str, experiment_id: str) -> dict[str, Any]:
    """Per run name: status, params, latest metrics, tags and the metric history (no times)."""
    client = reader(root)
    runs: list[Run] = client.search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=1000)
    out: dict[str, Any] = {}
    for run in runs:
        out[run.info.run_name] = (
            run.info.status,
            run.info.lifecycle_stage,
            sorted(run.data.params.items()),
            sorted(run.data.metrics.items()),
            sorted(run.data.tags.items()),
            sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "m")),
        )
    return out


def expected_run(k: int) -> tuple[Any, ...]:
    return (
        "FINISHED",
        "active",
        sorted({"k": str(k), "parity": str(k % 2)}.items()),
        [("m", k + 0.5)],
        sorted({"t": f"v{k}", "mlflow.runName": f"r{k:03d}"}.items()),
        [(0, float(k)), (1, k + 0.5)],
    )


def check_exactly_once(root: str, experiment_id: str) -> int:
    """Every commit version exists once, in sequence, and the commits folded every event of every
    segment exactly once. Returns the number of versions."""
    location = open_location(root)
    stream = partition_stream(experiment_id)
    versions = committed_versions(location, stream)
    assert versions == list(range(1, len(versions) + 1)), versions
    commits = [read_commit(location, stream, v) for v in versions]
    assert [c.version for c in commits] == versions
    base = Path(root, stream.name, "segments")
    segments = [p for p in base.rglob("*.parquet") if not p.name.startswith(".tmp-")]
    rows = sum(pq.read_metadata(p).num_rows for p in segments)
    assert sum(int(c.stats["events"]) for c in commits) == rows
    assert sum(int(c.stats["segments"]) for c in commits) == len(segments)
    final = commits[-1]
    sealed = sum(seal.count for seal in final.seals.values())
    assert len(final.folded) + sealed == len(segments)
    assert {f"{stream.name}/segments/{p.relative_to(base).as_posix()}" for p in segments} >= set(final.folded)
    return len(versions)


# ---------------------------------------------------------------------------------------------------------
# (a), (b) a partition gets compacted, with the same answers; or not, when switched off
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_writer_gets_its_partition_compacted_with_the_same_answers(
    tmp_path: Path, writers: Callable[..., Writer]
) -> None:
    auto, manual = str(tmp_path / "auto"), str(tmp_path / "off")
    ids = {root: MlflowClient(root).create_experiment("runs") for root in (auto, manual)}
    on = writers(auto, ids[auto], 60, EVENTLOG_AUTO_COMPACT_SEGMENTS="8")
    off = writers(manual, ids[manual], 60, EVENTLOG_AUTO_COMPACT_SEGMENTS="8", EVENTLOG_AUTO_COMPACT="0")
    location = open_location(auto)
    stream = partition_stream(ids[auto])
    wait_until(lambda: bool(committed_versions(location, stream)), 180, "an automatic compaction")
    for writer in (on, off):
        writer.wait_for("done")
        assert writer.proc.wait(timeout=60) == 0
    wait_quiet(auto)
    assert on.spawned() and not off.spawned()

    commit = latest_commit(location, stream)
    assert commit is not None and int(commit.stats["rows"]) > 0
    assert list(Path(manual, "experiments", ids[manual]).glob("commits/*")) == []  # (b) switched off
    got = answers(auto, ids[auto])
    assert got == answers(manual, ids[manual])
    assert got == {f"r{k:03d}": expected_run(k) for k in range(60)}
    listed = {r.info.run_id for r in reader(auto).search_runs([ids[auto]], max_results=1000)}
    assert listed == set(on.confirmed().values())
    compact_stream(location, stream)  # the tail written after the last automatic compaction
    check_exactly_once(auto, ids[auto])
    assert answers(auto, ids[auto]) == got


# ---------------------------------------------------------------------------------------------------------
# (c) racing a manual compaction loop
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_automatic_compaction_racing_a_manual_loop(store_uri: str, writers: Callable[..., Writer]) -> None:
    experiment_id = MlflowClient(store_uri).create_experiment("race")
    writer = writers(store_uri, experiment_id, 60, EVENTLOG_AUTO_COMPACT_SEGMENTS="8")
    writer.wait_for("spawned")  # an automatic compaction has started: race it from here on
    location = open_location(store_uri)
    stream = partition_stream(experiment_id)
    statuses: list[str] = []
    mine: list[int] = []
    while writer.proc.poll() is None or compactions_running(store_uri):
        result = compact_stream(location, stream)
        assert not result.quarantined
        statuses.append(result.status)
        if result.version is not None:
            mine.append(result.version)
    assert writer.proc.wait(timeout=60) == 0, writer.log.read_text()
    last = compact_stream(location, stream)
    if last.version is not None:
        mine.append(last.version)
    assert len(mine) == len(set(mine))
    assert set(statuses) <= {"committed", "up-to-date", "lost-race"}

    versions = check_exactly_once(store_uri, experiment_id)
    assert set(mine) <= set(range(1, versions + 1))  # the others are the children's
    writers_of = {read_commit(location, stream, v).writer for v in range(1, versions + 1)}
    assert len(writers_of) == versions  # one compactor per version
    assert answers(store_uri, experiment_id) == {f"r{k:03d}": expected_run(k) for k in range(60)}
    assert compact_stream(location, stream).status == "up-to-date"


# ---------------------------------------------------------------------------------------------------------
# (d) the writer killed while its compaction child runs
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_writer_killed_while_its_compaction_child_runs_loses_nothing_it_confirmed(
    store_uri: str, writers: Callable[..., Writer]
) -> None:
    experiment_id = MlflowClient(store_uri).create_experiment("killed")
    writer = writers(store_uri, experiment_id, 500, EVENTLOG_AUTO_COMPACT_SEGMENTS="8")
    pid = int(writer.wait_for("spawned").split()[1])
    writer.kill()
    assert alive(pid), "the compaction child had already exited: the kill did not race it"
    wait_gone(pid, 300)  # the detached child outlives its parent and finishes
    wait_quiet(store_uri)
    location = open_location(store_uri)
    stream = partition_stream(experiment_id)
    # The child committed (a second child, started by a check just before the kill, may have too).
    versions = committed_versions(location, stream)
    assert versions and versions == list(range(1, len(versions) + 1))

    confirmed = writer.confirmed()
    assert confirmed and len(confirmed) < 500
    got = answers(store_uri, experiment_id)
    for k, run_id in confirmed.items():
        assert got[f"r{k:03d}"] == expected_run(k)
        assert reader(store_uri).get_run(run_id).info.run_name == f"r{k:03d}"
    # At most the run being written at the kill is there unconfirmed (its creation, never half a file).
    assert set(got) - {f"r{k:03d}" for k in confirmed} <= {f"r{len(confirmed):03d}"}

    results = [compact_stream(location, s) for s in store_streams(location)]
    assert all(not r.quarantined and not r.lost_race for r in results)
    assert answers(store_uri, experiment_id) == got
    check_exactly_once(store_uri, experiment_id)
