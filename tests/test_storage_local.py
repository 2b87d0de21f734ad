"""storage: put-if-absent on local disk and memory://, and what opening a store refuses.

Put-if-absent is the primitive every commit rests on (docs/architecture.md, invariants 1, 5, 8): the second
create of a name must fail and keep the first content, a race must have exactly one winner, and a file must
appear whole or not at all with no temp files left behind. Opening a location that is not an eventlog store
(an MLflow file store, random files, a database or server URI, a newer format) must give a clear error and
touch nothing (invariant 9).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eventlog.storage import (
    FORMAT_VERSION,
    MARKER_FILE,
    Location,
    NotAnEventlogStoreError,
    ensure_store,
    open_location,
    read_marker,
)
from eventlog.storage import _location as location_module

import eventlog
from eventlog import MlflowClient
from eventlog.exceptions import MlflowException

# -- helpers ----------------------------------------------------------------------------------------------


def _tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


def _snapshot(root: Path) -> dict[str, tuple[bool, int, int, bytes]]:
    """Every entry under ``root`` (and root itself): kind, mtime, size and content."""
    entries: dict[str, tuple[bool, int, int, bytes]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        stat = path.stat()
        is_dir = path.is_dir()
        entries[str(path.relative_to(root))] = (
            is_dir,
            stat.st_mtime_ns,
            stat.st_size if not is_dir else 0,
            b"" if is_dir else path.read_bytes(),
        )
    return entries


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    env.update(extra)
    return env


# -- local put-if-absent ------------------------------------------------------------------------------------


def test_local_second_create_raises_and_keeps_first(tmp_path: Path) -> None:
    loc = open_location(tmp_path / "root")
    loc.put_if_absent("a/b/claim", b"first")
    with pytest.raises(FileExistsError):
        loc.put_if_absent("a/b/claim", b"second")
    with pytest.raises(FileExistsError):
        loc.publish("a/b/claim", b"third")
    assert (tmp_path / "root/a/b/claim").read_bytes() == b"first"
    assert loc.read_bytes("a/b/claim") == b"first"
    assert loc.list_names("a/b") == ["claim"]
    assert _tmp_files(tmp_path) == []


def test_local_file_appears_only_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final name does not exist while the bytes are being written and synced (temp file, then link)."""
    loc = open_location(tmp_path / "root")
    final = tmp_path / "root/seg/x.parquet"
    seen_during_write: list[bool] = []
    real_fsync = os.fsync

    def watching_fsync(fd: int) -> None:
        seen_during_write.append(final.exists())
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    loc.publish("seg/x.parquet", b"payload" * 1000)
    assert seen_during_write == [False]
    assert final.read_bytes() == b"payload" * 1000
    assert _tmp_files(tmp_path) == []


def test_local_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loc = open_location(tmp_path / "root")

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "injected fsync failure")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="injected"):
        loc.put_if_absent("d/claim", b"data")
    monkeypatch.undo()
    assert not (tmp_path / "root/d/claim").exists()
    assert _tmp_files(tmp_path) == []
    loc.put_if_absent("d/claim", b"data")  # the name is still free
    assert (tmp_path / "root/d/claim").read_bytes() == b"data"


def test_local_fallback_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where link() is not supported the O_EXCL fallback still refuses a second create."""
    calls: list[str] = []

    def no_links(src: str, dst: str, *args: object, **kwargs: object) -> None:
        calls.append(dst)
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(location_module.os, "link", no_links)
    loc = open_location(tmp_path / "root")
    loc.put_if_absent("c/claim", b"first")
    with pytest.raises(FileExistsError):
        loc.put_if_absent("c/claim", b"second")
    assert len(calls) == 2  # the link path was tried, then the fallback used
    assert (tmp_path / "root/c/claim").read_bytes() == b"first"
    assert _tmp_files(tmp_path) == []


def test_local_thread_race_has_one_winner_per_round(tmp_path: Path) -> None:
    loc = open_location(tmp_path / "root")
    threads, rounds = 16, 10
    barrier = threading.Barrier(threads)
    winners: dict[int, list[int]] = {r: [] for r in range(rounds)}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            for r in range(rounds):
                barrier.wait(timeout=30)
                try:
                    loc.put_if_absent(f"race/{r}", f"thread-{index}".encode() * 100)
                except FileExistsError:
                    continue
                with lock:
                    winners[r].append(index)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert errors == []
    for r in range(rounds):
        assert len(winners[r]) == 1, f"round {r}: winners {winners[r]}"
        assert loc.read_bytes(f"race/{r}") == f"thread-{winners[r][0]}".encode() * 100
    assert loc.list_names("race") == sorted(str(r) for r in range(rounds))
    assert _tmp_files(tmp_path) == []


_RACER = r"""
import json, os, sys, time
from eventlog.storage import open_location
worker, workdir, rounds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
results = []
for r in range(rounds):
    open(os.path.join(workdir, f"ready-{r}-{worker}"), "w").close()
    go = os.path.join(workdir, f"go-{r}")
    while not os.path.exists(go):
        time.sleep(0.0002)
    try:
        claims = open_location(os.path.join(workdir, f"claims-{r}"))
        claims.put_if_absent("the-name", f"process-{worker}".encode() * 50)
        won = True
    except FileExistsError:
        won = False
    results.append({"round": r, "won": won})
with open(os.path.join(workdir, f"result-{worker}.json"), "w") as fh:
    json.dump(results, fh)
"""


@pytest.mark.slow
def test_local_process_race_has_one_winner_per_round(tmp_path: Path) -> None:
    """8 processes put-if-absent one name at once, 10 rounds: one winner, its bytes kept."""
    processes, rounds = 8, 10
    workdir = tmp_path / "race"
    workdir.mkdir()
    logs = [open(workdir / f"log-{i}", "w") for i in range(processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(i), str(workdir), str(rounds)],
            env=_child_env(),
            stdout=logs[i],
            stderr=subprocess.STDOUT,
        )
        for i in range(processes)
    ]
    try:
        for r in range(rounds):
            deadline = time.monotonic() + 60
            while not all((workdir / f"ready-{r}-{i}").exists() for i in range(processes)):
                assert all(p.poll() is None for p in procs), "a racer died early"
                assert time.monotonic() < deadline, f"round {r}: racers not ready"
                time.sleep(0.005)
            (workdir / f"go-{r}").touch()
        for p in procs:
            p.wait(timeout=60)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for fh in logs:
            fh.close()
    outputs = {i: (workdir / f"log-{i}").read_text() for i in range(processes)}
    assert [p.returncode for p in procs] == [0] * processes, outputs
    results = [json.loads((workdir / f"result-{i}.json").read_text()) for i in range(processes)]
    for r in range(rounds):
        winners = [i for i in range(processes) if results[i][r]["won"]]
        assert len(winners) == 1, f"round {r}: put-if-absent winners {winners}"
        claim = workdir / f"claims-{r}/the-name"
        assert claim.read_bytes() == f"process-{winners[0]}".encode() * 50
    assert _tmp_files(workdir) == []


# -- memory:// put-if-absent ---------------------------------------------------------------------------


def test_memory_second_create_raises_and_keeps_first() -> None:
    loc = open_location("memory://pia-test")
    loc.put_if_absent("a/claim", b"first")
    with pytest.raises(FileExistsError):
        loc.put_if_absent("a/claim", b"second")
    with pytest.raises(FileExistsError):
        loc.publish("a/claim", b"third")
    assert loc.read_bytes("a/claim") == b"first"
    assert loc.list_names("a") == ["claim"]
    assert loc.exists("a/claim")
    assert not loc.exists("a/other")


def test_memory_thread_race_has_one_winner_per_round() -> None:
    loc = open_location("memory://pia-race")
    threads, rounds = 16, 10
    barrier = threading.Barrier(threads)
    winners: dict[int, list[int]] = {r: [] for r in range(rounds)}
    lock = threading.Lock()

    def worker(index: int) -> None:
        for r in range(rounds):
            barrier.wait(timeout=30)
            try:
                loc.put_if_absent(f"race/{r}", f"t{index}".encode())
            except FileExistsError:
                continue
            with lock:
                winners[r].append(index)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    for r in range(rounds):
        assert len(winners[r]) == 1, f"round {r}: winners {winners[r]}"
        assert loc.read_bytes(f"race/{r}") == f"t{winners[r][0]}".encode()


def test_memory_store_creation_is_put_if_absent() -> None:
    loc = open_location("memory://fresh-store")
    assert read_marker(loc) is None
    _, created = ensure_store(loc)
    _, again = ensure_store(loc)
    assert (created, again) == (True, False)


# -- opening a location that is not an eventlog store -----------------------------------------------------


def _mlflow_file_store(root: Path) -> None:
    (root / "0").mkdir(parents=True)
    (root / "0/meta.yaml").write_text(
        "artifact_location: file:///x/mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n"
    )
    run = root / "0/4f1c2a9b8e7d4c3ba1b2c3d4e5f60718"
    (run / "metrics").mkdir(parents=True)
    (run / "params").mkdir()
    (run / "meta.yaml").write_text("run_id: 4f1c2a9b8e7d4c3ba1b2c3d4e5f60718\nstatus: 3\n")
    (run / "metrics/loss").write_text("1700000000000 0.5 0\n")
    (run / "params/lr").write_text("0.01")
    (root / ".trash").mkdir()
    (root / "models").mkdir()


def _random_files(root: Path) -> None:
    (root / "data").mkdir(parents=True)
    (root / "notes.txt").write_text("not a store")
    (root / "data/table.csv").write_text("a,b\n1,2\n")


def _sqlite_file(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "mlflow.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)


def _start_run() -> None:
    eventlog.start_run()


def _set_experiment() -> None:
    eventlog.set_experiment("x")


def _log_metric() -> None:
    eventlog.log_metric("m", 1.0)


def _client() -> None:
    MlflowClient()


def _get_experiment_by_name() -> None:
    eventlog.get_experiment_by_name("Default")


CALLS = [_start_run, _set_experiment, _log_metric, _client, _get_experiment_by_name]


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.__name__.strip("_"))
@pytest.mark.parametrize(
    ("layout", "described"),
    [
        (_mlflow_file_store, "MLflow file store"),
        (_random_files, "not an eventlog store"),
        (_sqlite_file, "SQLite"),
    ],
    ids=["mlflow-file-store", "random-files", "mlflow-db"],
)
def test_foreign_directory_is_refused_and_untouched(tmp_path: Path, layout, described, call) -> None:
    root = tmp_path / "foreign"
    layout(root)
    before = _snapshot(root)
    time.sleep(0.01)  # a touch in the same clock tick would not change an mtime
    eventlog.set_tracking_uri(str(root))
    with pytest.raises(MlflowException) as info:
        call()
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert described in info.value.message
    eventlog.flush()  # nothing was buffered for the foreign directory either
    from eventlog._reset import reset_process_state

    reset_process_state()  # closes (flushes) every writer, as at exit
    assert _snapshot(root) == before


def test_default_mlruns_of_mlflow_is_refused(tmp_path: Path) -> None:
    """No tracking URI set and ./mlruns holds MLflow's file store: refused, not written into."""
    _mlflow_file_store(tmp_path / "mlruns")
    before = _snapshot(tmp_path / "mlruns")
    with pytest.raises(MlflowException) as info:
        eventlog.start_run()
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "MLflow file store" in info.value.message
    assert _snapshot(tmp_path / "mlruns") == before


def test_empty_directory_becomes_a_store(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    eventlog.set_tracking_uri(str(root))
    assert eventlog.get_experiment_by_name("Default") is not None
    doc = json.loads((root / MARKER_FILE).read_text())
    assert doc == {"format": "eventlog", "version": FORMAT_VERSION}


def test_store_uri_naming_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "a-file.txt"
    target.write_text("hello")
    before = target.read_bytes()
    eventlog.set_tracking_uri(str(target))
    try:
        with pytest.raises(MlflowException) as info:
            eventlog.start_run()
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    finally:
        assert target.read_bytes() == before


# -- URIs that name a database or a tracking server ---------------------------------------------------------

NOT_FILESYSTEMS = [
    "sqlite:///x.db",
    "sqlite:///:memory:",
    "postgresql://user:pw@localhost:5432/mlflow",
    "postgres://localhost/mlflow",
    "mysql://user@localhost/mlflow",
    "mssql://localhost/mlflow",
    "http://host",
    "https://tracking.example.com:5000",
    "databricks://profile",
]


@pytest.mark.parametrize("uri", NOT_FILESYSTEMS)
@pytest.mark.parametrize("call", [_start_run, _client, _set_experiment], ids=lambda c: c.__name__.strip("_"))
def test_database_and_server_uris_are_refused(tmp_path: Path, uri: str, call) -> None:
    eventlog.set_tracking_uri(uri)
    with pytest.raises(MlflowException) as info:
        call()
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert uri in info.value.message
    assert "eventlog" in info.value.message
    assert sorted(os.listdir(tmp_path)) == []  # no x.db, no ./mlruns, nothing


@pytest.mark.parametrize("uri", ["sqlite:///x.db", "http://localhost:5000"])
def test_database_uri_from_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(MlflowException) as info:
        eventlog.start_run()
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert sorted(os.listdir(tmp_path)) == []


# -- format markers ------------------------------------------------------------------------------------


def _store_with_marker(root: Path, doc: object) -> None:
    root.mkdir(parents=True)
    (root / MARKER_FILE).write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    (root / "experiments").mkdir()


def test_future_format_version_is_refused_with_upgrade_message(tmp_path: Path) -> None:
    root = tmp_path / "newer"
    _store_with_marker(root, {"format": "eventlog", "version": FORMAT_VERSION + 1})
    before = _snapshot(root)
    with pytest.raises(NotAnEventlogStoreError, match=r"(?i)upgrade"):
        read_marker(open_location(root))
    eventlog.set_tracking_uri(str(root))
    with pytest.raises(MlflowException, match=r"(?i)upgrade eventlog") as info:
        eventlog.start_run()
    assert str(FORMAT_VERSION + 1) in info.value.message
    assert _snapshot(root) == before


@pytest.mark.parametrize(
    "doc",
    [{"format": "something-else", "version": 1}, "{not json", {"format": "eventlog"}, {"version": 1}],
    ids=["other-format", "corrupt", "no-version", "no-format"],
)
def test_bad_marker_is_refused(tmp_path: Path, doc: object) -> None:
    root = tmp_path / "bad"
    _store_with_marker(root, doc)
    before = _snapshot(root)
    eventlog.set_tracking_uri(str(root))
    with pytest.raises(MlflowException) as info:
        eventlog.start_run()
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert MARKER_FILE in info.value.message or "not an eventlog store" in info.value.message
    assert _snapshot(root) == before


class _MarkerAppearsAfterMiss(Location):
    """Another process publishes the marker right after this one found none (the window of a real race)."""

    def read_bytes(self, rel: str) -> bytes:
        if rel == MARKER_FILE and not getattr(self, "_raced", False):
            object.__setattr__(self, "_raced", True)
            try:
                return super().read_bytes(rel)
            except FileNotFoundError:
                open_location(self.root).put_if_absent(
                    MARKER_FILE, json.dumps({"format": "eventlog", "version": FORMAT_VERSION}).encode()
                )
                raise
        return super().read_bytes(rel)


def test_store_creation_race_between_marker_read_and_listing(tmp_path: Path) -> None:
    plain = open_location(tmp_path / "fresh")
    racy = _MarkerAppearsAfterMiss(uri=plain.uri, fs=plain.fs, root=plain.root)
    marker, created = ensure_store(racy)
    assert marker.version == FORMAT_VERSION
    assert created is False
