"""Many writers on one store: processes logging at once, racing experiment creation, forked children.

Counted end to end: what the processes logged is compared with what a fresh reader folds, and with the
rows of every Parquet segment on disk (event ids (writer, seq) unique: docs/architecture.md, invariants
1-3 and 6).
Child processes are explicit ``python -c`` interpreters that start together at a file barrier.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from eventlog.storage import open_location

import eventlog
from eventlog import MlflowClient
from eventlog._reset import reset_process_state
from eventlog.entities import ViewType

# -- helpers ------------------------------------------------------------------------------------------------


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    env.update(extra)
    return env


class _Children:
    """Child interpreters running one script, each with its own log file, released by a go-file."""

    def __init__(self, workdir: Path, script: str, argv: list[list[str]], envs: list[dict[str, str]]) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.logs = [workdir / f"log-{i}.txt" for i in range(len(argv))]
        self.procs: list[subprocess.Popen[bytes]] = []
        for i, (args, env) in enumerate(zip(argv, envs, strict=True)):
            with open(self.logs[i], "wb") as log:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", script, *args],
                        env=env,
                        cwd=workdir,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )

    def output(self) -> str:
        return "\n".join(f"--- child {i} ---\n{p.read_text()}" for i, p in enumerate(self.logs))

    def release(self, name: str, timeout: float = 90.0) -> None:
        """Wait until every child has touched ``ready-<name>-<i>``, then create ``go-<name>``."""
        deadline = time.monotonic() + timeout
        n = len(self.procs)
        while not all((self.workdir / f"ready-{name}-{i}").exists() for i in range(n)):
            if any(p.poll() not in (None, 0) for p in self.procs) or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"children not ready for {name!r}:\n{self.output()}")
            time.sleep(0.005)
        (self.workdir / f"go-{name}").touch()

    def wait(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        try:
            for p in self.procs:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"children timed out:\n{self.output()}")
        codes = [p.returncode for p in self.procs]
        assert codes == [0] * len(codes), f"exit codes {codes}:\n{self.output()}"

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()


# The barrier, in every child script: announce readiness, spin until the parent releases everyone at once.
_BARRIER = r"""
import os, time
def barrier(name, index):
    open(f"ready-{name}-{index}", "w").close()
    while not os.path.exists(f"go-{name}"):
        time.sleep(0.0002)
"""


def _disk_events(root: Path) -> pl.DataFrame:
    """Every row of every segment and claim under the store, read with Polars (not the tables of views
    that an automatic compaction may have written meanwhile)."""
    files = sorted(
        p
        for p in root.rglob("*.parquet")
        if not p.name.startswith(".tmp-") and "views" not in p.relative_to(root).parts
    )
    return pl.concat([pl.read_parquet(p) for p in files], how="diagonal_relaxed")


def _assert_unique_ids(events: pl.DataFrame) -> None:
    duplicates = events.group_by("writer", "seq").len().filter(pl.col("len") > 1)
    assert duplicates.height == 0, f"duplicate event ids: {duplicates}"


def _experiments_named(uri: str, name: str) -> list[str]:
    """Ids of the experiments called ``name``, from the full listing (and the search API where present)."""
    from eventlog._registry import get_store

    experiments = get_store(uri).ready().list_experiments(ViewType.ALL)
    listed = [e.experiment_id for e in experiments if e.name == name]
    try:
        searched = MlflowClient(uri).search_experiments(ViewType.ALL, max_results=50_000)
    except ImportError:  # the filter language is not in this tree yet: the full listing above decides
        return listed
    assert sorted(e.experiment_id for e in searched if e.name == name) == sorted(listed)
    return listed


# -- 8 processes logging to one store -----------------------------------------------------------------------

PROCESSES = 8
STEPS = 1000
KEYS = 5  # 5,000 metric points per process
PARAMS = 20
SHARED_POINTS = 250  # per process, into one run all processes share
BASE_TS = 1_700_000_000_000

_LOGGER = (
    _BARRIER
    + r"""
import json, sys
worker, experiment_id, shared_run = int(sys.argv[1]), sys.argv[2], sys.argv[3]
STEPS, KEYS, PARAMS, SHARED, BASE = (int(a) for a in sys.argv[4:9])
import eventlog
from eventlog import MlflowClient
import polars, pyarrow.parquet  # import the heavy parts before the barrier so all start together
client = MlflowClient()
sync = worker % 2 == 0  # half the processes make some calls synchronous
barrier("start", worker)

tags = {"worker": str(worker)}
with eventlog.start_run(experiment_id=experiment_id, run_name=f"worker-{worker}", tags=tags) as run:
    run_id = run.info.run_id
    for j in range(PARAMS // 2):
        eventlog.log_param(f"p{j}", f"w{worker}-v{j}", synchronous=True if sync and j == 0 else None)
    eventlog.log_params({f"p{j}": f"w{worker}-v{j}" for j in range(PARAMS // 2, PARAMS)},
                        synchronous=True if sync else None)
    eventlog.set_tag("phase", "metrics")
    eventlog.set_tags({"a": "1", "b": str(worker)})
    client.log_param(shared_run, "same-everywhere", "x")
    for step in range(STEPS):
        values = {f"k{k}": worker * 1e6 + step * 10 + k for k in range(KEYS)}
        ts = BASE + step
        if step % 2 == 0:
            eventlog.log_metrics(values, step=step, timestamp=ts,
                                 synchronous=True if sync and step % 200 == 0 else None)
        elif step % 3 == 0:
            for key, value in values.items():
                client.log_metric(run_id, key, value, timestamp=ts, step=step)
        else:
            for key, value in values.items():
                eventlog.log_metric(key, value, step=step, timestamp=ts,
                                    synchronous=True if sync and step % 301 == 0 else None)
        if step < SHARED:
            client.log_metric(shared_run, "shared", float(worker), step=worker * SHARED + step)
    eventlog.set_tag("phase", "done")
with open(f"result-{worker}.json", "w") as fh:
    json.dump({"run_id": run_id}, fh)
"""
)


@pytest.mark.slow
def test_eight_processes_lose_nothing(tmp_path: Path, store_uri: str) -> None:
    setup = MlflowClient(store_uri)
    experiment_id = setup.create_experiment("load")
    shared_run = setup.create_run(experiment_id, run_name="shared").info.run_id
    reset_process_state()

    settings = [  # every flush path in play: a short timer, small size thresholds, the defaults
        {"EVENTLOG_FLUSH_INTERVAL": "0.1"},
        {"EVENTLOG_FLUSH_ROWS": "700"},
        {"EVENTLOG_FLUSH_INTERVAL": "0.3", "EVENTLOG_FLUSH_ROWS": "2000"},
        {},
    ]
    args = [str(a) for a in (STEPS, KEYS, PARAMS, SHARED_POINTS, BASE_TS)]
    children = _Children(
        tmp_path / "work",
        _LOGGER,
        [[str(w), experiment_id, shared_run, *args] for w in range(PROCESSES)],
        [_child_env(EVENTLOG_TRACKING_URI=store_uri, **settings[w % 4]) for w in range(PROCESSES)],
    )
    children.release("start")
    children.wait()
    run_ids = {
        w: json.loads((tmp_path / f"work/result-{w}.json").read_text())["run_id"] for w in range(PROCESSES)
    }

    # a fresh reader: no state of this process, only the store
    reset_process_state()
    client = MlflowClient(store_uri)
    from eventlog.views import partition_tables

    runs = partition_tables(open_location(store_uri), experiment_id).runs
    assert runs.height == PROCESSES + 1
    assert sorted(runs.get_column("run_name").to_list()) == sorted(
        ["shared", *(f"worker-{w}" for w in range(PROCESSES))]
    )
    for w, run_id in run_ids.items():
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.info.run_name == f"worker-{w}"
        assert run.data.params == {f"p{j}": f"w{w}-v{j}" for j in range(PARAMS)}
        last = STEPS - 1
        assert run.data.metrics == {f"k{k}": w * 1e6 + last * 10 + k for k in range(KEYS)}
        tags = run.data.tags
        assert (tags["worker"], tags["phase"], tags["a"], tags["b"]) == (str(w), "done", "1", str(w))
        for k in range(KEYS):
            history = client.get_metric_history(run_id, f"k{k}")
            assert len(history) == STEPS
            assert [(m.step, m.value, m.timestamp) for m in sorted(history, key=lambda m: m.step)] == [
                (s, w * 1e6 + s * 10 + k, BASE_TS + s) for s in range(STEPS)
            ]
    shared = client.get_metric_history(shared_run, "shared")
    assert sorted(m.step for m in shared) == list(range(PROCESSES * SHARED_POINTS))
    assert all(m.value == m.step // SHARED_POINTS for m in shared)
    assert client.get_run(shared_run).data.params == {"same-everywhere": "x"}

    events = _disk_events(Path(store_uri))
    _assert_unique_ids(events)
    metrics = events.filter(pl.col("kind") == "metric")
    assert metrics.height == PROCESSES * (STEPS * KEYS + SHARED_POINTS)
    assert metrics.get_column("writer").n_unique() == PROCESSES
    params = events.filter(pl.col("kind") == "param")
    assert params.filter(pl.col("run_id") != shared_run).height == PROCESSES * PARAMS
    # the same value again is a no-op where the process already saw it: written 1 to 8 times, shown once
    assert 1 <= params.filter(pl.col("run_id") == shared_run).height <= PROCESSES
    assert events.filter(pl.col("kind") == "run_created").height == PROCESSES + 1


# -- racing experiment creation -----------------------------------------------------------------------------

ROUNDS = 5

_RACER = (
    _BARRIER
    + r"""
import json, sys
worker, rounds = int(sys.argv[1]), int(sys.argv[2])
import eventlog
from eventlog import MlflowClient
from eventlog.exceptions import MlflowException
MlflowClient()  # open the store and import everything before racing
results = []
for r in range(rounds):
    barrier(f"set-{r}", worker)
    experiment = eventlog.set_experiment(f"same-new-name-{r}")
    results.append({"id": experiment.experiment_id, "name": experiment.name})
for r in range(2):
    barrier(f"create-{r}", worker)
    try:
        results.append({"created": eventlog.create_experiment(f"created-by-race-{r}")})
    except MlflowException as exc:
        results.append({"error": exc.error_code, "message": exc.message})
with open(f"result-{worker}.json", "w") as fh:
    json.dump(results, fh)
"""
)


@pytest.mark.slow
def test_racing_set_experiment_and_create_experiment(tmp_path: Path, store_uri: str) -> None:
    MlflowClient(store_uri)  # the store exists; the experiments do not
    reset_process_state()
    children = _Children(
        tmp_path / "work",
        _RACER,
        [[str(w), str(ROUNDS)] for w in range(PROCESSES)],
        [_child_env(EVENTLOG_TRACKING_URI=store_uri)] * PROCESSES,
    )
    for r in range(ROUNDS):
        children.release(f"set-{r}")
    for r in range(2):
        children.release(f"create-{r}")
    children.wait()
    results = [json.loads((tmp_path / f"work/result-{w}.json").read_text()) for w in range(PROCESSES)]

    reset_process_state()
    ids_by_round = []
    for r in range(ROUNDS):
        name = f"same-new-name-{r}"
        got = {res[r]["id"] for res in results}
        assert len(got) == 1, f"round {r}: set_experiment returned ids {got}"
        (experiment_id,) = got
        assert {res[r]["name"] for res in results} == {name}
        assert _experiments_named(store_uri, name) == [experiment_id]
        found = MlflowClient(store_uri).get_experiment_by_name(name)
        assert found is not None and found.experiment_id == experiment_id
        ids_by_round.append(experiment_id)
    assert len(set(ids_by_round)) == ROUNDS

    for r in range(2):
        name = f"created-by-race-{r}"
        outcomes = [res[ROUNDS + r] for res in results]
        winners = [o["created"] for o in outcomes if "created" in o]
        losers = [o for o in outcomes if "error" in o]
        assert len(winners) == 1, f"create_experiment round {r}: {outcomes}"
        assert len(losers) == PROCESSES - 1
        assert {o["error"] for o in losers} == {"RESOURCE_ALREADY_EXISTS"}
        assert all(name in o["message"] for o in losers)
        assert _experiments_named(store_uri, name) == winners
    all_ids = [e.experiment_id for e in MlflowClient(store_uri)._store.list_experiments(ViewType.ALL)]
    assert len(all_ids) == len(set(all_ids)) == 1 + ROUNDS + 2  # Default + the raced names, no more


# -- two writers racing on one param -------------------------------------------------------------------------


def test_param_race_readers_never_see_two_values(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    first = MlflowClient(store_uri)  # two stores in one process: two writers, as two processes would be
    second = MlflowClient(Path(store_uri).as_uri())
    assert first._store.writer.writer_id != second._store.writer.writer_id
    experiment_id = first.create_experiment("params")
    run_id = first.create_run(experiment_id).info.run_id
    first.flush()  # the run exists for the second writer from here (creating a run writes nothing)
    first.log_param(run_id, "lr", "0.1")  # recorded first, still buffered
    time.sleep(0.01)
    second.log_param(run_id, "lr", "0.2", synchronous=True)  # recorded later, committed first
    seen_before = second.get_run(run_id).data.params["lr"]
    first.flush()
    seen_after = second.get_run(run_id).data.params["lr"]
    assert seen_before == seen_after == "0.2"


# -- fork -------------------------------------------------------------------------------------------------

FORK_N, FORK_M = 3000, 700

_FORKER = r"""
import json, os, sys
N, M = int(sys.argv[1]), int(sys.argv[2])
import polars as pl
import eventlog
from eventlog import MlflowClient

def metric_rows():
    root = os.path.abspath("store")
    files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".parquet")]
    return sum(pl.read_parquet(f).filter(pl.col("kind") == "metric").height for f in files)

run = eventlog.start_run()
run_id = run.info.run_id
for i in range(N):
    eventlog.log_metric("m", float(i), step=i)
before_fork = metric_rows()  # the parent's N points are still buffered
pid = os.fork()
if pid == 0:
    for i in range(N, N + M):
        eventlog.log_metric("m", float(i), step=i, run_id=run_id)
    # the child ends here, normally: its atexit handlers flush its own buffer
else:
    _, status = os.waitpid(pid, 0)
    after_child = metric_rows()
    status_after_child = MlflowClient().get_run(run_id).info.status
    eventlog.flush()
    with open("result.json", "w") as fh:
        json.dump({"run_id": run_id, "before_fork": before_fork, "after_child": after_child,
                   "child_exit": os.waitstatus_to_exitcode(status),
                   "status_after_child": status_after_child}, fh)
"""


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """Run the fork script once for the tests below: (store root, what the parent recorded)."""
    work = tmp_path_factory.mktemp("fork")
    children = _Children(
        work,
        _FORKER,
        [[str(FORK_N), str(FORK_M)]],
        [_child_env(EVENTLOG_TRACKING_URI=str(work / "store"), EVENTLOG_FLUSH_INTERVAL="3600")],
    )
    children.wait(timeout=60)
    return work / "store", json.loads((work / "result.json").read_text())


@pytest.mark.slow
def test_forked_child_does_not_rewrite_parent_buffer(forked: tuple[Path, dict[str, object]]) -> None:
    root, result = forked
    assert result["child_exit"] == 0
    assert result["before_fork"] == 0  # the parent's points were buffered when it forked
    assert result["after_child"] == FORK_M  # the child flushed only its own points at exit
    history = MlflowClient(str(root)).get_metric_history(str(result["run_id"]), "m")
    assert sorted(m.step for m in history) == list(range(FORK_N + FORK_M))
    events = _disk_events(root)
    _assert_unique_ids(events)
    by_writer = events.filter(pl.col("kind") == "metric").group_by("writer").len()
    assert sorted(by_writer.get_column("len").to_list()) == [FORK_M, FORK_N]  # two writers, no overlap
    child_writer = by_writer.filter(pl.col("len") == FORK_M).get_column("writer")[0]
    parent_writer = by_writer.filter(pl.col("len") == FORK_N).get_column("writer")[0]
    assert child_writer != parent_writer
    run_created = events.filter(pl.col("kind") == "run_created")
    assert run_created.get_column("writer").to_list() == [parent_writer]


@pytest.mark.slow
def test_forked_child_exit_does_not_end_parent_run(forked: tuple[Path, dict[str, object]]) -> None:
    _, result = forked
    assert result["status_after_child"] == "RUNNING"


@pytest.mark.slow
def test_fork_in_process_child_flushes_only_its_own_events(
    store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with os.fork of this process: the child flushes explicitly and leaves with os._exit."""
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    eventlog.set_tracking_uri(store_uri)
    run_id = eventlog.start_run().info.run_id
    n, m = 1200, 300
    for i in range(n):
        eventlog.log_metric("m", float(i), step=i)
    eventlog.log_param("before_fork", "parent")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            for i in range(n, n + m):
                eventlog.log_metric("m", float(i), step=i, run_id=run_id)
            eventlog.flush()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    events = _disk_events(Path(store_uri))
    assert events.filter(pl.col("kind") == "metric").height == m  # the parent's n are still buffered
    assert events.filter(pl.col("kind") == "param").height == 0
    history = MlflowClient().get_metric_history(run_id, "m")  # flushes the parent
    assert sorted(x.step for x in history) == list(range(n + m))
    events = _disk_events(Path(store_uri))
    _assert_unique_ids(events)
    assert events.filter(pl.col("kind") == "param").height == 1
    assert events.filter(pl.col("kind") == "metric").get_column("writer").n_unique() == 2


def _mp_child(run_id: str, start: int, count: int) -> None:
    for i in range(start, start + count):
        eventlog.log_metric("m", float(i), step=i, run_id=run_id)


@pytest.mark.slow
def test_multiprocessing_fork_child_keeps_its_events(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLOG_FLUSH_INTERVAL", "3600")
    eventlog.set_tracking_uri(store_uri)
    run_id = eventlog.start_run().info.run_id
    for i in range(100):
        eventlog.log_metric("m", float(i), step=i)
    child = multiprocessing.get_context("fork").Process(target=_mp_child, args=(run_id, 100, 50))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    history = MlflowClient().get_metric_history(run_id, "m")
    assert sorted(m.step for m in history) == list(range(150))
