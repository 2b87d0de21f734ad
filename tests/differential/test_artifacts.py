"""Artifacts against real MLflow (sqlite store): listings with sizes, file contents (text, JSON, YAML,
tables), a binary round trip, a figure that is a real PNG, downloads of files and directories, errors.

Each scenario creates its experiment with an explicit ``artifact_location`` under the test's working
directory (a tmp dir), so MLflow never writes artifacts under the directory pytest was started from.
Local inputs are made under the same working directory, once per scenario run.

One deliberate difference: an ``artifact_path`` MLflow refuses (``../x``, ``/abs``, ``a//b``...) raises
``MlflowException`` with MLflow's message in both, but MLflow's error code is ``INTERNAL_ERROR`` and
eventlog's is ``INVALID_PARAMETER_VALUE`` (the input is at fault; see docs/format.md, "Artifacts"). Those
outcomes are compared on family and message only.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

from . import Ctx, Scenarios, outcome_of_exception

scenario = Scenarios()

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- helpers ---------------------------------------------------------------------------------------------
def _experiment(m: Any, ctx: Ctx) -> str:
    """A new active experiment whose artifacts live under the working directory (a tmp dir)."""
    location = os.path.abspath(f"artifacts-{m.__name__}-{ctx.prefix}")
    experiment_id = m.create_experiment(ctx.name(), artifact_location=location)
    ctx.eid(experiment_id)
    m.set_experiment(experiment_id=experiment_id)
    return str(experiment_id)


def _inputs() -> Path:
    """Local files to log: a.txt, blob.bin, d/x.bin, d/sub/y.txt, d/empty/ (the same for both modules)."""
    root = Path("inputs").absolute()
    (root / "d" / "sub").mkdir(parents=True, exist_ok=True)
    (root / "d" / "empty").mkdir(exist_ok=True)
    (root / "a.txt").write_text("hello")
    (root / "d" / "x.bin").write_bytes(b"\x00\x01\x02")
    (root / "d" / "sub" / "y.txt").write_text("yy")
    blob = bytes((i * 7919 + (i >> 8)) % 256 for i in range(300_000))
    (root / "blob.bin").write_bytes(blob)
    return root


def _files(infos: Any) -> list[tuple[str, bool, int | None]]:
    return [(f.path, f.is_dir, f.file_size) for f in infos]


def _tree(path: str | Path) -> dict[str, Any]:
    """A downloaded file or directory: relative paths -> bytes (None for directories)."""
    root = Path(path)
    if root.is_file():
        return {root.name: root.read_bytes()}
    return {
        str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))
    }


def _call(ctx: Ctx, fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """Like ``ctx.call`` for artifact calls: FileInfo lists become tuples; error outcomes compared whole."""
    try:
        result = fn(*args, **kwargs)
    except Exception as e:
        kind, family, code, message = outcome_of_exception(e)
        return (kind, family, code, ctx.text(message))
    if isinstance(result, list) and all(hasattr(f, "is_dir") for f in result):
        return ("ok", _files(result))
    return ("ok", ctx.norm(result))


def _refused(ctx: Ctx, fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """An outcome without the error code (see the module docstring)."""
    outcome = _call(ctx, fn, *args, **kwargs)
    return outcome if outcome[0] == "ok" else (outcome[0], outcome[1], outcome[3])


def _download_dir(name: str, m: Any) -> str:
    return os.path.abspath(f"downloads-{m.__name__}-{name}")


def _relative_to(path: str, base: str) -> str:
    return os.path.relpath(path, base)


# -- scenarios -------------------------------------------------------------------------------------------
@scenario
def listings_with_sizes(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    src = _inputs()
    with m.start_run(run_name="r") as run:
        m.log_artifact(str(src / "a.txt"))
        m.log_artifact(str(src / "a.txt"), "nested/deeper")
        m.log_artifact(str(src / "d"))
        m.log_artifacts(str(src / "d"), "under")
        m.log_artifacts(str(src / "d"))
        m.log_text("text", "txt/t.txt")
        m.log_text("b", "a/../b.txt")
        m.log_text("c", "./c.txt")
    client = ctx.client()
    rid = run.info.run_id
    paths = [None, "", "d", "d/", "d/sub", "d/empty", "under/sub", "nested", "a.txt", "missing", "sub"]
    return {repr(p): _call(ctx, client.list_artifacts, rid, p) for p in paths}


@scenario
def contents_of_text_json_yaml(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    nested = {"b": 1, "a": [1, {"z": None, "f": 1.5}], "s": "ünï", "t": True}
    with m.start_run(run_name="r") as run:
        m.log_text("héllo\nwörld\n", "notes/t.txt")
        m.log_text("", "empty.txt")
        m.log_dict(nested, "d.json")
        m.log_dict({**nested, "odd": {1, 2} and "set", "when": Path("/p")}, "default.json")
        m.log_dict(nested, "d.yaml")
        m.log_dict({"list": [1, 2], "k": "v"}, "cfg/d.yml")
        m.log_dict({"b": 1}, "d.txt")
        m.log_dict({"b": 1}, "noext")
    client = ctx.client()
    rid = run.info.run_id
    names = ["notes/t.txt", "empty.txt", "d.json", "default.json", "d.yaml", "cfg/d.yml", "d.txt", "noext"]
    dst = _download_dir("contents", m)
    return {n: Path(client.download_artifacts(rid, n, dst)).read_bytes() for n in names}, _files(
        client.list_artifacts(rid)
    )


@scenario
def tables_json_parquet_and_append(m: Any, ctx: Ctx) -> Any:
    import pandas as pd

    _experiment(m, ctx)
    with m.start_run(run_name="r") as run:
        m.log_table({"a": [1, 2], "b": ["x", "y"]}, "t.json")
        m.log_table(pd.DataFrame({"a": [3], "b": ["z"], "c": [1.5]}), "t.json")
        m.log_table({"a": "scalar", "b": 1}, "dir/s.json")
        m.log_table({"a": [1, 2], "f": [0.5, None]}, "dir/t.parquet")
        m.log_table({"a": [3], "f": [2.0]}, "dir/t.parquet")
    client = ctx.client()
    rid = run.info.run_id
    dst = _download_dir("tables", m)
    texts = {n: Path(client.download_artifacts(rid, n, dst)).read_text() for n in ("t.json", "dir/s.json")}
    parquet = pd.read_parquet(client.download_artifacts(rid, "dir/t.parquet", dst))
    tag = m.get_run(rid).data.tags["mlflow.loggedArtifacts"]
    return (
        texts,
        ctx.norm(parquet.to_dict("list")),
        json.loads(tag),
        _files(client.list_artifacts(rid, "dir")),
    )


@scenario
def load_table_across_runs(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    with m.start_run(run_name="r1") as r1:
        m.log_table({"a": [1, 2]}, "t.json")
    with m.start_run(run_name="r2") as r2:
        m.log_table({"a": [3], "run_id": ["mine"]}, "t.json")
    with m.start_run(run_name="r3"):
        m.log_table({"a": [9]}, "other.json")
    ctx.rid(r1.info.run_id)
    ctx.rid(r2.info.run_id)

    def frame(*args: Any, **kwargs: Any) -> Any:
        df = m.load_table(*args, **kwargs)
        return [{k: ctx.norm(v) for k, v in row.items()} for row in df.to_dict("records")]

    return [
        _call(ctx, frame, "t.json"),
        _call(ctx, frame, "t.json", extra_columns=["run_id"]),
        _call(ctx, frame, "t.json", run_ids=[r1.info.run_id], extra_columns=["run_id", "status"]),
        _call(ctx, frame, "missing.json"),
        _call(ctx, frame, "t.json", run_ids=["0" * 32]),
        _call(ctx, frame, "bad:name.json"),
    ]


@scenario
def binary_round_trip_byte_for_byte(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    src = _inputs()
    with m.start_run(run_name="r") as run:
        m.log_artifact(str(src / "blob.bin"), "bin")
    client = ctx.client()
    path = client.download_artifacts(run.info.run_id, "bin/blob.bin", _download_dir("bin", m))
    data = Path(path).read_bytes()
    return (
        data == (src / "blob.bin").read_bytes(),
        len(data),
        _files(client.list_artifacts(run.info.run_id, "bin")),
    )


@scenario
def figure_is_a_real_png(m: Any, ctx: Ctx) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    _experiment(m, ctx)
    fig, ax = plt.subplots(figsize=(3, 2), dpi=50)
    ax.plot([0, 1, 2], [2, 0, 1])
    with m.start_run(run_name="r") as run:
        m.log_figure(fig, "plots/fig.png")
        unsupported = _call(ctx, m.log_figure, "not a figure", "x.png")
    plt.close(fig)
    client = ctx.client()
    path = client.download_artifacts(run.info.run_id, "plots/fig.png", _download_dir("fig", m))
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        opened = (image.format, image.size, image.mode)
    return (
        data[:8] == PNG_SIGNATURE,
        opened,
        unsupported,
        [f.path for f in client.list_artifacts(run.info.run_id)],
    )


@scenario
def images_artifact_file_and_key_series(m: Any, ctx: Ctx) -> Any:
    import numpy as np
    from PIL import Image

    _experiment(m, ctx)
    with m.start_run(run_name="r") as run:
        m.log_image(np.zeros((4, 6, 3), dtype=np.uint8), "img/rgb.png")
        m.log_image(np.ones((5, 5), dtype=bool), "img/bool.png")
        m.log_image(Image.new("RGBA", (7, 3)), "img/pil.png")
        m.log_image(np.full((300, 200, 3), 0.25), key="series/a", step=2, timestamp=1_700_000_000_000)
        errors = [
            _call(ctx, m.log_image, np.full((2, 2), 300, dtype=np.int32), "x.png"),
            _call(ctx, m.log_image, np.zeros((2, 2, 2)), "x.png"),
            _call(ctx, m.log_image, np.zeros((2,)), "x.png"),
            _call(ctx, m.log_image, np.array([["a"]]), "x.png"),
            _call(ctx, m.log_image, "nope", "x.png"),
            _call(ctx, m.log_image, np.zeros((2, 2)), "x.png", key="k"),
            _call(ctx, m.log_image, np.zeros((2, 2))),
            _call(ctx, m.log_image, np.zeros((2, 2)), key="bad*key"),
        ]
    client = ctx.client()
    rid = run.info.run_id
    dst = _download_dir("img", m)
    opened = {}
    for name in ("img/rgb.png", "img/bool.png", "img/pil.png"):
        with Image.open(client.download_artifacts(rid, name, dst)) as image:
            opened[name] = (image.format, image.size, image.mode)
    series = [
        (re.sub(r"\+[0-9a-f-]{36}", "+<uuid>", f.path), f.is_dir)
        for f in client.list_artifacts(rid, "images")
    ]
    return opened, series, m.get_run(rid).data.tags.get("mlflow.loggedImages"), errors


@scenario
def downloads_of_files_and_directories(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    src = _inputs()
    with m.start_run(run_name="r") as run:
        m.log_artifact(str(src / "a.txt"))
        m.log_artifact(str(src / "d"))
    client = ctx.client()
    rid = run.info.run_id
    out = {}
    for i, path in enumerate(["a.txt", "d", "d/sub", "d/sub/y.txt", "d/x.bin", "", "d/"]):
        dst = _download_dir(f"dl{i}", m)
        local = client.download_artifacts(rid, path, dst)
        out[path] = (_relative_to(local, dst), _tree(local))
    # A destination that does not exist yet is created, parents included.
    deep = _download_dir("deep", m) + "/x/y"
    local = client.download_artifacts(rid, "a.txt", deep)
    out["deep"] = (_relative_to(local, deep), _tree(local))
    # Without a destination: a new local directory.
    local = client.download_artifacts(rid, "d")
    out["no dst"] = (os.path.isabs(local), os.path.basename(local), _tree(local))
    return out


@scenario
def errors_for_missing_paths_and_runs(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    src = _inputs()
    with m.start_run(run_name="r") as run:
        m.log_artifact(str(src / "d"))
    client = ctx.client()
    rid = run.info.run_id
    dst = _download_dir("err", m)
    missing_run = "0" * 32
    return {
        "missing": _call(ctx, client.download_artifacts, rid, "missing", dst),
        "missing nested": _call(ctx, client.download_artifacts, rid, "d/nope.txt", dst),
        "missing dir with slash": _call(
            ctx, lambda: _relative_to(client.download_artifacts(rid, "nope/", dst), dst)
        ),
        "list missing run": _call(ctx, client.list_artifacts, missing_run),
        "download missing run": _call(ctx, client.download_artifacts, missing_run, "x", dst),
        "log to missing run": _call(ctx, client.log_text, missing_run, "x", "y.txt"),
        "list outside": _call(ctx, client.list_artifacts, rid, "../x"),
        "list absolute": _call(ctx, client.list_artifacts, rid, "/abs"),
        "missing local file": _call(ctx, m.log_artifact, "does-not-exist.txt"),
        "missing local dir": _call(ctx, m.log_artifacts, "does-not-exist-dir", run_id=rid),
        "table extension": _call(ctx, m.log_table, {"a": [1]}, "t.csv", run_id=rid),
        "table character": _call(ctx, m.log_table, {"a": [1]}, "t[1].json", run_id=rid),
        "table data": _call(ctx, m.log_table, [1, 2], "t.json", run_id=rid),
        "plotly extension": _call(ctx, m.log_figure, object(), "f.gif"),
        # MLflow's message names its random temp path: compare the error without it.
        "reserved name": _call(ctx, m.log_text, "x", ".artifact.uploading.x", run_id=rid)[:3],
        "listing after": _files(client.list_artifacts(rid)),
    }


@scenario
def refused_artifact_paths_write_nothing(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    src = _inputs()
    out = {}
    with m.start_run(run_name="r") as run:
        for bad in ["../x", "/abs", "a/../../x", "a/..", "./a", "a//b", "..", ".", "x/./y"]:
            out[f"artifact_path {bad!r}"] = [
                _refused(ctx, m.log_artifact, str(src / "a.txt"), bad),
                _refused(ctx, m.log_artifacts, str(src / "d"), bad),
            ]
        for bad in ["../x.txt", "/abs.txt", "a/../../x.txt", "../../etc/passwd"]:
            out[f"artifact_file {bad!r}"] = [
                _refused(ctx, m.log_text, "x", bad),
                _refused(ctx, m.log_dict, {"a": 1}, bad),
            ]
    out["listing"] = _files(ctx.client().list_artifacts(run.info.run_id))
    return out


@scenario
def artifact_uri(m: Any, ctx: Ctx) -> Any:
    _experiment(m, ctx)
    with m.start_run(run_name="r") as run:
        root = m.get_artifact_uri()
        sub = m.get_artifact_uri("a/b.txt")
    tail = f"/{run.info.run_id}/artifacts"
    return root == run.info.artifact_uri, root.endswith(tail), sub == f"{root}/a/b.txt"


@scenario.parametrize
def test_artifacts(case: Any, differential: Any) -> None:
    differential(case)
