"""One storage conformance suite, run on every backend: local disk, memory://, S3, GCS and Azure Blob.

The cloud backends are real servers on 127.0.0.1 (moto, fake-gcs-server, Azurite; see conftest.py).
What is checked on each: put-if-absent (docs/architecture.md, invariant 8: a second create raises
``FileExistsError`` and keeps the first content, 0-byte files included, 16 threads racing give one winner per
round), publish / read / list (an absent directory lists empty; listings never stale across processes),
read_many, delete, the artifact transfer round trip, and an end-to-end scenario: log with the fluent API,
compact with the ``eventlog compact`` command, search with a filter, log / list / download artifacts.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pytest
from click.testing import CliRunner
from eventlog.storage import Location, PutIfAbsentUnsupportedError, open_location
from fsspec.implementations.memory import MemoryFileSystem

import eventlog
from eventlog import MlflowClient, storage
from eventlog._registry import get_store
from eventlog._reset import reset_process_state
from eventlog.cli import main as eventlog_cli
from eventlog.exceptions import MlflowException

from .conftest import Backend, backend_params

# -- put-if-absent ----------------------------------------------------------------------------------------


def test_put_if_absent_second_create_raises_and_keeps_first(backend: Backend) -> None:
    loc = backend.location()
    loc.put_if_absent("claims/a.json", b'{"writer": "first"}')
    with pytest.raises(FileExistsError):
        loc.put_if_absent("claims/a.json", b'{"writer": "second"}')
    assert loc.read_bytes("claims/a.json") == b'{"writer": "first"}'
    assert loc.list_names("claims") == ["a.json"]


def test_put_if_absent_is_exclusive_for_empty_files(backend: Backend) -> None:
    # s3fs commits a 0-byte file written through open("xb") with touch(), without If-None-Match; the
    # store always goes through pipe_file, which sends the precondition for any size.
    loc = backend.location()
    loc.put_if_absent("claims/empty", b"")
    with pytest.raises(FileExistsError):
        loc.put_if_absent("claims/empty", b"not empty")
    assert loc.read_bytes("claims/empty") == b""
    loc.put_if_absent("claims/full", b"x")
    with pytest.raises(FileExistsError):
        loc.put_if_absent("claims/full", b"")
    assert loc.read_bytes("claims/full") == b"x"


THREADS = 16


def _race_round(loc: Location, rel: str) -> list[int]:
    """THREADS threads create ``rel`` at once; returns the winners (a failure other than
    ``FileExistsError`` fails the test)."""
    barrier = threading.Barrier(THREADS)
    winners: list[int] = []
    errors: list[BaseException] = []

    def claim(i: int) -> None:
        barrier.wait()
        try:
            loc.put_if_absent(rel, f"writer-{i}".encode())
            winners.append(i)
        except FileExistsError:
            pass
        except BaseException as exc:  # anything else is a failure of the backend
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return winners


def test_put_if_absent_thread_race_has_one_winner_per_round(backend: Backend) -> None:
    loc = backend.location()
    rounds = 20 if backend.name in ("local", "memory") else 8
    for r in range(rounds):
        winners = _race_round(loc, f"race/{r:03d}")
        assert len(winners) == 1, f"round {r}: winners {winners}"
        assert loc.read_bytes(f"race/{r:03d}") == f"writer-{winners[0]}".encode()
    assert len(loc.list_names("race")) == rounds


# -- publish, read, list, delete --------------------------------------------------------------------------


def test_publish_read_and_list(backend: Backend) -> None:
    loc = backend.location()
    loc.publish("segments/w2-0000000001.parquet", b"two")
    loc.publish("segments/w1-0000000001.parquet", b"one")
    loc.publish("segments/sub/nested.json", b"{}")
    assert loc.list_names("segments") == ["w1-0000000001.parquet", "w2-0000000001.parquet"]
    assert loc.list_dirs("segments") == ["sub"]
    assert loc.list_names("segments/sub") == ["nested.json"]
    assert loc.read_bytes("segments/w2-0000000001.parquet") == b"two"
    assert loc.exists("segments/w1-0000000001.parquet")
    assert not loc.exists("segments/w3-0000000001.parquet")
    with pytest.raises(FileNotFoundError):
        loc.read_bytes("segments/w3-0000000001.parquet")


def test_listing_an_absent_directory_is_empty(backend: Backend) -> None:
    loc = backend.location()
    assert loc.list_names("") == []
    assert loc.list_dirs("") == []
    assert loc.list_names("no/such/dir") == []
    assert loc.list_dirs("no/such/dir") == []
    loc.publish("present/file", b"x")
    assert loc.list_names("presen") == []  # a prefix of a name is not a directory
    assert loc.list_names("present/fil") == []


def test_list_files_lists_a_tree_in_one_go(backend: Backend) -> None:
    """Every file below a directory at any depth, as root-relative paths, and nothing beside it."""
    loc = backend.location()
    assert loc.list_files("names") == []
    for rel in ("names/ab/0.parquet", "names/ab/1.parquet", "names/cd/0.parquet", "names/x/y/z.bin"):
        loc.publish(rel, b"x")
    loc.publish("namesake/0.parquet", b"x")  # shares the prefix "names", is not below "names/"
    loc.publish("names.json", b"x")
    assert loc.list_files("names") == [
        "names/ab/0.parquet",
        "names/ab/1.parquet",
        "names/cd/0.parquet",
        "names/x/y/z.bin",
    ]
    assert loc.list_files("names/ab") == ["names/ab/0.parquet", "names/ab/1.parquet"]
    assert loc.list_files("nam") == []
    other = backend.other_process_fs()
    other.pipe_file(loc.full_path("names/ef/0.parquet"), b"x")  # listed at once, never from a cache
    assert "names/ef/0.parquet" in loc.list_files("names")


def test_read_many(backend: Backend) -> None:
    loc = backend.location()
    files = {f"many/{i:03d}.bin": os.urandom(17 + i) for i in range(25)}
    for rel, data in files.items():
        loc.publish(rel, data)
    assert loc.read_many([]) == {}
    assert loc.read_many(list(files)) == files
    some = sorted(files)[3:9]
    assert loc.read_many(some) == {rel: files[rel] for rel in some}


def test_delete(backend: Backend) -> None:
    loc = backend.location()
    loc.publish("d/keep", b"1")
    loc.publish("d/drop", b"2")
    loc.delete("d/drop")
    loc.delete("d/never-existed")  # absent: nothing to do, no error
    assert loc.list_names("d") == ["keep"]
    assert not loc.exists("d/drop")
    # A deleted name can be claimed again (claims are never deleted by eventlog, but the primitive allows it).
    loc.put_if_absent("d/drop", b"3")
    assert loc.read_bytes("d/drop") == b"3"


def test_listings_are_never_stale_across_processes(backend: Backend) -> None:
    """What another process publishes is listed at once, even after this process listed the directory
    (fsspec's listings cache; adlfs ignores ``ls(refresh=True)``)."""
    loc = backend.location()
    other = backend.other_process_fs()
    loc.publish("segments/a", b"a")
    assert loc.list_names("segments") == ["a"]
    assert not loc.exists("segments/b")
    other.pipe_file(loc.full_path("segments/b"), b"b")
    other.makedirs(loc.full_path("segments/sub"), exist_ok=True)
    other.pipe_file(loc.full_path("segments/sub/c"), b"c")
    assert loc.list_names("segments") == ["a", "b"]
    assert loc.list_dirs("segments") == ["sub"]
    assert loc.exists("segments/b")
    assert loc.read_many(["segments/a", "segments/b"]) == {"segments/a": b"a", "segments/b": b"b"}
    other.rm_file(loc.full_path("segments/a"))
    assert loc.list_names("segments") == ["b"]
    assert not loc.exists("segments/a")
    # The other process claims a name this one saw as absent: the claim here must fail.
    assert not loc.exists("claims/x")
    other.pipe_file(loc.full_path("claims/x"), b"theirs")
    with pytest.raises(FileExistsError):
        loc.put_if_absent("claims/x", b"mine")
    assert loc.read_bytes("claims/x") == b"theirs"


# -- artifact transfer (storage/_transfer.py) -------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_artifact_transfer_round_trip(backend: Backend, tmp_path: Path) -> None:
    loc = backend.location()
    src = tmp_path / "src"
    (src / "model" / "weights").mkdir(parents=True)
    (src / "model" / "MLmodel").write_text("flavors: {}\n")
    (src / "model" / "weights" / "w.bin").write_bytes(os.urandom(1 << 16))
    big = os.urandom(storage.CHUNK_SIZE + 12345)  # more than one chunk: a multipart upload on object stores
    (src / "big.bin").write_bytes(big)
    (src / "ünïcode name.txt").write_text("ü")

    done = storage.upload_tree(src, loc, "run/artifacts")
    assert sorted(t.path for t in done) == sorted(f"run/artifacts/{rel}" for rel in _tree(src))
    by_path = {t.path: t for t in done}
    assert by_path["run/artifacts/big.bin"].size == len(big)
    assert by_path["run/artifacts/big.bin"].sha256 == hashlib.sha256(big).hexdigest()

    top = storage.list_dir(loc, "run/artifacts")
    assert [(e.name, e.is_dir) for e in top] == [
        ("big.bin", False),
        ("model", True),
        ("ünïcode name.txt", False),
    ]
    assert next(e for e in top if e.name == "big.bin").size == len(big)
    assert storage.list_dir(loc, "run/artifacts/big.bin") == []  # a file lists as empty
    assert storage.list_dir(loc, "run/absent") == []
    assert storage.path_kind(loc, "run/artifacts/model") == "directory"
    assert storage.path_kind(loc, "run/artifacts/model/MLmodel") == "file"
    assert storage.path_kind(loc, "run/artifacts/nothing") is None

    out = tmp_path / "out"
    storage.download_tree(loc, "run/artifacts", out)
    assert _tree(out) == _tree(src)
    single = tmp_path / "single" / "w.bin"
    n = storage.download_file(loc, "run/artifacts/model/weights/w.bin", single)
    assert n == 1 << 16 and single.read_bytes() == (src / "model" / "weights" / "w.bin").read_bytes()

    # Logging a path again replaces the file (artifacts are user files, not store files).
    (src / "big.bin").write_bytes(b"small now")
    again = storage.upload_file(src / "big.bin", loc, "run/artifacts/big.bin")
    assert again.size == 9
    storage.download_file(loc, "run/artifacts/big.bin", tmp_path / "again.bin")
    assert (tmp_path / "again.bin").read_bytes() == b"small now"


# -- end to end: log, compact, search, artifacts ----------------------------------------------------------

FILTER = "params.optimizer = 'adam' and metrics.loss < 0.5 and tags.stage IN ('prod', 'dev')"
ORDER = ["metrics.loss ASC"]


def _native_env(backend: Backend) -> dict[str, str]:
    """The variables each fsspec driver reads by itself (what ``eventlog compact`` is given here)."""
    options = backend.storage_options
    if backend.name == "s3":
        return {
            "AWS_ENDPOINT_URL_S3": options["endpoint_url"],
            "AWS_ACCESS_KEY_ID": options["key"],
            "AWS_SECRET_ACCESS_KEY": options["secret"],
            "AWS_DEFAULT_REGION": options["client_kwargs"]["region_name"],
        }
    if backend.name == "gcs":
        return {"STORAGE_EMULATOR_HOST": options["endpoint_url"]}
    if backend.name == "azure":
        return {"AZURE_STORAGE_CONNECTION_STRING": options["connection_string"]}
    return {}


def test_end_to_end(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options or None)
    experiment = eventlog.set_experiment("conformance")
    logged: dict[str, dict[str, Any]] = {}
    for i in range(4):
        with eventlog.start_run(run_name=f"run-{i}") as run:
            eventlog.log_params({"optimizer": "adam" if i % 2 == 0 else "sgd", "lr": 0.1 * (i + 1)})
            for step in range(6):
                eventlog.log_metric("loss", 1.0 / (i + step + 1), step=step)
            eventlog.set_tag("stage", ["prod", "dev", "dev", "test"][i])
            model = tmp_path / f"model-{i}.bin"
            model.write_bytes(os.urandom(1000 + i))
            eventlog.log_artifact(str(model), artifact_path="models")
            eventlog.log_text(f"notes of run {i}", "notes/readme.txt")
            logged[run.info.run_id] = {"model": model.read_bytes(), "i": i}

    before = eventlog.search_runs(filter_string=FILTER, order_by=ORDER)
    assert sorted(before["params.optimizer"]) == ["adam", "adam"]
    assert list(before["tags.mlflow.runName"]) == ["run-2", "run-0"]  # the lower loss first

    # Compaction with the command line, which finds the store through the variables fsspec reads.
    for name, value in _native_env(backend).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(eventlog_cli, ["compact", backend.uri, "--json"])
    assert result.exit_code == 0, result.output
    assert '"status": "committed"' in result.output
    location = open_location(backend.uri, backend.storage_options)
    assert location.list_names(f"experiments/{experiment.experiment_id}/commits") == ["0000000001.json"]

    after = eventlog.search_runs(filter_string=FILTER, order_by=ORDER)
    pd.testing.assert_frame_equal(before, after)
    assert len(eventlog.search_runs(filter_string="metrics.loss >= 0", output_format="list")) == 4

    client = MlflowClient(backend.uri, storage_options=backend.storage_options or None)
    for run_id, info in logged.items():
        history = client.get_metric_history(run_id, "loss")
        assert [m.step for m in history] == list(range(6))
        top = [(f.path, f.is_dir) for f in client.list_artifacts(run_id)]
        assert top == [("models", True), ("notes", True)]
        files = client.list_artifacts(run_id, "models")
        assert [(f.path, f.file_size) for f in files] == [(f"models/model-{info['i']}.bin", 1000 + info["i"])]
        dst = tmp_path / "downloads" / run_id
        local = client.download_artifacts(run_id, "models", dst_path=str(dst))
        assert Path(local, f"model-{info['i']}.bin").read_bytes() == info["model"]
        notes = client.download_artifacts(run_id, "notes/readme.txt", dst_path=str(dst))
        assert Path(notes).read_text() == f"notes of run {info['i']}"


# -- a filesystem without put-if-absent -------------------------------------------------------------------


class _NoConditionalWrites(MemoryFileSystem):
    """An in-process filesystem with fsspec's generic (check-then-write) create mode only."""

    protocol = "nocondwrite"


@pytest.fixture
def no_conditional_writes() -> None:
    fsspec.register_implementation("nocondwrite", _NoConditionalWrites, clobber=True)


@pytest.mark.usefixtures("no_conditional_writes")
def test_filesystem_without_put_if_absent_gets_a_clear_error() -> None:
    loc = open_location("nocondwrite://store")
    with pytest.raises(PutIfAbsentUnsupportedError, match="cannot create a file only if it is absent"):
        loc.put_if_absent("claims/x", b"x")
    assert not loc.exists("claims/x")  # nothing written
    # Creating a store needs put-if-absent (the marker, experiment claims): refused the same way.
    eventlog.set_tracking_uri("nocondwrite://store")
    with pytest.raises((PutIfAbsentUnsupportedError, MlflowException), match="only if it is absent"):
        eventlog.set_experiment("x")
    assert loc.list_names("") == [] and loc.list_dirs("") == []


@pytest.mark.usefixtures("no_conditional_writes")
def test_filesystem_without_put_if_absent_still_reads_a_store(tmp_path: Path) -> None:
    """A store made elsewhere (here: on memory://) and copied onto such a filesystem can be read."""
    eventlog.set_tracking_uri("memory://made-here")
    eventlog.set_experiment("copied")
    with eventlog.start_run() as run:
        eventlog.log_metric("m", 1.5)
    eventlog.flush()
    source = open_location("memory://made-here")
    copy = open_location("nocondwrite://copied")
    for path in source.fs.find(source.root):
        copy.fs.pipe_file(copy.full_path(path[len(source.root) + 1 :]), source.fs.cat_file(path))
    client = MlflowClient("nocondwrite://copied")
    assert client.get_run(run.info.run_id).data.metrics == {"m": 1.5}
    with pytest.raises((PutIfAbsentUnsupportedError, MlflowException), match="only if it is absent"):
        client.create_experiment("needs-a-claim")


@pytest.mark.parametrize("backend", backend_params(("s3", "gcs", "azure")), indirect=True)
def test_store_in_a_missing_bucket_gets_a_clear_error(backend: Backend) -> None:
    name = backend.uri.split("://", 1)[1].split("/", 1)[0]
    uri = backend.uri.replace(name, "no-such-bucket-here", 1)
    eventlog.set_tracking_uri(uri, storage_options=backend.storage_options)
    with pytest.raises((OSError, MlflowException)) as info:
        eventlog.set_experiment("x")
    text = str(info.value).lower()
    assert "no-such-bucket-here" in text or "does not exist" in text or "not found" in text, text


# -- a prefix that is not an eventlog store ---------------------------------------------------------------


def test_prefix_holding_other_files_is_refused_and_untouched(backend: Backend) -> None:
    other = backend.other_process_fs()
    loc = backend.location()
    foreign = {"data/train.csv": b"a,b\n1,2\n", "notes.txt": b"mine"}
    for rel, data in foreign.items():
        other.pipe_file(loc.full_path(rel), data)
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options or None)
    with pytest.raises(MlflowException, match="touched nothing") as info:
        eventlog.set_experiment("x")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert sorted(p[len(loc.root) + 1 :] for p in other.find(loc.root)) == sorted(foreign)
    for rel, data in foreign.items():
        assert other.cat_file(loc.full_path(rel)) == data


@pytest.mark.parametrize("backend", backend_params(("s3", "gcs")), indirect=True)
def test_listing_buckets_does_not_poison_later_reads(backend: Backend) -> None:
    """gcsfs caches a bucket listing with names like "bucket/", after which ``info("bucket/dir")`` raised
    FileNotFoundError; the store's filesystems keep no listings cache."""
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    eventlog.set_experiment("after-bucket-listing")
    location = get_store().location
    assert location.fs.ls("")  # the buckets
    assert "catalog" in location.list_dirs("")
    assert location.exists("eventlog-store.json")
    reset_process_state()
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options)
    assert eventlog.get_experiment_by_name("after-bucket-listing") is not None


# -- regressions: bugs this suite found, fixed ----------------------------------------------------------


@pytest.mark.parametrize("backend", backend_params(("local", "memory", "s3", "gcs", "azure")), indirect=True)
def test_listing_an_absent_artifact_directory_that_prefixes_a_file_is_empty(
    backend: Backend, tmp_path: Path
) -> None:
    eventlog.set_tracking_uri(backend.uri, storage_options=backend.storage_options or None)
    model = tmp_path / "model.pkl"
    model.write_bytes(b"weights")
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(model))
    client = MlflowClient(backend.uri, storage_options=backend.storage_options or None)
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["model.pkl"]
    assert client.list_artifacts(run.info.run_id, "model") == []
    assert client.list_artifacts(run.info.run_id, "model.p") == []


@pytest.mark.cloud
def test_cli_uses_storage_options_from_the_environment(s3: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    eventlog.set_tracking_uri(s3.uri, storage_options=s3.storage_options)
    eventlog.set_experiment("seen-from-the-cli")
    reset_process_state()  # (this also clears EVENTLOG_TRACKING_URI)
    monkeypatch.setenv("EVENTLOG_TRACKING_URI", s3.uri)
    monkeypatch.setenv("EVENTLOG_STORAGE_OPTIONS", json.dumps(s3.storage_options))
    # Where the options are ignored, S3 requests go to a closed local port and fail at once (never to AWS).
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unused")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unused")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert CliRunner().invoke(eventlog_cli, ["compact", "--json"]).exit_code == 0  # no URI given: works
    result = CliRunner().invoke(eventlog_cli, ["experiments", "--json"])
    assert result.exit_code == 0, result.output
    assert "seen-from-the-cli" in result.output


@pytest.mark.parametrize("backend", backend_params(("gcs",)), indirect=True)
def test_gcs_emulator_store_turns_off_gcsfs_grpc_probing(backend: Backend, tmp_path: Path) -> None:
    """A process that never heard of GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT logs to a GCS emulator at once:
    storage sets the variable before gcsfs is imported (else every bucket lookup waits 60 s for gRPC)."""
    env = backend.child_env()
    env.pop("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", None)
    script = (
        "import os, sys, eventlog\n"
        "assert 'gcsfs' not in sys.modules\n"
        "eventlog.set_experiment('no-grpc')\n"
        "with eventlog.start_run():\n"
        "    eventlog.log_metric('m', 1.0)\n"
        "fs = eventlog.MlflowClient()._store.location.fs\n"
        "print(os.environ['GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT'], type(fs))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=50
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("false <class 'gcsfs.core.GCSFileSystem'>"), done.stdout
