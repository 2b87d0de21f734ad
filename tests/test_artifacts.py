"""Artifacts: logging, listing and downloading files under a run's artifact root, on local and memory://
stores; the artifact events and their checksums; artifact roots and storage options; hostile paths; and
(slow) a 1 GiB round trip that must stream (peak RSS of the process under 200 MiB).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from eventlog.storage import _transfer

import eventlog
from eventlog import MlflowClient, _artifacts, _config, storage
from eventlog.exceptions import InvalidParameterValue, ResourceDoesNotExist

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- fixtures and helpers ---------------------------------------------------------------------------------
@pytest.fixture(params=["local", "memory"])
def store_kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "local":
        eventlog.set_tracking_uri(str(tmp_path / "store"))
    else:
        eventlog.set_tracking_uri("memory://somewhere")
    yield request.param
    _config.set_default_artifact_root(None)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A small tree to log: a.txt, d/x.bin, d/sub/y.txt and the empty d/empty."""
    src = tmp_path / "src"
    (src / "d" / "sub").mkdir(parents=True)
    (src / "d" / "empty").mkdir()
    (src / "a.txt").write_text("hello")
    (src / "d" / "x.bin").write_bytes(b"\x00\x01\x02")
    (src / "d" / "sub" / "y.txt").write_text("yy")
    return src


def _listing(
    client: MlflowClient, run_id: str, path: str | None = None
) -> list[tuple[str, bool, int | None]]:
    return [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, path)]


def _artifact_events(run_id: str) -> dict[str, tuple[int, str]]:
    from eventlog.views import partition_tables

    client = MlflowClient()
    store = client._store
    store.flush()
    experiment_id = client.get_run(run_id).info.experiment_id
    table = partition_tables(store.location, experiment_id, [run_id], cache=store.cache).artifacts
    return {
        path: (size, checksum)
        for path, size, checksum in table.select("path", "size", "checksum").iter_rows()
    }


def _read(run_id: str, path: str, tmp_path: Path) -> bytes:
    return Path(MlflowClient().download_artifacts(run_id, path, str(tmp_path / "dl-read"))).read_bytes()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- logging and listing ----------------------------------------------------------------------------------
def test_log_artifact_file_and_directory_listing(store_kind: str, files: Path) -> None:
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(files / "a.txt"))
        eventlog.log_artifact(str(files / "a.txt"), artifact_path="nested/deeper")
        eventlog.log_artifact(str(files / "d"))  # a directory goes under its basename
        eventlog.log_artifacts(str(files / "d"), artifact_path="under")
    client = MlflowClient()
    rid = run.info.run_id
    assert _listing(client, rid) == [
        ("a.txt", False, 5),
        ("d", True, None),
        ("nested", True, None),
        ("under", True, None),
    ]
    assert _listing(client, rid, "d") == [
        ("d/empty", True, None),
        ("d/sub", True, None),
        ("d/x.bin", False, 3),
    ]
    assert _listing(client, rid, "d/") == _listing(client, rid, "d")
    assert _listing(client, rid, "under/sub") == [("under/sub/y.txt", False, 2)]
    assert _listing(client, rid, "nested/deeper") == [("nested/deeper/a.txt", False, 5)]
    assert _listing(client, rid, "a.txt") == []  # a file lists as empty, as in MLflow
    assert _listing(client, rid, "missing") == []
    assert _listing(client, rid, "d/empty") == []


def test_log_artifacts_of_a_missing_directory_logs_nothing(store_kind: str, tmp_path: Path) -> None:
    with eventlog.start_run() as run:
        eventlog.log_artifacts(str(tmp_path / "nope"), "x")
    assert [f.path for f in MlflowClient().list_artifacts(run.info.run_id) if not f.is_dir] == []
    assert _artifact_events(run.info.run_id) == {}


def test_log_artifact_of_a_missing_file(store_kind: str, tmp_path: Path) -> None:
    with eventlog.start_run(), pytest.raises(FileNotFoundError, match="No such file or directory"):
        eventlog.log_artifact(str(tmp_path / "nope.txt"))


def test_logging_starts_a_run_when_none_is_active(store_kind: str, files: Path) -> None:
    assert eventlog.active_run() is None
    eventlog.log_artifact(str(files / "a.txt"))
    run = eventlog.active_run()
    assert run is not None
    assert _listing(MlflowClient(), run.info.run_id) == [("a.txt", False, 5)]
    eventlog.end_run()


def test_run_id_argument_logs_to_that_run(store_kind: str, files: Path) -> None:
    client = MlflowClient()
    other = client.create_run("0").info.run_id
    with eventlog.start_run() as active:
        eventlog.log_text("x", "t.txt", run_id=other)
        eventlog.log_artifact(str(files / "a.txt"), run_id=other)
        client.log_dict(other, {"a": 1}, "c.json")
    assert [f.path for f in client.list_artifacts(other)] == ["a.txt", "c.json", "t.txt"]
    assert client.list_artifacts(active.info.run_id) == []


def test_relogging_a_path_replaces_the_file(store_kind: str, tmp_path: Path) -> None:
    with eventlog.start_run() as run:
        eventlog.log_text("first version", "notes.txt")
        eventlog.log_text("second", "notes.txt")
    assert _read(run.info.run_id, "notes.txt", tmp_path) == b"second"
    assert _artifact_events(run.info.run_id) == {"notes.txt": (6, _sha(b"second"))}


def test_deleted_run_still_takes_artifacts_as_in_mlflow(store_kind: str) -> None:
    client = MlflowClient()
    rid = client.create_run("0").info.run_id
    client.delete_run(rid)
    client.log_text(rid, "x", "z.txt")
    assert _listing(client, rid) == [("z.txt", False, 1)]


def test_missing_run(store_kind: str) -> None:
    client = MlflowClient()
    rid = "0" * 32
    for call in (
        lambda: client.list_artifacts(rid),
        lambda: client.download_artifacts(rid, "x"),
        lambda: client.log_text(rid, "x", "y.txt"),
    ):
        with pytest.raises(ResourceDoesNotExist, match=f"Run with id={rid} not found"):
            call()


# -- events ------------------------------------------------------------------------------------------------
def test_each_logged_file_appends_an_artifact_event_with_its_checksum(store_kind: str, files: Path) -> None:
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(files / "a.txt"), "p")
        eventlog.log_artifacts(str(files / "d"))
        eventlog.log_dict({"k": [1, 2]}, "cfg/c.json")
    events = _artifact_events(run.info.run_id)
    assert events == {
        "p/a.txt": (5, _sha(b"hello")),
        "x.bin": (3, _sha(b"\x00\x01\x02")),
        "sub/y.txt": (2, _sha(b"yy")),
        "cfg/c.json": (
            len(json.dumps({"k": [1, 2]}, indent=2)),
            _sha(json.dumps({"k": [1, 2]}, indent=2).encode()),
        ),
    }


# -- text, dict, table ------------------------------------------------------------------------------------
def test_log_text_and_dict_contents(store_kind: str, tmp_path: Path) -> None:
    data = {"b": 1, "a": [1, {"z": None}], "s": "ü", "when": pd.Timestamp("2020-01-01")}
    with eventlog.start_run() as run:
        eventlog.log_text("héllo\nwörld", "notes/t.txt")
        eventlog.log_dict(data, "d.json")
        eventlog.log_dict({"b": 1, "a": [1, {"z": None}], "s": "ü"}, "d.yaml")
        eventlog.log_dict({"b": 1}, "d.yml")
        eventlog.log_dict({"b": 1}, "d.txt")  # any other extension: JSON
    rid = run.info.run_id
    assert _read(rid, "notes/t.txt", tmp_path).decode() == "héllo\nwörld"
    assert _read(rid, "d.json", tmp_path).decode() == json.dumps(data, indent=2, default=str)
    assert _read(rid, "d.yaml", tmp_path).decode() == 'a:\n- 1\n- z: null\nb: 1\ns: "\\xFC"\n'
    assert _read(rid, "d.yml", tmp_path).decode() == "b: 1\n"
    assert _read(rid, "d.txt", tmp_path).decode() == '{\n  "b": 1\n}'


def test_log_table_json_appends_and_tags_the_run(store_kind: str, tmp_path: Path) -> None:
    with eventlog.start_run() as run:
        eventlog.log_table({"a": [1, 2], "b": ["x", "y"]}, "t.json")
        eventlog.log_table(pd.DataFrame({"a": [3], "b": ["z"], "c": [1.5]}), "t.json")
        eventlog.log_table({"a": "scalar", "b": 1}, "dir/s.json")
    rid = run.info.run_id
    assert json.loads(_read(rid, "t.json", tmp_path)) == {
        "columns": ["a", "b", "c"],
        "data": [[1, "x", None], [2, "y", None], [3, "z", 1.5]],
    }
    assert json.loads(_read(rid, "dir/s.json", tmp_path)) == {"columns": ["a", "b"], "data": [["scalar", 1]]}
    tag = json.loads(eventlog.get_run(rid).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "t.json", "type": "table"}, {"path": "dir/s.json", "type": "table"}]


def test_log_table_parquet_appends(store_kind: str, tmp_path: Path) -> None:
    with eventlog.start_run() as run:
        eventlog.log_table({"a": [1, 2]}, "dir/t.parquet")
        eventlog.log_table({"a": [3]}, "dir/t.parquet")
    path = MlflowClient().download_artifacts(run.info.run_id, "dir/t.parquet", str(tmp_path / "dl"))
    assert pd.read_parquet(path)["a"].tolist() == [1, 2, 3]


def test_log_table_errors(store_kind: str) -> None:
    with eventlog.start_run() as run:
        with pytest.raises(ValueError, match=re.escape("with either '.json' or '.parquet' extension")):
            eventlog.log_table({"a": [1]}, "t.csv")
        with pytest.raises(ValueError, match="forbidden character: :"):
            eventlog.log_table({"a": [1]}, "t:x.json")
        with pytest.raises(
            InvalidParameterValue, match=re.escape("data must be a pandas.DataFrame or a dictionary")
        ):
            eventlog.log_table([1], "t.json")  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterValue, match=re.escape("Invalid artifact path: '..'")):
            eventlog.log_table({"a": [1]}, "../t.json")
    assert MlflowClient().list_artifacts(run.info.run_id) == []


def test_log_table_with_image_columns(store_kind: str, tmp_path: Path) -> None:
    from PIL import Image

    frame = pd.DataFrame(
        {"prompt": ["a", "b"], "image": [Image.new("RGB", (10, 5)), Image.new("RGB", (4, 8))]}
    )
    with eventlog.start_run() as run:
        eventlog.log_table(frame, "gen.json")
    rid = run.info.run_id
    table = json.loads(_read(rid, "gen.json", tmp_path))
    cells = [row[1] for row in table["data"]]
    assert all(cell["type"] == "image" for cell in cells)
    listed = {f.path for f in MlflowClient().list_artifacts(rid, "table_images/gen")}
    assert {cell["filepath"] for cell in cells} | {cell["compressed_filepath"] for cell in cells} == listed
    with pytest.raises(ValueError, match="contains a mix of images and non-images"):
        eventlog.log_table(pd.DataFrame({"x": [Image.new("RGB", (1, 1)), "no"]}), "m.json", run_id=rid)


def test_load_table(store_kind: str) -> None:
    eventlog.set_experiment("tables")
    with eventlog.start_run() as r1:
        eventlog.log_table({"a": [1, 2]}, "t.json")
    with eventlog.start_run() as r2:
        eventlog.log_table({"a": [3]}, "t.json")
    with eventlog.start_run():
        eventlog.log_table({"a": [9]}, "other.json")
    frame = eventlog.load_table("t.json", extra_columns=["run_id"])
    # search_runs order: the newest run first
    assert frame.to_dict("records") == [
        {"a": 3, "run_id": r2.info.run_id},
        {"a": 1, "run_id": r1.info.run_id},
        {"a": 2, "run_id": r1.info.run_id},
    ]
    only = eventlog.load_table("t.json", run_ids=[r1.info.run_id], extra_columns=["run_id", "status"])
    assert only.to_dict("records") == [
        {"a": 1, "run_id": r1.info.run_id, "status": "FINISHED"},
        {"a": 2, "run_id": r1.info.run_id, "status": "FINISHED"},
    ]
    with eventlog.start_run() as r4:
        eventlog.log_table({"run_id": ["mine"]}, "clash.json")
    clash = eventlog.load_table("clash.json", extra_columns=["run_id"])
    assert clash.to_dict("records") == [{"run_id": "mine", "run_id_": r4.info.run_id}]
    with pytest.raises(
        ResourceDoesNotExist, match=re.escape("No runs found with the corresponding table artifact.")
    ):
        eventlog.load_table("missing.json")
    client_frame = MlflowClient().load_table(r1.info.experiment_id, "t.json")
    assert client_frame["a"].tolist() == [3, 1, 2]


# -- figures and images ------------------------------------------------------------------------------------
def test_log_figure_matplotlib_is_a_png(store_kind: str, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    with eventlog.start_run() as run:
        eventlog.log_figure(fig, "plots/fig.png")
        eventlog.log_figure(fig, "plots/fig.svg", save_kwargs={"transparent": True})
    plt.close(fig)
    path = MlflowClient().download_artifacts(run.info.run_id, "plots/fig.png", str(tmp_path / "dl"))
    assert Path(path).read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (200, 100)
    assert b"<svg" in _read(run.info.run_id, "plots/fig.svg", tmp_path)


def test_log_figure_plotly(store_kind: str, tmp_path: Path) -> None:
    go = pytest.importorskip("plotly.graph_objects")
    fig = go.Figure(go.Scatter(x=[0, 1], y=[2, 3]))
    with eventlog.start_run() as run:
        eventlog.log_figure(fig, "fig.html")
        with pytest.raises(
            TypeError, match=re.escape("Unsupported file extension for plotly figure: '.txt'")
        ):
            eventlog.log_figure(fig, "fig.txt")
        with pytest.raises(TypeError, match="Unsupported figure object type"):
            eventlog.log_figure("not a figure", "x.png")
    html = _read(run.info.run_id, "fig.html", tmp_path).decode()
    assert "<html>" in html and "cdn.plot.ly" in html
    assert [f.path for f in MlflowClient().list_artifacts(run.info.run_id)] == ["fig.html"]


@pytest.mark.parametrize(
    ("array", "mode"),
    [
        (np.zeros((4, 6), dtype=np.uint8), "L"),
        (np.full((4, 6, 3), 0.5), "RGB"),
        (np.ones((4, 6), dtype=bool), "L"),
        (np.zeros((4, 6, 1), dtype=np.int64), "L"),
        (np.zeros((4, 6, 4), dtype=np.uint8), "RGBA"),
    ],
)
def test_log_image_arrays(store_kind: str, tmp_path: Path, array: Any, mode: str) -> None:
    from PIL import Image

    with eventlog.start_run() as run:
        eventlog.log_image(array, "img.png")
    path = MlflowClient().download_artifacts(run.info.run_id, "img.png", str(tmp_path / "dl"))
    with Image.open(path) as image:
        assert (image.size, image.mode) == ((6, 4), mode)


def test_log_image_checks_like_mlflow(store_kind: str) -> None:
    cases: list[tuple[Any, type[Exception], str]] = [
        (np.full((2, 2), 300, dtype=np.int32), ValueError, "Integer pixel values out of acceptable range"),
        (np.full((2, 2), -1, dtype=np.int64), ValueError, "Found minimum value -1 and maximum value -1"),
        (np.zeros((2, 2, 2)), ValueError, "Invalid channel length: 2. Must be one of \\[1, 3, 4\\]"),
        (np.zeros((2,)), ValueError, "must be a 2D or 3D array but got image shape: \\(2,\\)"),
        (np.array([["a"]]), TypeError, "Invalid array data type: '<U1'"),
        (np.zeros((2, 2), dtype=np.complex64), TypeError, "Invalid array data type: 'complex64'"),
        ("not an image", TypeError, "Unsupported image object type: <class 'str'>"),
    ]
    with eventlog.start_run() as run:
        for image, error, message in cases:
            with pytest.raises(error, match=message):
                eventlog.log_image(image, "x.png")
        with pytest.raises(TypeError, match="cannot be used in conjunction with `key`"):
            eventlog.log_image(np.zeros((2, 2)), "x.png", key="k")
        with pytest.raises(TypeError, match="Please specify exactly one of `artifact_file` or `key`"):
            eventlog.log_image(np.zeros((2, 2)))
        with pytest.raises(ValueError, match="The provided key `bad\\*key` contains invalid characters"):
            eventlog.log_image(np.zeros((2, 2)), key="bad*key")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            eventlog.log_image(np.full((2, 2), 2.0) + np.eye(2), "rescaled.png")
        assert any("Rescaling values to [0.0, 1.0]" in str(w.message) for w in caught)
    assert [f.path for f in MlflowClient().list_artifacts(run.info.run_id)] == ["rescaled.png"]


def test_log_image_key_step_series(store_kind: str) -> None:
    from PIL import Image

    with eventlog.start_run() as run:
        eventlog.log_image(np.zeros((300, 200, 3), dtype=np.uint8), key="a/b", step=3, timestamp=1234)
        eventlog.log_image(Image.new("RGB", (10, 10)), key="a/b", step=4)
    rid = run.info.run_id
    names = [f.path for f in MlflowClient().list_artifacts(rid, "images")]
    assert len(names) == 4
    full = [n for n in names if n.endswith(".png")]
    thumbs = [n for n in names if n.endswith("+compressed.webp")]
    assert len(full) == 2 and len(thumbs) == 2
    assert any(n.startswith("images/a~b+step+3+timestamp+1234+") for n in full)
    assert eventlog.get_run(rid).data.tags["mlflow.loggedImages"] == "True"


# -- downloads ---------------------------------------------------------------------------------------------
def test_downloads(store_kind: str, files: Path, tmp_path: Path) -> None:
    client = MlflowClient()
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(files / "a.txt"))
        eventlog.log_artifact(str(files / "d"))
    rid = run.info.run_id
    dst = tmp_path / "out" / "deep"  # created when missing
    path = client.download_artifacts(rid, "d/sub/y.txt", str(dst))
    assert path == str(dst / "y.txt") and Path(path).read_text() == "yy"
    tree = Path(client.download_artifacts(rid, "d", str(dst)))
    assert tree == dst / "d"
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*")) == ["empty", "sub", "sub/y.txt", "x.bin"]
    assert (tree / "x.bin").read_bytes() == b"\x00\x01\x02"
    whole = Path(client.download_artifacts(rid, "", str(tmp_path / "whole")))
    assert sorted(p.name for p in whole.iterdir()) == ["a.txt", "d"]
    contents = Path(client.download_artifacts(rid, "d/", str(tmp_path / "contents")))
    assert sorted(p.name for p in contents.iterdir()) == ["empty", "sub", "x.bin"]
    temp = Path(client.download_artifacts(rid, "a.txt"))  # no dst_path: a new temp directory
    assert temp.read_text() == "hello" and temp.parent != Path.cwd()
    assert not any(p.name.startswith(storage.TEMP_PREFIX) for p in tmp_path.rglob("*"))


def test_download_errors(store_kind: str, files: Path, tmp_path: Path) -> None:
    client = MlflowClient()
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(files / "d"))
    rid = run.info.run_id
    with pytest.raises(
        ResourceDoesNotExist, match=re.escape("Failed to download artifacts from path 'missing', please")
    ):
        client.download_artifacts(rid, "missing", str(tmp_path))
    with pytest.raises(
        ResourceDoesNotExist, match=re.escape("from path 'nope.txt', please ensure that the path is")
    ):
        client.download_artifacts(rid, "d/nope.txt", str(tmp_path))
    for hostile in ("../x", "/etc/passwd", "d/../../x", ".."):
        with pytest.raises(InvalidParameterValue, match="resolved path is outside the artifact directory"):
            client.download_artifacts(rid, hostile, str(tmp_path))
        with pytest.raises(InvalidParameterValue, match="resolved path is outside the artifact directory"):
            client.list_artifacts(rid, hostile)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(FileExistsError):
        client.download_artifacts(rid, "d", str(tmp_path / "a-file"))


def test_get_artifact_uri(store_kind: str) -> None:
    with eventlog.start_run() as run:
        root = eventlog.get_artifact_uri()
        assert root == run.info.artifact_uri
        assert root.endswith(f"/{run.info.run_id}/artifacts")
        assert eventlog.get_artifact_uri("a/b.txt") == f"{root}/a/b.txt"
        with pytest.raises(InvalidParameterValue):
            eventlog.get_artifact_uri("../elsewhere")
    assert eventlog.active_run() is None
    started = eventlog.get_artifact_uri()  # starts a run, as MLflow does
    active = eventlog.active_run()
    assert active is not None and started == active.info.artifact_uri
    eventlog.end_run()


# -- hostile paths: rejected with INVALID_PARAMETER_VALUE, nothing written --------------------------------
BAD_ARTIFACT_PATHS = ["../x", "/abs", "a/../../x", "a/..", "./a", "a//b", "..", ".", "x/./y", "..hidden"]
BAD_ARTIFACT_FILES = ["../x.txt", "/abs.txt", "a/../../x.txt", "..", "", "/", "../../etc/passwd", "a/../.."]


def _written(store_kind: str, tmp_path: Path) -> set[str]:
    """Every artifact-side file and directory there is: on local disk everything under tmp_path but the
    store's event files; in memory:// every key but the segments."""
    if store_kind == "local":
        store = tmp_path / "store"
        return {
            str(p.relative_to(tmp_path))
            for p in tmp_path.rglob("*")
            if p.is_relative_to(store / "artifacts") or not p.is_relative_to(store)
        }
    import fsspec.implementations.memory as memory

    keys = set(memory.MemoryFileSystem.store) | set(memory.MemoryFileSystem.pseudo_dirs)
    return {k for k in keys if not k.endswith(".parquet")}


@pytest.mark.parametrize("bad", BAD_ARTIFACT_PATHS)
def test_bad_artifact_path_is_rejected(store_kind: str, files: Path, tmp_path: Path, bad: str) -> None:
    client = MlflowClient()
    with eventlog.start_run() as run:
        before = _written(store_kind, tmp_path)
        for call in (
            lambda: eventlog.log_artifact(str(files / "a.txt"), bad),
            lambda: eventlog.log_artifact(str(files / "d"), bad),
            lambda: eventlog.log_artifacts(str(files / "d"), bad),
            lambda: client.log_artifact(run.info.run_id, str(files / "a.txt"), bad),
            lambda: client.log_artifacts(run.info.run_id, str(files / "d"), bad),
        ):
            with pytest.raises(InvalidParameterValue) as info:
                call()
            assert info.value.error_code == "INVALID_PARAMETER_VALUE"
            assert info.value.message.startswith(
                f"Invalid artifact path: '{bad}'. Names may be treated as files"
            )
        assert _written(store_kind, tmp_path) == before
    assert client.list_artifacts(run.info.run_id) == []
    assert _artifact_events(run.info.run_id) == {}


@pytest.mark.parametrize("bad", BAD_ARTIFACT_FILES)
def test_bad_artifact_file_is_rejected(store_kind: str, tmp_path: Path, bad: str) -> None:
    from PIL import Image

    with eventlog.start_run() as run:
        before = _written(store_kind, tmp_path)
        for call in (
            lambda: eventlog.log_text("x", bad),
            lambda: eventlog.log_dict({"a": 1}, bad),
            lambda: eventlog.log_image(Image.new("RGB", (2, 2)), bad),
            lambda: eventlog.log_table({"a": [1]}, bad.rstrip("/") + "/t.json"),
        ):
            with pytest.raises(InvalidParameterValue) as info:
                call()
            assert info.value.error_code == "INVALID_PARAMETER_VALUE"
        assert _written(store_kind, tmp_path) == before
    assert MlflowClient().list_artifacts(run.info.run_id) == []
    assert _artifact_events(run.info.run_id) == {}


def test_mlflow_messages_for_hostile_artifact_files(store_kind: str) -> None:
    with eventlog.start_run():
        with pytest.raises(
            InvalidParameterValue, match=r"^Invalid artifact path: '\.\.'\. Names may be treated"
        ):
            eventlog.log_text("x", "a/../../x.txt")
        with pytest.raises(InvalidParameterValue, match=r"^Invalid artifact path: '/'\. .* resolve to '/'$"):
            eventlog.log_text("x", "/abs.txt")


def test_normalisable_artifact_files_are_accepted_as_mlflow_does(store_kind: str) -> None:
    with eventlog.start_run() as run:
        eventlog.log_text("b", "a/../b.txt")
        eventlog.log_text("c", "./c.txt")
        eventlog.log_text("d", "dir/")
    assert [f.path for f in MlflowClient().list_artifacts(run.info.run_id)] == ["b.txt", "c.txt", "dir"]


def test_reserved_temp_names_are_rejected(store_kind: str, tmp_path: Path) -> None:
    reserved = tmp_path / "r"
    reserved.mkdir()
    (reserved / f"{storage.TEMP_PREFIX}x").write_text("x")
    with eventlog.start_run() as run:
        with pytest.raises(InvalidParameterValue, match="are reserved"):
            eventlog.log_text("x", f"{storage.TEMP_PREFIX}z")
        with pytest.raises(InvalidParameterValue, match="are reserved"):
            eventlog.log_artifacts(str(reserved))
    assert MlflowClient().list_artifacts(run.info.run_id) == []


def test_symlink_out_of_a_local_artifact_root_is_rejected(tmp_path: Path) -> None:
    eventlog.set_tracking_uri(str(tmp_path / "store"))
    outside = tmp_path / "outside"
    outside.mkdir()
    with eventlog.start_run() as run:
        eventlog.log_text("x", "keep.txt")
        root = Path(run.info.artifact_uri.removeprefix("file://"))
        (root / "link").symlink_to(outside, target_is_directory=True)
        with pytest.raises(InvalidParameterValue, match="resolved path is outside the artifact directory"):
            eventlog.log_text("x", "link/escape.txt")
        with pytest.raises(InvalidParameterValue, match="resolved path is outside the artifact directory"):
            MlflowClient().list_artifacts(run.info.run_id, "link")
        tree = tmp_path / "tree"
        (tree / "link").mkdir(parents=True)
        (tree / "link" / "escape.txt").write_text("x")
        with pytest.raises(InvalidParameterValue, match="resolved path is outside the artifact directory"):
            eventlog.log_artifacts(str(tree))
    assert list(outside.iterdir()) == []


# -- artifact roots and storage options ----------------------------------------------------------------
def test_default_root_is_under_the_store(tmp_path: Path) -> None:
    eventlog.set_tracking_uri(str(tmp_path / "store"))
    with eventlog.start_run() as run:
        pass
    expected = (tmp_path / "store" / "artifacts" / "0" / run.info.run_id / "artifacts").as_uri()
    assert run.info.artifact_uri == expected


@pytest.mark.parametrize("variable", ["EVENTLOG_ARTIFACT_ROOT", "MLFLOW_DEFAULT_ARTIFACT_ROOT"])
def test_artifacts_in_memory_while_the_log_is_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "memory://art-root")
    eventlog.set_tracking_uri(str(tmp_path / "store"))
    experiment_id = eventlog.create_experiment("e")
    with eventlog.start_run(experiment_id=experiment_id) as run:
        eventlog.log_text("remote", "r.txt")
    assert run.info.artifact_uri == f"memory://art-root/{experiment_id}/{run.info.run_id}/artifacts"
    import fsspec

    fs = fsspec.filesystem("memory")
    assert fs.cat_file(f"/art-root/{experiment_id}/{run.info.run_id}/artifacts/r.txt") == b"remote"
    assert not (tmp_path / "store" / "artifacts" / experiment_id).exists()
    assert _listing(MlflowClient(), run.info.run_id) == [("r.txt", False, 6)]


def test_local_artifacts_while_the_log_is_in_memory(tmp_path: Path) -> None:
    _config.set_default_artifact_root(tmp_path / "art")
    try:
        eventlog.set_tracking_uri("memory://somewhere")
        with eventlog.start_run() as run:
            eventlog.log_text("local", "l.txt")
    finally:
        _config.set_default_artifact_root(None)
    assert (tmp_path / "art" / "0" / run.info.run_id / "artifacts" / "l.txt").read_text() == "local"


def test_explicit_experiment_artifact_location(store_kind: str, tmp_path: Path) -> None:
    experiment_id = eventlog.create_experiment("explicit", artifact_location=str(tmp_path / "mine"))
    with eventlog.start_run(experiment_id=experiment_id) as run:
        eventlog.log_text("x", "x.txt")
    assert (tmp_path / "mine" / run.info.run_id / "artifacts" / "x.txt").read_text() == "x"


def test_artifact_storage_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eventlog.set_tracking_uri("memory://somewhere", storage_options={"skip_instance_cache": True})
    store = MlflowClient()._store
    same = _artifacts.open_artifact_location(store, "memory://elsewhere/x")
    assert dict(same.storage_options) == {"skip_instance_cache": True}
    monkeypatch.setenv("EVENTLOG_ARTIFACT_STORAGE_OPTIONS", json.dumps({"auto_mkdir": True}))
    other = _artifacts.open_artifact_location(store, str(tmp_path / "local"))
    assert dict(other.storage_options) == {"auto_mkdir": True}
    monkeypatch.setenv("EVENTLOG_ARTIFACT_STORAGE_OPTIONS", "[1]")
    with pytest.raises(ValueError, match="must be a JSON object"):
        _artifacts.open_artifact_location(store, str(tmp_path / "local"))


def test_default_artifact_root_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    location = storage.open_location(tmp_path / "s")
    assert _config.default_artifact_root(location) == (tmp_path / "s" / "artifacts").as_uri()
    monkeypatch.setenv("MLFLOW_DEFAULT_ARTIFACT_ROOT", "s3://mlflow-bucket/root/")
    assert _config.default_artifact_root(location) == "s3://mlflow-bucket/root"
    monkeypatch.setenv("EVENTLOG_ARTIFACT_ROOT", "relative/dir")
    assert _config.default_artifact_root(location) == (tmp_path / "relative" / "dir").as_uri()
    _config.set_default_artifact_root("gs://b/p")
    try:
        assert _config.default_artifact_root(location) == "gs://b/p"
    finally:
        _config.set_default_artifact_root(None)


# -- storage transfer -----------------------------------------------------------------------------------
@pytest.mark.parametrize("uri", ["local", "memory://transfer"])
def test_transfer_streams_in_chunks_and_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    monkeypatch.setattr(_transfer, "CHUNK_SIZE", 1000)
    data = os.urandom(10_500)
    (tmp_path / "f.bin").write_bytes(data)
    location = storage.open_location(tmp_path / "dest" if uri == "local" else uri)
    done = storage.upload_file(tmp_path / "f.bin", location, "a/b/f.bin")
    assert (done.path, done.size, done.sha256) == ("a/b/f.bin", len(data), hashlib.sha256(data).hexdigest())
    assert storage.sha256_file(tmp_path / "f.bin") == (len(data), hashlib.sha256(data).hexdigest())
    assert storage.list_dir(location, "a/b") == [storage.Entry("f.bin", False, len(data))]
    assert storage.list_dir(location, "a") == [storage.Entry("b", True, None)]
    assert storage.path_kind(location, "a") == "directory"
    assert storage.path_kind(location, "a/b/f.bin") == "file"
    assert storage.path_kind(location, "nope") is None
    assert storage.download_file(location, "a/b/f.bin", tmp_path / "back.bin") == len(data)
    assert (tmp_path / "back.bin").read_bytes() == data
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "empty").mkdir()
    (tmp_path / "tree" / "sub" / "g.bin").write_bytes(data[:10])
    tree = storage.upload_tree(tmp_path / "tree", location, "t")
    assert [(t.path, t.size) for t in tree] == [("t/sub/g.bin", 10)]
    assert storage.list_dir(location, "t") == [
        storage.Entry("empty", True, None),
        storage.Entry("sub", True, None),
    ]
    assert storage.download_tree(location, "t", tmp_path / "tree-back") == [
        str(tmp_path / "tree-back/sub/g.bin")
    ]
    assert (tmp_path / "tree-back" / "empty").is_dir()


def test_failed_upload_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    location = storage.open_location(tmp_path / "dest")
    (tmp_path / "f.bin").write_bytes(b"x" * 5000)
    monkeypatch.setattr(_transfer, "CHUNK_SIZE", 1000)
    calls = 0
    real = _transfer._copy_stream

    def failing(src: Any, dst: Any, digest: Any = None) -> int:
        nonlocal calls
        calls += 1
        dst.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(_transfer, "_copy_stream", failing)
    with pytest.raises(OSError, match="disk full"):
        storage.upload_file(tmp_path / "f.bin", location, "d/f.bin")
    assert calls == 1
    assert list((tmp_path / "dest" / "d").iterdir()) == []  # neither the file nor a temp file
    monkeypatch.setattr(_transfer, "_copy_stream", real)
    storage.upload_file(tmp_path / "f.bin", location, "d/f.bin")
    assert (tmp_path / "dest" / "d" / "f.bin").read_bytes() == b"x" * 5000


def test_listing_hides_uploads_in_progress(tmp_path: Path) -> None:
    location = storage.open_location(tmp_path / "dest")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / f"{storage.TEMP_PREFIX}abc").write_text("half")
    (tmp_path / "dest" / "done.txt").write_text("ok")
    assert storage.list_dir(location, "") == [storage.Entry("done.txt", False, 2)]


def test_binary_round_trip_across_chunks(store_kind: str, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "blob.bin").write_bytes(data)
    with eventlog.start_run() as run:
        eventlog.log_artifact(str(tmp_path / "blob.bin"), "bin")
    rid = run.info.run_id
    assert _read(rid, "bin/blob.bin", tmp_path) == data
    assert _artifact_events(rid) == {"bin/blob.bin": (len(data), _sha(data))}


# -- large files stream ----------------------------------------------------------------------------------
_ROUND_TRIP = textwrap.dedent(
    """
    import hashlib, json, os, resource, sys, time
    import eventlog
    from eventlog import MlflowClient

    import threading

    def rss_anon_kib():
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        return 0

    anon_peak = [0]
    sampling = threading.Event()

    def sample():
        # The private (anonymous) memory of the process, sampled through the transfers. VmHWM also counts
        # the pages of shared libraries mapped from the page cache (polars alone is ~150 MB on disk), a
        # figure that depends on what the page cache holds, not on what this process allocates.
        while not sampling.wait(0.002):
            anon_peak[0] = max(anon_peak[0], rss_anon_kib())

    def peak_rss_kib():
        # VmHWM: the high-water mark of this process image. ru_maxrss would also count the pytest parent's
        # pages this process had between fork and exec.
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    size = 1 << 30
    src, work = sys.argv[1], sys.argv[2]
    with open(src, "wb") as fh:  # sparse, with a few random blocks so the content is not trivial
        fh.truncate(size)
        for offset in range(0, size, 128 << 20):
            fh.seek(offset)
            fh.write(os.urandom(4096))
    eventlog.set_tracking_uri(os.path.join(work, "store"))
    with eventlog.start_run() as run:
        baseline = peak_rss_kib()
        baseline_anon = rss_anon_kib()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        eventlog.log_artifact(src, "data")
        uploaded = time.monotonic()
    out = MlflowClient().download_artifacts(run.info.run_id, "data/big.bin", os.path.join(work, "dl"))
    downloaded = time.monotonic()
    sampling.set()
    sampler.join()
    peak = peak_rss_kib()
    from eventlog.views import partition_tables
    store = MlflowClient()._store
    store.flush()
    events = partition_tables(store.location, run.info.experiment_id, [run.info.run_id], cache=store.cache)
    (checksum,) = events.artifacts.get_column("checksum").to_list()
    print(json.dumps({
        "baseline_kib": baseline, "peak_kib": peak, "size": os.path.getsize(out),
        "baseline_anon_kib": baseline_anon, "peak_anon_kib": anon_peak[0],
        "upload_s": uploaded - started, "download_s": downloaded - uploaded, "checksum": checksum,
        "artifact": os.path.join(run.info.artifact_uri.removeprefix("file://"), "data", "big.bin"),
        "download": out,
    }))
    """
)


@pytest.fixture
def roomy_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory for 3 GiB of files: in /dev/shm when it has the room (page cache, not the process's
    memory: RSS is unaffected, and the test does not wait for a disk), else tmp_path."""
    shm = Path("/dev/shm")
    try:
        stat = os.statvfs(shm)
        roomy = stat.f_bavail * stat.f_frsize > 6 << 30
    except OSError:
        roomy = False
    if not roomy:
        yield tmp_path
        return
    work = Path(tempfile.mkdtemp(prefix="eventlog-big-", dir=shm))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.slow
def test_one_gib_round_trip_streams_under_200_mib(roomy_dir: Path) -> None:
    tmp_path = roomy_dir
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVENTLOG_", "MLFLOW_"))}
    result = subprocess.run(
        [sys.executable, "-c", _ROUND_TRIP, str(tmp_path / "big.bin"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)  # shown with -s: peak RSS and timings
    assert report["size"] == 1 << 30
    # The budget is on the memory the process allocates (anonymous RSS, sampled every 2 ms through both
    # transfers); file-backed pages of the shared libraries it maps are reported but not budgeted.
    peak_mib = report["peak_anon_kib"] / 1024
    growth_mib = (report["peak_kib"] - report["baseline_kib"]) / 1024
    assert report["peak_anon_kib"] > 0
    vm_hwm_mib = report["peak_kib"] / 1024
    assert peak_mib < 200, f"peak anonymous RSS {peak_mib:.0f} MiB (VmHWM {vm_hwm_mib:.0f} MiB)"
    assert growth_mib < 64, f"the transfer grew RSS by {growth_mib:.0f} MiB"
    # The three copies are the same bytes: the event's checksum is the source's, and the files match it.
    size, digest = storage.sha256_file(tmp_path / "big.bin")
    assert report["checksum"] == f"sha256:{digest}"
    assert storage.sha256_file(report["download"]) == (size, digest)
    assert os.path.getsize(report["artifact"]) == size
