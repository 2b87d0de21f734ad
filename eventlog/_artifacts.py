"""Artifacts: files logged under a run's artifact root, on any fsspec filesystem.

A run's artifact root is ``<experiment artifact_location>/<run_id>/artifacts`` (its ``artifact_uri``); the
experiment's location defaults to ``<default artifact root>/<experiment_id>`` (see
``_config.default_artifact_root``), so artifacts can live in S3 while the run log is local, or the other
way round. Files move through ``storage``'s streaming transfer: a file of any size is copied in chunks,
never held in memory, and its SHA-256 is computed on the way.

Every file logged also appends an ``artifact`` event (path relative to the run's root, size,
``sha256:<hex>``), so the run log knows what was logged, with checksums, and Parquet readers can query it.
Listing and downloading read the artifact storage itself, as MLflow does (files written there by other
tools count too); see docs/format.md, "Artifacts".

Paths are checked before anything is written: an ``artifact_path`` or ``artifact_file`` that is absolute,
climbs out of the run's root with ``..``, or is not in normal form (``a//b``, ``./a``) is rejected with
``INVALID_PARAMETER_VALUE`` and MLflow's message.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import pathlib
import posixpath
import re
import sys
import tempfile
import threading
import uuid
import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventlog import _config, storage
from eventlog._events import ArtifactLogged
from eventlog._writer import now_ms
from eventlog.entities import FileInfo, LifecycleStage, Run
from eventlog.exceptions import InvalidParameterValue, MlflowException, ResourceDoesNotExist

if TYPE_CHECKING:
    import pandas

    from eventlog._runs import RunHandle
    from eventlog._store import TrackingStore

__all__ = [
    "LOGGED_ARTIFACTS_TAG",
    "LOGGED_IMAGES_TAG",
    "ArtifactClientMixin",
    "get_artifact_uri",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_table",
    "log_text",
]

_log = logging.getLogger("eventlog")

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
LOGGED_IMAGES_TAG = "mlflow.loggedImages"
_OUTSIDE = "Invalid path: resolved path is outside the artifact directory"
_TABLE_FORBIDDEN = ('"', "'", ",", ":", "[", "]", "{", "}")
_IMAGE_KEY = re.compile(r"^[a-zA-Z0-9_\-./ ]+$")
_COMPRESSED_IMAGE_SIZE = 256


# -- paths -------------------------------------------------------------------------------------------------
def _bad_path(name: str) -> InvalidParameterValue:
    resolved = posixpath.normpath(name)
    return InvalidParameterValue(
        f"Invalid artifact path: '{name}'. Names may be treated as files in certain cases, and must not "
        f"resolve to other names when treated as such. This name would resolve to {resolved!r}"
    )


def _artifact_dir(artifact_path: str | os.PathLike[str] | None) -> str:
    """An ``artifact_path`` argument as a clean relative directory ("" for the root), or an error.

    MLflow's rule: the path must be its own normal form, so no ``..`` or ``.`` segments, no ``//``, no
    leading ``/``.
    """
    if artifact_path is None:
        return ""
    text = os.fspath(artifact_path)
    if text == "":
        return ""
    norm = posixpath.normpath(text)
    if norm != text or norm == "." or norm.startswith("..") or norm.startswith("/") or "\x00" in text:
        raise _bad_path(text)
    return norm


def _file_name(name: str) -> str:
    if name.startswith(storage.TEMP_PREFIX):
        raise InvalidParameterValue(
            f"Invalid artifact file name: '{name}'. Artifact names starting with '{storage.TEMP_PREFIX}' "
            "are reserved."
        )
    return name


def _split_artifact_file(artifact_file: str | os.PathLike[str]) -> tuple[str, str]:
    """(directory, file name) of an ``artifact_file`` argument, as MLflow splits it: normalised first
    (``a/../b.txt`` is ``b.txt``), then the directory must pass the ``artifact_path`` rule."""
    text = os.fspath(artifact_file)
    directory, name = posixpath.split(posixpath.normpath(text))
    directory = _artifact_dir(directory or None)
    if name in ("", ".", "..") or "\x00" in name:
        raise InvalidParameterValue(
            f"Invalid artifact file: '{text}'. It must name a file under the run's artifact root, "
            "e.g. 'dir/file.txt'."
        )
    return directory, _file_name(name)


def _relative(path: str | os.PathLike[str] | None) -> str:
    """A path to read (list, download) made relative to the root: normalised, never leaving the root."""
    text = "" if path is None else os.fspath(path)
    norm = posixpath.normpath(text) if text else "."
    if norm.startswith("/") or norm == ".." or norm.startswith("../") or "\x00" in text:
        raise InvalidParameterValue(_OUTSIDE)
    return "" if norm == "." else norm


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


# -- the artifact root of a run ----------------------------------------------------------------------
@dataclass(frozen=True)
class _RunRoot:
    run_id: str
    uri: str
    location: storage.Location

    def check_inside(self, rel: str) -> None:
        """On local disk, a symlink inside the root must not lead out of it."""
        if not self.location.is_local:
            return
        base = os.path.realpath(self.location.root)
        target = os.path.realpath(self.location.full_path(rel))
        if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
            raise InvalidParameterValue(_OUTSIDE)


_ROOTS: weakref.WeakKeyDictionary[TrackingStore, dict[str, _RunRoot]] = weakref.WeakKeyDictionary()
_ROOTS_LOCK = threading.Lock()


def _scheme(uri: str) -> str:
    scheme, sep, _ = uri.partition("://")
    scheme = scheme.lower() if sep else ""
    return "file" if scheme in ("", "file", "local") else scheme


def open_artifact_location(store: TrackingStore, uri: str) -> storage.Location:
    """Open an artifact URI: with the tracking store's storage options when it has the store's scheme,
    else with ``EVENTLOG_ARTIFACT_STORAGE_OPTIONS``."""
    if _scheme(uri) == _scheme(store.location.uri):
        options = dict(store.location.storage_options)
    else:
        options = _config.artifact_storage_options_from_env()
    try:
        return storage.open_location(uri, options)
    except storage.UnsupportedURIError as exc:
        raise InvalidParameterValue(f"Cannot open the artifact location {uri!r}: {exc}") from None


def _run_root(store: TrackingStore, run_id: str) -> _RunRoot:
    with _ROOTS_LOCK:
        cached = _ROOTS.setdefault(store, {}).get(run_id)
    if cached is not None:
        return cached
    uri = store.get_run(run_id).info.artifact_uri
    root = _RunRoot(run_id, uri, open_artifact_location(store, uri))
    with _ROOTS_LOCK:
        _ROOTS.setdefault(store, {})[run_id] = root
    return root


def _writable_handle(store: TrackingStore, run_id: str) -> RunHandle:
    handle = store.handle(run_id)
    if handle.writer.error is not None:
        handle.check_writable()  # raises the background flush error
    # A deleted run still takes artifacts, as in MLflow (artifacts bypass its tracking store).
    return handle


def _record(handle: RunHandle, files: Sequence[storage.Transferred]) -> None:
    if files:
        handle.writer.append(
            ArtifactLogged(handle.experiment_id, handle.run_id, f.path, f.size, f"sha256:{f.sha256}")
            for f in files
        )


# -- logging files -----------------------------------------------------------------------------------
def _log_artifact(
    store: TrackingStore,
    run_id: str,
    local_path: str | os.PathLike[str],
    artifact_path: str | os.PathLike[str] | None = None,
) -> None:
    local = os.fspath(local_path)
    directory = _artifact_dir(artifact_path)
    handle = _writable_handle(store, run_id)
    root = _run_root(store, run_id)
    if os.path.isdir(local):
        target = _artifact_dir(_join(directory, os.path.basename(os.path.normpath(local))))
        root.check_inside(target)
        _check_tree(root, local, target)
        files = storage.upload_tree(local, root.location, target)
    else:
        rel = _join(directory, _file_name(os.path.basename(local)))
        if not os.path.exists(local):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), local)
        root.check_inside(rel)
        files = [storage.upload_file(local, root.location, rel)]
    _record(handle, files)


def _check_tree(root: _RunRoot, local_dir: str, target: str) -> None:
    """Every file of a tree to upload: no reserved name, no destination through a symlink out of the root."""
    for rel in storage.iter_local_files(local_dir):
        _file_name(posixpath.basename(rel))
        root.check_inside(_join(target, rel))


def _log_artifacts(
    store: TrackingStore,
    run_id: str,
    local_dir: str | os.PathLike[str],
    artifact_path: str | os.PathLike[str] | None = None,
) -> None:
    local = os.fspath(local_dir)
    directory = _artifact_dir(artifact_path)
    handle = _writable_handle(store, run_id)
    root = _run_root(store, run_id)
    root.check_inside(directory)
    if not os.path.isdir(local):
        # MLflow walks the path: a missing directory (or a file) logs nothing.
        storage.make_dirs(root.location, directory)
        return
    _check_tree(root, local, directory)
    _record(handle, storage.upload_tree(local, root.location, directory))


@contextlib.contextmanager
def _staged_file(store: TrackingStore, run_id: str, artifact_file: str | os.PathLike[str]) -> Iterator[str]:
    """A local temp path to write ``artifact_file``'s content to; logged when the block ends.

    The path is checked before the block runs, so a bad ``artifact_file`` writes nothing anywhere.
    """
    directory, name = _split_artifact_file(artifact_file)
    with tempfile.TemporaryDirectory(prefix="eventlog-artifact-") as tmp:
        path = os.path.join(tmp, name)
        yield path
        _log_artifact(store, run_id, path, directory or None)


def _log_text(store: TrackingStore, run_id: str, text: str, artifact_file: str) -> None:
    with _staged_file(store, run_id, artifact_file) as path, open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _log_dict(store: TrackingStore, run_id: str, dictionary: Any, artifact_file: str) -> None:
    extension = os.path.splitext(os.fspath(artifact_file))[1]
    with _staged_file(store, run_id, artifact_file) as path, open(path, "w", encoding="utf-8") as fh:
        if extension in (".yml", ".yaml"):
            import yaml

            yaml.dump(dictionary, fh, indent=2, default_flow_style=False)
        else:
            json.dump(dictionary, fh, indent=2, default=str)


def _log_figure(
    store: TrackingStore,
    run_id: str,
    figure: Any,
    artifact_file: str,
    save_kwargs: dict[str, Any] | None = None,
) -> None:
    options = dict(save_kwargs or {})
    with _staged_file(store, run_id, artifact_file) as path:
        # Checked only when the library is loaded: a plotly figure needs no matplotlib, and the reverse.
        if "matplotlib" in sys.modules and _is_instance(figure, "matplotlib.figure", "Figure"):
            figure.savefig(path, **options)
        elif "plotly" in sys.modules and _is_instance(figure, "plotly.graph_objects", "Figure"):
            extension = os.path.splitext(os.fspath(artifact_file))[1]
            if extension == ".html":
                options.setdefault("include_plotlyjs", "cdn")
                options.setdefault("auto_open", False)
                figure.write_html(path, **options)
            elif extension in (".png", ".jpeg", ".webp", ".svg", ".pdf"):
                figure.write_image(path, **options)
            else:
                raise TypeError(f"Unsupported file extension for plotly figure: '{extension}'")
        else:
            raise TypeError(f"Unsupported figure object type: '{type(figure)}'")


def _is_instance(obj: Any, module: str, name: str) -> bool:
    import importlib

    cls = getattr(importlib.import_module(module), name)
    return isinstance(obj, cls)


# -- images ------------------------------------------------------------------------------------------
_PIXEL_KINDS = {"b": "bool", "i": "signed integer", "u": "unsigned integer", "f": "floating"}


def _array_to_pil(array: Any) -> Any:
    """A numpy array as a PIL image, with MLflow's checks: dtype, shape, channels, pixel range."""
    import numpy as np

    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError(
            "Pillow is required to serialize a numpy array as an image. Please install it via: "
            "`pip install Pillow`"
        ) from exc
    if array.dtype.kind not in _PIXEL_KINDS:
        raise TypeError(
            f"Invalid array data type: '{array.dtype}'. Must be one of {list(_PIXEL_KINDS.values())}"
        )
    if array.ndim not in (2, 3):
        raise ValueError(f"`image` must be a 2D or 3D array but got image shape: {array.shape}")
    if array.ndim == 3:
        channels = array.shape[2]
        if channels not in (1, 3, 4):
            raise ValueError(f"Invalid channel length: {channels}. Must be one of [1, 3, 4]")
        if channels == 1:
            array = array[:, :, 0]  # PIL takes grayscale as 2D only
    integral = np.issubdtype(array.dtype, np.integer)
    low, high = array.min(), array.max()
    if low < 0 or high > (255 if integral else 1):
        if integral:
            raise ValueError(
                "Integer pixel values out of acceptable range [0, 255]. "
                f"Found minimum value {low} and maximum value {high}. "
                "Ensure all pixel values are within the specified range."
            )
        warnings.warn(
            "Float pixel values out of acceptable range [0.0, 1.0]. "
            f"Found minimum value {low} and maximum value {high}. "
            "Rescaling values to [0.0, 1.0] with min/max scaler.",
            stacklevel=4,
        )
        array = (array - low) / (high - low)
    if not integral:  # floats in [0, 1] and booleans
        array = array * 255
    return Image.fromarray(array.astype(np.uint8))


def _to_pil(image: Any) -> Any:
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(image, numpy.ndarray):
        return _array_to_pil(image)
    if callable(getattr(image, "to_pil", None)):  # mlflow.Image and look-alikes
        return image.to_pil()
    import PIL.Image

    if not isinstance(image, PIL.Image.Image):
        raise TypeError(
            f"Unsupported image object type: {type(image)}. `image` must be one of numpy.ndarray, "
            "PIL.Image.Image, and mlflow.Image."
        )
    return image


def _thumbnail(image: Any) -> Any:
    """The image scaled to fit a 256-pixel square, keeping its aspect ratio (MLflow's compressed copy)."""
    width, height = image.size
    if width > height:
        size = (_COMPRESSED_IMAGE_SIZE, int(height * _COMPRESSED_IMAGE_SIZE / width))
    else:
        size = (int(width * _COMPRESSED_IMAGE_SIZE / height), _COMPRESSED_IMAGE_SIZE)
    return image.resize(size)


def _log_image(
    store: TrackingStore,
    run_id: str,
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
) -> None:
    if artifact_file is not None and any(arg is not None for arg in (key, step, timestamp)):
        raise TypeError(
            "The `artifact_file` parameter cannot be used in conjunction with `key`, `step`, or "
            "`timestamp` parameters. Please ensure that `artifact_file` is specified alone, without any "
            "of these conflicting parameters."
        )
    if artifact_file is None and key is None:
        raise TypeError(
            "Invalid arguments: Please specify exactly one of `artifact_file` or `key`. Use `key` to log "
            "dynamic image charts or `artifact_file` for saving static images. "
        )
    if artifact_file is not None:
        _split_artifact_file(artifact_file)  # a bad path fails before the image is converted
    pil = _to_pil(image)
    if artifact_file is not None:
        with _staged_file(store, run_id, artifact_file) as path:
            pil.save(path)
        return
    assert key is not None
    if not _IMAGE_KEY.match(key):
        raise ValueError(
            "The `key` parameter may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
            f"spaces ( ), and slashes (/).The provided key `{key}` contains invalid characters."
        )
    # The key/step series: a full image and a thumbnail per step, named so that the UI can group them
    # ('/' in the key becomes '~': the files stay directly under images/).
    base = f"images/{key.replace('/', '~')}+step+{step or 0}+timestamp+{timestamp or now_ms()}+{uuid.uuid4()}"
    thumbnail = _thumbnail(pil)
    with _staged_file(store, run_id, f"{base}.png") as path:
        pil.save(path)
    with _staged_file(store, run_id, f"{base}+compressed.webp") as path:
        thumbnail.save(path)
    store.set_tag(run_id, LOGGED_IMAGES_TAG, True)


# -- tables ------------------------------------------------------------------------------------------
def _check_table_file(artifact_file: str) -> None:
    for char in _TABLE_FORBIDDEN:
        if char in artifact_file:
            raise ValueError(f"The artifact_file contains forbidden character: {char}")


def _read_table(path: str) -> pandas.DataFrame:
    import pandas as pd

    if path.endswith(".json"):
        return pd.read_json(path, orient="split")
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    raise ValueError(f"Unsupported file type in {path}. Expected .json or .parquet")


def _is_image_like(obj: Any) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("save", "resize")) and hasattr(obj, "size")


def _log_table(store: TrackingStore, run_id: str, data: Any, artifact_file: str) -> None:
    import pandas as pd

    _check_table_file(artifact_file)
    if not artifact_file.endswith((".json", ".parquet")):
        raise ValueError(
            f"Invalid artifact file path '{artifact_file}'. Please ensure the file you are trying to log as "
            "a table has a file name with either '.json' or '.parquet' extension."
        )
    directory, name = _split_artifact_file(artifact_file)
    if not isinstance(data, (pd.DataFrame, dict)):
        raise InvalidParameterValue("data must be a pandas.DataFrame or a dictionary")
    if isinstance(data, dict):
        try:
            frame = pd.DataFrame(data)
        except ValueError:  # all scalars: one row
            frame = pd.DataFrame([data])
    else:
        frame = data.copy()

    table_name = os.path.splitext(artifact_file)[0]
    for column in frame.columns:
        if frame[column].dtype == object:  # images can only be in object columns
            images = frame[column].map(_is_image_like)
            if images.any() and not images.all():
                raise ValueError(
                    f"Column `{column}` contains a mix of images and non-images. Please ensure that all "
                    "elements in the column are of the same type."
                )
            if images.all() and len(frame):
                frame[column] = frame[column].map(
                    lambda image: _log_table_image(store, run_id, image, table_name)
                )

    rel = _join(directory, name)
    if any(f.path == rel and not f.is_dir for f in _list_artifacts(store, run_id, directory or None)):
        with tempfile.TemporaryDirectory(prefix="eventlog-table-") as tmp:
            existing = _read_table(_download_artifacts(store, run_id, rel, tmp))
        frame = pd.concat([existing, frame], ignore_index=True)
        _log.debug("Appending new table to already existing artifact %s for run %s.", artifact_file, run_id)

    with _staged_file(store, run_id, artifact_file) as path:
        try:
            if path.endswith(".json"):
                frame.to_json(path, orient="split", index=False, date_format="iso")
            else:
                frame.to_parquet(path, index=False)
        except Exception as exc:
            raise MlflowException(
                f"Failed to save {frame} as table as the data is not JSON serializable. Error: {exc}"
            ) from exc

    run = store.get_run(run_id)
    logged = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in logged:
        logged.append(entry)
        store.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(logged))


def _log_table_image(store: TrackingStore, run_id: str, image: Any, table_name: str) -> dict[str, str]:
    base = posixpath.join("table_images", table_name, str(uuid.uuid4()))
    pil = image.to_pil() if callable(getattr(image, "to_pil", None)) else image
    with _staged_file(store, run_id, f"{base}.png") as path:
        pil.save(path)
    with _staged_file(store, run_id, f"{base}.webp") as path:
        _thumbnail(pil).save(path)
    return {"type": "image", "filepath": f"{base}.png", "compressed_filepath": f"{base}.webp"}


def _logged_tables(run: Run) -> list[Any]:
    try:
        value = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _run_row(run: Run) -> dict[str, Any]:
    """The run as a row of ``search_runs``' frame (for ``extra_columns``)."""
    import pandas as pd

    info = run.info

    def when(ms: int | None) -> Any:
        return pd.to_datetime(ms, unit="ms", utc=True) if ms is not None else None

    row: dict[str, Any] = {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "status": info.status,
        "artifact_uri": info.artifact_uri,
        "start_time": when(info.start_time),
        "end_time": when(info.end_time),
    }
    row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
    row.update({f"params.{k}": v for k, v in run.data.params.items()})
    row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
    return row


def _load_table(
    store: TrackingStore,
    experiment_id: str,
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> pandas.DataFrame:
    import pandas as pd

    _check_table_file(artifact_file)
    wanted = {"path": artifact_file, "type": "table"}
    runs = [
        run
        for run in store.runs_in_experiments([str(experiment_id)])
        if run.info.lifecycle_stage == LifecycleStage.ACTIVE and wanted in _logged_tables(run)
    ]
    if run_ids:
        selected = set(run_ids)
        runs = [run for run in runs if run.info.run_id in selected]
        if len(runs) != len(run_ids):
            _log.warning("Not all runs have the specified table artifact. Some runs will be skipped.")
    if not runs:
        raise ResourceDoesNotExist("No runs found with the corresponding table artifact.")
    # search_runs' default order: newest first, then by id.
    runs.sort(key=lambda run: run.info.run_id)
    runs.sort(key=lambda run: run.info.start_time or 0, reverse=True)
    directory = posixpath.dirname(posixpath.normpath(artifact_file))
    frames = []
    for run in runs:
        run_id = run.info.run_id
        files = [f.path for f in _list_artifacts(store, run_id, directory or None) if not f.is_dir]
        if artifact_file not in files:
            raise ResourceDoesNotExist(f"Artifact {artifact_file} not found for run {run_id}.")
        with tempfile.TemporaryDirectory(prefix="eventlog-table-") as tmp:
            table = _read_table(_download_artifacts(store, run_id, artifact_file, tmp))
        if extra_columns is not None:
            row = _run_row(run)
            for column in extra_columns:
                name = column
                if column in table:
                    name = f"{column}_"
                    _log.warning(
                        "Column name %s already exists in the table. Resolving the conflict, by appending "
                        "an underscore to the column name.",
                        column,
                    )
                table[name] = row[column]
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


# -- reading -----------------------------------------------------------------------------------------
def _list_artifacts(store: TrackingStore, run_id: str, path: str | None = None) -> list[FileInfo]:
    root = _run_root(store, run_id)
    rel = _relative(path)
    root.check_inside(rel)
    infos = [FileInfo(_join(rel, e.name), e.is_dir, e.size) for e in storage.list_dir(root.location, rel)]
    return sorted(infos, key=lambda f: f.path)


def _download_artifacts(
    store: TrackingStore, run_id: str, path: str | None, dst_path: str | os.PathLike[str] | None = None
) -> str:
    if dst_path is not None:
        pathlib.Path(dst_path).mkdir(parents=True, exist_ok=True)
    root = _run_root(store, run_id)
    text = "" if path is None else os.fspath(path)
    rel = _relative(text)
    root.check_inside(rel)
    kind = storage.path_kind(root.location, rel)
    if text == "" or text.endswith("/"):
        # The directory's contents go straight into the destination (MLflow: "d/" and "" do that).
        dst = _destination(dst_path)
        if kind == "directory":
            storage.download_tree(root.location, rel, dst)
        return dst
    name = posixpath.basename(rel)
    if kind is None:
        raise ResourceDoesNotExist(
            f"Failed to download artifacts from path {name!r}, please ensure that the path is correct."
        )
    target = os.path.join(_destination(dst_path), name)
    if kind == "directory":
        storage.download_tree(root.location, rel, target)
    else:
        storage.download_file(root.location, rel, target)
    return target


def _destination(dst_path: str | os.PathLike[str] | None) -> str:
    if dst_path is None:
        return tempfile.mkdtemp(prefix="eventlog-artifacts-")
    return os.path.abspath(os.fspath(dst_path))


def _artifact_uri(store: TrackingStore, run_id: str, artifact_path: str | None = None) -> str:
    with _ROOTS_LOCK:
        cached = _ROOTS.get(store, {}).get(run_id)
    uri = cached.uri if cached is not None else store.get_run(run_id).info.artifact_uri
    if artifact_path is None:
        return uri
    rel = _relative(artifact_path)
    return f"{uri.rstrip('/')}/{rel}" if rel else uri


# -- the client mixin --------------------------------------------------------------------------------
class ArtifactClientMixin:
    """MlflowClient's artifact methods; needs ``self._store`` (a TrackingStore)."""

    _store: TrackingStore

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload a local file, or a directory (under its own name), to the run's artifact root."""
        _log_artifact(self._store, run_id, local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload the contents of a local directory to ``artifact_path`` under the run's artifact root."""
        _log_artifacts(self._store, run_id, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        _log_text(self._store, run_id, text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """JSON (``indent=2``, ``default=str``), or YAML for ``.yml``/``.yaml`` files."""
        _log_dict(self._store, run_id, dictionary, artifact_file)

    def log_figure(
        self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
    ) -> None:
        """A matplotlib figure (``savefig``) or a plotly figure (HTML, or an image for png/jpeg/...)."""
        _log_figure(self._store, run_id, figure, artifact_file, save_kwargs)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """A numpy array or PIL image, saved as ``artifact_file``, or as step ``step`` of the image series
        ``key``. Uploads are always done before the call returns, whatever ``synchronous`` says."""
        _log_image(self._store, run_id, image, artifact_file, key, step, timestamp)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """A dict or DataFrame as a ``.json`` (``{"columns": ..., "data": ...}``) or ``.parquet`` table;
        appended to the table already logged under that name."""
        _log_table(self._store, run_id, data, artifact_file)

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: list[str] | None = None,
        extra_columns: list[str] | None = None,
    ) -> pandas.DataFrame:
        return _load_table(self._store, experiment_id, artifact_file, run_ids, extra_columns)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and directories directly under ``path`` (sorted; directories have no size).
        A missing path, or a file, lists as empty."""
        return _list_artifacts(self._store, run_id, path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        """Download a file or directory to ``dst_path`` (created if needed; a new temp directory if None)
        and return the local path."""
        return _download_artifacts(self._store, run_id, path, dst_path)


# -- the fluent functions ----------------------------------------------------------------------------
def _fluent_target(run_id: str | None) -> tuple[TrackingStore, str]:
    """The store and run to log to: ``run_id``, or the active run, starting one if none is active."""
    from eventlog import _fluent

    handle = _fluent._handle(run_id or None)
    active = _fluent.active_run()
    if not run_id and active is not None and active.info.run_id == handle.run_id:
        return active._store, handle.run_id
    return _fluent._store(), handle.run_id


def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    """Log a local file, or a directory (under its basename), as an artifact of the run."""
    _log_artifact(*_fluent_target(run_id), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    """Log the contents of a local directory as artifacts of the run."""
    _log_artifacts(*_fluent_target(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Log ``text`` (UTF-8) as the file ``artifact_file`` (e.g. ``"dir/notes.txt"``)."""
    _log_text(*_fluent_target(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict as JSON, or as YAML when ``artifact_file`` ends with ``.yml``/``.yaml``."""
    _log_dict(*_fluent_target(run_id), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None) -> None:
    """Log a matplotlib or plotly figure to the active run."""
    _log_figure(*_fluent_target(None), figure, artifact_file, save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """Log a numpy array or PIL image to the active run: as ``artifact_file``, or in the ``key`` series."""
    _log_image(*_fluent_target(None), image, artifact_file, key, step, timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dict or DataFrame as a table (``.json`` or ``.parquet``), appending to an existing one."""
    _log_table(*_fluent_target(run_id), data, artifact_file)


def load_table(
    artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None
) -> pandas.DataFrame:
    """The table ``artifact_file`` of every run of the current experiment that logged it (or of
    ``run_ids``), concatenated; ``extra_columns`` adds run columns such as ``run_id``."""
    from eventlog import _fluent

    return _load_table(_fluent._store(), _fluent._get_experiment_id(), artifact_file, run_ids, extra_columns)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifact root, or of ``artifact_path`` under it."""
    from eventlog import _fluent

    if _fluent.active_run() is None:
        _log.warning(
            "No active run found. A new active run will be created. If this is not intended, please create "
            "a run using `mlflow.start_run()` first."
        )
    store, run_id = _fluent_target(None)
    return _artifact_uri(store, run_id, artifact_path)
